"""The pseudo-spectral ETDRK4 reference solver for KdV and KS (training/spectral.py).

Measured refinement differences (max-abs over 2 trajectories, seeds 1 and 3, which have
the largest peaks among seeds 0-7, |v| up to ~4.4, all output times):
    KdV to t = 2, n = 256: dt = 2.5e-4 vs 1.25e-4: 1.1e-8;  n = 256 vs 512: 1.7e-8.
    KS  to t = 5, n = 256: dt = 5e-3   vs 2.5e-3:  2.0e-9;  n = 256 vs 512: 3e-15.
(With 2/3 truncation instead of 3/2 padding, KdV n = 256 vs 512 was ~1.7e-6.)
"""
import numpy as np
import pytest

from coupler.problems.forcing import ForcingConfig, random_forcing
from training.spectral import (DEFAULT_DT, DEFAULT_LENGTH, SpectralConfig, cell_averages,
                               face_flux, nodes, random_initial_condition, solve, step_size,
                               time_derivative_of_cell_averages)

SEEDS = (1, 3)
FINAL_TIME = {"kdv": 2.0, "ks": 5.0}


def initial_batch(equation: str, n: int) -> np.ndarray:
    return np.stack([random_initial_condition(s, n, DEFAULT_LENGTH[equation]) for s in SEEDS])


@pytest.fixture(scope="module", params=["kdv", "ks"])
def refinement(request):
    """Default run, half-step run and double-resolution run of the same initial conditions."""
    equation = request.param
    times = np.linspace(0.0, FINAL_TIME[equation], 5)
    base = solve(SpectralConfig(equation), initial_batch(equation, 256), times)
    half = solve(SpectralConfig(equation, dt=DEFAULT_DT[equation] / 2), initial_batch(equation, 256), times)
    fine = solve(SpectralConfig(equation, n=512), initial_batch(equation, 512), times)
    return equation, times, base, half, fine


def soliton(x: np.ndarray, t: float, c: float, x0: float, length: float) -> np.ndarray:
    """(c/2) sech^2(sqrt(c)/2 (x - c t - x0)), centred on the nearest periodic image."""
    xi = (x - c * t - x0 + length / 2) % length - length / 2
    return c / 2 / np.cosh(np.sqrt(c) / 2 * xi) ** 2


def test_kdv_soliton_matches_exact_solution():
    """A c = 2 soliton on L = 32 (its tail at distance L/2 is ~1e-9, so the periodic
    initial data is exact to that level) after t = 2, and at times that are not
    multiples of dt, agrees with the translated soliton to 1e-7 (measured 6e-10). An
    output missed by one step dt would be off by ~c |v_x| dt ~ 1e-4."""
    config = SpectralConfig("kdv")
    c, x0 = 2.0, 12.0
    x = nodes(config.n, config.length)
    times = np.array([0.0, 0.0123, 0.7777, 2.0])
    out = solve(config, soliton(x, 0.0, c, x0, config.length), times)
    for state, t in zip(out, times):
        np.testing.assert_allclose(state, soliton(x, t, c, x0, config.length), rtol=0, atol=1e-7)


def test_converged_in_time(refinement):
    """Halving dt changes the solution by < 1e-6 max-abs (measured 1.1e-8 KdV, 2e-9 KS)."""
    _, _, base, half, _ = refinement
    assert np.abs(base - half).max() < 1e-6


def test_converged_in_space(refinement):
    """n = 256 and n = 512 agree on the common nodes to < 1e-6 (measured 1.7e-8 KdV, 3e-15 KS)."""
    _, _, base, _, fine = refinement
    assert np.abs(base - fine[..., ::2]).max() < 1e-6


def test_mean_is_conserved(refinement):
    """The k = 0 mode is untouched by both the linear and the nonlinear part, so the mean
    (integral / L) stays at its initial value to round-off: 1e-14 for |v| ~ 1."""
    _, _, base, _, fine = refinement
    for run in (base, fine):
        means = run.mean(axis=-1)
        np.testing.assert_allclose(means, means[:, :1] * np.ones_like(means), rtol=0, atol=1e-14)


