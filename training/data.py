"""Training data: high-resolution reference snapshots, coarse-grained by cell averaging.

Burgers: the paper's random forcing, WENO5 + exact Godunov flux on 512 cells in the
Fortran host (SSP-RK3, CFL 0.5), zero initial state. KdV and KS: random initial
conditions, pseudo-spectral on 256 nodes with ETDRK4 (training.spectral). For every
snapshot the file holds the fine cell averages, the fine flux at the fine faces, and for
each resample factor r the coarse cell averages (means of r fine cells) and the flux at
the coarse faces (every r-th fine face). Since d/dt of a coarse cell average is exactly
-(J_right - J_left)/dx_c + forcing, that flux is the training target.

Trajectories are split into train / validation / test (never snapshots of one trajectory
across splits); trajectory i of a dataset with seed s uses seed s * 100000 + i, and
evaluation uses seeds from 10**9 on, so the two never meet.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import netCDF4
import numpy as np
from tqdm import tqdm

from coupler import __version__
from coupler.io.atomic import AtomicFile
from coupler.limits import check_range
from coupler.problems.forcing import random_forcing
from training.equations import make_equation

SPLITS = ("train", "validation", "test")
MAX_TIME = 1e4                     # the longest horizon a data set or an evaluation may ask for
FINE_N = {"burgers": 512, "kdv": 256, "ks": 256}
EVALUATION_SEED = 10**9
# Snapshot times: past the start-up transient, within a horizon the reference reaches cheaply
# (KdV's stiff dispersion needs dt = 2.5e-4 in the spectral reference).
SNAPSHOT_WINDOW = {"burgers": (1.0, 50.0), "kdv": (0.5, 10.0), "ks": (5.0, 50.0)}


@dataclass(frozen=True)
class DataConfig:
    equation: str = "burgers"
    trajectories: int = 800                     # paper: 800 integrations, 8000 snapshots
    snapshots: int = 10                         # per trajectory, evenly spaced in [t_first, t_last]
    t_first: float | None = None                # default per equation: SNAPSHOT_WINDOW
    t_last: float | None = None
    factors: tuple[int, ...] = (2, 4, 8, 16, 32)
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    workers: int = field(default_factory=lambda: min(2, os.cpu_count() or 1))

    def __post_init__(self) -> None:
        make_equation(self.equation)
        first, last = SNAPSHOT_WINDOW[self.equation]
        if self.t_first is None:
            object.__setattr__(self, "t_first", first)
        if self.t_last is None:
            object.__setattr__(self, "t_last", max(last, self.t_first))
        if self.trajectories < 3:
            raise ValueError("need at least 3 trajectories (one per split)")
        check_range("the seed", self.seed, 0, 2**31 - 1, "seeds are non-negative 32-bit integers")
        if not self.t_last <= MAX_TIME:
            raise ValueError(f"the last snapshot time must be at most {MAX_TIME:g} (the paper's horizons are <= 100), "
                             f"got {self.t_last:g}")
        if self.snapshots < 1 or not (0 < self.t_first <= self.t_last):
            raise ValueError("need snapshots >= 1 and 0 < t_first <= t_last")
        if any(FINE_N[self.equation] % r for r in self.factors):
            raise ValueError(f"resample factors must divide {FINE_N[self.equation]}")

    @property
    def times(self) -> np.ndarray:
        return np.linspace(self.t_first, self.t_last, self.snapshots)

    def trajectory_seeds(self) -> np.ndarray:
        return self.seed * 100_000 + np.arange(self.trajectories)

    def split_of(self) -> np.ndarray:
        """Split index (0 train, 1 validation, 2 test) of each trajectory, by a seeded shuffle."""
        rng = np.random.Generator(np.random.PCG64(self.seed))
        order = rng.permutation(self.trajectories)
        counts = np.maximum(1, np.floor(np.asarray(self.fractions) * self.trajectories).astype(int))
        counts[0] = self.trajectories - counts[1] - counts[2]
        split = np.empty(self.trajectories, dtype=int)
        split[order[:counts[0]]] = 0
        split[order[counts[0]:counts[0] + counts[1]]] = 1
        split[order[counts[0] + counts[1]:]] = 2
        return split


def burgers_trajectory(seed: int, times: np.ndarray, n: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Fine cell averages (T, n) and fine face fluxes (T, n) of one forced Burgers run."""
    from coupler.host import Host, HostConfig, TimeConfig, face_fluxes   # the Fortran host

    config = HostConfig("burgers", n)
    host = Host(config, "weno5", random_forcing(seed), TimeConfig(cfl=0.5))
    u, t = np.zeros(n), 0.0
    states = np.empty((len(times), n))
    for i, t_next in enumerate(times):
        u, _ = host.advance(u, t, t_next)
        t = t_next
        states[i] = u
    padded = np.concatenate([states[:, -3:], states, states[:, :3]], axis=1)
    fluxes = face_fluxes(config, "weno5", padded)[:, :n]     # face j+1 = left face of cell j
    return states, fluxes


