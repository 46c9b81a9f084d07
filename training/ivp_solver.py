"""Neural-IVP's time evolution (Finzi et al. 2023, Algorithm 1): fit theta(0) to the initial
condition (Adam, then head tuning: the last layer by regularised least squares), then
integrate dtheta/dt = (M + mu I)^-1 F with an adaptive Runge-Kutta method, drawing fresh
Monte Carlo samples once per step (the same samples for all its stages, as the paper), and
refitting theta to the network's own current solution every T / restarts ("projection to
SGD-like regions": the refit starts the linear systems from a better-conditioned point).

A PDE is `rhs(u, theta, x, t) -> f` (n,), or (n k,) for k components (sample-major, as
training.ivp_dynamics.field flattens u): L[u] at the samples, with spatial derivatives of
the network taken by autograd (training.ivp_pdes has the paper's).

The regularisation mu defaults to 1e-8, not the paper's 1e-6: measured on 1D advection with
the paper's network (3 x 24 swish, embedding L = 5), mu = 1e-6 leaves a relative PDE
residual ||J dtheta - f|| / ||f|| of 7e-3 on the step's samples and the error grows from 0.6% to 3% by t = 0.2;
mu = 1e-8 leaves 7e-4 and the error stays at the fit's 0.6%. The Nystrom preconditioner
keeps CG at 3-8 iterations at either (plain CG: 500-5000).

The preconditioner is rebuilt at every stage (`rank` products with M each): reusing a
step's first one for its later stages (same samples, theta moved by h) stalled CG, measured
on 1D advection (7 s -> over 5 minutes): with mu this small, P^-1 amplifies the flattened
directions by up to lam_1 / (lam_l + mu), and a slightly rotated M leaks its large
eigenvalues into them.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch.func import functional_call
from tqdm import tqdm

from training.ivp_ansatz import Ansatz, flatten, unflatten
from training.ivp_dynamics import Field, LinearSystem, field as as_field, jacobian_vector, solve_dynamics

Rhs = Callable[[Field, torch.Tensor, torch.Tensor, float], torch.Tensor]
Sampler = Callable[[int, torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class IVPConfig:
    """The method's settings; defaults are the paper's appendix C (fit iterations and sample
    counts scaled for a CPU where noted)."""

    samples: int = 10_000            # Monte Carlo samples per step (paper: 10-20K)
    mu: float = 1e-8                 # regularisation of M (the paper: 1e-6; see the module docstring)
    rank: int = 200                  # Nystrom rank (paper: 200-350); 0: plain CG
    cg_tolerance: float = 1e-8
    cg_iterations: int = 1000
    method: str = "rk23"             # or "rk45"
    rtol: float = 1e-4
    atol: float = 1e-6
    restarts: int = 10               # refits over the run; 0: none
    fit_steps: int = 2000            # Adam steps of a fit (paper: 50K for the initial fit)
    fit_samples: int = 2000
    fit_rate: float = 1e-3
    head_ridge: float = 1e-8         # lambda of the head tuning's least squares
    head_tuning: bool = True


def fit(module: Ansatz, target: Callable[[torch.Tensor], torch.Tensor], sampler: Sampler, config: IVPConfig,
        generator: torch.Generator) -> torch.Tensor:
    """theta minimising E_x (u(x, theta) - target(x))^2: Adam on fresh samples, then (head
    tuning) the last layer (weights and bias) by ridge least squares on one large sample.
    Returns theta and leaves it in `module`."""
    optimizer = torch.optim.Adam(module.parameters(), lr=config.fit_rate)
    for _ in range(config.fit_steps):
        x = sampler(config.fit_samples, generator)
        loss = torch.mean((module(x) - target(x)) ** 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if config.head_tuning:
        with torch.no_grad():
            x = sampler(4 * config.fit_samples, generator)
            features = module.features(module.embed(x))
            design = torch.cat([features, torch.ones_like(features[:, :1])], 1) * module.boundary_factor(x)[:, None]
            normal = design.T @ design + config.head_ridge * torch.eye(design.shape[1], dtype=design.dtype)
            values = target(x).reshape(x.shape[0], -1)                          # (n, outputs)
            solution = torch.linalg.solve(normal, design.T @ values)
            module.head.weight.copy_(solution[:-1].T)
            module.head.bias.copy_(solution[-1])
    return flatten(module)


# Butcher tableaux of the embedded pairs: (c, a, b (propagated), b_hat (error estimate), order)
_BS23 = ((0, 1 / 2, 3 / 4, 1), ((), (1 / 2,), (0, 3 / 4), (2 / 9, 1 / 3, 4 / 9)),
         (2 / 9, 1 / 3, 4 / 9, 0), (7 / 24, 1 / 4, 1 / 3, 1 / 8), 3)
_DP45 = ((0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1),
         ((), (1 / 5,), (3 / 40, 9 / 40), (44 / 45, -56 / 15, 32 / 9),
          (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
          (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
          (35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84)),
         (35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0),
         (5179 / 57600, 0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40), 5)
TABLEAUX = {"rk23": _BS23, "rk45": _DP45}


def rk_step(f: Callable[[torch.Tensor, float], torch.Tensor], y: torch.Tensor, t: float, h: float,
            method: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of the embedded pair: (the propagated solution, its error estimate)."""
    c, a, b, b_hat, _ = TABLEAUX[method]
    k: list[torch.Tensor] = []
    for i, ci in enumerate(c):
        stage = y + h * sum((aij * kj for aij, kj in zip(a[i], k)), torch.zeros_like(y))
        k.append(f(stage, t + ci * h))
    new = y + h * sum(bi * ki for bi, ki in zip(b, k))
    error = h * sum((bi - bhi) * ki for bi, bhi, ki in zip(b, b_hat, k))
    return new, error


