"""The Fortran finite-volume host, driven from Python through a host handle.

A `Host` is created once (grid, equation, flux provider, forcing, time-step control, guard,
MPI communicator) and then advanced any number of times; nothing is rebuilt between calls.
The face fluxes come from a classical scheme ('godunov', 'fv3', 'weno5', 'polynomial'),
from a Python function (a `PythonFlux`, which the Fortran time loop calls back at every
Runge-Kutta stage), or from an ONNX model loaded into the Fortran library (a
`FortranModel`, run through the ONNX Runtime C API without returning to Python).
"""
from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from coupler import _fortran_bindings as _ext
from coupler.errors import ConfigError, FortranError, InterruptedRun, NonFiniteStateError, ProviderError, Terminated
from coupler.fortran_bindings import hfc_api as _api
from coupler.limits import check_range
from coupler.problems.equations import EQUATIONS, SCHEMES, Equation, make_equation
from coupler.problems.forcing import Forcing

ON_NONFINITE = ("abort", "fallback")   # codes 1, 2 of hfc_fv_rhs's guard
METHODS = ("ssprk3", "euler")          # codes 1, 2 of hfc_stepper

# Status codes of fortran/src/core/hfc_kinds.f90.
_STATUS_ERRORS = {1: ConfigError, 2: NonFiniteStateError, 3: ProviderError, 5: InterruptedRun}


def _check(stat: int, errmsg: str) -> None:
    if stat != 0:
        cls = _STATUS_ERRORS.get(stat, FortranError)
        message = errmsg.strip() or f"Fortran status {stat}"
        raise cls(message) if cls is ConfigError else cls(stat, message)


@dataclass(frozen=True)
class HostConfig:
    """The physical problem: a registry equation (coupler.problems.equations) on a periodic
    grid of n cells on [0, length). None takes the registry's default (the paper's domain,
    eta = 0.01 for Burgers, velocity 1 for advection); a parameter the equation does not
    have must be left out."""

    equation: str = "burgers"
    n: int = 64
    length: float | None = None
    viscosity: float | None = None
    velocity: float | None = None

    def __post_init__(self) -> None:
        law = make_equation(self.equation, self.viscosity, self.velocity)   # checks name and parameters
        check_range("the number of cells", self.n, 1, 2**31 - 1, "the Fortran host counts cells in 32 bits")
        length = law.spec.length if self.length is None else float(self.length)
        if not (math.isfinite(length) and length > 0):
            raise ConfigError(f"the domain length must be positive and finite, got {self.length}")
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "length", length)
        object.__setattr__(self, "viscosity", law.viscosity)
        object.__setattr__(self, "velocity", law.velocity)

    @property
    def law(self) -> Equation:
        """The equation with its parameters bound (flux law, time-step rule)."""
        return make_equation(self.equation, self.viscosity, self.velocity)

    @property
    def dx(self) -> float:
        return self.length / self.n

    def cell_centres(self) -> np.ndarray:
        return (np.arange(self.n) + 0.5) * self.dx

    def coordinates(self) -> list:
        """The output grid's axes (coupler.io.netcdf.Coordinate, slowest first)."""
        from coupler.io.netcdf import Coordinate
        return [Coordinate("x", self.cell_centres())]

    def equation_args(self) -> tuple[str, float, float]:
        return self.equation, self.viscosity, self.velocity


@dataclass(frozen=True)
class TimeConfig:
    """Time-step control: a fixed step `dt`, or else the equation's stable step at Courant
    number `cfl` (coupler.problems.equations.Equation.stable_dt); the method."""

    cfl: float = 0.5
    dt: float | None = None
    max_steps: int = 0        # per advance call; 0 means no limit
    method: str = "ssprk3"    # or "euler" (forward Euler)

    def __post_init__(self) -> None:
        if self.dt is not None and not (math.isfinite(self.dt) and self.dt > 0):
            raise ConfigError(f"the time step must be positive and finite, got {self.dt}")
        if self.dt is None and not (0 < self.cfl <= 10):
            raise ConfigError(f"the CFL number must lie in (0, 10], got {self.cfl}")
        if self.method not in METHODS:
            raise ConfigError(f"unknown time-stepping method '{self.method}' (expected {' or '.join(METHODS)})")


@dataclass(frozen=True)
class PythonFlux:
    """A flux provider written in Python: `function(u, t) -> flux`, where u is the
    halo-filled state of shape (n + 2 halo,) and flux has shape (n + 1,)."""

    function: Callable[[np.ndarray, float], np.ndarray]
    halo: int


@dataclass(frozen=True)
class FortranModel:
    """An ONNX model loaded into the Fortran library (see coupler.learned.FortranLearnedFlux,
    the owner, kept here so the model stays loaded while a Host uses it)."""

    id: int
    halo: int
    owner: object = None


