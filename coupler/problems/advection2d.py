"""The passive-scalar problems of Zhuang et al. (2021) as a simulation sets them up: which
velocity field (coupler.problems.flows), which tracer (coupler.problems.tracers), and the
exact solution where one is known, for the error diagnostics.

Defaults follow the paper's cases: the deformational flow on [0, 1]^2 with T = 5 (Eq. 8)
and the blob (Eq. 9); the random divergence-free fields of its training set; decaying
turbulence on [0, 2 pi]^2 (coupler.problems.turbulence, the 4 s spin-up discarded) with its
ten random blobs; a constant velocity with the square wave of its first test (heights in
[0.1, 0.9], widths of 2 to 8 points of its 32-point grid, here a fraction of the domain so
that every resolution sees the same wave).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from coupler.errors import ConfigError
from coupler.problems import tracers
from coupler.problems.flows import ConstantFlow, DeformationalFlow, Flow, Grid2D, RandomFlow
from coupler.problems.turbulence import LENGTH as TURBULENCE_LENGTH
from coupler.problems.turbulence import TurbulenceConfig, decaying_turbulence

FLOWS = ("constant", "deformational", "random", "turbulence")
TRACERS = ("blob", "blobs", "square")
SQUARE_GRID = 32      # the paper's grid of the square-wave test: widths are 2-8 of its cells


@dataclass(frozen=True)
class FlowConfig:
    """The velocity field: `kind` (FLOWS), the constant velocity (u, v), the deformational
    flow's period T; a random field and a turbulence run are drawn from the problem's seed.
    Turbulence: the spectral solver's `resolution` (the paper's 256; its step 0.001 at 256,
    in proportion elsewhere) and the interval of the frames the host interpolates linearly
    in time (0.05: 1% of the peak speed at mid-frame, measured at 32^2)."""

    kind: str = "deformational"
    velocity: tuple[float, float] = (1.0, 0.0)
    period: float = 5.0
    resolution: int = 256
    frame_every: float = 0.05

    def __post_init__(self) -> None:
        if self.kind not in FLOWS:
            raise ConfigError(f"unknown velocity field '{self.kind}' (expected one of {', '.join(FLOWS)})")
        velocity = tuple(float(v) for v in self.velocity)
        if len(velocity) != 2 or not all(math.isfinite(v) for v in velocity):
            raise ConfigError(f"the constant velocity must be two finite numbers, got {self.velocity}")
        if not (math.isfinite(self.period) and self.period > 0):
            raise ConfigError(f"the period of the deformational flow must be positive, got {self.period}")
        if not (math.isfinite(self.frame_every) and self.frame_every > 0):
            raise ConfigError(f"the interval of the turbulence frames must be positive, got {self.frame_every}")
        self.turbulence(0)                      # checks the resolution
        object.__setattr__(self, "velocity", velocity)

    @property
    def default_tracer(self) -> str:
        """The paper's tracer for this flow: ten random blobs in turbulence, else the blob."""
        return "blobs" if self.kind == "turbulence" else "blob"

    @property
    def default_length(self) -> float | None:
        """The domain the flow needs (turbulence: [0, 2 pi]^2), or None for the equation's."""
        return TURBULENCE_LENGTH if self.kind == "turbulence" else None

    def turbulence(self, seed: int) -> TurbulenceConfig:
        """The solver's run: the paper's step 0.001 at 256^2, in proportion to the grid
        spacing elsewhere, shortened to divide the frame interval."""
        return TurbulenceConfig(n=self.resolution, dt=self.frame_every / math.ceil(self.frame_every * self.resolution
                                                                                   / 0.256), seed=seed)

    def make(self, grid: Grid2D, seed: int, t_end: float = 0.0, progress: bool = False) -> Flow:
        """The flow on `grid`; a turbulence run covers [0, t_end]."""
        if self.kind == "constant":
            return ConstantFlow(*self.velocity)
        if self.kind == "deformational":
            return DeformationalFlow(self.period)
        if self.kind == "random":
            return RandomFlow(seed=seed, lx=grid.lx, ly=grid.ly)
        return decaying_turbulence(self.turbulence(seed), t_end, self.frame_every, progress)

    def describe(self) -> str:
        if self.kind == "constant":
            return f"constant (u, v) = ({self.velocity[0]!r}, {self.velocity[1]!r})"
        if self.kind == "deformational":
            return f"LeVeque deformational flow, Zhuang et al. (2021) Eq. 8, T = {self.period!r}"
        if self.kind == "random":
            return "random periodic divergence-free sinusoids (Zhuang et al. 2021, its ref. [55]), from the seed"
        return (f"decaying 2D turbulence from the McWilliams (1984) initial condition of the seed, pseudo-spectral "
                f"at {self.resolution}^2, the first 4 time units discarded, frames every {self.frame_every!r} "
                "linear in time")


def tracer(name: str, grid: Grid2D, seed: int, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Cell averages (ny, nx) of the tracer `name` (TRACERS), translated by `shift` on the
    periodic domain (the exact solution of a constant velocity)."""
    sx, sy = shift
    if name == "blob":
        return tracers.blob(grid, ((0.25 + sx) % grid.lx, (0.25 + sy) % grid.ly))
    if name == "blobs":
        return tracers.blobs(grid, seed, shift=shift)
    if name == "square":
        rng = np.random.Generator(np.random.PCG64(seed))
        height = rng.uniform(0.1, 0.9)
        width = rng.uniform(2.0, 8.0) / SQUARE_GRID * grid.lx
        start = rng.uniform(0.0, grid.lx)
        row = tracers.square(grid.nx, grid.lx, height, start + sx, width)
        return np.tile(row, (grid.ny, 1))
    raise ConfigError(f"unknown tracer '{name}' (expected one of {', '.join(TRACERS)})")


def exact_solution(flow: FlowConfig, name: str, grid: Grid2D, seed: int, t: float) -> np.ndarray | None:
    """The exact cell averages at time t where they are known: a constant velocity
    translates the tracer; the deformational flow returns it at every multiple of T
    (within 1e-9 of one). None elsewhere."""
    if flow.kind == "constant":
        return tracer(name, grid, seed, (flow.velocity[0] * t, flow.velocity[1] * t))
    if flow.kind == "deformational":
        periods = t / flow.period
        if abs(periods - round(periods)) <= 1e-9 * max(1.0, periods):
            return tracer(name, grid, seed)
    return None


def entropy(c: np.ndarray, c0: np.ndarray) -> float:
    """The paper's Eq. 10, S = -beta sum C log C: C the concentration scaled by the initial
    state's largest value when that exceeds 1 (so the initial state lies in [0, 1]),
    negative values set to 0, 0 log 0 = 0, beta such that the initial entropy is 1 (NaN
    when that is 0: a state of only zeros and ones has none)."""
    scale = max(1.0, float(np.max(c0)))

    def s(x):
        x = np.clip(np.asarray(x, dtype=np.float64) / scale, 0.0, None)
        positive = x[x > 0]
        return -math.fsum((positive * np.log(positive)).ravel())

    s0 = s(c0)
    return s(c) / s0 if s0 != 0 else math.nan


def errors(c: np.ndarray, exact: np.ndarray) -> tuple[float, float]:
    """(L1, L2): the mean absolute error (the paper's MAE) and the root mean square error."""
    d = np.asarray(c, dtype=np.float64) - exact
    return float(np.mean(np.abs(d))), float(np.sqrt(np.mean(d * d)))
