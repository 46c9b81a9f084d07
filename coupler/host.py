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
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from coupler import _fortran_bindings as _ext
from coupler.errors import AgreedConfigError, ConfigError, FortranError, InterruptedRun, NonFiniteStateError, ProviderError, Terminated
from coupler.fortran_bindings import hfc_api as _api
from coupler.limits import check_range
from coupler.problems.equations import EQUATIONS, SCHEMES, Equation, make_equation
from coupler.problems.forcing import Forcing

ON_NONFINITE = ("abort", "fallback")   # codes 1, 2 of hfc_fv_rhs's guard
METHODS = ("ssprk3", "euler", "imex")  # codes 1, 2, 3 of hfc_stepper
SOLVERS = ("jacobi", "sd", "cg", "gmres")  # codes 1..4 of hfc_linear_solver

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
    grid of n cells on [0, length), or for a 2D equation n = (nx, ny) cells on
    [0, lx) x [0, ly) (length (lx, ly), or one number for a square). None takes the
    registry's default (the paper's domain, eta = 0.01 for Burgers, velocity 1 for
    advection); a parameter the equation does not have must be left out."""

    equation: str = "burgers"
    n: int | tuple[int, int] = 64
    length: float | tuple[float, float] | None = None
    viscosity: float | None = None
    velocity: float | None = None

    def __post_init__(self) -> None:
        law = make_equation(self.equation, self.viscosity, self.velocity)   # checks name and parameters
        ndim = law.spec.ndim
        cells = (self.n,) if np.ndim(self.n) == 0 else tuple(self.n)
        if len(cells) != ndim:
            raise ConfigError(f"{self.equation} is {ndim}D: it needs {'n' if ndim == 1 else '(nx, ny)'} cells, "
                              f"got {self.n}")
        for name, count in zip("xy" if ndim == 2 else ("",), cells):
            check_range(f"the number of cells{' along ' + name if name else ''}", count, 1, 2**31 - 1,
                        "the Fortran host counts cells in 32 bits")
        given = law.spec.length if self.length is None else self.length
        lengths = tuple(float(v) for v in ((given,) * ndim if np.ndim(given) == 0 else given))
        if len(lengths) != ndim or not all(math.isfinite(v) and v > 0 for v in lengths):
            raise ConfigError(f"the domain length must be {ndim} positive finite number{'s' if ndim > 1 else ''}, "
                              f"got {self.length}")
        object.__setattr__(self, "n", int(cells[0]) if ndim == 1 else tuple(int(c) for c in cells))
        object.__setattr__(self, "length", lengths[0] if ndim == 1 else lengths)
        object.__setattr__(self, "viscosity", law.viscosity)
        object.__setattr__(self, "velocity", law.velocity)

    @property
    def law(self) -> Equation:
        """The equation with its parameters bound (flux law, time-step rule)."""
        return make_equation(self.equation, self.viscosity, self.velocity)

    @property
    def ndim(self) -> int:
        return EQUATIONS[self.equation].ndim

    @property
    def cells(self) -> tuple[int, ...]:
        """Cells per dimension, x first."""
        return (self.n,) if self.ndim == 1 else self.n

    @property
    def lengths(self) -> tuple[float, ...]:
        return (self.length,) if self.ndim == 1 else self.length

    @property
    def spacing(self) -> tuple[float, ...]:
        """Cell widths per dimension, x first."""
        return tuple(length / n for length, n in zip(self.lengths, self.cells))

    @property
    def dx(self) -> float:
        return self.spacing[0]

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of a state array: (n,), or (ny, nx) (indexed [y, x], x fastest)."""
        return self.cells[::-1]

    @property
    def size(self) -> int:
        return math.prod(self.cells)

    @property
    def cell_volume(self) -> float:
        return math.prod(self.spacing)

    def grid2d(self):
        """The 2D grid (coupler.problems.flows.Grid2D) of a 2D equation."""
        from coupler.problems.flows import Grid2D
        return Grid2D(*self.cells, *self.lengths)

    def cell_centres(self) -> np.ndarray:
        return (np.arange(self.n) + 0.5) * self.dx

    def coordinates(self) -> list:
        """The output grid's axes (coupler.io.netcdf.Coordinate, slowest first)."""
        from coupler.io.netcdf import Coordinate
        axes = [Coordinate(name, (np.arange(n) + 0.5) * d, standard_name=f"projection_{name}_coordinate",
                           axis=name.upper()) for name, n, d in zip("xy", self.cells, self.spacing)]
        return axes[::-1]

    def equation_args(self) -> tuple[str, float, float]:
        return self.equation, self.viscosity, self.velocity


