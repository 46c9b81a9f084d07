"""One simulation from a configuration: initial condition, forcing, host, netCDF output and
restarts, serial or MPI-parallel.

The configuration is split by concern, one small dataclass each: the problem (what is
solved), the numerics (how), the runtime (who runs a learned model, where), and the output
(when and where results are written).
"""
from __future__ import annotations

import dataclasses
import math
import time as clock
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from coupler.errors import ConfigError
from coupler.host import (ON_NONFINITE, SCHEMES, FortranModel, Host, HostConfig, PythonFlux, TimeConfig,
                          onnx_runtime)
from coupler.io.atomic import check_not_reading, check_path, check_writable
from coupler.io.netcdf import StateWriter
from coupler.io.restart import Restart, RestartError, check_identity, read_restart, write_restart
from coupler.learned import RuntimeConfig, implicit_iterations, load_model
from coupler.limits import DEFAULT_MAX_STEPS, check_range, check_size, check_steps
from coupler.parallel import allsum, check_same_on_all_ranks, gather, made_on_root
from coupler.problems.advection2d import TRACERS, FlowConfig, entropy, errors, exact_solution, tracer
from coupler.problems.equations import EQUATIONS
from coupler.problems.forcing import Forcing, random_forcing
from coupler.problems.initial_conditions import INITIAL_CONDITIONS, initial_condition


@dataclass(frozen=True)
class ProblemConfig:
    """What is solved: the equation on its grid, the initial condition (None: the
    equation's default; in 2D a tracer of coupler.problems.advection2d), the seed of the
    random forcing (Burgers), of the random initial condition (KdV, KS) or of the random
    velocity field and tracers (2D), whether the equation's forcing is on, and in 2D the
    velocity field (None: the deformational flow)."""

    host: HostConfig = field(default_factory=HostConfig)
    ic: str | None = None
    seed: int = 0
    forcing: bool = True
    flow: FlowConfig | None = None

    def __post_init__(self) -> None:
        check_range("the seed", self.seed, 0, 2**31 - 1, "stored as a 32-bit integer in the output")
        choices = INITIAL_CONDITIONS if self.host.ndim == 1 else TRACERS
        if self.ic is not None and self.ic not in choices:
            raise ConfigError(f"unknown initial condition '{self.ic}' for {self.host.equation} (expected one of "
                              f"{', '.join(choices)})")
        if self.host.ndim == 1 and self.flow is not None:
            raise ConfigError(f"{self.host.equation} has no velocity field")
        if self.host.ndim == 2 and self.flow is None:
            object.__setattr__(self, "flow", FlowConfig())
        needs = self.flow.default_length if self.flow is not None else None
        if needs is not None and self.host.lengths != (needs, needs):
            raise ConfigError(f"the {self.flow.kind} flow lives on [0, {needs:g})^2, the grid spans "
                              f"{' x '.join(f'[0, {v:g})' for v in self.host.lengths)}")

    @property
    def initial_condition(self) -> str:
        if self.ic is None and self.flow is not None:
            return self.flow.default_tracer
        return self.ic or EQUATIONS[self.host.equation].initial_condition

    def make_forcing(self) -> Forcing:
        if EQUATIONS[self.host.equation].forcing and self.forcing:
            return random_forcing(self.seed)
        return Forcing()

    def make_flow(self, t_end: float, progress: bool = False):
        """The velocity field (coupler.problems.flows.Flow) of a 2D problem over [0, t_end],
        else None."""
        return self.flow.make(self.host.grid2d(), self.seed, t_end, progress) if self.flow is not None else None

    def initial_state(self) -> np.ndarray:
        if self.host.ndim == 2:
            return tracer(self.initial_condition, self.host.grid2d(), self.seed)
        return initial_condition(self.initial_condition, self.host.n, self.host.length, self.seed)

    def exact_solution(self, t: float) -> np.ndarray | None:
        """The exact cell averages at t where known (2D: coupler.problems.advection2d)."""
        if self.host.ndim != 2:
            return None
        return exact_solution(self.flow, self.initial_condition, self.host.grid2d(), self.seed, t)


