"""The learned 2D advection flux (training.advection_model) and its face constraint: the
polynomial accuracy of the stencil, the 2D halo contract, conservation, semi-linearity."""
import numpy as np
import pytest
import torch

from training.advection_model import (AdvectionFluxModel, AdvectionModelConfig, euler_unroll, export_form, pad_cells,
                                      periodic_tendency)
from training.constraints import FaceStencil2D

STENCILS = [FaceStencil2D(2, 1, 1), FaceStencil2D(2, 3, 1), FaceStencil2D(4, 3, 2), FaceStencil2D(4, 5, 3),
            FaceStencil2D(4, 3, 4)]


@pytest.mark.parametrize("stencil", STENCILS, ids=str)
def test_face_stencil_is_exact_on_polynomials_below_its_order(stencil, rng):
    """Any coefficients fixed + B theta give the exact face average of every polynomial
    x^a y^b, a + b < m, from its cell averages (integrated exactly here, independently of
    the moment matrices): the constraint of the paper's Eq. 4 in 2D."""
    h, k = stencil.offsets()
    alpha = stencil.fixed() + stencil.basis() @ rng.normal(size=stencil.n_free)

    def cell_average(p, lo, hi):     # average of x^p over [lo, hi]
        return (hi ** (p + 1) - lo ** (p + 1)) / ((p + 1) * (hi - lo))

    for a in range(stencil.accuracy):
        for b in range(stencil.accuracy - a):
            cells = np.array([cell_average(a, x - 0.5, x + 0.5) * cell_average(b, y - 0.5, y + 0.5)
                              for x, y in zip(h, k)])
            face = float(a == 0) * cell_average(b, -0.5, 0.5)      # x = 0, averaged along the face
            # ~10 terms of size |alpha| |moment| <= ~10: round-off ~1e-14
            assert abs(alpha @ cells - face) < 1e-12, (a, b)
    assert stencil.fixed().sum() == pytest.approx(1.0, abs=1e-15)
    # the paper's fixed part for first order: equal weights on the two cells either side
    if stencil.accuracy == 1:
        nonzero = np.flatnonzero(stencil.fixed())
        assert len(nonzero) == 2 and np.allclose(stencil.fixed()[nonzero], 0.5)
        assert set(h[nonzero]) == {-0.5, 0.5} and set(k[nonzero]) == {0.0}


def test_face_stencil_refuses_a_shape_it_cannot_centre():
    for shape in [(3, 3, 1), (2, 2, 1), (2, 3, 3)]:
        with pytest.raises(ValueError):
            FaceStencil2D(*shape)


CONFIGS = [AdvectionModelConfig(0.1, 0.2, layers=3, channels=6),
           AdvectionModelConfig(0.1, 0.2, layers=1, channels=1),
           AdvectionModelConfig(0.1, 0.2, layers=2, channels=4, kernel=5, normal=4, tangent=3, accuracy=2),
           AdvectionModelConfig(0.1, 0.2, layers=2, channels=4, kernel=1, normal=6, tangent=5)]


def make(config, dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    model = AdvectionFluxModel(config, dtype)
    with torch.no_grad():                       # move off the near-zero initialisation
        for p in model.parameters():
            p.normal_(0, 0.3)
    return model


def divergence_free(rng, ny, nx, dx, dy, batch=2):
    """Periodic face velocities from a random periodic stream function at the corners:
    the discrete divergence of every cell vanishes to round-off."""
    psi = torch.tensor(rng.normal(size=(batch, ny, nx)))
    u = (torch.roll(psi, -1, -2) - psi) / dy            # left face of cell (j, i): psi at its two corners
    v = -(torch.roll(psi, -1, -1) - psi) / dx
    return u, v


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"L{c.layers}k{c.kernel}s{c.normal}x{c.tangent}m{c.accuracy}")
def test_halo_contract_blocks_equal_the_periodic_domain(config, rng):
    """(ny + 2g) x (nx + 2g) cells and their lower faces' velocities in, (ny, nx + 1)
    and (ny + 1, nx) face fluxes out, no padding inside: the fluxes of any block cut from
    the halo-padded periodic domain (with the domain's c_range) are the domain's own, so a
    decomposition cannot change them. Non-square everywhere."""
    model = make(config)
    g, ny, nx = model.halo, 9, 14
    c = torch.tensor(rng.random(size=(2, ny, nx)))
    u, v = torch.tensor(rng.normal(size=(2, 2, ny, nx)))
    cp, up, vp = (pad_cells(x, g).unsqueeze(1) for x in (c, u, v))
    c_range = torch.stack([c.amin((-2, -1)), c.amax((-2, -1))], -1)
    fx, fy = model(cp, up, vp, c_range)
    assert fx.shape == (2, 1, ny, nx + 1) and fy.shape == (2, 1, ny + 1, nx)
    for (y0, y1), (x0, x1) in [((0, 4), (0, 5)), ((4, 9), (5, 14)), ((3, 4), (7, 8))]:
        block = (slice(None), slice(None), slice(y0, y1 + 2 * g), slice(x0, x1 + 2 * g))
        bx, by = model(cp[block], up[block], vp[block], c_range)
        # the same arithmetic on the same numbers, but convolutions of other sizes may block
        # their sums differently: round-off of ~100 terms of size ~1
        torch.testing.assert_close(bx, fx[..., y0:y1, x0:x1 + 1], rtol=0, atol=1e-12)
        torch.testing.assert_close(by, fy[..., y0:y1 + 1, x0:x1], rtol=0, atol=1e-12)