Provider = str | PythonFlux | FortranModel


def make_provider(config: HostConfig, provider: Provider) -> tuple[int, int]:
    """A Fortran provider object for the host's equation: (id, halo). Free it with
    free_provider once a host has copied it."""
    equation = config.equation_args()
    if isinstance(provider, str):
        if provider not in SCHEMES:
            raise ConfigError(f"unknown scheme '{provider}' (expected one of {', '.join(SCHEMES)})")
        pid, halo, stat, errmsg = _api.api_provider_classical(*equation, provider)
    elif isinstance(provider, PythonFlux):
        if provider.halo < 0:
            raise ConfigError("a Python flux provider needs a halo width >= 0")
        pid, stat, errmsg = _api.api_provider_python(*equation, provider.halo)
        halo = provider.halo
    elif isinstance(provider, FortranModel):
        pid, halo, stat, errmsg = _api.api_provider_learned(provider.id, *equation)
    else:
        raise ConfigError(f"not a flux provider: {provider!r}")
    _check(stat, errmsg)
    return int(pid), int(halo)


def free_provider(pid: int) -> None:
    _api.api_provider_free(pid)


def halo_width(scheme: str) -> int:
    """Halo cells per side a classical scheme reads."""
    pid, halo = make_provider(HostConfig("burgers"), scheme)
    free_provider(pid)
    return halo


def face_fluxes(config: HostConfig, scheme: str, u: np.ndarray, t: float = 0.0) -> np.ndarray:
    """Fortran face fluxes of a classical scheme for halo-padded states.

    u: (n + 2g,) or a batch (nbatch, n + 2g), C order, last axis fastest (the ONNX layout).
    Returns (n + 1,) or (nbatch, n + 1). The batch is handed to Fortran as u(n + 2g, nbatch)
    without a copy: reversing the axes maps row-major onto column-major.
    """
    pid, halo = make_provider(config, scheme)
    try:
        return _batched(u, halo, lambda batch, flux: _api.api_provider_face_fluxes(pid, config.dx, t, batch, flux))
    finally:
        free_provider(pid)


def _batched(u: np.ndarray, halo: int, compute) -> np.ndarray:
    """Run a Fortran flux routine on (n + 2 halo,) or (batch, n + 2 halo) states: it gets
    u(n + 2g, nbatch) and flux(n + 1, nbatch) (the arrays' transposes, no copy) and returns
    (stat, errmsg)."""
    u = np.asarray(u, dtype=np.float64)
    single = u.ndim == 1
    batch = np.ascontiguousarray(np.atleast_2d(u))
    n = batch.shape[-1] - 2 * halo
    if n < 1:
        raise ConfigError(f"states of length {batch.shape[-1]} hold no interior cells with halo {halo}")
    flux = np.zeros((batch.shape[0], n + 1))
    _check(*compute(batch.T, flux.T))
    return flux[0] if single else flux


# ---- ONNX models in the Fortran library -------------------------------------------------

def onnx_load(data: np.ndarray, threads: int, device: int, library: str = "") -> tuple[int, int, dict]:
    """Load model bytes (int8 array) into the Fortran library, which checks the signature
    against the hfc metadata; returns (id, halo, metadata), the metadata read once at load."""
    model, halo, entries, stat, errmsg = _api.api_onnx_load(data, library, threads, device)
    _check(stat, errmsg)
    metadata = {}
    for i in range(1, int(entries) + 1):
        key, value, stat, errmsg = _api.api_onnx_entry(model, i)
        _check(stat, errmsg)
        metadata[key.strip()] = value.rstrip()
    return int(model), int(halo), metadata


def onnx_face_fluxes(model: int, halo: int, u: np.ndarray) -> np.ndarray:
    """Face fluxes of a loaded 1D model for halo-filled states (n + 2 halo,) or (batch, n + 2 halo)."""
    return _batched(u, halo, lambda batch, flux: _api.api_onnx_face_fluxes(model, batch, flux))


def onnx_check(model: int, config: HostConfig) -> None:
    """The Fortran check of a loaded model against a host (equation, viscosity, dx, dimensions)."""
    _check(*_api.api_model_check(model, *config.equation_args(), config.n, config.length))


def onnx_bench(provider: int, model: int, u: np.ndarray, reps: int) -> tuple[float, float]:
    """`reps` calls of a Fortran learned provider on states u (batch, cells): total wall
    seconds and seconds inside ONNX Runtime's Run (for the overhead benchmark)."""
    seconds, run_seconds, stat, errmsg = _api.api_onnx_bench(provider, model, np.asfortranarray(np.atleast_2d(u).T),
                                                             reps)
    _check(stat, errmsg)
    return float(seconds), float(run_seconds)