def spectral_trajectories(equation: str, seeds: np.ndarray, times: np.ndarray,
                          progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Fine cell averages and face fluxes (batch, T, n) of KdV/KS from random initial conditions."""
    from training import spectral

    config = spectral.SpectralConfig(equation)
    length = config.length or spectral.DEFAULT_LENGTH[equation]
    v0 = np.stack([spectral.random_initial_condition(int(s), config.n, length) for s in seeds])
    nodal = spectral.solve(config, v0, np.concatenate([[0.0], times]), progress=progress)[:, 1:]
    return spectral.cell_averages(nodal, length), spectral.face_flux(equation, nodal, length)


def simulate(config: DataConfig, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """All trajectories: fine states and fluxes, each (trajectories, snapshots, n_fine)."""
    seeds = config.trajectory_seeds()
    if config.equation != "burgers":
        return spectral_trajectories(config.equation, seeds, config.times, progress)
    states = np.empty((len(seeds), config.snapshots, FINE_N["burgers"]))
    fluxes = np.empty_like(states)
    with ProcessPoolExecutor(config.workers) as pool:
        jobs = pool.map(burgers_trajectory, seeds.tolist(), [config.times] * len(seeds), chunksize=4)
        for i, (u, f) in enumerate(tqdm(jobs, total=len(seeds), desc="burgers reference", disable=not progress)):
            states[i], fluxes[i] = u, f
    return states, fluxes


def coarse_grain(u_fine: np.ndarray, flux_fine: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Coarse cell averages (means of `factor` fine cells) and fluxes at the coarse faces."""
    shape = u_fine.shape[:-1] + (u_fine.shape[-1] // factor, factor)
    return u_fine.reshape(shape).mean(-1), flux_fine[..., ::factor]


def write_split(path: Path, config: DataConfig, split: str, seeds: np.ndarray, times: np.ndarray,
                u: np.ndarray, flux: np.ndarray) -> None:
    """One split as netCDF (written atomically)."""
    equation = make_equation(config.equation)
    n = u.shape[-1]
    with AtomicFile(path) as tmp:
        with netCDF4.Dataset(tmp, "w") as ds:
            ds.title = f"{config.equation} reference snapshots ({split})"
            ds.Conventions = "CF-1.8"
            ds.equation = config.equation
            ds.split = split
            ds.length = equation.length
            ds.n_fine = np.int32(n)
            ds.factors = np.asarray(config.factors, dtype=np.int32)
            for key, value in asdict(config).items():
                if key not in ("factors", "fractions", "workers"):
                    ds.setncattr(f"config_{key}", value)
            ds.fractions = np.asarray(config.fractions)
            ds.reference = ("WENO5 + Godunov, 512 cells, SSP-RK3 CFL 0.5 (Fortran host)" if config.equation == "burgers"
                            else "pseudo-spectral, 256 nodes, ETDRK4 (training.spectral)")
            ds.code_version = __version__
            count = u.shape[0] * u.shape[1]
            ds.createDimension("sample", count)
            ds.createDimension("x", n)
            var = ds.createVariable("time", "f8", ("sample",))
            var.units, var.long_name = "1", "snapshot time"
            var[:] = np.tile(times, u.shape[0])
            var = ds.createVariable("trajectory_seed", "i8", ("sample",))
            var.long_name = "seed of the forcing (Burgers) or initial condition (KdV, KS)"
            var[:] = np.repeat(seeds, u.shape[1])
            for factor in (1,) + tuple(config.factors):
                uc, fc = coarse_grain(u, flux, factor)
                suffix = "" if factor == 1 else f"_{factor}x"
                dim = "x" if factor == 1 else f"x{suffix}"
                if factor != 1:
                    ds.createDimension(dim, n // factor)
                var = ds.createVariable(f"u{suffix}", "f8", ("sample", dim), zlib=True, complevel=1)
                var.long_name = f"cell averages, resample factor {factor}"
                var.units = "1"
                var[:] = uc.reshape(count, -1)
                var = ds.createVariable(f"flux{suffix}", "f8", ("sample", dim), zlib=True, complevel=1)
                var.long_name = f"flux J at the left face of each cell, resample factor {factor}"
                var.units = "1"
                var[:] = fc.reshape(count, -1)


def generate(config: DataConfig, out_dir: str | Path, progress: bool = True) -> dict[str, Path]:
    """Simulate, coarse-grain, split by trajectory and write <out_dir>/<split>.nc."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    u, flux = simulate(config, progress)
    if not (np.all(np.isfinite(u)) and np.all(np.isfinite(flux))):
        raise RuntimeError("the reference produced non-finite values; nothing was written")
    seeds, split = config.trajectory_seeds(), config.split_of()
    paths = {}
    for index, name in enumerate(SPLITS):
        keep = split == index
        paths[name] = out_dir / f"{name}.nc"
        write_split(paths[name], config, name, seeds[keep], config.times, u[keep], flux[keep])
    return paths


@dataclass
class Snapshots:
    """Coarse training pairs of one split at one resample factor."""

    u: np.ndarray        # (samples, n) coarse cell averages
    flux: np.ndarray     # (samples, n) flux at the left face of each coarse cell
    time: np.ndarray
    seed: np.ndarray     # (samples,) trajectory seed: the forcing (Burgers) or initial condition
    dx: float
    equation: str

    def time_derivative(self) -> np.ndarray:
        """-(J_{j+1} - J_j) / dx: the coarse time derivative less the (known) forcing."""
        return -(np.roll(self.flux, -1, axis=-1) - self.flux) / self.dx


def load(path: str | Path, factor: int) -> Snapshots:
    with netCDF4.Dataset(path) as ds:
        suffix = "" if factor == 1 else f"_{factor}x"
        if f"u{suffix}" not in ds.variables:
            raise ValueError(f"{path} has no resample factor {factor} (has {list(ds.factors)})")
        u = np.asarray(ds[f"u{suffix}"][:])
        return Snapshots(u, np.asarray(ds[f"flux{suffix}"][:]), np.asarray(ds["time"][:]),
                         np.asarray(ds["trajectory_seed"][:]), float(ds.length) / u.shape[-1], str(ds.equation))