def test_cell_averages_of_sine_are_analytic():
    """For sin(2 pi x / L) at the nodes (its interpolant is exact), the averages over
    [x_j, x_{j+1}] equal (cos(k a) - cos(k b)) / (k dx) to 1e-13 (round-off of FFTs)."""
    for n, length in [(64, 32.0), (256, 64.0), (33, 5.0)]:
        x = nodes(n, length)
        k, dx = 2 * np.pi / length, length / n
        exact = (np.cos(k * x) - np.cos(k * (x + dx))) / (k * dx)
        np.testing.assert_allclose(cell_averages(np.sin(k * x), length), exact, rtol=0, atol=1e-13)


def test_cell_averages_preserve_mean_and_kill_nyquist(rng):
    """The averages of cells tiling [0, L) have the mean of the interpolant, which is the
    nodal mean (to 1e-14); the Nyquist cosine (-1)^j has zero average in every cell."""
    v = rng.standard_normal((3, 128))
    averages = cell_averages(v, 32.0)
    np.testing.assert_allclose(averages.mean(axis=-1), v.mean(axis=-1), rtol=0, atol=1e-14)
    np.testing.assert_allclose(cell_averages((-1.0) ** np.arange(128), 32.0), 0.0, atol=1e-14)


def test_face_flux_of_sine_is_analytic():
    """For v = sin(k x) the fluxes are 3 v^2 - k^2 v (KdV) and v^2/2 + k cos - k^3 cos (KS),
    to 1e-12 (spectral derivatives of a resolved mode are exact to round-off); the
    Nyquist mode has no odd derivatives, so its KS flux is v^2/2."""
    n, length = 64, 32.0
    x = nodes(n, length)
    k = 2 * np.pi * 3 / length
    v = np.sin(k * x)
    np.testing.assert_allclose(face_flux("kdv", v, length), 3 * v**2 - k**2 * v, atol=1e-12)
    np.testing.assert_allclose(face_flux("ks", v, length), v**2 / 2 + (k - k**3) * np.cos(k * x), atol=1e-12)
    nyquist = (-1.0) ** np.arange(n)
    np.testing.assert_allclose(face_flux("ks", nyquist, length), 0.5, atol=1e-12)


@pytest.mark.parametrize("equation, tolerance", [("kdv", 1e-4), ("ks", 1e-8)])
def test_time_derivative_matches_finite_difference_of_cell_averages(equation, tolerance):
    """A fourth-order central difference (delta = 1e-3) of the cell averages of solution
    states matches -(J_{j+1} - J_j)/dx at the centre time t = 0.5, relative to the
    largest rate. Its truncation error delta^4 |d^5 v/dt^5| / 30 is negligible; the
    floor is resolution: KS is resolved at n = 256 (measured 1e-11, tolerance 1e-8).
    For KdV seed 1 (|v| ~ 4.4) the nodal v_xx at n = 256 is good to only ~1e-5, which
    the difference over dx turns into 1.9e-4 absolute, 1.4e-5 relative (n = 512: 1e-10
    in space); tolerance 1e-4. A wrong sign or a face shifted by one cell is O(1)."""
    length, delta, t = DEFAULT_LENGTH[equation], 1e-3, 0.5
    times = np.array([0.0, t - 2 * delta, t - delta, t, t + delta, t + 2 * delta])
    v = solve(SpectralConfig(equation), initial_batch(equation, 256), times)
    averages = cell_averages(v[:, 1:], length)
    difference = (averages[:, 0] - 8 * averages[:, 1] + 8 * averages[:, 3] - averages[:, 4]) / (12 * delta)
    exact = time_derivative_of_cell_averages(equation, v[:, 3], length)
    scale = np.abs(exact).max()
    assert np.abs(difference - exact).max() < tolerance * scale