@dataclass(frozen=True)
class ImplicitConfig:
    """The linear solver of an implicit step: K iterations of `solver` (jacobi, sd, cg, gmres
    with restart length m) from zero, as hfc_linear_solver and training.linear_solvers run it.
    iterations None: the K a learned model declares (coupler.simulate), else 25."""

    solver: str = "jacobi"
    iterations: int | None = None
    restart: int = 10

    DEFAULT_ITERATIONS = 25

    def __post_init__(self) -> None:
        if self.solver not in SOLVERS:
            raise ConfigError(f"unknown linear solver '{self.solver}' (expected one of {', '.join(SOLVERS)})")
        if self.iterations is not None:   # K = 0 would return the zero start: the state wiped
            check_range("the implicit solver's iterations", self.iterations, 1, 2**31 - 1, "at least one iteration")
        check_range("the GMRES restart length", self.restart, 1, 2**31 - 1, "a positive count")

    @property
    def k(self) -> int:
        return self.DEFAULT_ITERATIONS if self.iterations is None else self.iterations

    @property
    def codes(self) -> np.ndarray:
        return np.asarray([SOLVERS.index(self.solver) + 1, self.k, self.restart], np.int32)

    def describe(self) -> str:
        return f"{self.solver}{f'({self.restart})' if self.solver == 'gmres' else ''}, K = {self.k}"


@dataclass(frozen=True)
class TimeConfig:
    """Time-step control: a fixed step `dt`, or else the equation's stable step at Courant
    number `cfl` (coupler.problems.equations.Equation.stable_dt); the method. "imex" (1D,
    equations with a viscosity) takes forward Euler steps of the law without its viscosity
    and solves the diffusion implicitly with `implicit`; the CFL step is then the inviscid
    law's."""

    cfl: float = 0.5
    dt: float | None = None
    max_steps: int = 0        # per advance call; 0 means no limit
    method: str = "ssprk3"    # or "euler" (forward Euler), "imex" (IMEX Euler)
    implicit: ImplicitConfig = ImplicitConfig()

    def __post_init__(self) -> None:
        if self.dt is not None and not (math.isfinite(self.dt) and self.dt > 0):
            raise ConfigError(f"the time step must be positive and finite, got {self.dt}")
        if self.dt is None and not (0 < self.cfl <= 10):
            raise ConfigError(f"the CFL number must lie in (0, 10], got {self.cfl}")
        if self.method not in METHODS:
            raise ConfigError(f"unknown time-stepping method '{self.method}' (expected {', '.join(METHODS)})")

    @property
    def stages(self) -> int:
        """Right-hand-side evaluations per step."""
        return 3 if self.method == "ssprk3" else 1

    def describe(self) -> str:
        return {"ssprk3": "SSP-RK3 (Shu-Osher)", "euler": "forward Euler",
                "imex": f"IMEX Euler (diffusion implicit: {self.implicit.describe()})"}[self.method]


@dataclass(frozen=True)
class PythonFlux:
    """A flux provider written in Python. In 1D `function(u, t) -> flux`, where u is the
    halo-filled state of shape (n + 2 halo,) and flux has shape (n + 1,). In 2D
    `function(c, t, dt, u, v) -> (fx, fy)`: c the halo-filled state (ny + 2 halo,
    nx + 2 halo), t and dt the stage time and step, u and v the face velocities in the same
    layout (entry [j, i] the x-face left of / the y-face below cell [j, i]; halo included),
    fx the x-face fluxes (ny, nx + 1), fy the y-face fluxes (ny + 1, nx). The arrays are
    read-only views into the host's memory, valid during the call. With `global_range` the
    2D function is also given `c_range`, the (minimum, maximum) of the state over the whole
    domain (every rank's block; what a learned model normalises with)."""

    function: Callable[..., np.ndarray]
    halo: int
    global_range: bool = False


@dataclass(frozen=True)
class FortranModel:
    """An ONNX model loaded into the Fortran library (see coupler.learned.FortranLearnedFlux,
    the owner, kept here so the model stays loaded while a Host uses it). `reuse`: the
    network runs once per time step, its stencils reused by the later stages (hfc_learned)."""

    id: int
    halo: int
    owner: object = None
    reuse: bool = False


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
        if provider.global_range and config.ndim != 2:
            raise ConfigError("global_range is for 2D Python flux providers (the host hands them c_range)")
        pid, stat, errmsg = _api.api_provider_python(*equation, provider.halo, int(provider.global_range))
        halo = provider.halo
    elif isinstance(provider, FortranModel):
        pid, halo, stat, errmsg = _api.api_provider_learned(provider.id, *equation, int(provider.reuse))
    else:
        raise ConfigError(f"not a flux provider: {provider!r}")
    _check(stat, errmsg)
    return int(pid), int(halo)


