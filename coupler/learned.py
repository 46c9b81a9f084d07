"""Learned face fluxes at run time: one ONNX Runtime session per model, run either by
onnxruntime in Python (`LearnedFlux`, called back by the Fortran loop each RK stage) or by
libhfc's Fortran binding over the ONNX Runtime C API (`FortranLearnedFlux`, no Python in
the time loop). `load_model` picks one from `RuntimeConfig.backend`.

The model file is checked before anything runs: a readable ONNX file of sane size, no
external data outside its folder or through a link, the signature (1D: one input `u` and
one output `flux` of rank 3; 2D advection: `c`, `u`, `v`, `c_range` -> `flux_x`, `flux_y`)
and a float dtype, and the metadata of coupler.schema written by `hfc export`.
`check_host` compares the metadata with the host's grid and equation before the first step.
The file is parsed once on the way in (by ONNX Runtime); the onnx package parses it too
only when it may hold external data, or when ONNX Runtime refuses it (to say why).

Precision: the host is float64, models default to float32. The one cast happens in
`__call__` (2D: `fluxes_2d`): the halo-filled state is rounded to the model dtype on the way in and the
fluxes are widened to float64 on the way out (exact). The effect of the rounding is
measured in tests/test_learned.py.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from coupler.errors import ConfigError, HfcError
from coupler.host import (FortranModel, HostConfig, PythonFlux, TimeConfig, imex_split, onnx_check_time,
                          onnx_face_fluxes, onnx_free, onnx_load)
from coupler.limits import check_range
from coupler.schema import ModelError, ModelMetadata

MAX_MODEL_BYTES = 1 << 30          # refuse anything larger than 1 GiB: not a flux model
DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64}

__all__ = ["BACKENDS", "FortranLearnedFlux", "LearnedFlux", "ModelError", "RuntimeConfig", "load_model",
           "read_model_bytes"]

BACKENDS = ("python", "fortran")


@dataclass(frozen=True)
class RuntimeConfig:
    """How the run executes: where and on how many threads a learned model runs, who runs
    it, and the process grid of a 2D run under MPI."""

    device: str = "cpu"            # "cpu", "cuda:N", or "cuda": the GPU of this MPI rank's node-local rank
    threads: int = 1               # ONNX Runtime intra-op threads (explicit; 1 per MPI rank)
    backend: str = "python"        # who runs the model: onnxruntime in Python, or libhfc (Fortran)
    procs: tuple[int, int] = (0, 0)  # MPI ranks along x and y of a 2D grid (0: MPI_Dims_create's choice)
    reuse_coefficients: bool = False  # 1D, Fortran backend: one network call per time step (stencils reused)

    def __post_init__(self) -> None:
        procs = tuple(int(p) for p in self.procs)
        if len(procs) != 2 or min(procs) < 0:
            raise ConfigError(f"procs must be two rank counts >= 0 (0: any), got {self.procs}")
        object.__setattr__(self, "procs", procs)
        check_range("threads", self.threads, 1, os.cpu_count() or 1, "at most one per CPU of this machine")
        if self.device not in ("cpu", "cuda") and not (self.device.startswith("cuda:") and self.device[5:].isdigit()):
            raise ConfigError(f"device must be 'cpu', 'cuda:N' or 'cuda', got '{self.device}'")
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got '{self.backend}'")
        if self.reuse_coefficients and self.backend != "fortran":
            raise ConfigError("coefficient reuse runs in the Fortran backend (--backend fortran): the stages after "
                              "the first apply the stencils natively")

    @property
    def device_index(self) -> int:
        """-1 for the CPU, N for cuda:N."""
        if self.device == "cpu":
            return -1
        if self.device == "cuda":   # one GPU per rank on a node: the node-local rank (Open MPI, MPICH)
            return int(os.environ.get("OMPI_COMM_WORLD_LOCAL_RANK", os.environ.get("MPI_LOCALRANKID", "0")))
        return int(self.device[5:])


def read_model_bytes(path: str | Path) -> bytes:
    """The bytes of an ONNX file, after the checks on size, links and external data.

    The onnx package parses the file only when it may hold external data (the protobuf
    key b"location" occurs in it: never a miss, rarely a false alarm); otherwise the one
    parse is ONNX Runtime's, and `diagnose` explains a file ONNX Runtime refuses."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file '{path}' does not exist")
    size = path.stat().st_size
    if size == 0 or size > MAX_MODEL_BYTES:
        raise ModelError(f"model file '{path}' has {size} bytes; expected an ONNX file of 1 B to 1 GiB")
    data = path.read_bytes()
    if b"location" in data:
        proto = parse(path, data)
        if check_external_data(proto, path.parent):
            # weights kept beside the model: read them in, so a session is made from memory
            from onnx.external_data_helper import load_external_data_for_model
            load_external_data_for_model(proto, str(path.parent))
            data = proto.SerializeToString()
    return data


