"""Forcing (Bar-Sinai et al. SI Eq. S-6) and initial conditions: determinism, exact cell
averages, and the identical forcing in Python and in the Fortran host."""
import numpy as np
import pytest
from scipy.integrate import quad

from coupler.host import Host, HostConfig, PythonFlux, TimeConfig
from coupler.problems.forcing import Forcing, ForcingConfig, random_forcing
from coupler.problems.initial_conditions import initial_condition


def test_forcing_is_deterministic_and_within_the_paper_ranges():
    a, b, c = random_forcing(11), random_forcing(11), random_forcing(12)
    for name in ("amplitude", "omega", "phase", "wavenumber"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.amplitude, c.amplitude)
    cfg = ForcingConfig()
    assert a.n_modes == 20
    assert np.all((-0.5 <= a.amplitude) & (a.amplitude <= 0.5))
    assert np.all((-0.4 <= a.omega) & (a.omega <= 0.4))
    assert np.all((0 <= a.phase) & (a.phase <= 2 * np.pi))
    assert set(a.wavenumber) <= set(cfg.wavenumbers)
    # many draws cover the wavenumber set
    assert set(np.concatenate([random_forcing(s).wavenumber for s in range(5)])) == {3, 4, 5, 6}


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
def test_forcing_cell_averages_are_exact_integrals():
    forcing = random_forcing(4)
    n, length, t = 16, 2 * np.pi, 2.5
    dx = length / n
    got = forcing.cell_averages(n, length, t)

    def f(x):
        return np.sum(forcing.amplitude * np.sin(forcing.omega * t + 2 * np.pi * forcing.wavenumber * x / length
                                                 + forcing.phase))

    want = [quad(f, i * dx, (i + 1) * dx, epsabs=1e-15, epsrel=1e-15)[0] / dx for i in range(n)]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)


def test_fortran_host_applies_the_same_forcing():
    """With zero fluxes SSP-RK3 integrates the forcing with Simpson's rule:
    u(dt) = dt (S(0) + 4 S(dt/2) + S(dt)) / 6. The Fortran result must match the NumPy
    cell averages to round-off (1e-15 absolute: the Fortran side sums modes of equal
    wavenumber first, a different order of the same additions)."""
    forcing = random_forcing(5)
    config = HostConfig("burgers", 50, length=2 * np.pi)
    dt = 0.3
    zero = PythonFlux(lambda u, t: np.zeros(config.n + 1), halo=0)
    u, _ = Host(config, zero, forcing, TimeConfig(dt=dt)).advance(np.zeros(config.n), 1.0, 1.0 + dt)
    s = lambda t: forcing.cell_averages(config.n, config.length, t)
    simpson = dt * (s(1.0) + 4 * s(1.0 + dt / 2) + s(1.0 + dt)) / 6
    np.testing.assert_allclose(u, simpson, rtol=0, atol=1e-15)


def test_namelist_round_trip_is_bitwise(tmp_path):
    forcing = random_forcing(9)
    path = tmp_path / "forcing.nml"
    forcing.write_namelist(path)
    back = Forcing.read_namelist(path)
    for name in ("amplitude", "omega", "phase", "wavenumber"):
        np.testing.assert_array_equal(getattr(back, name), getattr(forcing, name))


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")   # asks quad for ~eps
@pytest.mark.parametrize("kind,profile", [
    ("sine", lambda x, L: np.sin(2 * np.pi * x / L)),
    ("gaussian", lambda x, L: np.exp(-100 * (x / L - 0.5) ** 2)),
    ("zero", lambda x, L: 0.0 * x),
])
@pytest.mark.parametrize("length", [1.0, 2 * np.pi, 20.0])
def test_initial_conditions_are_exact_cell_averages(kind, profile, length):
    n = 24
    dx = length / n
    got = initial_condition(kind, n, length)
    want = [quad(profile, i * dx, (i + 1) * dx, args=(length,), epsabs=1e-16, epsrel=1e-15)[0] / dx
            for i in range(n)]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)


def test_unknown_initial_condition():
    with pytest.raises(ValueError, match="unknown initial condition"):
        initial_condition("square", 8, 1.0)
