"""Global conservation of the flux-form update with a zero-mean forcing."""
import numpy as np

from coupler.host import Host, HostConfig, TimeConfig
from coupler.problems.forcing import random_forcing

EPS = np.finfo(np.float64).eps


def test_forcing_has_zero_mean_on_the_grid():
    """sum_i sin(k x_i + c) = 0 for integer wavenumbers 0 < l < n (roots of unity)."""
    forcing = random_forcing(3)
    for t in (0.0, 1.7, 12.3):
        assert abs(forcing.cell_averages(128, 2 * np.pi, t).mean()) < 1e-15


def test_mean_drifts_only_by_roundoff_over_ten_thousand_steps():
    """Forced periodic Burgers, WENO5, 10^4 fixed steps.

    In exact arithmetic the flux differences telescope and the forcing has zero mean, so
    the mean is constant. In float64 each cell update of each RK stage rounds with a
    relative error of a few eps of its terms, so after N steps the mean can drift by at
    most about N * 3 stages * eps * max|u| in the worst (linear) case; the bound used,
    10 * N * eps * max|u| ~ 5e-11 here, keeps a safety factor over that and is still
    10^6 times below what a real conservation defect (an O(dt) error per step) produces.
    """
    n, steps = 128, 10_000
    config = HostConfig("burgers", n)
    x = config.cell_centres()
    u0 = 0.3 + np.sin(x) + 0.2 * np.cos(3 * x)
    dt = 2e-3
    u, taken = Host(config, "weno5", random_forcing(7), TimeConfig(dt=dt)).advance(u0, 0.0, steps * dt)
    assert taken == steps
    assert np.max(np.abs(u - u0)) > 0.1, "the solution must actually evolve"
    drift = abs(u.mean() - u0.mean())
    bound = 10 * steps * EPS * max(1.0, np.abs(u).max())
    print(f"mean drift {drift:.2e}, bound {bound:.2e}")
    assert drift <= bound