@dataclass(frozen=True)
class NumericsConfig:
    """How: the flux provider (a classical scheme, or 'learned' with an exported model),
    time stepping, and the guard for non-finite fluxes."""

    scheme: str = "weno5"
    model: str | None = None           # exported .onnx file, for scheme "learned"
    time: TimeConfig = field(default_factory=TimeConfig)
    on_nonfinite: str = "abort"        # or "fallback": the classical scheme at faces with non-finite fluxes
    max_steps: int = DEFAULT_MAX_STEPS  # the run's step budget: estimated before the run, enforced per frame

    def __post_init__(self) -> None:
        check_range("the step limit", self.max_steps, 1, 2**62, "steps are counted in 64 bits")
        if (self.scheme == "learned") != (self.model is not None):
            raise ConfigError("scheme 'learned' needs a model (--model M.onnx), and a model needs scheme 'learned'")
        if self.scheme not in SCHEMES + ("learned",):
            raise ConfigError(f"unknown scheme '{self.scheme}' (expected one of {', '.join(SCHEMES + ('learned',))})")
        if self.on_nonfinite not in ON_NONFINITE:
            raise ConfigError(f"on_nonfinite must be one of {', '.join(ON_NONFINITE)}, got '{self.on_nonfinite}'")


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


@dataclass(frozen=True)
class OutputConfig:
    """When: the end time, the interval of the saved snapshots (default t_end / 100), and
    restarts."""

    t_end: float = 1.0
    save_every: float | None = None
    restart: RestartConfig = field(default_factory=RestartConfig)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.t_end) and self.t_end > 0):
            raise ConfigError(f"the end time must be positive and finite, got {self.t_end}")
        if self.save_every is not None and not (math.isfinite(self.save_every) and self.save_every > 0):
            raise ConfigError(f"the output interval must be positive, got {self.save_every}")
        every = self.restart.every
        if every is not None and not _is_multiple(every, self.save_interval):
            raise ConfigError(f"the restart interval {every:g} must be a whole number of output intervals "
                              f"({self.save_interval:g}), so a continued run takes the same steps")

    @property
    def save_interval(self) -> float:
        return self.save_every or self.t_end / 100

    def times(self) -> np.ndarray:
        """0, save_every, 2 save_every, ... and t_end (always the last)."""
        every = self.save_interval
        count = int(math.floor(self.t_end / every * (1 + 1e-12)))
        times = every * np.arange(count + 1)
        if self.t_end - times[-1] > 1e-9 * every:
            times = np.append(times, self.t_end)
        times[-1] = self.t_end
        return times


def _is_multiple(a: float, b: float) -> bool:
    ratio = a / b
    return abs(ratio - round(ratio)) <= 1e-9 * max(1.0, ratio) and round(ratio) >= 1


