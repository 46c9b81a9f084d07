"""Training data of the learned 2D advection scheme (Zhuang et al. 2021, Sec. II C, III B):
reference trajectories by the host's Van Leer scheme on a grid `factor` times finer,
conservatively averaged onto the coarse grid, with the coarse grid's face velocities as
exact edge averages of the stream function.

Case "random" (the deformational-flow model's training set): on [0, 1]^2, each trajectory a
steady random divergence-free flow (coupler.problems.flows.RandomFlow, the paper's ref.
[55]) advecting a few cosine bells (Eq. 9's shape) of random centres, radii and heights.
The coarse step is the paper's: peak Courant number 0.5 on the coarse grid, forward Euler;
the fine run takes `factor` steps of a `factor`-th of it (the same Courant number on the
fine grid), so every coarse snapshot is one coarse step after the previous one.
Case "square" (the paper's first test, Sec. III A): the 1D square wave of height in
[0.1, 0.9] and width 2-8 coarse cells (of 32) carried by the constant velocity (1, 0) across
[0, 1), on a grid of SQUARE_ROWS identical rows (the 2D model sees a y-uniform field; rows
enough for its halo), reference Van Leer at `factor` (the paper: 8x, 256 cells).
Case "turbulence" (the paper's Sec. III C): on [0, 2 pi]^2, decaying turbulence (the
pseudo-spectral run of coupler.problems.turbulence at the fine resolution, the paper's 256^2,
the first 4 time units discarded) carrying ten random blobs of width 0.5; coarse 32^2 (8x).
The velocities change in time: the file holds the coarse face velocities at every step's
start. All trajectories of a file share one velocity run, that of `seed` (the paper:
"the training and test velocities are generated from different random seeds"; one run
per seed also keeps a data set to minutes here); the coarse step is peak Courant `cfl` at
t = 0, and the largest Courant number over the trajectory is recorded.
Everything is drawn from `seed` (trajectory k from a PCG64 stream of seed and k).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import netCDF4
import numpy as np
from tqdm import tqdm

from coupler import __version__
from coupler.errors import ConfigError
from coupler.host import Host, HostConfig, TimeConfig
from coupler.io.atomic import AtomicFile
from coupler.problems import tracers
from coupler.problems.advection2d import FlowConfig, tracer
from coupler.problems.flows import CachedFlow, ConstantFlow, Flow, Grid2D, RandomFlow
from coupler.problems.turbulence import LENGTH as TURBULENCE_LENGTH
from coupler.problems.turbulence import decaying_turbulence

CASES = ("random", "square", "turbulence")
SQUARE_ROWS = 8          # rows of the square-wave case's grid (at least a model's halo)


@dataclass(frozen=True)
class AdvectionDataConfig:
    case: str = "random"
    coarse: int = 64               # coarse cells a side (the paper's deformational grid)
    factor: int = 4                # fine / coarse resolution (paper: 4x for this case)
    trajectories: int = 24
    steps: int = 128               # coarse steps per trajectory (paper: 128 coarse, 1024 fine at 8x)
    cfl: float = 0.5
    bells: int = 3                 # cosine bells per initial condition
    seed: int = 0

    def __post_init__(self) -> None:
        if self.case not in CASES:
            raise ValueError(f"unknown case '{self.case}' (expected one of {', '.join(CASES)})")
        if min(self.coarse, self.factor, self.trajectories, self.steps, self.bells) < 1 or not 0 < self.cfl <= 1:
            raise ValueError("coarse, factor, trajectories, steps, bells must be >= 1 and cfl in (0, 1]")
        if self.case == "turbulence" and self.fine % 2:
            raise ValueError(f"the turbulence run needs an even fine grid, got {self.fine}")

    @classmethod
    def for_case(cls, case: str = "random", **given) -> "AdvectionDataConfig":
        """The paper's set-up of a case (turbulence: 20 trajectories at 32^2, 8x), then `given`."""
        defaults = {"coarse": 32, "factor": 8, "trajectories": 20} if case == "turbulence" else {}
        return cls(case=case, **{**defaults, **given})

    @property
    def fine(self) -> int:
        return self.coarse * self.factor

    def grids(self) -> tuple[Grid2D, Grid2D]:
        """The coarse and the fine grid: [0, 1)^2 (random), [0, 2 pi)^2 (turbulence), or
        SQUARE_ROWS square cells high (square)."""
        if self.case != "square":
            length = TURBULENCE_LENGTH if self.case == "turbulence" else 1.0
            return Grid2D(self.coarse, self.coarse, length, length), Grid2D(self.fine, self.fine, length, length)
        ly = SQUARE_ROWS / self.coarse
        return Grid2D(self.coarse, SQUARE_ROWS, 1.0, ly), Grid2D(self.fine, SQUARE_ROWS * self.factor, 1.0, ly)


