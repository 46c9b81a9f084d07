"""One simulation from a configuration: initial condition, forcing, host, netCDF output."""
from __future__ import annotations

import math
import time as clock
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from coupler.errors import ConfigError
from coupler.host import FortranModel, Host, HostConfig, PythonFlux, TimeConfig, onnx_runtime
from coupler.learned import RuntimeConfig, load_model
from coupler.output import StateWriter, check_writable
from training.forcing import Forcing, random_forcing
from training.initial_conditions import INITIAL_CONDITIONS, initial_condition


@dataclass(frozen=True)
class SimulationConfig:
    host: HostConfig
    scheme: str = "weno5"
    time: TimeConfig = field(default_factory=TimeConfig)
    t_end: float = 1.0
    save_every: float | None = None    # default: t_end / 100
    ic: str = "zero"
    seed: int = 0                      # forcing realization (Burgers)
    forcing: bool = True               # Burgers forcing on/off (advection has none)
    model: str | None = None           # exported .onnx file, for scheme "learned"
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.t_end) and self.t_end > 0):
            raise ConfigError(f"the end time must be positive and finite, got {self.t_end}")
        if self.save_every is not None and not (math.isfinite(self.save_every) and self.save_every > 0):
            raise ConfigError(f"the output interval must be positive, got {self.save_every}")
        if (self.scheme == "learned") != (self.model is not None):
            raise ConfigError("scheme 'learned' needs a model (--model M.onnx), and a model needs scheme 'learned'")
        if self.ic not in INITIAL_CONDITIONS:
            raise ConfigError(f"unknown initial condition '{self.ic}' (expected one of {', '.join(INITIAL_CONDITIONS)})")

    def output_times(self) -> np.ndarray:
        """0, save_every, 2 save_every, ... and t_end (always the last)."""
        every = self.save_every or self.t_end / 100
        count = int(math.floor(self.t_end / every * (1 + 1e-12)))
        times = every * np.arange(count + 1)
        if self.t_end - times[-1] > 1e-9 * every:
            times = np.append(times, self.t_end)
        times[-1] = self.t_end
        return times

    def make_forcing(self) -> Forcing:
        if self.host.equation == "burgers" and self.forcing:
            return random_forcing(self.seed)
        return Forcing()


@dataclass(frozen=True)
class SimulationResult:
    times: np.ndarray
    states: np.ndarray       # (time, x)
    nsteps: int
    wall_seconds: float      # time spent in the Fortran host

    @property
    def ns_per_cell_stage(self) -> float:
        return 1e9 * self.wall_seconds / max(1, 3 * self.nsteps * self.states.shape[1])


def flux_provider(config: SimulationConfig) -> tuple[str | PythonFlux | FortranModel, dict]:
    """The host's provider and the output attributes describing it. A learned model is
    loaded and checked against the host here, before the first step."""
    if config.scheme != "learned":
        return config.scheme, {}
    learned = load_model(config.model, config.runtime)
    learned.check_host(config.host)
    if config.runtime.backend == "fortran":
        library, version = onnx_runtime()
        backend = f"fortran (libhfc hfc_onnx, ONNX Runtime C API from {library})"
    else:
        import onnxruntime

        backend, version = "python (f2py callback, ONNX Runtime)", onnxruntime.__version__
    return learned.provider(), {
        "model_path": str(Path(config.model).resolve()), "model_sha256": learned.sha256,
        "model_dtype": learned.metadata["dtype"], "model_training_command": learned.metadata.get("training_command", ""),
        "backend": backend, "onnxruntime_version": version,
        "device": config.runtime.device, "threads": np.int32(config.runtime.threads)}


def run(config: SimulationConfig, output: str | Path | None = None, progress: bool = False,
        extra_attributes: dict | None = None) -> SimulationResult:
    """Integrate from t = 0 to t_end, keeping (and optionally writing) every snapshot."""
    if output is not None:
        check_writable(output)
    forcing = config.make_forcing()
    provider, model_attributes = flux_provider(config)
    host = Host(config.host, provider, forcing, config.time)
    u = initial_condition(config.ic, config.host.n, config.host.length)
    times = config.output_times()
    states = np.empty((len(times), config.host.n))
    states[0] = u
    nsteps, wall = 0, 0.0
    attributes = {
        "scheme": config.scheme, "seed": np.int32(config.seed), "initial_condition": config.ic,
        "forcing": "Bar-Sinai et al. (2019) Eq. S-6, cell averages" if forcing.n_modes else "none",
        "time_stepping": "SSP-RK3 (Shu-Osher)",
        "time_step": f"fixed dt={config.time.dt!r}" if config.time.dt else f"CFL {config.time.cfl!r}",
        **model_attributes,
        **(extra_attributes or {}),
    }
    writer = StateWriter(output, config.host, attributes, forcing) if output is not None else None
    try:
        if writer:
            writer.append(times[0], u)
        for i in tqdm(range(1, len(times)), desc=f"{config.scheme} n={config.host.n}",
                      disable=not progress, unit="frame"):
            start = clock.perf_counter()
            u, steps = host.advance(u, times[i - 1], times[i])
            wall += clock.perf_counter() - start
            nsteps += steps
            states[i] = u
            if writer:
                writer.append(times[i], u)
        if writer:
            writer.set_attributes(steps=np.int64(nsteps))
            writer.close()
    except BaseException:
        if writer:
            writer.abort()
        raise
    return SimulationResult(times, states, nsteps, wall)