def free_provider(pid: int) -> None:
    _api.api_provider_free(pid)


def halo_width(scheme: str) -> int:
    """Halo cells per side a classical scheme reads (of the first equation it serves)."""
    equation = next((name for name, spec in EQUATIONS.items() if scheme in spec.schemes), None)
    if equation is None:
        raise ConfigError(f"unknown scheme '{scheme}' (expected one of {', '.join(SCHEMES)})")
    pid, halo = make_provider(HostConfig(equation, (1,) * EQUATIONS[equation].ndim), scheme)
    free_provider(pid)
    return halo


def face_fluxes(config: HostConfig, scheme: Provider, u: np.ndarray, t: float = 0.0) -> np.ndarray:
    """Fortran face fluxes of a provider (a classical scheme's name, or a FortranModel: a
    learned model, or a constant one run natively) for halo-padded states.

    u: (n + 2g,) or a batch (nbatch, n + 2g), C order, last axis fastest (the ONNX layout).
    Returns (n + 1,) or (nbatch, n + 1). The batch is handed to Fortran as u(n + 2g, nbatch)
    without a copy: reversing the axes maps row-major onto column-major.
    """
    pid, halo = make_provider(config, scheme)
    try:
        return _batched(u, halo, lambda batch, flux: _api.api_provider_face_fluxes(pid, config.dx, t, batch, flux))
    finally:
        free_provider(pid)


