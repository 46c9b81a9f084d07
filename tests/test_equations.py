"""The one equation registry: the Python table (coupler.problems.equations) and the Fortran
one (hfc_equation.f90) are the same laws, the time-step rule gives the same bits in both
languages, and the host's polynomial stencil is the torch models' 'baseline' stencil."""
import math

import numpy as np
import pytest
import torch

from coupler.errors import ConfigError
from coupler.fortran_bindings import hfc_api as api
from coupler.host import HostConfig, face_fluxes
from coupler.problems.equations import EQUATIONS, make_equation
from training.models import FluxModel, ModelConfig, pad_periodic

def fortran_law(name, viscosity, velocity):
    """(stat, errmsg, c, a, terms) of the Fortran registry entry."""
    orders, coefficients = np.zeros(3, np.int32), np.zeros(3)
    c, a, count, stat, errmsg = api.api_equation_info(name, viscosity, velocity, orders, coefficients)
    return stat, errmsg.strip(), c, a, tuple(zip(orders[:count].tolist(), coefficients[:count].tolist()))


CASES = [("burgers", 0.01, None), ("burgers", 0.0, None), ("advection", 0.02, -0.7), ("advection", 0.0, 1.0),
         ("kdv", None, None), ("ks", None, None)]


@pytest.mark.parametrize("name, viscosity, velocity", CASES)
def test_fortran_and_python_registries_hold_the_same_law(name, viscosity, velocity):
    law = make_equation(name, viscosity, velocity)
    stat, errmsg, c, a, terms = fortran_law(name, law.viscosity, law.velocity)
    assert stat == 0 and errmsg == ""
    assert (c, a) == (law.quadratic, law.velocity)
    assert terms == tuple((order, b) for order, b in law.terms if b != 0)   # Fortran keeps the terms with b /= 0


@pytest.mark.parametrize("name, viscosity, velocity", CASES)
def test_time_step_rule_is_bit_identical_in_both_languages(name, viscosity, velocity, rng):
    """Random states, spacings and Courant numbers: the Python rule and the host's rule give
    the same float64 (exact equality: the same expressions in the same order)."""
    law = make_equation(name, viscosity, velocity)
    for _ in range(200):
        dx = 10 ** rng.uniform(-3, 0.7)
        u = rng.normal(0, 10 ** rng.uniform(-2, 1), size=17)
        cfl = rng.uniform(0.05, 1.0)
        dt, stat, errmsg = api.api_stable_dt(name, law.viscosity, law.velocity, dx, u, cfl)
        assert stat == 0
        assert dt == law.stable_dt(dx, law.max_wave_speed(u), cfl)


@pytest.mark.parametrize("dx", [0.013638109400970249, 0.1, 2 * math.pi / 64, 64 / 32])
def test_time_step_rule_at_spacings_where_pow_and_a_product_differ(dx):
    """dx = 0.01363810940097... is one where pow(dx, 2) and dx * dx round differently: the
    diffusive limit must still agree (u = 0, so it binds)."""
    for name in ("burgers", "ks"):
        law = make_equation(name)
        dt, stat, _ = api.api_stable_dt(name, law.viscosity, law.velocity, dx, np.zeros(4), 0.5)
        assert stat == 0 and dt == law.stable_dt(dx, 0.0, 0.5)


def test_time_step_rule_follows_each_limit():
    """Which limit binds, on hand-computed cases (cfl 1)."""
    burgers = make_equation("burgers", 0.01)
    assert burgers.stable_dt(0.1, 2.0, 1.0) == 0.1 / 2.0                   # advective dx / max|u|
    assert burgers.stable_dt(0.1, 0.0, 1.0) == 0.1 ** 2 / (2 * 0.01)       # u = 0: diffusion dx^2 / (2 eta)
    ks = make_equation("ks")
    assert ks.stable_dt(0.1, 1.0, 1.0) == 1.5 * 0.1 ** 4 / 16              # fourth order binds
    assert make_equation("advection", 0.0, 0.0).stable_dt(0.1, 0.0, 0.5) == np.finfo(float).max


def test_parameters_an_equation_does_not_have_are_refused():
    with pytest.raises(ConfigError, match="ks has no viscosity"):
        make_equation("ks", viscosity=0.01)
    with pytest.raises(ConfigError, match="burgers has no velocity"):
        HostConfig("burgers", 16, velocity=1.0)
    with pytest.raises(ConfigError, match="unknown equation 'euler'"):
        make_equation("euler")
    stat, errmsg, *_ = fortran_law("ks", 0.01, 0.0)
    assert stat == 1 and "no viscosity" in errmsg


def test_registry_defaults():
    assert HostConfig("kdv").length == 32.0 and HostConfig("ks").length == 64.0
    assert HostConfig("burgers").viscosity == 0.01 and HostConfig("advection").velocity == 1.0
    assert all(EQUATIONS[e].schemes == ("polynomial",) for e in ("kdv", "ks"))


@pytest.mark.parametrize("name", ["burgers", "kdv", "ks"])
def test_host_polynomial_stencil_equals_the_torch_baseline(name, rng):
    """The Fortran provider 'polynomial' and training.models' 'baseline' kind (the fixed part
    of the constrained layer) are independent implementations of the same stencil and flux
    law: they agree to 1e-12 of the flux scale (both float64; the Fortran coefficients come
    from its own elimination, the torch ones from numpy's solve)."""
    length = EQUATIONS[name].length
    n = 40
    config = HostConfig(name, n, length)
    model = FluxModel(ModelConfig(name, "baseline", dx=config.dx, viscosity=config.viscosity), torch.float64)
    u = torch.tensor(rng.normal(size=(3, n)))
    padded = pad_periodic(u, model.halo)
    want = model(padded.unsqueeze(1))[:, 0].numpy()
    got = face_fluxes(config, "polynomial", padded.numpy())
    assert got.shape == want.shape == (3, n + 1)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * max(1.0, np.abs(want).max()))


def test_polynomial_stencil_is_sixth_order_on_smooth_data():
    """Face values of sin on the 6-cell stencil: the flux error falls ~2^6 per halving."""
    errors = []
    for n in (32, 64):
        config = HostConfig("advection", n, 2 * math.pi, viscosity=0.0, velocity=1.0)
        edges = np.arange(-3, n + 4) * config.dx
        u = (np.cos(edges[:-1]) - np.cos(edges[1:])) / config.dx                 # averages of sin, halo 3
        errors.append(np.abs(face_fluxes(config, "polynomial", u) - np.sin(np.arange(n + 1) * config.dx)).max())
    assert np.log2(errors[0] / errors[1]) >= 5.5
