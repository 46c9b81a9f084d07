"""Fortran face fluxes against the independent NumPy reference (training.fluxes)."""
import numpy as np
import pytest

from coupler.host import HostConfig, face_fluxes, halo_width
from training import fluxes as ref

SCHEMES = ["godunov", "fv3", "weno5"]


def smooth_states(rng, nbatch, m):
    x = np.linspace(0, 2 * np.pi, m, endpoint=False)
    return np.stack([rng.uniform(0.2, 1) * np.sin(x + rng.uniform(0, 6)) + rng.uniform(-0.5, 0.5)
                     + 0.3 * np.cos(3 * x + rng.uniform(0, 6)) for _ in range(nbatch)])


def discontinuous_states(rng, nbatch, m):
    jumps = np.cumsum(rng.uniform(-1.5, 1.5, (nbatch, m)) * (rng.random((nbatch, m)) < 0.15), axis=1)
    return jumps + 1e-3 * rng.standard_normal((nbatch, m))


@pytest.mark.parametrize("equation,velocity", [("burgers", 0.0), ("advection", 0.8), ("advection", -0.6)])
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("kind", ["smooth", "discontinuous"])
def test_fortran_equals_reference(rng, equation, velocity, scheme, kind):
    """Agreement to 1e-12 (relative to the flux scale): both evaluate the same formulas in
    float64; the Fortran WENO5 multiplies its weights through by s0 s1 s2 (one division
    instead of four), which moves results by a few ulps, far below the tolerance."""
    n, nbatch = 37, 5                       # nbatch != n + 2g: a transposition cannot pass
    g = ref.HALO[scheme]
    assert halo_width(scheme) == g
    make = smooth_states if kind == "smooth" else discontinuous_states
    u = make(rng, nbatch, n + 2 * g)
    config = HostConfig(equation, n, length=3.0, viscosity=0.01, velocity=velocity)
    got = face_fluxes(config, scheme, u)
    want = ref.face_fluxes(u, equation, scheme, config.dx, config.viscosity, velocity)
    assert got.shape == want.shape == (nbatch, n + 1)
    scale = max(1.0, np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * scale)


def test_batch_rows_are_independent_states(rng):
    """Each batch row gives what that state gives alone: layout is (nbatch, n + 2g) in
    Python and u(n + 2g, nbatch) in Fortran, with no transposition in between."""
    n, g = 29, 3
    u = discontinuous_states(rng, 4, n + 2 * g)
    config = HostConfig("burgers", n)
    batch = face_fluxes(config, "weno5", u)
    for b in range(4):
        np.testing.assert_array_equal(batch[b], face_fluxes(config, "weno5", u[b]))
    assert not np.allclose(batch[0], batch[1])


def test_face_k_lies_between_cells_k_minus_1_and_k():
    """First-order upwind flux at face k is a * u(k-1) for a > 0 and a * u(k) for a < 0,
    with cells numbered 0 (left halo) .. n + 1 (right halo)."""
    n = 20
    cells = np.arange(n + 2, dtype=float)          # u(cell j) = j, halo included
    k = np.arange(1, n + 2)
    right = face_fluxes(HostConfig("advection", n, viscosity=0.0, velocity=2.0), "godunov", cells)
    left = face_fluxes(HostConfig("advection", n, viscosity=0.0, velocity=-2.0), "godunov", cells)
    np.testing.assert_array_equal(right, 2.0 * (k - 1))
    np.testing.assert_array_equal(left, -2.0 * k)


def test_wrong_shapes_are_refused():
    from coupler.errors import ConfigError
    with pytest.raises(ConfigError):
        face_fluxes(HostConfig("burgers", 4), "weno5", np.zeros(6))   # 6 - 2*3 = 0 cells
    with pytest.raises(ConfigError, match="unknown scheme"):
        halo_width("weno9")
