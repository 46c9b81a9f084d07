"""A trained constant-coefficient model run natively (hfc_constant_stencil): its stencils are
exported in the metadata (export.onnx_export.stencil_metadata) and the Fortran library runs
them as a polynomial provider with the Godunov flux, no ONNX Runtime call. Held against
ONNX Runtime running the same exported graph: float64 to round-off, float32 to its
rounding; a host run through each path; damaged stencil metadata refused by name."""
import numpy as np
import pytest

from coupler.errors import HfcError
from coupler.host import Host, HostConfig, TimeConfig, face_fluxes
from coupler.learned import FortranLearnedFlux, LearnedFlux
from coupler.problems.forcing import Forcing

MODEL = "models/burgers/constant-godunov/8x"


@pytest.fixture(scope="module")
def exported(repo_root, tmp_path_factory):
    from export.onnx_export import ExportConfig, export

    out = tmp_path_factory.mktemp("constant")
    return {dtype: export(repo_root / MODEL, out / f"constant_{dtype}.onnx", ExportConfig(dtype)).path
            for dtype in ("float32", "float64")}


def states(n: int, halo: int, batch: int = 4) -> np.ndarray:
    """Smooth waves with jumps, O(1), halo-padded."""
    rng = np.random.default_rng(0)
    x = np.linspace(0, 2 * np.pi, n + 2 * halo)
    return np.sin(x[None] * rng.integers(1, 6, (batch, 1))) + (x[None] > rng.uniform(1, 5, (batch, 1)))


@pytest.mark.parametrize("dtype, tolerance", [("float64", 1e-13), ("float32", 1e-6)])
def test_native_stencil_equals_onnx_runtime(exported, dtype, tolerance):
    """Face fluxes of the native provider against ONNX Runtime on the same model: float64
    the same arithmetic up to summation order (1e-13 of the largest flux); float32 the
    graph's own rounding (1e-6)."""
    path = exported[dtype]
    fortran = FortranLearnedFlux(path)
    assert {"stencil_size", "stencil_left", "stencil_right", "stencil_d1"} <= set(fortran.metadata)
    config = HostConfig("burgers", n=64, length=64 * fortran.meta.dx)
    u = states(64, fortran.halo)
    native = face_fluxes(config, fortran.provider(), u)
    onnx = LearnedFlux(path)(u)
    assert np.max(np.abs(native - onnx)) <= tolerance * np.max(np.abs(onnx))
    fortran.close()


def test_host_runs_the_native_stencil_as_the_onnx_model(exported):
    """Burgers from a sine wave, 100 SSP-RK3 steps through the host: native provider vs the
    float64 ONNX model called back from the host: 1e-12 of the state (round-off of 100
    steps)."""
    path = exported["float64"]
    fortran, python = FortranLearnedFlux(path), LearnedFlux(path)
    config = HostConfig("burgers", n=64, length=64 * fortran.meta.dx)
    u0 = np.sin(2 * np.pi * (np.arange(64) + 0.5) / 64)
    time = TimeConfig(dt=0.01)
    results = [Host(config, provider, Forcing(), time).advance(u0, 0.0, 1.0)[0]
               for provider in (fortran.provider(), python.provider())]
    assert np.max(np.abs(results[0] - results[1])) <= 1e-12
    fortran.close()


def test_damaged_stencil_metadata_is_refused(exported, tmp_path):
    import onnx

    proto = onnx.load(exported["float64"])
    for prop in proto.metadata_props:
        if prop.key == "stencil_d1":
            prop.value = "1.0 2.0"
    damaged = tmp_path / "damaged.onnx"
    onnx.save(proto, damaged)
    fortran = FortranLearnedFlux(damaged)
    config = HostConfig("burgers", n=64, length=64 * fortran.meta.dx)
    with pytest.raises(HfcError, match="stencil_d1 does not hold 6 finite numbers"):
        face_fluxes(config, fortran.provider(), states(64, fortran.halo))
    fortran.close()
