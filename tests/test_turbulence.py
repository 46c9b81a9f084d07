"""The decaying-turbulence solver (coupler.problems.turbulence) behaves as 2D decaying
turbulence, and its flow is a valid host velocity field. The checks, on 64^2 with dt =
0.005 (a Courant number ~0.1 for |u| <= 2) and the paper's 4 time units of spin-up:

- the McWilliams initial condition has mean(u^2 + v^2) = 1 and its energy spectrum peaks
  at k ~ 6 / 3^(1/4) ~ 4.6 (E(k) ~ k / (1 + (k/6)^4) shell by shell);
- energy is nearly conserved while enstrophy cascades to the grid scale and is removed
  there (the two invariants of 2D inviscid flow, only the second dissipated by a
  small-scale filter): over 6 time units energy keeps > 80% (measured 87.5-89.7% over
  seeds 1-7), enstrophy < 30% (measured 17%);
- after spin-up the spectrum in the enstrophy range (6 <= k <= 16) falls as k^-s with
  s in [2.5, 5] (Kraichnan-Batchelor k^-3, steeper with coherent vortices, as McWilliams
  1984 found; measured 3.0-3.4 over seeds 1-7);
- psi from the Fourier series equals the inverse FFT at the solver's points and a direct
  double sum at points off the grid (1e-13), the face velocities on a host grid are
  divergence-free to round-off, runs are bitwise reproducible from the seed.
"""
import math

import numpy as np
import pytest

from coupler.errors import ConfigError
from coupler.problems.flows import Grid2D, divergence
from coupler.problems.turbulence import (Spectral, TurbulenceConfig, decaying_turbulence, energy_and_enstrophy,
                                         energy_spectrum, mcwilliams_psi_hat)

CONFIG = TurbulenceConfig(n=64, dt=0.005, spinup=4.0, seed=1)


@pytest.fixture(scope="module")
def flow():
    return decaying_turbulence(CONFIG, t_end=2.0, save_every=0.5)


def test_mcwilliams_initial_condition():
    psi_hat = mcwilliams_psi_hat(64, 1)
    energy, _ = energy_and_enstrophy(psi_hat)
    assert energy == pytest.approx(0.5, abs=1e-12)
    k, spectrum = energy_spectrum(psi_hat)
    smooth = np.convolve(spectrum, np.ones(3) / 3, mode="same")     # one random draw: smooth over 3 shells
    assert 3 <= k[np.argmax(smooth)] <= 7


def test_energy_is_kept_and_enstrophy_cascades_away(flow):
    e0, z0 = energy_and_enstrophy(mcwilliams_psi_hat(64, 1))
    e, z = energy_and_enstrophy(flow.psi_hats[-1])
    assert e > 0.8 * e0 and z < 0.3 * z0
    energies = [energy_and_enstrophy(p)[0] for p in flow.psi_hats]
    assert all(b <= a + 1e-12 for a, b in zip(energies, energies[1:]))   # the filter only removes


def test_the_spectrum_falls_as_in_the_enstrophy_range(flow):
    k, spectrum = energy_spectrum(flow.psi_hats[0])
    band = (k >= 6) & (k <= 16)
    slope = np.polyfit(np.log(k[band]), np.log(spectrum[band]), 1)[0]
    assert -5.0 <= slope <= -2.5, slope


def test_the_flow_is_a_host_velocity_field(flow):
    n = CONFIG.n
    x = np.arange(n) * (2 * math.pi / n)
    grid_x, grid_y = np.meshgrid(x, x)
    psi_hat = flow.psi_hats[1].copy()
    psi_hat[n // 2, :] = 0.0
    psi_hat[:, n // 2] = 0.0                                    # the series leaves out the Nyquist modes
    direct = np.fft.irfft2(psi_hat, s=(n, n))
    np.testing.assert_allclose(flow.psi(grid_x, grid_y, flow.times[1]), direct, rtol=0, atol=1e-13)
    rng = np.random.Generator(np.random.PCG64(0))                 # off the grid: a direct double sum
    px, py = rng.uniform(0, 2 * math.pi, 5), rng.uniform(0, 2 * math.pi, 5)
    ky = np.fft.fftfreq(n, 1.0 / n)
    kx = np.fft.rfftfreq(n, 1.0 / n)
    total = np.zeros(5)
    for b, wave_y in enumerate(ky):
        for a, wave_x in enumerate(kx):
            weight = 1.0 if wave_x == 0 else 2.0
            total += weight * np.real(psi_hat[b, a] * np.exp(1j * (wave_x * px + wave_y * py))) / n ** 2
    np.testing.assert_allclose(flow.psi(px, py, flow.times[1]), total, rtol=0, atol=1e-13)
    grid = Grid2D(40, 24, 2 * math.pi, 2 * math.pi)             # any host resolution, non-square cells
    u, v = flow.face_velocities(grid, 1.3)                      # between snapshots: linear in time
    assert 0.5 < np.max(np.abs(u)) < 5
    assert np.max(np.abs(divergence(grid, u, v))) <= 1e-12 * np.max(np.abs(u)) / grid.dx
    with pytest.raises(ConfigError, match="covers t in"):
        flow.face_velocities(grid, 2.5)
    with pytest.raises(ConfigError, match="periodic on"):
        flow.face_velocities(Grid2D(8, 8))


def test_runs_are_reproducible_from_the_seed(flow):
    again = decaying_turbulence(CONFIG, t_end=2.0, save_every=0.5)
    np.testing.assert_array_equal(again.psi_hats, flow.psi_hats)
    np.testing.assert_array_equal(flow.times, [0.0, 0.5, 1.0, 1.5, 2.0])
    other = mcwilliams_psi_hat(64, 2)
    assert not np.array_equal(other, mcwilliams_psi_hat(64, 1))
    with pytest.raises(ConfigError):
        TurbulenceConfig(n=63)
    spectral = Spectral(64)
    assert spectral.filter.min() < 1e-6 and spectral.filter[0, 0] == 1.0
