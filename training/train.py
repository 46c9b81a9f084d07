"""Training of the flux models on coarse-grained snapshots (`hfc train`).

Loss (Bar-Sinai et al. 2019): mean squared error of the predicted time derivative of
the coarse cell averages against the coarse-grained reference, normalized by the mean
square of the reference time derivative over the training set (so predicting du/dt = 0
scores 1). The forcing is known exactly and cancels in the difference, so it is left out
of both sides. With `unroll` > 0 the loss is instead the error of the states after each of
that many steps (training.unroll: the paper's midpoint steps of 0.001, or a host's method at
a Courant number), normalized so that predicting no change
scores 1. Optimizer: Adam; learning rate divided by 10 halfway (the paper: 4e4
steps, 3e-3 then 3e-4 after 2e4, batch 128 x resample factor).
"""
from __future__ import annotations

import csv
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from coupler.errors import ConfigError
from coupler.limits import check_range
from coupler.io.atomic import AtomicFile, write_text
from training.data import Snapshots, load
from training.models import FluxModel, ModelConfig, periodic_time_derivative
from training.unroll import UnrollConfig, rollout, unrolled_targets

PRESETS = ("paper", "quick")
HOST_METHODS = ("euler", "ssprk3")        # the host's explicit steppers (hfc_stepper)
DIVERGED = 1e3      # normalized unrolled error of a sample counted as a blow-up (1: predicting no change)


@dataclass(frozen=True)
class TrainConfig:
    equation: str = "burgers"
    factor: int = 8
    kind: str = "network"
    godunov: bool = False
    steps: int = 40_000
    learning_rate: float = 3e-3
    decay_step: int = 20_000               # learning rate x 0.1 from this step on
    batch_size: int = 1024                 # paper: 128 x resample factor
    eval_every: int = 500
    seed: int = 0
    dtype: str = "float32"
    threads: int = 0                       # torch intra-op threads; 0 = torch's default
    unroll: int = 0                        # > 0: unrolled loss over this many midpoint steps
    unroll_dt: float = 1e-3                # their fixed step (paper: 0.001, Burgers)
    integrator: str = "midpoint"           # of the unrolled loss: the host's method the model is for
    courant: float = 0.0                   # > 0: unrolled steps at this Courant number instead of unroll_dt
    # the network's shape (training.models.ModelConfig; defaults: the paper's)
    layers: int = ModelConfig.layers
    channels: int = ModelConfig.channels
    kernel: int = ModelConfig.kernel
    stencil: int = ModelConfig.stencil
    init: str = ""                         # a trained model's folder to start from (fine-tuning), or none

    def __post_init__(self) -> None:
        if self.dtype not in ("float32", "float64"):
            raise ValueError("dtype must be float32 or float64")
        if self.steps < 1 or self.batch_size < 1 or self.learning_rate <= 0:
            raise ValueError("steps, batch size and learning rate must be positive")
        check_range("the seed", self.seed, 0, 2**31 - 1, "seeds are non-negative 32-bit integers")
        if self.unroll:
            self.unrolled
        elif self.integrator != "midpoint" or self.courant:
            raise ValueError("an integrator and a Courant number are trained through the unrolled loss (unroll > 0)")
        if self.integrator != "midpoint" and not self.courant:
            raise ValueError(f"a model for the host's {self.integrator} steps is trained at its Courant number: give "
                             "--courant (fixed --unroll-dt steps are the paper's midpoint loss)")
        if self.courant and self.integrator not in HOST_METHODS:
            raise ValueError(f"a model for a host's steps (--courant) trains through a host method "
                             f"({', '.join(HOST_METHODS)}), not {self.integrator}")

    @property
    def unrolled(self) -> UnrollConfig | None:
        return UnrollConfig(self.unroll, self.unroll_dt, self.integrator, self.courant) if self.unroll else None