def initial_condition(grid: Grid2D, rng: np.random.Generator, bells: int) -> np.ndarray:
    """A sum of cosine bells (Eq. 9's shape) of random centre, radius in [0.08, 0.25] of the
    domain and height in [0.2, 1]: smooth tops and sharp rims, as the test blob."""
    c = np.zeros((grid.ny, grid.nx))
    for _ in range(bells):
        centre = (rng.uniform(0, grid.lx), rng.uniform(0, grid.ly))
        radius = rng.uniform(0.08, 0.25) * min(grid.lx, grid.ly)
        c += rng.uniform(0.2, 1.0) * tracers.blob(grid, centre, radius)
    return c


def coarse_average(fine: np.ndarray, factor: int) -> np.ndarray:
    """Conservative averaging of (..., ny f, nx f) cells onto (..., ny, nx)."""
    *lead, ny, nx = fine.shape
    return fine.reshape(*lead, ny // factor, factor, nx // factor, factor).mean((-3, -1))


def coarse_step(config: AdvectionDataConfig, u: np.ndarray, v: np.ndarray) -> float:
    """The coarse step of peak Courant number `cfl` for the coarse face velocities u, v."""
    coarse = config.grids()[0]
    return config.cfl / max(np.abs(u).max() / coarse.dx, np.abs(v).max() / coarse.dy)


def turbulence(config: AdvectionDataConfig, progress: bool = False) -> tuple[Flow, float]:
    """The turbulence case's velocity run of `seed` at the fine resolution, covering `steps`
    coarse steps, and that coarse step. The step needs the spun-up field and the run's length
    needs the step: the spin-up runs twice (deterministic, a minute at 256^2)."""
    flows = FlowConfig("turbulence", resolution=config.fine)
    run = flows.turbulence(config.seed)
    first = decaying_turbulence(run, 0.0, flows.frame_every)
    dt = coarse_step(config, *first.face_velocities(config.grids()[0], 0.0))
    return decaying_turbulence(run, config.steps * dt, flows.frame_every, progress), dt


def turbulence_blobs(config: AdvectionDataConfig, k: int, grid: Grid2D) -> np.ndarray:
    """The turbulence case's initial state of trajectory k (ten blobs of width 0.5) as cell
    averages on any grid of the domain."""
    rng = np.random.Generator(np.random.PCG64([config.seed, k]))
    return tracers.blobs(grid, int(rng.integers(2**31)))


def trajectory(config: AdvectionDataConfig, k: int, shared: tuple[Flow, float] | None = None
               ) -> dict[str, np.ndarray | float]:
    """Trajectory k: coarse states (steps + 1, ny, nx), periodic face velocities u, v (the
    left / lower face of each cell): (1, ny, nx) when steady, (steps, ny, nx) at every step's
    start when not, and the coarse step. The turbulence case's flow and step are `shared`
    (`turbulence(config)`), computed here when not given."""
    rng = np.random.Generator(np.random.PCG64([config.seed, k]))
    coarse, fine = config.grids()
    if config.case == "turbulence":
        flow, dt = shared or turbulence(config)
        c = turbulence_blobs(config, k, fine)
        times = np.arange(config.steps) * dt
    else:
        if config.case == "random":
            flow = RandomFlow(seed=int(rng.integers(2**31)))
            c = initial_condition(fine, rng, config.bells)
        else:
            flow = ConstantFlow(1.0, 0.0)
            c = tracer("square", fine, int(rng.integers(2**31)))
        dt = coarse_step(config, *flow.face_velocities(coarse))
        times = np.zeros(1)
    faces = [flow.face_velocities(coarse, t) for t in times]
    u, v = np.array([f[0][:, :-1] for f in faces]), np.array([f[1][:-1, :] for f in faces])
    courant = dt * max(np.abs(u).max() / coarse.dx, np.abs(v).max() / coarse.dy)
    host = Host(HostConfig("advection2d", (fine.nx, fine.ny), (fine.lx, fine.ly)), "vanleer", None,
                TimeConfig(dt=dt / config.factor, method="euler"), flow=flow)
    try:
        host.set_state(c, 0.0)
        states = [coarse_average(c, config.factor)]
        for step in range(1, config.steps + 1):
            host.advance_to(step * dt)
            states.append(coarse_average(host.get_state()[0], config.factor))
    finally:
        host.close()
    return {"c": np.array(states), "u": u, "v": v, "dt": dt, "courant": courant}


def generate(config: AdvectionDataConfig, path: str | Path, progress: bool = True) -> Path:
    """All trajectories into one netCDF file (written under a temporary name, renamed when
    complete)."""
    path = Path(path)
    shared = None
    if config.case == "turbulence":                # one run, its fine-grid frames computed once for all
        flow, dt = turbulence(config, progress)
        shared = (CachedFlow(flow), dt)
    runs = [trajectory(config, k, shared) for k in tqdm(range(config.trajectories), desc="reference runs",
                                                         disable=not progress, unit="run")]
    with AtomicFile(path) as tmp:
        with netCDF4.Dataset(tmp, "w") as ds:
            coarse = config.grids()[0]
            ds.createDimension("trajectory", config.trajectories)
            ds.createDimension("time", config.steps + 1)
            ds.createDimension("velocity_time", len(runs[0]["u"]))
            ds.createDimension("y", coarse.ny)
            ds.createDimension("x", coarse.nx)
            var = ds.createVariable("c", "f8", ("trajectory", "time", "y", "x"), zlib=True)
            var[:] = np.array([r["c"] for r in runs])
            var.long_name = "coarse cell averages of the fine Van Leer run"
            for name, meaning in (("u", "x-face velocity, left face of each cell"),
                                  ("v", "y-face velocity, lower face of each cell")):
                var = ds.createVariable(name, "f8", ("trajectory", "velocity_time", "y", "x"), zlib=True)
                var[:] = np.array([r[name] for r in runs])
                var.long_name = meaning + " (at every step's start, or steady: one)"
            for name, meaning in (("dt", "coarse time step (peak Courant number cfl at t = 0)"),
                                  ("courant", "largest Courant number over the trajectory")):
                var = ds.createVariable(name, "f8", ("trajectory",))
                var[:] = np.array([r[name] for r in runs])
                var.long_name = meaning
            ds.setncatts({f"config_{k}": (str(v) if isinstance(v, str) else v) for k, v in asdict(config).items()})
            ds.setncatts({"dx": coarse.dx, "dy": coarse.dy, "reference_scheme": "vanleer (forward Euler)",
                          "hfc_version": __version__, "Conventions": "CF-1.8"})
    return path


@dataclass(frozen=True)
class AdvectionData:
    c: np.ndarray       # (trajectories, steps + 1, n, n)
    u: np.ndarray       # (trajectories, 1 or steps, n, n): steady, or at every step's start
    v: np.ndarray
    dt: np.ndarray      # (trajectories,)
    dx: float
    dy: float
    factor: int         # the fine grid's resolution over the coarse one


def load(path: str | Path) -> AdvectionData:
    """The data of `generate`; a file that is not (1D data, damaged) is refused in one line."""
    try:
        with netCDF4.Dataset(path) as ds:
            data = AdvectionData(*(np.asarray(ds[k][:], dtype=np.float64) for k in ("c", "u", "v", "dt")),
                                 float(ds.dx), float(ds.dy), int(ds.config_factor))
    except (OSError, IndexError, AttributeError, KeyError) as exc:
        raise ConfigError(f"'{path}' is not 2D advection data ({type(exc).__name__}: {exc}); write it with "
                          "`hfc data --equation advection2d`") from None
    if data.u.ndim != 4 or data.u.shape[1] not in (1, data.c.shape[1] - 1):
        raise ConfigError(f"'{path}' holds velocities of shape {data.u.shape}, not (trajectory, 1 or steps, y, x): "
                          "written by an older hfc; regenerate it with `hfc data --equation advection2d`")
    return data