def test_random_initial_condition_is_reproducible_and_in_range():
    """Same seed, same bits; the parameters are those of random_forcing with ten modes,
    A in [-0.5, 0.5], phi in [0, 2 pi), l in {1, 2, 3}, and the nodal values are exactly
    their sum of sines (to 1e-14), so only Fourier modes 1-3 are present."""
    n, length = 256, 32.0
    a = random_initial_condition(7, n, length)
    np.testing.assert_array_equal(a, random_initial_condition(7, n, length))
    assert not np.array_equal(a, random_initial_condition(8, n, length))
    f = random_forcing(7, ForcingConfig(n_modes=10, wavenumbers=(1, 2, 3)))
    assert f.n_modes == 10
    assert np.all(np.abs(f.amplitude) <= 0.5)
    assert np.all((f.phase >= 0) & (f.phase <= 2 * np.pi))
    assert set(f.wavenumber.tolist()) <= {1, 2, 3}
    x = nodes(n, length)
    expected = sum(A * np.sin(2 * np.pi * l * x / length + p)
                   for A, l, p in zip(f.amplitude, f.wavenumber, f.phase))
    np.testing.assert_allclose(a, expected, rtol=0, atol=1e-14)
    assert np.abs(a).max() <= np.abs(f.amplitude).sum()
    spectrum = np.abs(np.fft.rfft(a)) / n
    assert spectrum[0] < 1e-15 and spectrum[4:].max() < 1e-14


def test_output_times_are_hit_exactly():
    """Each output interval is split into equal steps of at most dt that sum to it; the
    KS state at t = 0.3337 does not depend on which intermediate outputs were requested
    (agreement to 1e-10, far below the ~1e-3 change of one step dt), and times[0] = 0
    returns v0 bit for bit."""
    for span, dt in [(0.0123, 2.5e-4), (0.3337, 5e-3), (1.0, 5e-3), (3e-6, 5e-3)]:
        steps, h = step_size(span, dt)
        assert h <= dt * (1 + 1e-12) and abs(steps * h - span) < 1e-12 * span
    v0 = initial_batch("ks", 256)
    config = SpectralConfig("ks")
    direct = solve(config, v0, np.array([0.0, 0.3337]))
    stopped = solve(config, v0, np.array([0.0, 0.001, 0.1, 0.3337]))
    np.testing.assert_array_equal(direct[:, 0], v0)
    np.testing.assert_allclose(direct[:, -1], stopped[:, -1], rtol=0, atol=1e-10)


def test_batch_and_single_trajectories_agree():
    """A batch advances each row independently: rows match single runs to round-off
    (1e-12; batched and single FFTs may differ in the last bits), and 1-D v0 gives
    (len(times), n)."""
    config = SpectralConfig("kdv", n=64)
    v0 = np.stack([random_initial_condition(s, 64, config.length) for s in (0, 1)])
    times = np.array([0.0, 0.05, 0.1])
    batch = solve(config, v0, times)
    assert batch.shape == (2, 3, 64)
    for row in range(2):
        single = solve(config, v0[row], times)
        assert single.shape == (3, 64)
        np.testing.assert_allclose(batch[row], single, rtol=0, atol=1e-12)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="unknown equation"):
        SpectralConfig("burgers")
    with pytest.raises(ValueError, match="n must be"):
        SpectralConfig("kdv", n=4)
    with pytest.raises(ValueError, match="dt"):
        SpectralConfig("ks", dt=0.0)
    config = SpectralConfig("ks", n=32)
    v0 = np.zeros(32)
    with pytest.raises(ValueError, match="increasing"):
        solve(config, v0, np.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="start at 0"):
        solve(config, v0, np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="shape"):
        solve(config, np.zeros(16), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="not finite"):
        solve(config, np.full(32, np.nan), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="non-finite state"):
        huge = 1e200 * np.sin(2 * np.pi * nodes(32, config.length) / config.length)
        solve(config, huge, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="unknown equation"):
        face_flux("burgers", v0, 1.0)