def preset(name: str, equation: str, factor: int, **overrides) -> TrainConfig:
    """'paper': the SI Appendix I schedule. 'quick': a useful model in ~10 CPU minutes
    (fewer, larger steps with the unrolled loss, whose steps cost 16 model evaluations)."""
    lr = 1e-3 if equation in ("kdv", "ks") and factor >= 16 else 3e-3
    if name == "paper":
        config = TrainConfig(equation, factor, steps=40_000, decay_step=20_000, learning_rate=lr,
                             batch_size=128 * factor)
    elif name == "quick" and overrides.get("unroll"):
        # each step integrates 2 x unroll model evaluations: fewer, larger batches
        config = TrainConfig(equation, factor, steps=1_500, decay_step=1_125, learning_rate=lr,
                             batch_size=512, eval_every=125)
    elif name == "quick":
        config = TrainConfig(equation, factor, steps=6_000, decay_step=4_500, learning_rate=lr,
                             batch_size=256, eval_every=250)
    else:
        raise ValueError(f"unknown preset '{name}' (expected one of {', '.join(PRESETS)})")
    return replace(config, **overrides)


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Trainer:
    """Holds data, model, optimizer and log; `run()` trains to `config.steps`, resumably."""

    def __init__(self, config: TrainConfig, data_dir: str | Path, out_dir: str | Path, progress: bool = True):
        self.config = config
        self.progress = progress
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if config.threads:
            torch.set_num_threads(config.threads)
        self.dtype = getattr(torch, config.dtype)
        self.device = device()
        data_dir = Path(data_dir)
        train, val = load(data_dir / "train.nc", config.factor), load(data_dir / "validation.nc", config.factor)
        if train.equation != config.equation:
            raise ValueError(f"{data_dir} holds {train.equation} data, not {config.equation}")
        self.data_dir = data_dir
        self.train_set = self._tensors(train, data_dir / "train.nc")
        self.val_set = self._tensors(val, data_dir / "validation.nc")
        # predicting "no change" scores 1: du/dt = 0, or u(t + j dt) = u(t) when unrolled
        u, target = self.train_set[:2]
        self.scale = float(torch.mean((target - u[:, None]) ** 2 if config.unroll else target ** 2))
        torch.manual_seed(config.seed)
        self.model_config = ModelConfig(equation=config.equation, kind=config.kind, godunov=config.godunov,
                                        dx=train.dx, stencil=config.stencil, channels=config.channels,
                                        kernel=config.kernel, layers=config.layers)
        self.model = FluxModel(self.model_config, self.dtype).to(self.device)
        if config.init:
            self._start_from(Path(config.init))
        params = list(self.model.parameters())
        self.optimizer = torch.optim.Adam(params, lr=config.learning_rate) if params else None
        self.generator = torch.Generator().manual_seed(config.seed)
        self.step = 0

    def _start_from(self, folder: Path) -> None:
        """The weights of the trained model in `folder` (same equation, kind and shape)."""
        source = load_model(folder, self.dtype)
        if source.config != self.model_config:
            theirs, ours = source.config.to_dict(), self.model_config.to_dict()
            diff = ", ".join(f"{k} {theirs[k]} vs {ours[k]}" for k in ours if theirs[k] != ours[k])
            raise ValueError(f"cannot start from '{folder}': its model differs ({diff})")
        self.model.load_state_dict(source.state_dict())

    def _tensors(self, coarse: Snapshots, path: Path) -> tuple[torch.Tensor, ...]:
        """(u, du/dt) for the time-derivative loss; (u, future states, stage forcing, each
        sample's step) unrolled."""
        as_tensor = lambda a: torch.as_tensor(a, dtype=self.dtype, device=self.device)
        if not self.config.unroll:
            return as_tensor(coarse.u), as_tensor(coarse.time_derivative())
        targets = unrolled_targets(coarse, load(path, 1), self.config.unrolled, progress=self.progress)
        return (as_tensor(coarse.u), *map(as_tensor, targets))

    def loss(self, u: torch.Tensor, target: torch.Tensor, forcing: torch.Tensor | None = None,
             steps: torch.Tensor | None = None) -> torch.Tensor:
        if forcing is None:
            prediction = periodic_time_derivative(self.model, u)
            return torch.mean((prediction - target) ** 2) / self.scale
        return torch.mean((self.rollout(u, forcing, steps) - target) ** 2) / self.scale

    def rollout(self, u, forcing, steps) -> torch.Tensor:
        return rollout(self.model, u, forcing, steps, self.config.integrator)

    def unrolled_loss(self, u: torch.Tensor, target: torch.Tensor, forcing: torch.Tensor,
                      steps: torch.Tensor) -> tuple[torch.Tensor, float]:
        """The unrolled loss over the samples whose rollout did not diverge, and the share
        that did. A model pushed to steps beyond its stability (long Courant numbers) blows
        up on some samples, and their errors (up to overflow) would swamp or poison the
        batch's gradient: a sample whose normalized error exceeds DIVERGED (1 is predicting
        no change) or is not finite is left out; with non-finite ones the kept samples are
        integrated again, so no NaN reaches the gradient."""
        error = ((self.rollout(u, forcing, steps) - target) ** 2).flatten(1).mean(1) / self.scale
        kept = torch.isfinite(error) & (error <= DIVERGED)
        share = 1.0 - float(kept.float().mean())
        if not kept.any():                       # nothing to learn from: descend skips a NaN loss
            return error.new_tensor(float("nan")), share
        if torch.isfinite(error).all():
            return error[kept].mean(), share
        error = ((self.rollout(u[kept], forcing[kept], steps[kept]) - target[kept]) ** 2).flatten(1).mean(1)
        return error.mean() / self.scale, share

    def batch_loss(self, *batch: torch.Tensor) -> tuple[torch.Tensor, float]:
        """The loss of a batch and the share of its samples whose rollout diverged."""
        return self.unrolled_loss(*batch) if self.config.unroll else (self.loss(*batch), 0.0)

    def validation_loss(self) -> tuple[float, float]:
        """Loss over the validation samples whose rollout did not diverge, and the share that did."""
        with torch.no_grad():
            loss, diverged = self.batch_loss(*self.val_set)
        return float(loss), diverged

    def learning_rate(self, step: int) -> float:
        return self.config.learning_rate * (0.1 if step >= self.config.decay_step else 1.0)

    def save_checkpoint(self) -> None:
        save_checkpoint(self.out_dir / "checkpoint.pt", self.model, self.optimizer, self.generator, self.step)

    def load_checkpoint(self) -> bool:
        step = load_checkpoint(self.out_dir / "checkpoint.pt", self.model, self.optimizer, self.generator, self.device)
        self.step = self.step if step is None else step
        return step is not None

    def run(self, resume: bool = False, progress: bool = True) -> dict:
        cfg = self.config
        log_path = self.out_dir / "log.csv"
        if resume and self.load_checkpoint():
            rows = [r for r in read_log(log_path) if int(r["step"]) <= self.step]
        else:
            rows = []
        start_wall = time.perf_counter()
        initial, diverged = self.validation_loss()
        if not rows:
            rows.append({"step": 0, "train_loss": "", "validation_loss": initial, "validation_diverged": diverged,
                         "learning_rate": cfg.learning_rate, "seconds": 0.0})
        bar = tqdm(total=cfg.steps, initial=self.step, desc=f"train {cfg.equation} {cfg.kind} {cfg.factor}x",
                   disable=not progress or self.optimizer is None)
        running = []
        while self.optimizer is not None and self.step < cfg.steps:
            for group in self.optimizer.param_groups:
                group["lr"] = self.learning_rate(self.step)
            samples = self.train_set[0].shape[0]
            index = torch.randint(samples, (min(cfg.batch_size, samples),), generator=self.generator).to(self.device)
            running.append(descend(self.optimizer, self.batch_loss(*(tensor[index] for tensor in self.train_set))[0]))
            self.step += 1
            bar.update()
            if self.step % cfg.eval_every == 0 or self.step == cfg.steps:
                val, diverged = self.validation_loss()
                rows.append({"step": self.step, "train_loss": float(np.nanmean(running)) if np.isfinite(running).any()
                             else float("nan"), "validation_loss": val, "validation_diverged": diverged,
                             "learning_rate": self.learning_rate(self.step - 1),
                             "seconds": time.perf_counter() - start_wall})
                running = []
                bar.set_postfix(train=f"{rows[-1]['train_loss']:.4f}", val=f"{val:.4f}")
                write_log(log_path, rows)
                self.save_checkpoint()
        bar.close()
        final, diverged = self.validation_loss()
        write_log(log_path, rows)
        atomic_torch_save(self.model.state_dict(), self.out_dir / "model.pt")
        summary = {
            "model": self.model_config.to_dict(), "train": asdict(cfg), "halo": self.model.halo,
            "data": {"dir": str(self.data_dir), "train_samples": int(self.train_set[0].shape[0]),
                     "validation_samples": int(self.val_set[0].shape[0]), "target_mean_square": self.scale,
                     "train_sha256": sha256_of(self.data_dir / "train.nc")},
            "validation_loss_initial": initial, "validation_loss_final": final,
            "validation_diverged_final": diverged,
            "steps": self.step, "torch_version": torch.__version__, "device": str(self.device),
        }
        write_text(self.out_dir / "model.json", json.dumps(summary, indent=2) + "\n")
        return summary