def parse(path: Path, data: bytes):
    """The onnx ModelProto of the bytes, or ModelError when they are not an ONNX model."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        proto = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ModelError(f"'{path}' is not an ONNX model (or is truncated): {exc}") from None
    if not proto.graph.node:
        raise ModelError(f"'{path}' is not an ONNX model (or is truncated): its graph is empty")
    return proto


def diagnose(path: Path, data: bytes, error: Exception) -> ModelError:
    """Why ONNX Runtime refused the bytes: not ONNX at all, or what ONNX Runtime said."""
    try:
        parse(path, data)
    except ModelError as exc:
        return exc
    return ModelError(f"ONNX Runtime cannot load '{path}': {error}")


def check_external_data(proto, folder: Path) -> bool:
    """External tensors must be regular files inside the model's folder, reached without
    links. Returns whether the model has any."""
    from onnx.external_data_helper import _get_all_tensors, uses_external_data

    root = folder.resolve()
    found = False
    for tensor in _get_all_tensors(proto):
        if not uses_external_data(tensor):
            continue
        found = True
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        target = folder / location
        steps = [folder.joinpath(*Path(location).parts[:i + 1]) for i in range(len(Path(location).parts))]
        inside = not os.path.isabs(location) and target.resolve().is_relative_to(root)
        if not inside or any(step.is_symlink() for step in steps):
            raise ModelError(f"external data '{location}' of tensor '{tensor.name}' points outside the "
                             f"model's folder {folder} or through a link; refusing to load it")
        if not target.is_file():
            raise ModelError(f"external data file '{target}' of tensor '{tensor.name}' is missing")
    return found


class LearnedFlux:
    """Face fluxes from an exported model. Call with halo-filled float64 states."""

    def __init__(self, path: str | Path, config: RuntimeConfig = RuntimeConfig(), data: bytes | None = None):
        # ONNX Runtime's telemetry worker is one more thread per process; off unless asked for
        # (read when ONNX Runtime creates its environment; the Fortran shim does the same)
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        import onnxruntime as ort

        self.path = Path(path)
        self.config = config
        data = read_model_bytes(self.path) if data is None else data
        self.sha256 = hashlib.sha256(data).hexdigest()
        options = ort.SessionOptions()
        options.intra_op_num_threads = config.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(data, options, providers=self._providers(ort))
        except HfcError:
            raise
        except Exception as exc:   # ORT raises its own types (Fail, InvalidGraph, ...)
            raise diagnose(self.path, data, exc) from None
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self._check_signature()

    def _providers(self, ort) -> list:
        if self.config.device == "cpu":
            return ["CPUExecutionProvider"]
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ConfigError(f"device {self.config.device} asked for, but this onnxruntime has no CUDA "
                              f"execution provider (has {', '.join(ort.get_available_providers())}); "
                              "install onnxruntime-gpu or use --device cpu")
        return [("CUDAExecutionProvider", {"device_id": self.config.device_index}), "CPUExecutionProvider"]

    def _check_signature(self) -> None:
        self.meta = ModelMetadata.from_props(self.metadata, self.path)
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        expected = (",".join(self.meta.inputs), ",".join(self.meta.outputs))
        found = (",".join(i.name for i in inputs), ",".join(o.name for o in outputs))
        self.halo = self.meta.halo
        if self.meta.space_dimensions == 2:
            ranks = ([len(i.shape) for i in inputs], [len(o.shape) for o in outputs])
            if found != ("c,u,v,c_range", "flux_x,flux_y") or found != expected or ranks != ([4, 4, 4, 2], [4, 4]):
                raise ModelError(f"'{self.path}': a 2D model has inputs c, u, v (rank 4), c_range (rank 2) and "
                                 f"outputs flux_x, flux_y (rank 4); found [{found[0]}] -> [{found[1]}]")
            self.dtype = DTYPES.get(inputs[0].type)
            if self.dtype is None or np.dtype(self.dtype).name != self.meta.dtype:
                raise ModelError(f"'{self.path}': metadata dtype {self.meta.dtype} but the input is {inputs[0].type}")
            return
        if len(inputs) != 1 or found != expected or [o.name for o in outputs[1:]] not in ([], ["stencils"]):
            raise ModelError(f"'{self.path}': expected one input '{expected[0]}' and the outputs '{expected[1]}' "
                             f"(a flux, and optionally 'stencils'), found inputs [{found[0]}] and outputs [{found[1]}]")
        for arg in (inputs[0], *outputs):
            if len(arg.shape) != 3:
                raise ModelError(f"'{self.path}': {arg.name} has rank {len(arg.shape)}, expected 3 (batch, 1, cells)")
            if arg.type not in DTYPES:
                raise ModelError(f"'{self.path}': {arg.name} has type {arg.type}, expected float or double")
        self.dtype = DTYPES[inputs[0].type]
        if np.dtype(self.dtype).name != self.meta.dtype:
            raise ModelError(f"'{self.path}': metadata dtype {self.meta.dtype} but the input is {inputs[0].type}")
        self.input_name, self.output_name = inputs[0].name, outputs[0].name

    def check_host(self, host: HostConfig, time: TimeConfig | None = None) -> None:
        check_host(self.path, self.meta, host, time)

    def __call__(self, u: np.ndarray) -> np.ndarray:
        """Face fluxes (n + 1,) or (batch, n + 1), float64, from halo-filled float64 states
        (n + 2 halo,) or (batch, n + 2 halo). The input is rounded to the model dtype here."""
        u = np.asarray(u)
        single = u.ndim == 1
        x = np.ascontiguousarray(np.atleast_2d(u)[:, None, :], dtype=self.dtype)
        if x.shape[-1] < 2 * self.halo + 1:
            raise ConfigError(f"states of length {x.shape[-1]} hold no interior cells with halo {self.halo}")
        flux = self.session.run([self.output_name], {self.input_name: x})[0][:, 0, :].astype(np.float64)
        return flux[0] if single else flux

    def fluxes_2d(self, c: np.ndarray, u: np.ndarray, v: np.ndarray, c_range) -> tuple[np.ndarray, np.ndarray]:
        """2D face fluxes (ny, nx + 1) and (ny + 1, nx), float64, of a halo-filled float64
        block c (ny + 2 halo, nx + 2 halo), its face velocities u, v (the same shape, the
        left / lower face of each cell) and the state's range over the whole domain."""
        feed = {name: np.ascontiguousarray(np.asarray(x)[None, None], dtype=self.dtype)
                for name, x in (("c", c), ("u", u), ("v", v))}
        feed["c_range"] = np.asarray(c_range, dtype=self.dtype).reshape(1, 2)
        fx, fy = self.session.run(["flux_x", "flux_y"], feed)
        return fx[0, 0].astype(np.float64), fy[0, 0].astype(np.float64)

    def provider(self) -> PythonFlux:
        """This model as a flux provider of the Fortran host (called back each RK stage)."""
        if self.meta.space_dimensions == 2:
            return PythonFlux(lambda c, t, dt, u, v, c_range: self.fluxes_2d(c, u, v, c_range), self.halo,
                              global_range=True)
        return PythonFlux(lambda u, t: self(u), self.halo)


