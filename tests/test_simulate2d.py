"""2D runs end to end: `hfc simulate --equation advection2d` and coupler.simulate.run with
the paper's problems (coupler.problems.advection2d), checked against exact solutions,
conservation, the paper's entropy, restarts bit for bit, and hostile command lines."""
import math

import netCDF4
import numpy as np
import pytest

from coupler.errors import ConfigError
from coupler.host import HostConfig, TimeConfig
from coupler.problems.advection2d import FlowConfig, entropy, exact_solution, tracer
from coupler.problems.flows import Grid2D
from coupler.simulate import NumericsConfig, OutputConfig, ProblemConfig, RestartConfig, SimulationConfig, run


def config2d(nx=24, ny=16, flow=FlowConfig("random"), ic="blob", scheme="vanleer", t_end=1.0, save_every=0.25,
             time=TimeConfig(cfl=0.5, method="euler"), restart=RestartConfig(), length=None, seed=2):
    return SimulationConfig(problem=ProblemConfig(HostConfig("advection2d", (nx, ny), length), ic=ic, seed=seed,
                                                  flow=flow),
                            numerics=NumericsConfig(scheme, time=time),
                            output=OutputConfig(t_end, save_every, restart))


def test_cli_deformational_defaults_follow_the_paper(hfc, tmp_path):
    """`--equation advection2d --nx 32`: Van Leer, forward Euler at peak Courant 0.5, the
    deformational flow to T = 5 and the blob (Zhuang et al. 2021, Sec. III B). The file
    holds c(time, y, x), the paper's entropy (1 at t = 0, above 1 later: Van Leer is
    monotone, so it only diffuses) and the L1/L2 errors where the exact solution is known
    (t = T: the blob is back)."""
    out = tmp_path / "deformational.nc"
    result = hfc("simulate", "--equation", "advection2d", "--nx", 32, "--ny", 24, "--save-every", 1.25,
                 "--output", out, "--quiet")
    assert result.returncode == 0, result.stderr
    with netCDF4.Dataset(out) as ds:
        ds.set_auto_mask(False)      # the errors where no exact solution is known are missing: NaN
        assert ds["c"].dimensions == ("time", "y", "x") and ds["c"].shape == (5, 24, 32)
        np.testing.assert_allclose(ds["x"][:], (np.arange(32) + 0.5) / 32, rtol=1e-15)
        np.testing.assert_allclose(ds["y"][:], (np.arange(24) + 0.5) / 24, rtol=1e-15)
        assert (ds.scheme, ds.time_stepping, ds.tracer, int(ds.nx), int(ds.ny)) == \
            ("vanleer", "forward Euler", "blob", 32, 24)
        assert "Eq. 8, T = 5.0" in ds.velocity_field and ds["time"][-1] == 5.0
        mass = ds["mass"][:]
        assert np.max(np.abs(mass - mass[0])) <= 1e-13 * mass[0]     # flux form: round-off only
        s = ds["entropy"][:]
        assert s[0] == 1.0 and np.all(s[1:] > 1.0)
        l1, l2 = ds["l1_error"][:], ds["l2_error"][:]
        assert np.isnan(l1[1:-1]).all() and l1[0] == 0.0          # known at t = 0 and T only
        assert 0 < l1[-1] < l2[-1] < 0.2
        c = ds["c"][:]
        assert c.min() >= -1e-14 and c.max() <= c[0].max() + 1e-14   # no new extrema


def test_cli_turbulence_defaults_follow_the_paper(hfc, tmp_path):
    """`--velocity turbulence`: [0, 2 pi]^2 and the ten random blobs (Sec. III C), the
    velocities from the spectral run of the seed (here at 32^2 to be quick). The mass stays
    (round-off) and Van Leer only mixes: the entropy grows, the bounds hold."""
    out = tmp_path / "turbulence.nc"
    result = hfc("simulate", "--equation", "advection2d", "--nx", 24, "--velocity", "turbulence",
                 "--turbulence-resolution", 32, "--t-end", 1, "--save-every", 0.5, "--output", out, "--quiet")
    assert result.returncode == 0, result.stderr
    with netCDF4.Dataset(out) as ds:
        ds.set_auto_mask(False)
        assert ds.tracer == "blobs" and ds.length_x == ds.length_y == 2 * math.pi
        assert "turbulence" in ds.velocity_field and "32^2" in ds.velocity_field
        assert np.isnan(ds["l1_error"][1:]).all()                       # no exact solution
        mass, s, c = ds["mass"][:], ds["entropy"][:], ds["c"][:]
        assert np.max(np.abs(mass - mass[0])) <= 1e-13 * mass[0]
        assert s[0] == 1.0 and np.all(np.diff(s) > 0)
        assert c.min() >= -1e-14 and c.max() <= c[0].max() + 1e-14


