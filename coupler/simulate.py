"""One simulation from a configuration: initial condition, forcing, host, netCDF output."""
from __future__ import annotations

import math
import time as clock
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from coupler.errors import ConfigError
from coupler.host import ON_NONFINITE, FortranModel, Host, HostConfig, PythonFlux, TimeConfig, onnx_runtime
from coupler.learned import RuntimeConfig, load_model
from coupler.output import StateWriter, check_writable
from coupler.restart import Restart, check_identity, read_restart, write_restart
from training.forcing import Forcing, random_forcing
from training.initial_conditions import INITIAL_CONDITIONS, initial_condition


@dataclass(frozen=True)
class RestartConfig:
    """Restarts: write one every `every` time units (at output times) to `file` (default:
    the output's name with .restart.nc), and/or continue from the restart `start_from`."""
    every: float | None = None
    file: str | None = None
    start_from: str | None = None

    def __post_init__(self) -> None:
        if self.every is not None and not (math.isfinite(self.every) and self.every > 0):
            raise ConfigError(f"the restart interval must be positive, got {self.every}")


def _is_multiple(a: float, b: float) -> bool:
    ratio = a / b
    return abs(ratio - round(ratio)) <= 1e-9 * max(1.0, ratio) and round(ratio) >= 1


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
    on_nonfinite: str = "abort"        # or "fallback": WENO5 at faces with non-finite fluxes
    restart: RestartConfig = field(default_factory=RestartConfig)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.t_end) and self.t_end > 0):
            raise ConfigError(f"the end time must be positive and finite, got {self.t_end}")
        if self.save_every is not None and not (math.isfinite(self.save_every) and self.save_every > 0):
            raise ConfigError(f"the output interval must be positive, got {self.save_every}")
        if (self.scheme == "learned") != (self.model is not None):
            raise ConfigError("scheme 'learned' needs a model (--model M.onnx), and a model needs scheme 'learned'")
        if self.ic not in INITIAL_CONDITIONS:
            raise ConfigError(f"unknown initial condition '{self.ic}' (expected one of {', '.join(INITIAL_CONDITIONS)})")
        if self.on_nonfinite not in ON_NONFINITE:
            raise ConfigError(f"on_nonfinite must be one of {', '.join(ON_NONFINITE)}, got '{self.on_nonfinite}'")
        every = self.restart.every
        if every is not None and not _is_multiple(every, self.save_interval):
            raise ConfigError(f"the restart interval {every:g} must be a whole number of output intervals "
                              f"({self.save_interval:g}), so a continued run takes the same steps")

    @property
    def save_interval(self) -> float:
        return self.save_every or self.t_end / 100

    def output_times(self) -> np.ndarray:
        """0, save_every, 2 save_every, ... and t_end (always the last)."""
        every = self.save_interval
        count = int(math.floor(self.t_end / every * (1 + 1e-12)))
        times = every * np.arange(count + 1)
        if self.t_end - times[-1] > 1e-9 * every:
            times = np.append(times, self.t_end)
        times[-1] = self.t_end
        return times

    def identity(self, model_sha256: str = "") -> dict:
        """What a restart must share with the run that continues it."""
        h = self.host
        return {"equation": h.equation, "n": h.n, "length": repr(h.length), "viscosity": repr(h.viscosity),
                "velocity": repr(h.velocity), "scheme": self.scheme, "seed": self.seed, "forcing": self.forcing,
                "time_step": f"dt={self.time.dt!r}" if self.time.dt else f"cfl={self.time.cfl!r}",
                "save_every": repr(self.save_interval), "model_sha256": model_sha256}

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
    fallback_faces: int = 0  # faces whose flux came from the WENO5 guard fallback
    halo_seconds: float = 0.0  # of wall_seconds, time in halo fills (the MPI exchange), this rank

    @property
    def ns_per_cell_stage(self) -> float:
        return 1e9 * self.wall_seconds / max(1, 3 * self.nsteps * self.states.shape[1])


