"""Unrolled multi-step loss (Bar-Sinai et al. 2019, SI Appendix I and footnote 1).

The model is integrated `steps` fixed steps of the midpoint method (dt = 1e-3 for
Burgers, as in the paper) from each coarse snapshot and compared with the coarse-grained
reference after every step. The paper needs this loss for the constant-coefficient
Godunov model of Burgers, whose time-derivative fit does not give a good integrator.

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
from coupler.problems.forcing import random_forcing
from training.integrate import ForcingBatch
from training.models import FluxModel, periodic_time_derivative


@dataclass(frozen=True)
class UnrollConfig:
    steps: int = 8          # paper: 8 forward steps
    dt: float = 1e-3        # paper: midpoint method, fixed step 0.001 (Burgers)

    def __post_init__(self) -> None:
        if self.steps < 1 or not self.dt > 0:
            raise ValueError("the unrolled loss needs steps >= 1 and dt > 0")


def _continue(args) -> np.ndarray:
    """Fine states (snapshots, steps, n) of one trajectory after each unrolled step."""
    from coupler.host import Host, HostConfig, TimeConfig

    seed, times, states, config = args
    n = states.shape[-1]
    host = Host(HostConfig("burgers", n), "weno5", random_forcing(int(seed)), TimeConfig(cfl=0.5))
    out = np.empty((len(times), config.steps, n))
    for i, (t, u) in enumerate(zip(times, states)):
        for j in range(config.steps):
            u, _ = host.advance(u, t + j * config.dt, t + (j + 1) * config.dt)
            out[i, j] = u
    return out


def reference_continuation(fine: Snapshots, config: UnrollConfig, workers: int = 2,
                           progress: bool = True) -> np.ndarray:
    """The reference solver continued from every fine snapshot: (samples, steps, n_fine)."""
    if fine.equation != "burgers":
        raise ValueError("the unrolled loss is for Burgers only (KdV and KS train on "
                         "the time derivative, as in the paper)")
    groups = [np.flatnonzero(fine.seed == s) for s in dict.fromkeys(fine.seed.tolist())]
    jobs = [(fine.seed[g[0]], fine.time[g], fine.u[g], config) for g in groups]
    out = np.empty((len(fine.u), config.steps, fine.u.shape[-1]))
    with ProcessPoolExecutor(workers) as pool:
        results = pool.map(_continue, jobs, chunksize=8)
        for g, states in zip(groups, tqdm(results, total=len(jobs), desc="unroll targets",
                                           disable=not progress, leave=False)):
            out[g] = states
    return out


def stage_forcing(coarse: Snapshots, config: UnrollConfig, chunk: int = 512) -> np.ndarray:
    """Coarse cell-averaged forcing at the midpoint stages t + m dt / 2, m < 2 steps:
    (samples, 2 steps, n)."""
    n = coarse.u.shape[-1]
    length = coarse.dx * n
    out = np.empty((len(coarse.u), 2 * config.steps, n))
    for start in range(0, len(coarse.u), chunk):
        rows = slice(start, start + chunk)
        batch = ForcingBatch([random_forcing(int(s)) for s in coarse.seed[rows]], n, length)
        for m in range(2 * config.steps):
            out[rows, m] = batch(coarse.time[rows] + 0.5 * m * config.dt).numpy()
    return out


def unrolled_targets(coarse: Snapshots, fine: Snapshots, config: UnrollConfig, workers: int = 2,
                     progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Coarse reference after each step (samples, steps, n) and stage forcing (samples, 2 steps, n)."""
    factor = fine.u.shape[-1] // coarse.u.shape[-1]
    future = reference_continuation(fine, config, workers, progress)
    return coarse_grain(future, future, factor)[0], stage_forcing(coarse, config)


def rollout(model: FluxModel, u: torch.Tensor, forcing: torch.Tensor, dt: float) -> torch.Tensor:
    """Midpoint steps of the periodic coarse model from u (batch, n); forcing (batch, 2 K, n)
    at the stage times. Returns the states after each step, (batch, K, n)."""
    states = []
    for j in range(forcing.shape[1] // 2):
        half = u + 0.5 * dt * periodic_time_derivative(model, u, forcing[:, 2 * j])
        u = u + dt * periodic_time_derivative(model, half, forcing[:, 2 * j + 1])
        states.append(u)
    return torch.stack(states, dim=1)