def check_host(path: Path, meta: ModelMetadata, host: HostConfig, time: TimeConfig | None = None) -> None:
    """Refuse a host whose equation, dimensions, grid spacing, viscosity or time stepping the
    model was not trained for (under IMEX the provider's law is the one without viscosity).
    Without `time`, the grid and the equation only."""
    explicit = host
    if time is not None:
        explicit, diffusivity = imex_split(host, time)
        meta.check_time(path, time.method, time.implicit.solver, time.dt, diffusivity, host.velocity,
                        None if time.dt else time.cfl)
    meta.check_host(path, explicit.equation, explicit.dx, explicit.n, explicit.lengths[0], explicit.viscosity,
                    explicit.ndim, explicit.spacing[1] if explicit.ndim == 2 else None)


def implicit_iterations(meta: ModelMetadata, time: TimeConfig) -> TimeConfig:
    """The time control with the model's K filled in where the user left it open."""
    k = meta.extra.get("implicit_iterations")
    if time.method != "imex" or time.implicit.iterations is not None or k is None:
        return time
    return replace(time, implicit=replace(time.implicit, iterations=int(k)))


class FortranLearnedFlux:
    """The same model run by libhfc's Fortran module hfc_onnx (ONNX Runtime's C API, no
    Python per call). As a Host provider, the Fortran time loop calls it directly. The model
    bytes are read and checked here exactly as for LearnedFlux, then handed to Fortran,
    which reads the signature and metadata once and checks them."""

    def __init__(self, path: str | Path, config: RuntimeConfig = RuntimeConfig(), data: bytes | None = None):
        self.path = Path(path)
        self.config = config
        self.id = 0
        data = read_model_bytes(self.path) if data is None else data
        self.sha256 = hashlib.sha256(data).hexdigest()
        try:
            self.id, self.halo, self.metadata = onnx_load(np.frombuffer(data, dtype=np.int8), config.threads,
                                                          config.device_index)
        except HfcError as exc:
            raise ModelError(f"'{self.path}': {exc}") from None
        try:
            self.meta = ModelMetadata.from_props(self.metadata, self.path)
        except ModelError:
            self.close()
            raise

    def check_host(self, host: HostConfig, time: TimeConfig | None = None) -> None:
        check_host(self.path, self.meta, host, time)
        if time is not None and time.method != "imex":
            onnx_check_time(self.id, time)       # the Fortran library's own rule (hfc_meta_check_time), the same
        if self.config.reuse_coefficients:
            if "stencils_form" not in self.metadata:
                raise ConfigError(f"'{self.path}': coefficient reuse needs a 1D network model exported with its "
                                  "stencils (a constant model runs natively at every stage already; export a network "
                                  "again with `hfc export`)")
            if time is not None and time.method != "ssprk3":
                raise ConfigError(f"coefficient reuse is for SSP-RK3: under {time.method} a step has one stage, "
                                  "nothing to reuse")

    def __call__(self, u: np.ndarray) -> np.ndarray:
        """Face fluxes, as LearnedFlux.__call__, computed by the Fortran binding."""
        return onnx_face_fluxes(self.id, self.halo, u)

    def provider(self) -> FortranModel:
        """This model as a provider of the Fortran host (run from Fortran each RK stage, or
        once per step with the config's reuse_coefficients)."""
        return FortranModel(self.id, self.halo, self, self.config.reuse_coefficients)

    def close(self) -> None:
        if getattr(self, "id", 0):
            onnx_free(self.id)
            self.id = 0

    def __del__(self):
        self.close()


def load_model(path: str | Path, config: RuntimeConfig = RuntimeConfig(), comm=None) -> LearnedFlux | FortranLearnedFlux:
    """The model run by the backend the configuration names. Under MPI (an mpi4py
    communicator) rank 0 reads and checks the file and broadcasts the bytes; every rank
    makes its session from memory."""
    data = None
    if comm is not None:
        data = comm.bcast(_read_or_error(path) if comm.Get_rank() == 0 else None, root=0)
        if isinstance(data, HfcError):
            raise data
    return (FortranLearnedFlux if config.backend == "fortran" else LearnedFlux)(path, config, data=data)


def _read_or_error(path) -> bytes | HfcError:
    try:
        return read_model_bytes(path)
    except HfcError as exc:   # handed to every rank, which all raise it
        return exc
    except OSError as exc:
        return ModelError(f"cannot read model file '{path}': {exc}")