def onnx_free(model: int) -> None:
    _api.api_onnx_free(model)


def onnx_runtime(library: str = "") -> tuple[str, str]:
    """Open ONNX Runtime for the Fortran path; returns (library path, version)."""
    path, version, stat, errmsg = _api.api_onnx_runtime(library)
    _check(stat, errmsg)
    return path.strip(), version.strip()


def metadata_keys() -> tuple[str, ...]:
    """The metadata keys the Fortran library requires of every model."""
    keys = []
    while key := _api.api_meta_required(len(keys) + 1).strip():
        keys.append(key)
    return tuple(keys)


# ---- MPI decomposition ------------------------------------------------------------------

def _comm_handle(comm) -> int:
    return comm.py2f() if comm is not None else -1


def decompose(comm, n: int, halo: int) -> tuple[int, int]:
    """(cells, offset) of this rank's block of n cells over an mpi4py communicator (the
    library's split; (n, 0) without one)."""
    n_local, offset, stat, errmsg = _api.api_decompose(_comm_handle(comm), n, halo)
    _check(stat, errmsg)
    return int(n_local), int(offset)


def fill_halo(comm, n: int, halo: int, u: np.ndarray) -> np.ndarray:
    """The library's halo fill of this rank's block u (n_local + 2 halo,): periodic wrap, or
    the exchange with the neighbouring ranks (collective)."""
    u = np.array(u, dtype=np.float64)
    _check(*_api.api_fill_halo(_comm_handle(comm), n, halo, u))
    return u


# ---- the host ---------------------------------------------------------------------------

def _set_python_flux(function):
    """Register the callable the Python-callback provider calls (fortran/python/
    hfc_python_callback.c); returns the previous one (or None)."""
    global _PYTHON_FLUX_HOOK
    if _PYTHON_FLUX_HOOK is None:
        hook = ctypes.PyDLL(_ext.__file__).hfc_set_python_flux
        hook.argtypes, hook.restype = [ctypes.py_object], ctypes.py_object
        _PYTHON_FLUX_HOOK = hook
    return _PYTHON_FLUX_HOOK(function)


_PYTHON_FLUX_HOOK = None


def stop_on_signals(signals: tuple[int, ...]) -> None:
    """Let these signals stop a host between steps (fortran/src/core/hfc_signal.c): the
    advance in progress returns (InterruptedRun, or the exception Python's own handler
    raises) instead of running to its end time. Python's handlers keep being called, so
    install them first (signal.signal)."""
    stop_on = ctypes.CDLL(_ext.__file__).hfc_stop_on
    stop_on.argtypes, stop_on.restype = [ctypes.c_int], ctypes.c_int
    for signum in signals:
        if stop_on(int(signum)) != 0:
            raise OSError(f"cannot catch signal {signum}")


class _Callback:
    """Adapter between the C hook's call (state view, time, flux view) and a PythonFlux;
    keeps the exception for Host to re-raise."""

    def __init__(self, provider: PythonFlux):
        self.provider = provider
        self.error: BaseException | None = None

    def __call__(self, u_view, t, flux_view) -> int:
        try:
            u = np.frombuffer(u_view, dtype=np.float64)           # zero-copy, read-only
            flux = np.frombuffer(flux_view, dtype=np.float64)     # zero-copy, to fill
            result = np.asarray(self.provider.function(u, float(t)), dtype=np.float64)
            if result.shape != flux.shape:       # no broadcasting: a wrong shape is an error
                raise ValueError(f"the Python flux provider returned shape {result.shape}, expected {flux.shape} "
                                 f"(the faces of the interior of a state of {u.shape[0]} cells with halo)")
            flux[:] = result
            return 0
        except BaseException as exc:   # re-raised in Host.advance once Fortran has returned
            self.error = exc
            return 1


@dataclass(frozen=True)
class Diagnostics:
    """What a host reports: time, steps, guard counter, halo time, this rank's block."""

    t: float
    steps: int
    fallback_faces: int
    halo_seconds: float
    n_local: int
    offset: int
    halo: int


