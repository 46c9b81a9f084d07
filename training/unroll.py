"""Unrolled multi-step loss (Bar-Sinai et al. 2019, SI Appendix I and footnote 1).

The model is integrated `steps` fixed steps of the midpoint method (dt = 1e-3 for
Burgers, as in the paper) from each coarse snapshot and compared with the coarse-grained
reference after every step. The paper needs this loss for the constant-coefficient
Godunov model of Burgers, whose time-derivative fit does not give a good integrator.

The same loss trains a flux for a host's own time stepper and step size (Zhuang et al.
2021 train through forward Euler): `integrator` is the host's method (forward Euler, the
midpoint method, SSP-RK3) and with `courant` > 0 each sample's step is the host's stable
step at that Courant number (coupler.problems.equations.Equation.stable_dt of the
sample's max |u|) instead of the fixed dt, so a model can learn steps beyond the
classical limit.

The reference continuation comes from the data's own solver: the Fortran WENO5 host on
the fine grid, restarted from the stored fine snapshot with the same forcing. It is
computed when training starts (a few seconds), so the data files stay as they are.
Burgers only: KdV and KS train on the time derivative, as in the paper.
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from training.data import Snapshots, coarse_grain
from coupler.problems.equations import make_equation as make_law
from coupler.problems.forcing import random_forcing
from training.integrate import ForcingBatch
from training.models import FluxModel, periodic_time_derivative


# Stage times of each integrator as fractions of the step (where the forcing is evaluated)
STAGES = {"euler": (0.0,), "midpoint": (0.0, 0.5), "ssprk3": (0.0, 1.0, 0.5)}


@dataclass(frozen=True)
class UnrollConfig:
    steps: int = 8             # paper: 8 forward steps
    dt: float = 1e-3           # paper: midpoint method, fixed step 0.001 (Burgers)
    integrator: str = "midpoint"
    courant: float = 0.0       # > 0: each sample's step is the host's stable step at this Courant number

    def __post_init__(self) -> None:
        if self.steps < 1 or not self.dt > 0:
            raise ValueError("the unrolled loss needs steps >= 1 and dt > 0")
        if self.integrator not in STAGES:
            raise ValueError(f"unknown integrator '{self.integrator}' (expected one of {', '.join(STAGES)})")
        if not 0 <= self.courant <= 10:
            raise ValueError(f"the training Courant number must lie in [0, 10] (the host's range), got "
                             f"{self.courant:g}")

    def step_sizes(self, snaps: Snapshots) -> np.ndarray:
        """Each sample's step (samples,): the fixed dt, or the host's stable step of the
        sample at the Courant number (one fact: the host's rule, on the sample's grid), held
        for the sample's K steps (the host recomputes it every step)."""
        if not self.courant:
            return np.full(len(snaps.u), self.dt)
        law = make_law(snaps.equation)
        return np.array([law.stable_dt(snaps.dx, law.max_wave_speed(u), self.courant) for u in snaps.u])


def _continue(args) -> np.ndarray:
    """Fine states (snapshots, steps, n) of one trajectory after each unrolled step."""
    from coupler.host import Host, HostConfig, TimeConfig

    seed, times, states, steps, config = args
    n = states.shape[-1]
    host = Host(HostConfig("burgers", n), "weno5", random_forcing(int(seed)), TimeConfig(cfl=0.5))
    out = np.empty((len(times), config.steps, n))
    for i, (t, u, dt) in enumerate(zip(times, states, steps)):
        for j in range(config.steps):
            u, _ = host.advance(u, t + j * dt, t + (j + 1) * dt)
            out[i, j] = u
    return out


def reference_continuation(fine: Snapshots, config: UnrollConfig, steps: np.ndarray | None = None,
                           workers: int = 2, progress: bool = True) -> np.ndarray:
    """The reference solver continued from every fine snapshot by `steps` (samples,; default
    the fixed dt): (samples, config.steps, n_fine)."""
    if fine.equation != "burgers":
        raise ValueError("the unrolled loss is for Burgers only (KdV and KS train on "
                         "the time derivative, as in the paper)")
    steps = np.full(len(fine.u), config.dt) if steps is None else steps
    groups = [np.flatnonzero(fine.seed == s) for s in dict.fromkeys(fine.seed.tolist())]
    jobs = [(fine.seed[g[0]], fine.time[g], fine.u[g], steps[g], config) for g in groups]
    out = np.empty((len(fine.u), config.steps, fine.u.shape[-1]))
    with ProcessPoolExecutor(workers) as pool:
        results = pool.map(_continue, jobs, chunksize=8)
        for g, states in zip(groups, tqdm(results, total=len(jobs), desc="unroll targets",
                                           disable=not progress, leave=False)):
            out[g] = states
    return out


def stage_forcing(coarse: Snapshots, config: UnrollConfig, steps: np.ndarray, chunk: int = 512) -> np.ndarray:
    """Coarse cell-averaged forcing at every stage of every step, t + (j + c_m) dt:
    (samples, stages x config.steps, n)."""
    n = coarse.u.shape[-1]
    length = coarse.dx * n
    fractions = [j + c for j in range(config.steps) for c in STAGES[config.integrator]]
    out = np.empty((len(coarse.u), len(fractions), n))
    for start in range(0, len(coarse.u), chunk):
        rows = slice(start, start + chunk)
        batch = ForcingBatch([random_forcing(int(s)) for s in coarse.seed[rows]], n, length)
        for m, fraction in enumerate(fractions):
            out[rows, m] = batch(coarse.time[rows] + fraction * steps[rows]).numpy()
    return out


def unrolled_targets(coarse: Snapshots, fine: Snapshots, config: UnrollConfig, workers: int = 2,
                     progress: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coarse reference after each step (samples, steps, n), stage forcing (samples,
    stages x steps, n) and each sample's step (samples,)."""
    factor = fine.u.shape[-1] // coarse.u.shape[-1]
    steps = config.step_sizes(coarse)
    future = reference_continuation(fine, config, steps, workers, progress)
    return coarse_grain(future, future, factor)[0], stage_forcing(coarse, config, steps), steps


def rollout(model: FluxModel, u: torch.Tensor, forcing: torch.Tensor, dt: float | torch.Tensor,
            integrator: str = "midpoint") -> torch.Tensor:
    """Steps of `integrator` for the periodic coarse model from u (batch, n); forcing (batch,
    stages x K, n) at the stage times; dt a number or each sample's step (batch,). Returns
    the states after each step, (batch, K, n). SSP-RK3 in the Shu-Osher form of the host."""
    dt = dt[:, None] if isinstance(dt, torch.Tensor) else dt
    stages = len(STAGES[integrator])
    states = []
    for j in range(forcing.shape[1] // stages):
        def f(v, m):
            return periodic_time_derivative(model, v, forcing[:, stages * j + m])
        if integrator == "euler":
            u = u + dt * f(u, 0)
        elif integrator == "midpoint":
            half = u + 0.5 * dt * f(u, 0)
            u = u + dt * f(half, 1)
        else:
            u1 = u + dt * f(u, 0)
            u2 = 0.75 * u + 0.25 * (u1 + dt * f(u1, 1))
            u = u / 3 + 2 / 3 * (u2 + dt * f(u2, 2))
        states.append(u)
    return torch.stack(states, dim=1)