def test_conservative_and_semi_linear(rng):
    """Flux form: the domain's mass does not change. Semi-linear (the paper's reason for the
    normalisation): in a divergence-free flow dc/dt of a c + b is a dc/dt of c."""
    config = CONFIGS[0]
    model = make(config)
    ny, nx = 10, 13
    c = torch.tensor(rng.random(size=(2, ny, nx)))
    u, v = divergence_free(rng, ny, nx, config.dx, config.dy)
    rate = periodic_tendency(model, c, u, v)
    # 130 terms of size |flux| / dx ~ 100: sums cancel to ~1e-12
    torch.testing.assert_close(rate.sum((-2, -1)), torch.zeros(2, dtype=torch.float64), rtol=0, atol=1e-10)
    torch.testing.assert_close(periodic_tendency(model, 3.0 * c - 7.0, u, v), 3.0 * rate, rtol=1e-9, atol=1e-9)


def test_translation_equivariant_and_unroll_shapes(rng):
    config = CONFIGS[0]
    model = make(config)
    c = torch.tensor(rng.random(size=(1, 8, 12)))
    u, v = torch.tensor(rng.normal(size=(2, 1, 8, 12)))
    shift = lambda x: torch.roll(x, (3, 5), (-2, -1))   # noqa: E731
    torch.testing.assert_close(shift(periodic_tendency(model, c, u, v)),
                               periodic_tendency(model, shift(c), shift(u), shift(v)), rtol=0, atol=1e-12)
    states = euler_unroll(model, c, u, v, 0.01, 3)
    assert states.shape == (1, 3, 8, 12)
    steps = euler_unroll(model, c, u[:, None].expand(1, 3, 8, 12), v[:, None].expand(1, 3, 8, 12), 0.01, 3)
    torch.testing.assert_close(steps, states, rtol=0, atol=0)


def test_float32_and_float64_agree(rng):
    config = CONFIGS[0]
    m64 = make(config, torch.float64)
    m32 = make(config, torch.float32)
    m32.load_state_dict({k: v.float() for k, v in m64.state_dict().items()})
    c = rng.random(size=(1, 8, 12))
    u, v = rng.normal(size=(2, 1, 8, 12))
    a = periodic_tendency(m64, *(torch.tensor(x) for x in (c, u, v)))
    b = periodic_tendency(m32, *(torch.tensor(x, dtype=torch.float32) for x in (c, u, v)))
    # float32 round-off (6e-8) through 3 layers of ~10 terms, relative to the rates' scale
    assert (a - b.double()).abs().max() / a.abs().max() < 1e-5


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"L{c.layers}k{c.kernel}s{c.normal}x{c.tangent}m{c.accuracy}")
def test_flop_count_matches_the_modules_weights(config):
    """The model card's FLOP per cell-step: every convolution weight is one multiply-add per
    output per cell (hidden layers on cells, one x-face and one y-face per cell), plus the
    constraint's affine map and the stencil sum at two faces, plus the two fluxes."""
    model = AdvectionFluxModel(config, torch.float64)
    weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    n, free = config.normal * config.tangent, config.stencil().n_free
    assert config.flops_per_cell() == 2 * (weights + 2 * (free * n + n)) + 2
    folded = sum(m.weight.numel() for name, m in export_form(model).named_modules()
                 if isinstance(m, torch.nn.Conv2d) and not name.startswith("gather"))     # gathers: copies, no FLOP
    assert config.flops_per_cell(folded=True) == 2 * (folded + 2 * n) + 2


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"L{c.layers}k{c.kernel}s{c.normal}x{c.tangent}m{c.accuracy}")
def test_folding_the_constraint_into_the_face_layers_keeps_the_fluxes(config, rng):
    """The export's graph: alpha = fixed + B theta folded into the face convolutions and the
    stencil's cells gathered by one-hot convolutions give the trained model's fluxes to
    round-off (float64: ~10 terms of size ~1 reordered); the gathered cells are the cells
    exactly."""
    model = make(config)
    folded = export_form(model)
    g, ny, nx = model.halo, 7, 9
    c = torch.tensor(rng.random(size=(2, 1, ny + 2 * g, nx + 2 * g)))
    u, v = torch.tensor(rng.normal(size=(2, 2, 1, ny + 2 * g, nx + 2 * g)))
    c_range = torch.stack([c.amin((1, 2, 3)), c.amax((1, 2, 3))], -1)
    for a, b in zip(folded(c, u, v, c_range), model(c, u, v, c_range)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert model.coefficients is not None and folded.coefficients is None
    alpha = torch.tensor(rng.random(size=(2, len(model.offsets), ny, nx + 1)))
    assert torch.equal(folded.face_values(c, alpha, True), model.face_values(c, alpha, True))
    alpha = torch.tensor(rng.random(size=(2, len(model.offsets), ny + 1, nx)))
    assert torch.equal(folded.face_values(c, alpha, False), model.face_values(c, alpha, False))
