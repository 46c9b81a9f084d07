"""What every PRDP training shares (the emulators of training.prdp_emulator, the hybrid flux
of training.prdp_hybrid): the validation metric (the paper's Eq. 56), the record of one
training, the loop that trains through K solver iterations with K fixed or from the
controller, and the paper's split of the savings."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from training.prdp import PRDPConfig, PRDPController


def nmse(prediction: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Eq. 56: the mean over samples of (||u - u_r|| / ||u_r||)^2."""
    error, size = (prediction - reference).flatten(1).norm(dim=1), reference.flatten(1).norm(dim=1)
    return ((error / size) ** 2).mean()


@dataclass
class Run:
    """One training: per epoch the validation error, the K used and the iterations so far."""

    seed: int
    fixed_k: int | None
    validation: list[float] = field(default_factory=list)
    iterations: list[int] = field(default_factory=list)
    cumulative: list[int] = field(default_factory=list)
    seconds: float = 0.0
    controller: dict | None = None


@dataclass(frozen=True)
class Schedule:
    """Adam's learning rate, decaying by `decay` every `transition` steps, the epochs over
    `samples` training samples in batches of `batch`, and the gradient-norm clip."""

    learning_rate: float
    decay: float
    transition: float
    epochs: int
    samples: int
    batch: int
    clip: float = math.inf

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.samples // self.batch)


def train_through_physics(model: torch.nn.Module, schedule: Schedule, loss: Callable[[torch.Tensor, int], torch.Tensor],
                          validate: Callable[[], float], cost: int, seed: int, fixed_k: int | None,
                          prdp: PRDPConfig) -> Run:
    """Adam on `loss(batch indices, K)` with K fixed or from PRDP (one controller update per
    epoch, on `validate()`); each step costs `cost` x K solver iterations. A batch whose
    loss or gradient is not finite (coarse physics can make a rollout blow up) is skipped."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=schedule.learning_rate)
    decay = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: schedule.decay ** (s / schedule.transition))
    controller = PRDPController(prdp) if fixed_k is None else None
    run, total, start = Run(seed, fixed_k), 0, time.perf_counter()
    run.validation.append(validate())
    for _ in range(schedule.epochs):
        k = fixed_k if controller is None else controller.iterations
        for batch in torch.randperm(schedule.samples, generator=generator).split(schedule.batch):
            value = loss(batch, k)
            optimizer.zero_grad(set_to_none=True)
            if torch.isfinite(value):
                value.backward()
                if torch.isfinite(torch.nn.utils.clip_grad_norm_(model.parameters(), schedule.clip)):
                    optimizer.step()
            decay.step()
            total += cost * k
        run.validation.append(validate())
        run.iterations.append(k)
        run.cumulative.append(total)
        if controller is not None:
            controller.update(run.validation[-1])
    run.seconds = time.perf_counter() - start
    run.controller = controller.state_dict() if controller else None
    return run


def savings(k_eps: int, baseline: int, prdp: list[Run]) -> dict:
    """The paper's split: total = 1 - cumulative(PRDP) / baseline (the K_eps training's
    cumulative iterations), IC = 1 - K_max / K_eps (K_max the last K of each PRDP run),
    PR = total - IC; means and spreads over seeds."""
    total = np.array([1 - r.cumulative[-1] / baseline for r in prdp])
    ic = np.array([1 - r.iterations[-1] / k_eps for r in prdp])
    return {"k_max": [r.iterations[-1] for r in prdp], "total": [float(total.mean()), float(total.std())],
            "ic": [float(ic.mean()), float(ic.std())], "pr": [float((total - ic).mean()), float((total - ic).std())]}