@dataclass(frozen=True)
class SimulationConfig:
    problem: ProblemConfig = field(default_factory=ProblemConfig)
    numerics: NumericsConfig = field(default_factory=NumericsConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def __post_init__(self) -> None:
        scheme, equation = self.numerics.scheme, self.problem.host.equation
        if scheme != "learned" and scheme not in EQUATIONS[equation].schemes:
            raise ConfigError(f"scheme '{scheme}' does not serve {equation} (its classical schemes: "
                              f"{', '.join(EQUATIONS[equation].schemes)}, or learned)")

    @property
    def host(self) -> HostConfig:
        return self.problem.host

    def but(self, **changes) -> "SimulationConfig":
        """A copy with whole parts (problem=, numerics=, runtime=, output=) or fields of the
        parts (host=, seed=, scheme=, model=, t_end=, ...) replaced:
        `base.but(host=HostConfig("burgers", 64), seed=3)`."""
        parts = {}
        for part in ("problem", "numerics", "runtime", "output"):
            sub = changes.pop(part, getattr(self, part))
            mine = {k: changes.pop(k) for k in list(changes) if k in {f.name for f in dataclasses.fields(sub)}}
            parts[part] = dataclasses.replace(sub, **mine) if mine else sub
        if changes:
            raise TypeError(f"no configuration field {', '.join(changes)}")
        return SimulationConfig(**parts)

    def identity(self, model_sha256: str = "") -> dict:
        """What a restart must share with the run that continues it."""
        h, n, o = self.host, self.numerics, self.output
        flow = {} if self.problem.flow is None else {"flow": repr(self.problem.flow)}
        return {"equation": h.equation, "n": h.n, "length": repr(h.length), "viscosity": repr(h.viscosity),
                "velocity": repr(h.velocity), "scheme": n.scheme, "seed": self.problem.seed,
                "forcing": self.problem.forcing, "initial_condition": self.problem.initial_condition,
                "time_step": f"dt={n.time.dt!r}" if n.time.dt else f"cfl={n.time.cfl!r}",
                "method": n.time.method if n.time.method != "imex" else f"imex: {n.time.implicit.describe()}",
                "save_every": repr(o.save_interval), "model_sha256": model_sha256,
                **({"coefficient_reuse": "1"} if self.runtime.reuse_coefficients else {}), **flow}


@dataclass(frozen=True)
class SimulationResult:
    times: np.ndarray
    states: np.ndarray       # (time, x)
    nsteps: int
    wall_seconds: float      # time spent in the Fortran host
    fallback_faces: int = 0  # faces whose flux came from the guard's fallback
    halo_seconds: float = 0.0  # of wall_seconds, time in halo fills (the MPI exchange), this rank
    stages: int = 3          # right-hand-side evaluations per step (3 SSP-RK3, 1 forward Euler)

    @property
    def ns_per_cell_stage(self) -> float:
        return 1e9 * self.wall_seconds / max(1, self.stages * self.nsteps * self.states[0].size)


def flux_provider(config: SimulationConfig, comm=None) -> tuple[str | PythonFlux | FortranModel, dict, TimeConfig]:
    """The host's provider, the output attributes describing it and the time control (a
    learned IMEX model's K where the user left it open). A learned model is loaded (read
    once under MPI) and checked against the host here, before the first step."""
    numerics = config.numerics
    if numerics.scheme != "learned":
        return numerics.scheme, {}, numerics.time
    learned = load_model(numerics.model, config.runtime, comm)
    time = implicit_iterations(learned.meta, numerics.time)
    learned.check_host(config.host, time)
    check_whole_steps(learned, config.output)
    if config.runtime.backend == "fortran":
        library, version = onnx_runtime()
        backend = f"fortran (libhfc hfc_onnx, ONNX Runtime C API from {library})"
    else:
        import onnxruntime

        backend, version = "python (f2py callback, ONNX Runtime)", onnxruntime.__version__
    return learned.provider(), {
        "model_path": str(Path(numerics.model).resolve()), "model_sha256": learned.sha256,
        "model_dtype": learned.meta.dtype, "model_training_command": learned.metadata.get("training_command", ""),
        "backend": backend, "onnxruntime_version": version,
        "device": config.runtime.device, "threads": np.int32(config.runtime.threads),
        "coefficient_reuse": np.int32(config.runtime.reuse_coefficients)}, time


def check_whole_steps(learned, output: OutputConfig) -> None:
    """A model trained for one time step (metadata time_step) runs only at it: the host
    shortens a step to land on an output time, so the end time and the output interval must
    be whole numbers of steps."""
    step = learned.meta.extra.get("time_step")
    if step is None:
        return
    dt = float(step)
    for name, value in (("--t-end", output.t_end), ("--save-every", output.save_interval)):
        if abs(value / dt - round(value / dt)) > 1e-9 * max(1.0, value / dt):
            raise ConfigError(f"model '{learned.path}' runs at its time step {dt!r} only: {name} {value!r} is not a "
                              f"whole number of steps (use a multiple of {dt!r})")


def problem_attributes(config: SimulationConfig) -> dict:
    """Global attributes describing the problem and the numerics."""
    h, n, flow = config.host, config.numerics, config.problem.flow
    forcing = config.problem.make_forcing()
    if h.ndim == 2:
        grid = {"title": f"{h.equation} on a periodic grid of {h.n[0]} x {h.n[1]} cells",
                "nx": np.int32(h.n[0]), "ny": np.int32(h.n[1]), "length_x": h.length[0], "length_y": h.length[1],
                "velocity_field": flow.describe(), "tracer": config.problem.initial_condition}
    else:
        grid = {"title": f"{h.equation} on a periodic grid of {h.n} cells", "n": np.int32(h.n), "length": h.length,
                "viscosity": h.viscosity, "velocity": h.velocity}
    return {**grid, "equation": h.equation, "scheme": n.scheme, "seed": np.int32(config.problem.seed),
            "initial_condition": config.problem.initial_condition,
            "forcing": "Bar-Sinai et al. (2019) Eq. S-6, cell averages" if forcing.n_modes else "none",
            "time_stepping": n.time.describe(),
            "time_step": f"fixed dt={n.time.dt!r}" if n.time.dt else f"CFL {n.time.cfl!r}",
            "on_nonfinite": n.on_nonfinite}


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
    check_same_on_all_ranks(comm, repr((config, str(output))), "arguments")     # before any other collective
    restart_file = check_files(config, output)
    restart = config.output.restart
    start = read_restart(restart.start_from) if restart.start_from else None
    check_size(config.host.size, config.output.t_end, config.output.save_interval, output)
    times, u, nsteps, fallbacks, restart_attributes = starting_point(config, start)
    flow = made_on_root(comm, lambda: config.problem.make_flow(config.output.t_end, progress))  # turbulence: once
    forcing = config.problem.make_forcing()
    provider, model_attributes, time = flux_provider(config, comm)
    config = dataclasses.replace(config, numerics=dataclasses.replace(config.numerics, time=time))
    identity = config.identity(model_attributes.get("model_sha256", ""))
    if start is not None:
        check_identity(restart.start_from, start, identity)
    host = Host(config.host, provider, forcing, dataclasses.replace(time, max_steps=config.numerics.max_steps),
                config.numerics.on_nonfinite, comm, flow, config.runtime.procs)
    try:         # the host's first step (fixed, or its rule at the initial state) against the budget
        host.set_state(u[host.block], times[0])
        check_steps(host.stable_dt(), config.output.t_end, config.numerics.max_steps)
    except BaseException:
        host.close()
        raise
    blocks = comm.allgather(host.block) if comm else [host.block]
    states = np.empty((len(times), *config.host.shape))
    states[0] = u
    wall = 0.0
    attributes = {**problem_attributes(config), "mpi_ranks": np.int32(len(blocks)),
                  **model_attributes, **restart_attributes, **(extra_attributes or {})}
    diagnostics = Diagnostics2D(config.problem) if config.host.ndim == 2 else None
    writer = (StateWriter(output, config.host.coordinates(), config.host.cell_volume, attributes, forcing,
                          series=diagnostics.SERIES if diagnostics else None,
                          **({"field": "c", "field_long_name": "cell average of the concentration"}
                             if diagnostics else {}))
              if output is not None and root else None)
    try:
        if writer:
            writer.append(times[0], u, **(diagnostics(times[0], u) if diagnostics else {}))
        for i in tqdm(range(1, len(times)), desc=f"{config.numerics.scheme} n={'x'.join(map(str, config.host.cells))}",
                      disable=not (progress and root), unit="frame"):
            if comm:
                comm.Barrier()     # the host's time excludes waiting for rank 0's output
            start = clock.perf_counter()
            nsteps += host.advance_to(times[i])
            wall += clock.perf_counter() - start
            u = gather(comm, host.get_state()[0], blocks, config.host.shape)
            states[i] = u
            if writer:
                writer.append(times[i], u, **(diagnostics(times[i], u) if diagnostics else {}))
            if restart.every is not None and _is_multiple(times[i], restart.every):
                total = fallbacks + allsum(comm, host.fallback_faces)          # collective
                if root:
                    write_restart(restart_file, Restart(float(times[i]), u, nsteps, total, identity),
                                  tuple(c.name for c in config.host.coordinates()))
        fallbacks += allsum(comm, host.fallback_faces)
        if writer:
            writer.set_attributes(steps=np.int64(nsteps), guard_fallback_faces=np.int64(fallbacks))
            writer.close()
    except BaseException:
        if writer:
            writer.abort()
        raise
    finally:
        halo_seconds = host.halo_seconds
        host.close()
    return SimulationResult(times, states, nsteps, wall, fallbacks, halo_seconds, config.numerics.time.stages)


class Diagnostics2D:
    """The per-snapshot diagnostics of a 2D tracer (the paper's metrics): entropy (Eq. 10)
    against the initial state, and the L1 / L2 errors where the exact solution is known
    (NaN elsewhere)."""

    SERIES = {"entropy": "entropy S = -beta sum C log C of Zhuang et al. (2021) Eq. 10, S(0) = 1",
              "l1_error": "mean absolute error against the exact solution (NaN where none is known)",
              "l2_error": "root mean square error against the exact solution (NaN where none is known)"}

    def __init__(self, problem: ProblemConfig):
        self.problem = problem
        self.initial = problem.initial_state()

    def __call__(self, t: float, c: np.ndarray) -> dict:
        exact = self.problem.exact_solution(t)
        l1, l2 = errors(c, exact) if exact is not None else (math.nan, math.nan)
        return {"entropy": entropy(c, self.initial), "l1_error": l1, "l2_error": l2}


def check_files(config: SimulationConfig, output: str | Path | None) -> Path | None:
    """Before any work: the outputs can be created and none of them is a file the run
    reads (the model, the restart it continues from). Returns the restart file to write
    (None: no restarts). The restart written may replace the one continued from: it is read
    whole before the first step and replaced atomically by a later state of the same run."""
    restart = config.output.restart
    inputs = {"the model": config.numerics.model, "the restart to continue from": restart.start_from}
    for path in inputs.values():
        if path is not None:
            check_path(path)
    restart_file = restart.file or (Path(output).with_suffix(".restart.nc") if output else None)
    if output is not None:
        check_writable(output)
        check_not_reading(("the output", output), {**inputs, "the restart file": restart.file})
    if restart.every is None:
        return None
    if restart_file is None:
        raise ConfigError("restarts need a restart file (or an output file to name it after)")
    check_writable(restart_file)
    check_not_reading(("the restart file", restart_file), {"the model": config.numerics.model})
    return Path(restart_file)


def starting_point(config: SimulationConfig, restart: Restart | None) -> tuple[np.ndarray, np.ndarray, int, int, dict]:
    """Output times, initial state, steps and fallback count so far, and output attributes:
    from t = 0, or from the restart `restart` (read and verified by coupler.io.restart; its
    identity is checked by the caller), whose time must be one of this run's output times,
    so the continued run takes the same steps."""
    output = config.output
    times = output.times()
    if restart is None:
        return times, config.problem.initial_state(), 0, 0, {}
    path = output.restart.start_from
    if restart.u.shape != config.host.shape:
        raise RestartError(f"restart file '{path}' holds {' x '.join(map(str, restart.u.shape[::-1]))} cells, this "
                           f"run has {' x '.join(map(str, config.host.cells))}: it is damaged or from another grid")
    later = times[times > restart.t + 1e-9 * output.save_interval]
    if not np.any(np.isclose(times, restart.t, rtol=0, atol=1e-9 * output.save_interval)) or len(later) == 0:
        raise ConfigError(f"restart time t = {restart.t:g} is not an output time before t_end = {output.t_end:g} "
                          f"of this run (every {output.save_interval:g})")
    attributes = {"restart_from": str(Path(path).resolve()), "restart_from_checksum": restart.checksum}
    return np.concatenate([[restart.t], later]), restart.u, restart.nsteps, restart.fallback_faces, attributes
