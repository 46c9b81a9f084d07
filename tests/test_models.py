"""Flux models: shapes, the halo contract (no internal padding), dtypes."""
import numpy as np
import pytest
import torch

from training.models import FluxModel, ModelConfig, pad_periodic, periodic_time_derivative

CONFIGS = [ModelConfig(eq, kind, godunov, dx=0.2) for eq in ("burgers", "kdv", "ks")
           for kind in ("network", "constant", "baseline") for godunov in (False, True)]


def make(config, dtype=torch.float64):
    torch.manual_seed(0)
    model = FluxModel(config, dtype)
    if model.theta is not None:                    # constant model: move off the zero init
        with torch.no_grad():
            model.theta.normal_(0, 0.3)
    return model


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.equation}-{c.kind}-{'god' if c.godunov else 'lin'}")
def test_shapes_and_halo_contract(config, rng):
    """n + 2g cells in, n + 1 faces out, any n; the fluxes of a subdomain cut from a
    halo-padded periodic state equal the corresponding fluxes of the whole domain
    (so results cannot depend on how the domain is split)."""
    model = make(config)
    g, n = model.halo, 37
    u = torch.tensor(rng.normal(size=(2, n)))
    whole = model(pad_periodic(u, g).unsqueeze(1))
    assert whole.shape == (2, 1, n + 1)
    padded = pad_periodic(u, g)
    for start, stop in [(0, 10), (10, 37), (5, 6)]:        # subdomain cells [start, stop)
        piece = model(padded[:, start:stop + 2 * g].unsqueeze(1))
        assert piece.shape == (2, 1, stop - start + 1)
        # equal up to round-off: convolutions of different lengths may block sums differently
        torch.testing.assert_close(piece, whole[..., start:stop + 1], rtol=1e-12, atol=1e-12)


def test_periodic_time_derivative_is_conservative(rng):
    model = make(ModelConfig("burgers", "network", dx=0.1))
    u = torch.tensor(rng.normal(size=(3, 50)))
    dudt = periodic_time_derivative(model, u)
    assert dudt.shape == (3, 50)
    # flux differences telescope to zero: what is left is round-off of 50 terms of size
    # |flux| / dx ~ 10 each, ~1e-13; 1e-11 leaves room
    torch.testing.assert_close(dudt.sum(-1), torch.zeros(3, dtype=torch.float64), rtol=0, atol=1e-11)


def test_translation_equivariance(rng):
    model = make(ModelConfig("ks", "network", dx=0.5))
    u = torch.tensor(rng.normal(size=(1, 40)))
    a = periodic_time_derivative(model, u)
    b = periodic_time_derivative(model, torch.roll(u, 7, -1))
    # the same operations on shifted data; only the blocking of sums may differ (~1e-15)
    torch.testing.assert_close(torch.roll(a, 7, -1), b, rtol=0, atol=1e-12)


def test_float32_and_float64_agree(rng):
    cfg = ModelConfig("burgers", "network", dx=0.1)
    m64 = make(cfg, torch.float64)
    m32 = FluxModel(cfg, torch.float32)
    m32.load_state_dict({k: v.float() for k, v in m64.state_dict().items()})
    u = rng.normal(size=(2, 1, 40))
    f64 = m64(torch.tensor(u))
    f32 = m32(torch.tensor(u, dtype=torch.float32))
    assert f32.dtype == torch.float32
    # float32 has 6e-8 relative precision; three convolutions of 32 channels and the
    # constraint layer amplify it to ~1e-5 on O(1) fluxes, so 1e-4 is the float32 bound
    torch.testing.assert_close(f32.double(), f64, rtol=1e-4, atol=1e-4)


def test_baseline_has_high_order_on_smooth_data():
    """The zero-parameter model is the standard 6-cell stencil: on sin(x) the face value
    error falls ~64x per halving of dx (sixth order; >= 5.5 required)."""
    errors = []
    for n in (32, 64):
        dx = 2 * np.pi / n
        model = FluxModel(ModelConfig("burgers", "baseline", dx=dx, viscosity=0.0), torch.float64)
        edges = np.arange(n + 1) * dx
        u = torch.tensor((np.cos(edges[:-1]) - np.cos(edges[1:])) / dx)[None]        # averages of sin
        flux = model(pad_periodic(u, model.halo).unsqueeze(1))[0, 0].numpy()       # J = v^2 / 2
        errors.append(np.abs(flux - 0.5 * np.sin(edges) ** 2).max())
    assert np.log2(errors[0] / errors[1]) >= 5.5


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        ModelConfig(kind="transformer")