def flux_provider(config: SimulationConfig, comm=None) -> tuple[str | PythonFlux | FortranModel, dict]:
    """The host's provider and the output attributes describing it. A learned model is
    loaded (read once under MPI) and checked against the host here, before the first step."""
    if config.scheme != "learned":
        return config.scheme, {}
    learned = load_model(config.model, config.runtime, comm)
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
        extra_attributes: dict | None = None, comm=None) -> SimulationResult:
    """Integrate from t = 0 (or the restart's time) to t_end, keeping (and optionally
    writing) every snapshot, and writing restarts when asked.

    Under MPI (`comm`, an mpi4py communicator of more than one rank) every rank advances its
    block of the grid; the snapshots are gathered in global cell order, so every rank
    returns the whole states, and rank 0 alone writes the output and the restarts: the
    files are those of the serial run."""
    comm = comm if comm is not None and comm.Get_size() > 1 else None
    root = comm is None or comm.Get_rank() == 0
    if output is not None:
        check_writable(output)
    restart_file = config.restart.file or (Path(output).with_suffix(".restart.nc") if output else None)
    if config.restart.every is not None:
        if restart_file is None:
            raise ConfigError("restarts need a restart file (or an output file to name it after)")
        check_writable(restart_file)
    forcing = config.make_forcing()
    provider, model_attributes = flux_provider(config, comm)
    identity = config.identity(model_attributes.get("model_sha256", ""))
    host = Host(config.host, provider, forcing, config.time, config.on_nonfinite, comm)
    blocks = comm.allgather((host.offset, host.n_local)) if comm else [(0, config.host.n)]
    mine = slice(host.offset, host.offset + host.n_local)
    times, u, nsteps, fallbacks, restart_attributes = starting_point(config, identity)
    states = np.empty((len(times), config.host.n))
    states[0] = u
    local, wall = u[mine], 0.0
    attributes = {
        "scheme": config.scheme, "seed": np.int32(config.seed), "initial_condition": config.ic,
        "forcing": "Bar-Sinai et al. (2019) Eq. S-6, cell averages" if forcing.n_modes else "none",
        "time_stepping": "SSP-RK3 (Shu-Osher)",
        "time_step": f"fixed dt={config.time.dt!r}" if config.time.dt else f"CFL {config.time.cfl!r}",
        "on_nonfinite": config.on_nonfinite, "mpi_ranks": np.int32(len(blocks)),
        **model_attributes, **restart_attributes,
        **(extra_attributes or {}),
    }
    writer = StateWriter(output, config.host, attributes, forcing) if output is not None and root else None
    try:
        if writer:
            writer.append(times[0], u)
        for i in tqdm(range(1, len(times)), desc=f"{config.scheme} n={config.host.n}",
                      disable=not (progress and root), unit="frame"):
            start = clock.perf_counter()
            local, steps = host.advance(local, times[i - 1], times[i])
            wall += clock.perf_counter() - start
            nsteps += steps
            u = gather(comm, local, blocks)
            states[i] = u
            if writer:
                writer.append(times[i], u)
            if config.restart.every is not None and _is_multiple(times[i], config.restart.every):
                total = fallbacks + _sum(comm, host.fallback_faces)          # collective
                if root:
                    write_restart(restart_file, Restart(float(times[i]), u, nsteps, total, identity))
        fallbacks += _sum(comm, host.fallback_faces)
        if writer:
            writer.set_attributes(steps=np.int64(nsteps), guard_fallback_faces=np.int64(fallbacks))
            writer.close()
    except BaseException:
        if writer:
            writer.abort()
        raise
    return SimulationResult(times, states, nsteps, wall, fallbacks, host.halo_seconds)


def starting_point(config: SimulationConfig, identity: dict) -> tuple[np.ndarray, np.ndarray, int, int, dict]:
    """Output times, initial state, steps and fallback count so far, and output attributes:
    from t = 0, or from the verified restart `config.restart.start_from` (which must be one
    of this run's output times, so the continued run takes the same steps)."""
    times = config.output_times()
    if not config.restart.start_from:
        return times, initial_condition(config.ic, config.host.n, config.host.length), 0, 0, {}
    restart = read_restart(config.restart.start_from)
    check_identity(config.restart.start_from, restart, identity)
    later = times[times > restart.t + 1e-9 * config.save_interval]
    if not np.any(np.isclose(times, restart.t, rtol=0, atol=1e-9 * config.save_interval)) or len(later) == 0:
        raise ConfigError(f"restart time t = {restart.t:g} is not an output time before t_end = {config.t_end:g} "
                          f"of this run (every {config.save_interval:g})")
    attributes = {"restart_from": str(Path(config.restart.start_from).resolve()),
                  "restart_from_checksum": restart.checksum}
    return np.concatenate([[restart.t], later]), restart.u, restart.nsteps, restart.fallback_faces, attributes


def gather(comm, local: np.ndarray, blocks: list[tuple[int, int]]) -> np.ndarray:
    """The whole state from the ranks' blocks, in global cell order, on every rank."""
    if comm is None:
        return local
    whole = np.empty(sum(n for _, n in blocks))
    comm.Allgatherv(np.ascontiguousarray(local), [whole, ([n for _, n in blocks], [o for o, _ in blocks])])
    return whole


def _sum(comm, value: int) -> int:
    """Sum of an integer counter over the ranks (collective)."""
    return int(value) if comm is None else int(comm.allreduce(int(value)))