class Host:
    """A Fortran host (a handle to an hfc_host_t): problem, flux provider, forcing, time-step
    control, and the guard for non-finite fluxes ('abort' fails the step, 'fallback' uses
    the equation's classical scheme at the affected faces and counts them). Under MPI
    (`comm`, an mpi4py communicator of more than one rank) this rank owns cells offset ..
    offset + n_local - 1, and every call is collective."""

    def __init__(self, config: HostConfig, provider: Provider, forcing: Forcing | None = None,
                 time: TimeConfig = TimeConfig(), on_nonfinite: str = "abort", comm=None):
        if on_nonfinite not in ON_NONFINITE:
            raise ConfigError(f"on_nonfinite must be one of {', '.join(ON_NONFINITE)}, got '{on_nonfinite}'")
        if isinstance(provider, str) and provider in SCHEMES and provider not in EQUATIONS[config.equation].schemes:
            raise ConfigError(f"scheme '{provider}' does not serve {config.equation} (its classical schemes: "
                              f"{', '.join(EQUATIONS[config.equation].schemes)})")
        self.id = 0
        self.config = config
        self.provider = provider
        self.forcing = forcing if forcing is not None else Forcing()
        self.time = time
        self.on_nonfinite = on_nonfinite
        self.comm = comm if comm is not None and comm.Get_size() > 1 else None
        pid, self.provider_halo = make_provider(config, provider)
        try:
            hid, stat, errmsg = _api.api_host_create(
                pid, config.n, config.length, time.cfl, time.dt or 0.0, METHODS.index(time.method) + 1,
                time.max_steps, ON_NONFINITE.index(on_nonfinite) + 1, EQUATIONS[config.equation].fallback,
                _comm_handle(self.comm))
        finally:
            free_provider(pid)
        _check(stat, errmsg)
        self.id = int(hid)
        f = self.forcing
        if f.n_modes:
            _check(*_api.api_host_add_forcing(self.id, np.asarray(f.amplitude, float), np.asarray(f.omega, float),
                                              np.asarray(f.phase, float), np.asarray(f.wavenumber, np.int32)))
        d = self.diagnostics()
        self.n_local, self.offset, self.halo = d.n_local, d.offset, d.halo

    def diagnostics(self) -> Diagnostics:
        t, steps, fallbacks, halo_seconds, n, offset, halo, stat, errmsg = _api.api_host_diagnostics(self.id)
        _check(stat, errmsg)
        return Diagnostics(float(t), int(steps), int(fallbacks), float(halo_seconds), int(n), int(offset), int(halo))

    @property
    def fallback_faces(self) -> int:
        """Faces whose flux came from the guard's fallback since the host was created."""
        return self.diagnostics().fallback_faces

    @property
    def halo_seconds(self) -> float:
        """Time in halo fills (the MPI exchange under MPI) since the host was created."""
        return self.diagnostics().halo_seconds

    def set_state(self, u: np.ndarray, t: float) -> None:
        """This rank's interior cells (n_local,) at time t."""
        u = np.asarray(u, dtype=np.float64)
        if u.shape != (self.n_local,):
            raise ConfigError(f"state has shape {u.shape}, the grid has {self.n_local} cells"
                              + (" on this rank" if self.comm else ""))
        _check(*_api.api_host_set_state(self.id, u, float(t)))

    def get_state(self) -> tuple[np.ndarray, float]:
        u = np.zeros(self.n_local)
        t, stat, errmsg = _api.api_host_get_state(self.id, u)
        _check(stat, errmsg)
        return u, float(t)

    def advance_to(self, t_end: float) -> int:
        """Advance the host's state to exactly t_end; returns the steps taken."""
        steps, = self._call(_api.api_host_advance, float(t_end))
        return int(steps)

    def step(self, dt: float) -> None:
        """One step of exactly dt (the time advances by dt)."""
        self._call(_api.api_host_step, float(dt))

    def _call(self, entry, *args) -> tuple:
        """A Fortran entry point that may call a PythonFlux back: the callback is installed
        for the call, and an exception it raised is re-raised here, chained. Returns the
        entry's outputs before (stat, errmsg)."""
        callback = _Callback(self.provider) if isinstance(self.provider, PythonFlux) else None
        if callback is not None:
            previous = _set_python_flux(callback)
        try:
            *outputs, stat, errmsg = entry(self.id, *args)
        finally:
            if callback is not None:
                _set_python_flux(previous)
        if callback is not None and isinstance(callback.error, (KeyboardInterrupt, Terminated)):
            raise callback.error     # a signal arrived in the callback: unwind as the signal, not as a failure
        if callback is not None and callback.error is not None:
            raise ProviderError(3, f"the Python flux provider raised {callback.error!r}") from callback.error
        _check(stat, errmsg)
        return tuple(outputs)

    def advance(self, u: np.ndarray, t: float, t_end: float) -> tuple[np.ndarray, int]:
        """Advance the interior state u (n_local,) from t to exactly t_end (set_state,
        advance_to, get_state). Returns the new state and the number of steps; u itself is
        not modified."""
        self.set_state(u, t)
        steps = self.advance_to(t_end)
        return self.get_state()[0], steps

    def close(self) -> None:
        if getattr(self, "id", 0):
            _api.api_host_free(self.id)
            self.id = 0

    def __del__(self):
        self.close()
