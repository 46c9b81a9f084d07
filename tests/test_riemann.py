"""Exact Godunov flux of Burgers: shocks, rarefactions and the transonic fan, in the
NumPy reference and in Fortran, against the Riemann solution written independently."""
import numpy as np
import pytest

from coupler.host import HostConfig, face_fluxes
from training.fluxes import godunov_burgers


def riemann_flux(ul: float, ur: float) -> float:
    """Flux at x/t = 0 of the exact Riemann solution of u_t + (u^2/2)_x = 0."""
    f = lambda u: 0.5 * u * u
    if ul > ur:                       # shock with Rankine-Hugoniot speed (ul + ur) / 2
        return f(ul) if ul + ur > 0 else f(ur)
    if ul >= 0:                       # rarefaction moving right
        return f(ul)
    if ur <= 0:                       # rarefaction moving left
        return f(ur)
    return 0.0                        # transonic rarefaction: u = 0 at the face


CASES = {
    "shock right-moving": (2.0, 1.0, 2.0),
    "shock left-moving": (-1.0, -3.0, 4.5),
    "stationary shock": (1.0, -1.0, 0.5),
    "rarefaction right": (1.0, 2.0, 0.5),
    "rarefaction left": (-2.0, -1.0, 0.5),
    "transonic rarefaction": (-1.0, 1.5, 0.0),
    "transonic, asymmetric": (-0.25, 3.0, 0.0),
    "constant": (0.7, 0.7, 0.245),
}


@pytest.mark.parametrize("name", CASES)
def test_reference_godunov_known_cases(name):
    ul, ur, expected = CASES[name]
    assert godunov_burgers(np.array(ul), np.array(ur)) == pytest.approx(expected, abs=1e-15)
    assert riemann_flux(ul, ur) == pytest.approx(expected, abs=1e-15)


def fortran_godunov(ul: np.ndarray, ur: np.ndarray) -> np.ndarray:
    """Fortran first-order flux at face 1 of states [ul, ur, 0] (halo 1, one interior cell)."""
    states = np.stack([ul, ur, np.zeros_like(ul)], axis=-1)
    return face_fluxes(HostConfig("burgers", 1, 1.0, 0.0), "godunov", states)[:, 0]


@pytest.mark.parametrize("name", CASES)
def test_fortran_godunov_known_cases(name):
    ul, ur, expected = CASES[name]
    assert fortran_godunov(np.array([ul]), np.array([ur]))[0] == pytest.approx(expected, abs=1e-15)


def test_godunov_matches_riemann_solution_on_random_states(rng):
    ul = rng.uniform(-3, 3, 2000)
    ur = rng.uniform(-3, 3, 2000)
    exact = np.array([riemann_flux(a, b) for a, b in zip(ul, ur)])
    np.testing.assert_allclose(godunov_burgers(ul, ur), exact, rtol=0, atol=1e-15)
    np.testing.assert_allclose(fortran_godunov(ul, ur), exact, rtol=0, atol=1e-15)