@dataclass
class Trajectory:
    """theta at the requested times, and per accepted step its end time, size, CG iterations,
    the relative PDE residual ||J dtheta - f|| / ||f|| of its first solve on fresh samples
    (`pde_residual`) and on the step's own (`fit_residual`), and the largest eigenvalue of M
    (Nystrom's estimate; None for plain CG)."""

    times: list[float] = field(default_factory=list)
    thetas: list[torch.Tensor] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    refits: list[float] = field(default_factory=list)
    seconds: float = 0.0


def evolve(module: Ansatz, rhs: Rhs, theta0: torch.Tensor, sampler: Sampler, t_end: float, config: IVPConfig,
           outputs: tuple[float, ...] = (), generator: torch.Generator | None = None,
           progress: bool = False) -> Trajectory:
    """Integrate theta from t = 0 to t_end (Algorithm 1), recording theta at `outputs` (and
    t_end). The first step is 20 T rtol, as the paper's."""
    generator = generator or torch.Generator().manual_seed(0)
    checks = torch.Generator().manual_seed(int(torch.randint(2**31, (1,), generator=generator)))
    bar = tqdm(total=t_end, desc="evolve", unit="t", disable=not progress, leave=False,
               bar_format="{l_bar}{bar}| t = {n:.4g} of {total:.4g} [{elapsed}<{remaining}{postfix}]")
    u = as_field(module)
    record = Trajectory()
    start = time.perf_counter()
    order = TABLEAUX[config.method][4]
    stops = sorted({*(t for t in outputs if 0 < t < t_end), t_end})
    refit_every = t_end / config.restarts if config.restarts else math.inf
    theta, t, h, last_refit = theta0.clone(), 0.0, 20 * t_end * config.rtol, 0.0
    if 0.0 in outputs:
        record.times.append(0.0)
        record.thetas.append(theta.clone())
    while stops:
        if t - last_refit >= refit_every - 1e-12 and t < t_end:
            snapshot = theta.clone()
            target = lambda x, s=snapshot: evaluate(module, s, x)                    # noqa: E731
            with torch.no_grad():
                for name, p in unflatten(module, snapshot).items():
                    module.get_parameter(name).copy_(p)
            theta = fit(module, target, sampler, config, generator)
            record.refits.append(t)
            last_refit = t
        x = sampler(config.samples, generator)            # one draw per step, shared by its stages
        solves: list = []

        def dynamics(th: torch.Tensor, tau: float) -> torch.Tensor:
            system = LinearSystem(u, th, x)
            result = solve_dynamics(system, rhs(u, th, x, tau).detach(), config.mu, config.rank,
                                    config.cg_tolerance, config.cg_iterations, generator)
            solves.append(result)
            return result.solution

        h = min(h, stops[0] - t)
        new, error = rk_step(dynamics, theta, t, h, config.method)
        scale = config.atol + config.rtol * torch.maximum(theta.abs(), new.abs())
        norm = float(torch.sqrt(torch.mean((error / scale) ** 2)))
        if norm <= 1.0:
            first = solves[0]        # the solve at the step's start: its PDE residual, M's top eigenvalue
            fresh = sampler(config.samples, checks)
            record.steps.append({"t": t + h, "dt": h, "cg_iterations": [s.iterations for s in solves],
                                 "cg_converged": all(s.converged for s in solves),
                                 "pde_residual": pde_residual(u, rhs, theta, fresh, t, first.solution),
                                 "fit_residual": pde_residual(u, rhs, theta, x, t, first.solution),
                                 "top_eigenvalue": first.top_eigenvalue})
            t, theta = t + h, new
            bar.update(h)
            bar.set_postfix_str(f"CG {max(record.steps[-1]['cg_iterations'])}", refresh=False)
            if abs(t - stops[0]) <= 1e-12 * max(1.0, t_end):
                t = stops.pop(0)
                record.times.append(t)
                record.thetas.append(theta.clone())
        h = h * min(5.0, max(0.2, 0.9 * (norm if norm > 0 else 1e-10) ** (-1.0 / order)))
    bar.close()
    record.seconds = time.perf_counter() - start
    return record


def pde_residual(u, rhs: Rhs, theta: torch.Tensor, x: torch.Tensor, t: float, dtheta: torch.Tensor) -> float:
    """||J dtheta - f|| / ||f|| at the samples x: how well the network's tangent step
    matches the PDE there (on fresh samples, the paper's measure; on the step's own, the
    least-squares fit, which p > n parameters can drive to 0)."""
    f = rhs(u, theta, x, t).detach()
    return float(torch.linalg.norm(jacobian_vector(u, theta, x, dtheta) - f) / torch.linalg.norm(f))


def evaluate(module: Ansatz, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return functional_call(module, unflatten(module, theta), (x,))