def test_upwind_at_courant_one_is_the_exact_shift():
    """A constant velocity (1, 0) with dt = dx moves every cell one cell per step: upwind is
    exact there, so the diagnostics' exact solution (the translated tracer) must agree to
    round-off (1e-15 absolute, of values below 1: c - (c - c_left) is not exactly c_left).
    A check of the exact solution against an independent one, the shift."""
    n = 20
    config = config2d(n, 8, FlowConfig("constant", (1.0, 0.0)), ic="square", scheme="upwind", t_end=0.5,
                      save_every=0.25, time=TimeConfig(dt=1.0 / n, method="euler"))
    result = run(config)
    grid = config.host.grid2d()
    for t, c in zip(result.times, result.states):
        np.testing.assert_allclose(c, exact_solution(config.problem.flow, "square", grid, 2, t), rtol=0, atol=1e-14)
        np.testing.assert_allclose(c, np.roll(result.states[0], round(t * n), axis=1), rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", ["blob", "blobs", "square"])
def test_translated_tracers_are_periodic_shifts(name):
    """A shift by whole cells equals rolling the cell averages (the blob across the edges
    through its periodic images)."""
    grid = Grid2D(40, 30, 5.0, 5.0) if name == "blobs" else Grid2D(40, 30)
    shift = (-0.375 * grid.lx, 0.7 * grid.ly)                 # 15 and 21 cells
    np.testing.assert_allclose(tracer(name, grid, 4, shift), np.roll(tracer(name, grid, 4), (21, -15), axis=(0, 1)),
                               rtol=0, atol=1e-12)


def test_entropy_is_the_papers_eq_10():
    c0 = np.array([[0.5, 0.25], [0.0, 1.0]])
    s0 = -(0.5 * math.log(0.5) + 0.25 * math.log(0.25))
    assert entropy(c0, c0) == 1.0
    assert entropy(np.array([[0.25, 0.25], [-0.1, 0.5]]), c0) == pytest.approx(
        -(2 * 0.25 * math.log(0.25) + 0.5 * math.log(0.5)) / s0, rel=1e-15)        # the negative value counts 0


@pytest.mark.parametrize("scheme, time", [("vanleer", TimeConfig(cfl=0.5, method="euler")),
                                          ("weno5", TimeConfig(cfl=0.5))])
def test_restart_continuation_is_bit_identical(tmp_path, scheme, time):
    whole = run(config2d(scheme=scheme, time=time))
    first = run(config2d(scheme=scheme, time=time, t_end=0.5, restart=RestartConfig(every=0.5)), tmp_path / "a.nc")
    second = run(config2d(scheme=scheme, time=time, restart=RestartConfig(start_from=str(tmp_path / "a.restart.nc"))),
                 tmp_path / "b.nc")
    np.testing.assert_array_equal(second.states, whole.states[2:])
    assert 0 < first.nsteps < second.nsteps == whole.nsteps
    with netCDF4.Dataset(tmp_path / "a.restart.nc") as ds:
        assert ds["u"].dimensions == ("y", "x") and ds.run_flow.startswith("FlowConfig(kind='random'")
    with pytest.raises(ConfigError, match="flow"):     # another velocity field is another run
        run(config2d(scheme=scheme, time=time, flow=FlowConfig("constant"),
                     restart=RestartConfig(start_from=str(tmp_path / "a.restart.nc"))))


@pytest.mark.parametrize("args, fragment", [
    (["--equation", "advection2d"], "needs --nx"),
    (["--equation", "advection2d", "--nx", "16", "--n", "16"], "belong to the 1D equations"),
    (["--equation", "burgers", "--nx", "16", "--t-end", "1"], "belong to advection2d"),
    (["--equation", "advection2d", "--nx", "16", "--velocity", "swirl"], "--velocity of advection2d"),
    (["--equation", "advection2d", "--nx", "16", "--velocity", "random"], "--t-end is required"),
    (["--equation", "advection2d", "--nx", "16", "--scheme", "godunov"], "does not serve advection2d"),
    (["--equation", "advection2d", "--nx", "16", "--length", "2"], "periodic on [0, 1) x [0, 1)"),
    (["--equation", "advection2d", "--nx", "16", "--length", "1,2,3"], "expected L or LX,LY"),
    (["--equation", "advection2d", "--nx", "16", "--velocity", "turbulence", "--length", "1", "--t-end", "1"],
     "lives on [0, 6.28319)^2"),
    (["--equation", "advection2d", "--nx", "16", "--velocity", "turbulence", "--turbulence-resolution", "7",
      "--t-end", "1"], "even n >= 8"),
    (["--equation", "advection2d", "--nx", "16", "--procs", "2x2"], "does not fit the 1 rank of this run"),
    (["--equation", "advection2d", "--nx", "16", "--velocity", "random", "--period", "2", "--t-end", "1"],
     "--period belong to another velocity field than --velocity random"),
    (["--equation", "advection2d", "--nx", "16", "--frame-every", "0.1"], "--frame-every belong to another"),
    (["--equation", "advection2d", "--nx", "16", "--procs", "2by2"], "expected PXxPY"),
    (["--equation", "advection2d", "--nx", "2", "--scheme", "weno5"], "halo"),
    (["--equation", "advection2d", "--nx", "16", "--tracer", "blobs"], "at least 5 a side"),
    (["--equation", "advection2d", "--nx", "16", "--velocity", "constant", "--velocity-x", "inf",
      "--t-end", "1"], "finite"),
])
def test_bad_2d_arguments_give_one_line_and_no_file(hfc, tmp_path, args, fragment):
    out = tmp_path / "out.nc"
    result = hfc("simulate", *args, "--output", out, "--quiet")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0] and fragment in lines[0], result.stderr
    assert list(tmp_path.iterdir()) == []