def load_model(directory: str | Path, dtype: torch.dtype = torch.float32) -> FluxModel:
    """A trained 1D model from model.json + model.pt."""
    return load_trained(directory, lambda summary: FluxModel(ModelConfig(**summary["model"]), dtype))


def load_trained(directory: str | Path, build) -> torch.nn.Module:
    """A trained model from model.json (its configuration; `build(summary)` makes the module)
    and model.pt (a state dict, read with weights_only=True), in eval mode."""
    directory = Path(directory)
    try:
        summary = json.loads((directory / "model.json").read_text())
        model = build(summary)
        model.load_state_dict(torch.load(directory / "model.pt", map_location="cpu", weights_only=True))
    except Exception as exc:   # missing, damaged or foreign files: say which folder and what failed, in one line
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ConfigError(f"cannot load the trained model in '{directory}' (model.json, model.pt): "
                          f"{type(exc).__name__} {detail}; train it again with `hfc train`") from None
    return model.eval()


def descend(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> float:
    """One optimizer step on `loss` (gradients cleared first); the loss's value. A step whose
    loss or gradient is not finite (an unrolled batch that blew up, e.g. at a long time step)
    is skipped, so one bad batch does not turn the weights into NaN."""
    optimizer.zero_grad(set_to_none=True)
    if not torch.isfinite(loss):
        return float("nan")
    loss.backward()
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    if all(bool(torch.isfinite(g).all()) for g in grads):
        optimizer.step()
    return float(loss.detach())


# checkpoints: state dicts only, read back with weights_only=True
def save_checkpoint(path: Path, model, optimizer, generator: torch.Generator, step: int) -> None:
    atomic_torch_save({"model": model.state_dict(), "step": step,
                       "optimizer": optimizer.state_dict() if optimizer else {},
                       "generator": generator.get_state()}, path)


def load_checkpoint(path: Path, model, optimizer, generator: torch.Generator, device="cpu") -> int | None:
    """Restore model, optimizer and batch generator from `path`; its step, or None without one."""
    if not path.exists():
        return None
    state = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(state["model"])
    if optimizer and state["optimizer"]:
        optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"])
    return int(state["step"])


def atomic_torch_save(obj, path: Path) -> None:
    with AtomicFile(path) as tmp:
        torch.save(obj, tmp)


def write_log(path: Path, rows: list[dict]) -> None:
    with AtomicFile(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["step", "train_loss", "validation_loss", "validation_diverged",
                                                "learning_rate", "seconds"])
        writer.writeheader()
        writer.writerows(rows)


def read_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path) as fh:
        return list(csv.DictReader(fh))


def sha256_of(path: Path) -> str:
    import hashlib
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
