"""The Fortran finite-volume host, driven from Python.

`Host` advances cell averages with SSP-RK3 in the Fortran library; the face fluxes come
from a classical scheme ('godunov', 'fv3', 'weno5'), from a Python function (a
`PythonFlux`), which the Fortran time loop calls back at every Runge-Kutta stage, or from
an ONNX model loaded into the Fortran library (a `FortranModel`, run through the ONNX
Runtime C API without returning to Python).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from coupler import _fortran_bindings as _ext
from coupler.errors import ConfigError, FortranError, NonFiniteStateError, ProviderError
from coupler.fortran_bindings import hfc_api as _api
from training.forcing import Forcing

EQUATIONS = ("burgers", "advection")
SCHEMES = ("godunov", "fv3", "weno5")
ON_NONFINITE = ("abort", "fallback")   # codes 1, 2 of hfc_model's guard

# Status codes of fortran/src/hfc_kinds.f90.
_STATUS_ERRORS = {1: ConfigError, 2: NonFiniteStateError, 3: ProviderError}


def _check(stat: int, errmsg: str) -> None:
    if stat != 0:
        cls = _STATUS_ERRORS.get(stat, FortranError)
        message = errmsg.strip() or f"Fortran status {stat}"
        raise cls(message) if cls is ConfigError else cls(stat, message)


@dataclass(frozen=True)
class HostConfig:
    """The physical problem: equation, periodic grid of n cells on [0, length)."""

    equation: str = "burgers"
    n: int = 64
    length: float = 2.0 * math.pi
    viscosity: float = 0.01
    velocity: float = 1.0

    def __post_init__(self) -> None:
        if self.equation not in EQUATIONS:
            raise ConfigError(f"unknown equation '{self.equation}' (expected {' or '.join(EQUATIONS)})")
        if int(self.n) != self.n or self.n < 1:
            raise ConfigError(f"the number of cells must be a positive integer, got {self.n}")
        if not (math.isfinite(self.length) and self.length > 0):
            raise ConfigError(f"the domain length must be positive and finite, got {self.length}")
        if not (math.isfinite(self.viscosity) and self.viscosity >= 0):
            raise ConfigError(f"the viscosity must be finite and >= 0, got {self.viscosity}")
        if not math.isfinite(self.velocity):
            raise ConfigError(f"the velocity must be finite, got {self.velocity}")

    @property
    def dx(self) -> float:
        return self.length / self.n

    def cell_centres(self) -> np.ndarray:
        return (np.arange(self.n) + 0.5) * self.dx


@dataclass(frozen=True)
class TimeConfig:
    """Time-step control: a fixed step `dt`, or else the CFL-limited step at Courant number
    `cfl` (advective dx / max|f'(u)| and diffusive dx^2 / (2 eta) limits)."""

    cfl: float = 0.5
    dt: float | None = None
    max_steps: int = 0   # per advance call; 0 means no limit

    def __post_init__(self) -> None:
        if self.dt is not None and not (math.isfinite(self.dt) and self.dt > 0):
            raise ConfigError(f"the time step must be positive and finite, got {self.dt}")
        if self.dt is None and not (0 < self.cfl <= 10):
            raise ConfigError(f"the CFL number must lie in (0, 10], got {self.cfl}")


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


def onnx_load(data: np.ndarray, threads: int, device: int, library: str = "") -> tuple[int, int]:
    """Load model bytes (int8 array) into the Fortran library; returns (id, halo)."""
    model, halo, stat, errmsg = _api.api_onnx_load(data, library, threads, device)
    _check(stat, errmsg)
    return int(model), int(halo)


def onnx_metadata(model: int, key: str) -> str:
    value, stat, errmsg = _api.api_onnx_metadata(model, key)
    _check(stat, errmsg)
    return value.strip()


def onnx_face_fluxes(model: int, halo: int, u: np.ndarray) -> np.ndarray:
    """Face fluxes of a loaded model for halo-filled states (n + 2 halo,) or (batch, n + 2 halo)."""
    return _batched(u, halo, lambda batch, flux, n: _api.api_onnx_face_fluxes(model, batch, flux))


def _batched(u: np.ndarray, halo: int, compute) -> np.ndarray:
    """Run a Fortran flux routine on (n + 2 halo,) or (batch, n + 2 halo) states: it gets
    u(n + 2g, nbatch) and flux(n + 1, nbatch) (the arrays' transposes, no copy: reversing
    the axes maps row-major onto column-major) and n, and returns (stat, errmsg)."""
    u = np.asarray(u, dtype=np.float64)
    single = u.ndim == 1
    batch = np.ascontiguousarray(np.atleast_2d(u))
    n = batch.shape[-1] - 2 * halo
    if n < 1:
        raise ConfigError(f"states of length {batch.shape[-1]} hold no interior cells with halo {halo}")
    flux = np.zeros((batch.shape[0], n + 1))
    _check(*compute(batch.T, flux.T, n))
    return flux[0] if single else flux


def onnx_bench(model: int, u: np.ndarray, reps: int) -> tuple[float, float]:
    """`reps` calls of the Fortran learned provider on states u (batch, cells): total wall
    seconds and seconds inside ONNX Runtime's Run (for the overhead benchmark)."""
    seconds, run_seconds, stat, errmsg = _api.api_onnx_bench(model, np.asfortranarray(np.atleast_2d(u).T), reps)
    _check(stat, errmsg)
    return float(seconds), float(run_seconds)


def onnx_free(model: int) -> None:
    _api.api_onnx_free(model)


def onnx_runtime(library: str = "") -> tuple[str, str]:
    """Open ONNX Runtime for the Fortran path; returns (library path, version)."""
    path, version, stat, errmsg = _api.api_onnx_runtime(library)
    _check(stat, errmsg)
    return path.strip(), version.strip()


def decompose(comm, n: int, halo: int) -> tuple[int, int]:
    """(cells, offset) of this rank's block of n cells over an mpi4py communicator (the
    library's split; (n, 0) without one)."""
    if comm is None:
        return n, 0
    n_local, offset, stat, errmsg = _api.api_decompose(comm.py2f(), n, halo)
    _check(stat, errmsg)
    return int(n_local), int(offset)


def fill_halo(comm, n: int, halo: int, u: np.ndarray) -> np.ndarray:
    """The library's halo fill of this rank's block u (n_local + 2 halo,): periodic wrap, or
    the exchange with the neighbouring ranks (collective)."""
    u = np.array(u, dtype=np.float64)
    _check(*_api.api_fill_halo(comm.py2f() if comm is not None else -1, n, halo, u))
    return u


def halo_width(scheme: str) -> int:
    """Halo cells per side a classical scheme reads."""
    g, stat, errmsg = _api.api_halo_width(scheme)
    _check(stat, errmsg)
    return int(g)


def face_fluxes(config: HostConfig, scheme: str, u: np.ndarray) -> np.ndarray:
    """Fortran face fluxes of a classical scheme for halo-padded states.

    u: (n + 2g,) or a batch (nbatch, n + 2g), C order, last axis fastest (the ONNX layout).
    Returns (n + 1,) or (nbatch, n + 1). The batch is handed to Fortran as u(n + 2g, nbatch)
    without a copy: reversing the axes maps row-major onto column-major.
    """
    return _batched(u, halo_width(scheme), lambda batch, flux, n: _api.api_face_fluxes(
        config.equation, scheme, config.dx * n, config.viscosity, config.velocity, batch, flux))


class _Callback:
    """Adapter between f2py's callback signature and a PythonFlux; keeps the exception."""

    def __init__(self, provider: PythonFlux):
        self.provider = provider
        self.error: BaseException | None = None

    def __call__(self, u, t, flux, nu, nf):   # signature fixed by f2py
        try:
            flux[:] = self.provider.function(u, float(t))
            return 0
        except BaseException as exc:   # re-raised in Host.advance once Fortran has returned
            self.error = exc
            return 1


class Host:
    """A Fortran host run: problem, flux provider, forcing, time-step control, and the
    guard for non-finite fluxes: 'abort' fails the step, 'fallback' uses WENO5 at the
    affected faces and counts them in `fallback_faces` (summed over advance calls)."""

    def __init__(self, config: HostConfig, provider: str | PythonFlux | FortranModel,
                 forcing: Forcing | None = None, time: TimeConfig = TimeConfig(), on_nonfinite: str = "abort",
                 comm=None):
        if on_nonfinite not in ON_NONFINITE:
            raise ConfigError(f"on_nonfinite must be one of {', '.join(ON_NONFINITE)}, got '{on_nonfinite}'")
        if isinstance(provider, str) and provider not in SCHEMES:
            raise ConfigError(f"unknown scheme '{provider}' (expected one of {', '.join(SCHEMES)})")
        if isinstance(provider, PythonFlux) and provider.halo < 0:
            raise ConfigError("a Python flux provider needs a halo width >= 0")
        self.config = config
        self.provider = provider
        self.forcing = forcing if forcing is not None else Forcing()
        self.time = time
        self.on_nonfinite = on_nonfinite
        self.fallback_faces = 0
        self.halo_seconds = 0.0   # time in halo fills (the MPI exchange under MPI), summed over advance calls
        # MPI: an mpi4py communicator; this rank then owns cells offset .. offset + n_local - 1
        self.comm = comm if comm is not None and comm.Get_size() > 1 else None
        self.n_local, self.offset = decompose(self.comm, config.n, self.halo)

    @property
    def halo(self) -> int:
        return halo_width(self.provider) if isinstance(self.provider, str) else self.provider.halo

    def advance(self, u: np.ndarray, t: float, t_end: float) -> tuple[np.ndarray, int]:
        """Advance the interior state u (n,) from t to exactly t_end; under MPI u is this
        rank's block (n_local,) and the call is collective.

        Returns the new state and the number of steps; u itself is not modified.
        """
        u = np.array(u, dtype=np.float64, order="F")
        if u.shape != (self.n_local,):
            raise ConfigError(f"state has shape {u.shape}, the grid has {self.n_local} cells"
                              + (" on this rank" if self.comm else ""))
        f, cfg, tc = self.forcing, self.config, self.time
        python = isinstance(self.provider, PythonFlux)
        model = self.provider.id if isinstance(self.provider, FortranModel) else 0
        scheme = "python" if python else "learned" if model else self.provider
        callback = _Callback(self.provider) if python else None
        previous = getattr(_ext, "pyflux", None)
        if python:
            _ext.pyflux = callback
        try:
            nsteps, fallbacks, halo_seconds, stat, errmsg = _api.api_run(
                cfg.equation, scheme, self.halo if python else 0, model,
                self.comm.py2f() if self.comm else -1, cfg.n, cfg.length, cfg.viscosity, cfg.velocity,
                np.asarray(f.amplitude, float), np.asarray(f.omega, float),
                np.asarray(f.phase, float), np.asarray(f.wavenumber, np.int32),
                tc.cfl, tc.dt or 0.0, tc.max_steps, ON_NONFINITE.index(self.on_nonfinite) + 1,
                u, float(t), float(t_end))
            self.fallback_faces += int(fallbacks)
            self.halo_seconds += float(halo_seconds)
        finally:
            if python:
                _ext.pyflux = previous
        if callback is not None and callback.error is not None:
            raise ProviderError(3, f"the Python flux provider raised {callback.error!r}") from callback.error
        _check(stat, errmsg)
        return u, int(nsteps)
