"""Training of the learned 2D advection scheme (Zhuang et al. 2021, Sec. II B, III).

Loss: the paper's Eq. 6, the mean absolute error of `window` (10) forward-Euler steps of the
model from a reference state against the next `window` coarse reference states, at the
data's coarse step (peak Courant number 0.5). Windows start at any step of a training
trajectory; the last `validation` trajectories are held out for the validation loss. Adam
with default parameters (the paper), the learning rate constant. Checkpoints and the log
(log.csv) every `eval_every` steps; `resume` continues bit for bit.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from coupler.errors import ConfigError
from coupler.io.atomic import write_text
from training.advection_data import load
from training.advection_model import AdvectionFluxModel, AdvectionModelConfig, euler_unroll
from training.train import atomic_torch_save, descend, load_checkpoint, load_trained, read_log, save_checkpoint, sha256_of, \
    write_log


@dataclass(frozen=True)
class AdvectionTrainConfig:
    layers: int = 4
    channels: int = 32
    kernel: int = 3
    normal: int = 2
    tangent: int = 3
    accuracy: int = 1
    window: int = 10               # unrolled Euler steps of the loss (paper: 10)
    steps: int = 2000              # optimizer steps
    batch_size: int = 8
    learning_rate: float = 1e-3    # Adam's default (the paper: default parameters)
    validation: int = 2            # trajectories held out
    eval_every: int = 100
    seed: int = 0
    dtype: str = "float32"
    threads: int = 0

    def __post_init__(self) -> None:
        if self.dtype not in ("float32", "float64"):
            raise ValueError("dtype must be float32 or float64")
        if min(self.window, self.steps, self.batch_size, self.validation, self.eval_every) < 1 or self.learning_rate <= 0:
            raise ValueError("window, steps, batch size, validation, eval_every and the learning rate must be positive")
        self.model_config(1.0, 1.0)                 # checks the architecture and the stencil

    def model_config(self, dx: float, dy: float) -> AdvectionModelConfig:
        names = {f.name for f in fields(AdvectionModelConfig)}
        return AdvectionModelConfig(dx=dx, dy=dy, **{k: v for k, v in asdict(self).items() if k in names})


class AdvectionTrainer:
    """Data, model, optimizer and log; `run()` trains to `config.steps`, resumably."""

    def __init__(self, config: AdvectionTrainConfig, data: str | Path, out_dir: str | Path):
        self.config = config
        self.out_dir = Path(out_dir)
        if config.threads:
            torch.set_num_threads(config.threads)
        self.dtype = getattr(torch, config.dtype)
        self.data_path = Path(data)
        data = load(self.data_path)
        trajectories, times = data.c.shape[:2]
        if trajectories <= config.validation or times <= config.window:
            raise ConfigError(f"{self.data_path} holds {trajectories} trajectories of {times} states: training "
                              f"needs more than {config.validation} trajectories and {config.window} steps")
        self.out_dir.mkdir(parents=True, exist_ok=True)            # once the inputs are known to be usable
        as_tensor = lambda a: torch.as_tensor(a, dtype=self.dtype)   # noqa: E731
        self.c, self.u, self.v, self.dt = (as_tensor(a) for a in (data.c, data.u, data.v, data.dt))
        self.factor = data.factor
        self.train_ids = np.arange(trajectories - config.validation)
        self.val_ids = np.arange(trajectories - config.validation, trajectories)
        torch.manual_seed(config.seed)
        self.model_config = config.model_config(data.dx, data.dy)
        self.model = AdvectionFluxModel(self.model_config, self.dtype)
        if self.model.halo > min(self.c.shape[-2:]):
            raise ConfigError(f"the model's halo ({self.model.halo} cells) exceeds the data's grid "
                              f"({self.c.shape[-1]} x {self.c.shape[-2]}); use fewer layers or a larger grid")
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.learning_rate)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.step = 0

    def loss(self, trajectory: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        """Eq. 6 over the windows starting at `start` of trajectories `trajectory`."""
        w = self.config.window
        c0 = self.c[trajectory, start]
        target = torch.stack([self.c[trajectory, start + k] for k in range(1, w + 1)], 1)
        dt = self.dt[trajectory][:, None, None]
        if self.u.shape[1] == 1:                        # steady velocities
            u, v = self.u[trajectory, 0], self.v[trajectory, 0]
        else:                                           # those of each step of the window
            steps = start[:, None] + torch.arange(w)
            u, v = self.u[trajectory[:, None], steps], self.v[trajectory[:, None], steps]
        predicted = euler_unroll(self.model, c0, u, v, dt, w)
        return torch.mean(torch.abs(predicted - target))

    def validation_loss(self) -> float:
        """The loss over every `window`-th window of the held-out trajectories."""
        starts = np.arange(0, self.c.shape[1] - self.config.window, self.config.window)
        ids, begin = (torch.as_tensor(a.ravel()) for a in np.meshgrid(self.val_ids, starts))
        with torch.no_grad():      # each batch's mean weighted by its windows
            return float(sum(float(self.loss(ids[k:k + 8], begin[k:k + 8])) * len(ids[k:k + 8])
                             for k in range(0, len(ids), 8)) / len(ids))

    def save_checkpoint(self) -> None:
        save_checkpoint(self.out_dir / "checkpoint.pt", self.model, self.optimizer, self.generator, self.step)

    def load_checkpoint(self) -> bool:
        step = load_checkpoint(self.out_dir / "checkpoint.pt", self.model, self.optimizer, self.generator)
        self.step = self.step if step is None else step
        return step is not None

    def run(self, resume: bool = False, progress: bool = True) -> dict:
        cfg = self.config
        log_path = self.out_dir / "log.csv"
        rows = [r for r in read_log(log_path) if int(r["step"]) <= self.step] if resume and self.load_checkpoint() \
            else []
        start_wall = time.perf_counter()
        initial = self.validation_loss()
        if not rows:
            rows.append({"step": 0, "train_loss": "", "validation_loss": initial,
                         "learning_rate": cfg.learning_rate, "seconds": 0.0})
        bar = tqdm(total=cfg.steps, initial=self.step, desc="train advection2d", disable=not progress)
        running = []
        last_start = self.c.shape[1] - cfg.window
        while self.step < cfg.steps:
            trajectory = torch.as_tensor(self.train_ids)[
                torch.randint(len(self.train_ids), (cfg.batch_size,), generator=self.generator)]
            start = torch.randint(last_start, (cfg.batch_size,), generator=self.generator)
            running.append(descend(self.optimizer, self.loss(trajectory, start)))
            self.step += 1
            bar.update()
            if self.step % cfg.eval_every == 0 or self.step == cfg.steps:
                val = self.validation_loss()
                rows.append({"step": self.step, "train_loss": float(np.mean(running)), "validation_loss": val,
                             "learning_rate": cfg.learning_rate, "seconds": time.perf_counter() - start_wall})
                running = []
                bar.set_postfix(train=f"{rows[-1]['train_loss']:.2e}", val=f"{val:.2e}")
                write_log(log_path, rows)
                self.save_checkpoint()
        bar.close()
        final = self.validation_loss()
        write_log(log_path, rows)
        atomic_torch_save(self.model.state_dict(), self.out_dir / "model.pt")
        initial = float(rows[0]["validation_loss"])            # step 0's, also after a resume
        summary = {"equation": "advection2d", "model": self.model_config.to_dict(), "train": asdict(cfg),
                   "halo": self.model.halo,
                   "data": {"path": str(self.data_path), "sha256": sha256_of(self.data_path),
                            "trajectories": int(self.c.shape[0]), "states": int(self.c.shape[1]),
                            "factor": self.factor, "cells": [int(self.c.shape[-1]), int(self.c.shape[-2])]},
                   "validation_loss_initial": initial, "validation_loss_final": final, "steps": self.step,
                   "torch_version": torch.__version__}
        write_text(self.out_dir / "model.json", json.dumps(summary, indent=2) + "\n")
        return summary


def load_advection_model(directory: str | Path, dtype: torch.dtype = torch.float32) -> AdvectionFluxModel:
    """A trained 2D model from model.json + model.pt."""
    return load_trained(directory, lambda summary: AdvectionFluxModel(AdvectionModelConfig(**summary["model"]), dtype))