def face_fluxes_2d(config: HostConfig, scheme: str, c: np.ndarray, u: np.ndarray, v: np.ndarray, t: float = 0.0,
                   dt: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Fortran face fluxes of a classical 2D scheme for one halo-padded state c (ny + 2g,
    nx + 2g) with face velocities u, v in the same layout (PythonFlux), on the cells of
    `config` (their widths; the cell counts are c's), for a step dt (0: semi-discrete).
    Returns fx (ny, nx + 1) and fy (ny + 1, nx)."""
    pid, halo = make_provider(config, scheme)
    try:
        c, u, v = (np.ascontiguousarray(a, dtype=np.float64) for a in (c, u, v))
        ny, nx = c.shape[0] - 2 * halo, c.shape[1] - 2 * halo
        if min(nx, ny) < 1:
            raise ConfigError(f"a state of shape {c.shape} holds no interior cells with halo {halo}")
        fx, fy = np.zeros((ny, nx + 1)), np.zeros((ny + 1, nx))
        dx, dy = config.spacing
        _check(*_api.api_provider_face_fluxes_2d(pid, dx, dy, t, dt, c.T, u.T, v.T, fx.T, fy.T))
        return fx, fy
    finally:
        free_provider(pid)


FLOW_LAWS = ("steady", "cosine", "frames")   # codes 1, 2, 3 of hfc_flow


def linear_solve(system: str, b: np.ndarray, dx: float, dt: float, nu: float, method: str, iterations: int,
                 restart: int = 10, w: np.ndarray | None = None) -> np.ndarray:
    """The Fortran solvers (hfc_linear_solver): K iterations of `method` from 0 on the
    periodic implicit-step system 'heat' (I - nu dt L) or 'burgers' (Oseen around w)."""
    if method not in SOLVERS:
        raise ConfigError(f"unknown linear solver '{method}' (expected one of {', '.join(SOLVERS)})")
    b = np.ascontiguousarray(b, dtype=np.float64)
    w = b if w is None else np.ascontiguousarray(w, dtype=np.float64)
    x = np.zeros_like(b)
    _check(*_api.api_linear_solve(system, w, b, dx, dt, nu, SOLVERS.index(method) + 1, iterations, restart, x))
    return x


def _host_flow(config: HostConfig, flow) -> tuple[np.ndarray, np.ndarray, int, float, np.ndarray]:
    """A flow (coupler.problems.flows.Flow) as hfc_flow takes it: the face velocities of the
    whole grid at its frame times (one frame, t = 0, for a steady or cosine law), u(nx, ny, m)
    and v(nx, ny, m) as Fortran arrays (the periodic duplicate faces dropped), the law's
    code, its period and the frame times."""
    law, period = flow.law()
    times = np.asarray(flow.frame_times(), dtype=np.float64)
    nx, ny = config.cells
    u, v = np.empty((nx, ny, len(times)), order="F"), np.empty((nx, ny, len(times)), order="F")
    for k, t in enumerate(times):
        fu, fv = flow.face_velocities(config.grid2d(), float(t))
        u[:, :, k], v[:, :, k] = fu[:, :nx].T, fv[:ny, :].T
    return u, v, FLOW_LAWS.index(law) + 1, float(period), times


def flow_stable_dt(config: HostConfig, flow, cfl: float) -> float:
    """The host's time step for a 2D flow at peak Courant number cfl (hfc_flow's rule)."""
    u, v, law, period, times = _host_flow(config, flow)
    dt, stat, errmsg = _api.api_flow_stable_dt(u, v, law, period, times, *config.spacing, cfl)
    _check(stat, errmsg)
    return float(dt)


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


def onnx_check_time(model: int, time: TimeConfig) -> None:
    """The Fortran check of a loaded model against the host's explicit method and Courant number."""
    _check(*_api.api_model_check_time(model, time.method, 0.0 if time.dt else time.cfl))


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


def decompose(comm, cells: tuple[int, ...], halo: int, procs: tuple[int, int] = (0, 0)
              ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(cells, offset) per dimension, x first, of this rank's block of a periodic grid of
    `cells` over an mpi4py communicator: the library's split (the ring in 1D, the Cartesian
    grid of procs = (px, py) ranks in 2D, 0 for MPI_Dims_create's choice); the whole grid
    without a communicator."""
    n, offset = np.zeros(2, np.int32), np.zeros(2, np.int32)       # filled in place
    _check(*_api.api_decompose(_comm_handle(comm), np.asarray(cells, np.int32), np.asarray(procs, np.int32), halo,
                               n, offset))
    return tuple(int(v) for v in n[:len(cells)]), tuple(int(v) for v in offset[:len(cells)])


def fill_halo(comm, cells: tuple[int, ...], halo: int, u: np.ndarray, procs: tuple[int, int] = (0, 0)) -> np.ndarray:
    """The library's halo fill of this rank's block u with halo (1D (n_local + 2 halo,), 2D
    (ny_local + 2 halo, nx_local + 2 halo)): periodic wrap, or the exchange with the
    neighbouring ranks, corners included (collective)."""
    u = np.array(u, dtype=np.float64)
    flat = u.reshape(-1)                 # x fastest: the Fortran layout
    _check(*_api.api_fill_halo(_comm_handle(comm), np.asarray(cells, np.int32), np.asarray(procs, np.int32), halo,
                               flat))
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


def _take_python_flux_error() -> BaseException | None:
    """The exception that escaped the callable outside its own try block (a signal's), or None."""
    take = ctypes.PyDLL(_ext.__file__).hfc_take_python_flux_error
    take.argtypes, take.restype = [], ctypes.py_object
    return take()


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


AUX_2D = ("u", "v")   # the auxiliary fields of 2D advection, in hfc_fv_rhs_set_flow's order


class _Callback:
    """Adapter between the C hook's call (state view, time, step, flux view, auxiliary
    fields view; fortran/python/hfc_python_callback.c) and a PythonFlux: trims the block's
    halo `grid_halo` to the function's and shapes the arrays of a block of `cells` (x
    first; 2D with global_range: also c_range, the state's range over all ranks, from the
    range view); keeps the exception for Host to re-raise."""

    def __init__(self, provider: PythonFlux, cells: tuple[int, ...], grid_halo: int):
        self.provider = provider
        self.cells = cells
        self.padded = tuple(n + 2 * grid_halo for n in cells[::-1])     # [y, x] with the block's halo
        trim = grid_halo - provider.halo
        self.inner = tuple(slice(trim, p - trim) for p in self.padded)
        self.error: BaseException | None = None

    def __call__(self, u_view, t, dt, flux_view, aux_view, range_view) -> int:
        try:
            u = np.frombuffer(u_view, dtype=np.float64).reshape(self.padded)[self.inner]   # zero-copy, read-only
            flux = np.frombuffer(flux_view, dtype=np.float64)                             # zero-copy, to fill
            if len(self.cells) == 1:
                self._fill(flux, self.provider.function(u, float(t)), ((self.cells[0] + 1,),))
            else:
                aux = np.frombuffer(aux_view, dtype=np.float64).reshape((len(AUX_2D),) + self.padded)
                fields = {name: aux[k][self.inner] for k, name in enumerate(AUX_2D)}
                if self.provider.global_range:
                    fields["c_range"] = np.frombuffer(range_view, dtype=np.float64)
                nx, ny = self.cells
                result = self.provider.function(u, float(t), float(dt), **fields)
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise ValueError("the Python flux provider must return (fx, fy) in 2D")
                self._fill(flux, result, ((ny, nx + 1), (ny + 1, nx)))
            return 0
        except BaseException as exc:   # re-raised in Host.advance once Fortran has returned
            self.error = exc
            return 1

    @staticmethod
    def _fill(flux: np.ndarray, result, shapes: tuple[tuple[int, ...], ...]) -> None:
        """Copy the function's flux array(s) into the host's, checking every shape."""
        parts = (result,) if len(shapes) == 1 else result
        start = 0
        for part, shape in zip(parts, shapes):
            part = np.asarray(part, dtype=np.float64)
            if part.shape != shape:       # no broadcasting: a wrong shape is an error
                raise ValueError(f"the Python flux provider returned shape {part.shape}, expected {shape} (the "
                                 "faces of the interior of the state it was given)")
            flux[start:start + part.size] = part.ravel()
            start += part.size


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


def _check_procs(config: HostConfig, procs: tuple[int, int], ranks: int) -> None:
    """procs = (px, py) ranks along x and y (0: any) are for a 2D grid and must fit the ranks
    there are. libhfc checks the same for its Fortran callers; here it is refused before any
    work, alike on every rank, so the command line says it once."""
    if tuple(procs) == (0, 0):
        return
    if config.ndim != 2:
        raise ConfigError(f"{config.equation} is split over the ranks along x only; a process grid (procs) is for "
                          "2D grids")
    px, py = procs
    if (px and py and px * py != ranks) or ranks % max(px, py, 1):
        raise AgreedConfigError(f"a process grid of {px or 'any'} x {py or 'any'} ranks does not fit the {ranks} "
                                f"rank{'s' if ranks > 1 else ''} of this run")


def imex_split(config: HostConfig, time: TimeConfig) -> tuple[HostConfig, float]:
    """The law the provider gets and the diffusion the host solves implicitly: under "imex"
    the law without its viscosity and that viscosity; otherwise the law and 0."""
    if time.method != "imex":
        return config, 0.0
    if config.ndim != 1 or not config.viscosity:
        raise ConfigError(f"IMEX time stepping treats a 1D law's viscosity implicitly; {config.equation} "
                          f"{'is 2D' if config.ndim != 1 else 'has no viscosity here'}")
    return replace(config, viscosity=0.0), float(config.viscosity)


class Host:
    """A Fortran host (a handle to an hfc_host_t): problem, flux provider, forcing (1D) or
    flow (2D advection: a coupler.problems.flows.Flow, required), time-step control, and the
    guard for non-finite fluxes ('abort' fails the step, 'fallback' uses the equation's
    classical scheme at the affected faces and counts them). Under MPI (`comm`, an mpi4py
    communicator of more than one rank) this rank owns a block of the grid, `block` (the
    index of its cells in a whole state), and every call is collective; a 2D grid is split
    over procs = (px, py) ranks (0: MPI_Dims_create's choice). States are arrays of this
    rank's block, `shape`: (n_local,) in 1D, (ny, nx) in 2D."""

    def __init__(self, config: HostConfig, provider: Provider, forcing: Forcing | None = None,
                 time: TimeConfig = TimeConfig(), on_nonfinite: str = "abort", comm=None, flow=None,
                 procs: tuple[int, int] = (0, 0)):
        if on_nonfinite not in ON_NONFINITE:
            raise ConfigError(f"on_nonfinite must be one of {', '.join(ON_NONFINITE)}, got '{on_nonfinite}'")
        if isinstance(provider, str) and provider in SCHEMES and provider not in EQUATIONS[config.equation].schemes:
            raise ConfigError(f"scheme '{provider}' does not serve {config.equation} (its classical schemes: "
                              f"{', '.join(EQUATIONS[config.equation].schemes)})")
        if (flow is not None) != (config.ndim == 2):
            raise ConfigError(f"{config.equation} needs a velocity field (flow=)" if flow is None else
                              f"{config.equation} has no velocity field; leave flow out")
        if forcing is not None and forcing.n_modes and config.ndim != 1:
            raise ConfigError(f"{config.equation} takes no forcing")
        self.comm = comm if comm is not None and comm.Get_size() > 1 else None
        _check_procs(config, procs, 1 if self.comm is None else self.comm.Get_size())
        self.id = 0
        self.config = config
        self.provider = provider
        self.forcing = forcing if forcing is not None else Forcing()
        self.flow = flow
        self.time = time
        self.on_nonfinite = on_nonfinite
        explicit, diffusivity = imex_split(config, time)
        pid, self.provider_halo = make_provider(explicit, provider)
        try:
            hid, stat, errmsg = _api.api_host_create(
                pid, np.asarray(config.cells, np.int32), np.asarray(config.lengths, np.float64), time.cfl,
                time.dt or 0.0, METHODS.index(time.method) + 1, time.max_steps, diffusivity, time.implicit.codes,
                ON_NONFINITE.index(on_nonfinite) + 1,
                EQUATIONS[config.equation].fallback, _comm_handle(self.comm), np.asarray(procs, np.int32))
        finally:
            free_provider(pid)
        _check(stat, errmsg)
        self.id = int(hid)
        f = self.forcing
        if f.n_modes:
            _check(*_api.api_host_add_forcing(self.id, np.asarray(f.amplitude, float), np.asarray(f.omega, float),
                                              np.asarray(f.phase, float), np.asarray(f.wavenumber, np.int32)))
        if flow is not None:
            _check(*_api.api_host_set_flow(self.id, *_host_flow(config, flow)))
        n, offset = np.zeros(2, np.int32), np.zeros(2, np.int32)       # filled in place
        ndim, self.halo, stat, errmsg = _api.api_host_block(self.id, n, offset)
        _check(stat, errmsg)
        self.block_cells = tuple(int(v) for v in n[:ndim])        # this rank's cells per dimension, x first
        self.block_offset = tuple(int(v) for v in offset[:ndim])
        self.shape = self.block_cells[::-1]
        self.block = tuple(slice(o, o + n) for o, n in zip(self.block_offset[::-1], self.shape))
        self.n_local, self.offset = self.block_cells[0], self.block_offset[0]

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
        """This rank's interior cells (`shape`) at time t."""
        u = np.asarray(u, dtype=np.float64)
        if u.shape != self.shape:
            raise ConfigError(f"state has shape {u.shape}, the grid has {' x '.join(map(str, self.shape[::-1]))} "
                              "cells" + (" on this rank" if self.comm else ""))
        _check(*_api.api_host_set_state(self.id, np.ascontiguousarray(u).ravel(), float(t)))

    def get_state(self) -> tuple[np.ndarray, float]:
        u = np.zeros(math.prod(self.shape))
        t, stat, errmsg = _api.api_host_get_state(self.id, u)
        _check(stat, errmsg)
        return u.reshape(self.shape), float(t)

    def advance_to(self, t_end: float) -> int:
        """Advance the host's state to exactly t_end; returns the steps taken."""
        steps, = self._call(_api.api_host_advance, float(t_end))
        return int(steps)

    def stable_dt(self) -> float:
        """The step the next advance takes from the current state: the fixed dt or the
        time-step rule (collective)."""
        dt, stat, errmsg = _api.api_host_stable_dt(self.id)
        _check(stat, errmsg)
        return float(dt)

    def step(self, dt: float) -> None:
        """One step of exactly dt (the time advances by dt)."""
        self._call(_api.api_host_step, float(dt))

    def _call(self, entry, *args) -> tuple:
        """A Fortran entry point that may call a PythonFlux back: the callback is installed
        for the call, and an exception it raised is re-raised here, chained. Returns the
        entry's outputs before (stat, errmsg)."""
        callback = (_Callback(self.provider, self.block_cells, self.halo) if isinstance(self.provider, PythonFlux)
                    else None)
        if callback is not None:
            previous = _set_python_flux(callback)
        try:
            *outputs, stat, errmsg = entry(self.id, *args)
        finally:
            if callback is not None:
                _set_python_flux(previous)
                escaped = _take_python_flux_error()
                callback.error = callback.error or escaped
        if callback is not None and isinstance(callback.error, (KeyboardInterrupt, Terminated)):
            raise callback.error     # a signal arrived in the callback: unwind as the signal, not as a failure
        if callback is not None and callback.error is not None:
            raise ProviderError(3, f"the Python flux provider raised {callback.error!r}") from callback.error
        _check(stat, errmsg)
        return tuple(outputs)

    def advance(self, u: np.ndarray, t: float, t_end: float) -> tuple[np.ndarray, int]:
        """Advance the interior state u (`shape`) from t to exactly t_end (set_state,
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
