"""Shared fixtures. Tests import the installed package (pytest runs with
--import-mode=importlib), so helpers are offered as fixtures rather than modules."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent          # the venv's bin: hfc, meson, ninja


@pytest.fixture
def rng():
    return np.random.Generator(np.random.PCG64(12345))


@pytest.fixture(scope="session")
def tool_env() -> dict:
    """Environment with the venv's tools (meson, ninja, hfc) first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    for program in ("gfortran", "pkg-config", "meson", "ninja"):
        if shutil.which(program, path=env["PATH"]) is None:
            pytest.fail(f"{program} is not installed; run `make setup`")
    return env


@pytest.fixture(scope="session")
def hfc():
    """Run the hfc command line; returns the CompletedProcess."""
    exe = BIN / "hfc"
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "coupler.app.cli"]

    def run(*args, cwd=None, timeout=300):
        return subprocess.run([*command, *map(str, args)], capture_output=True, text=True,
                              cwd=cwd, timeout=timeout)
    return run


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def burgers_model() -> Path:
    """The committed Burgers network at resample factor 8."""
    return ROOT / "models" / "burgers" / "network" / "8x"


@pytest.fixture(scope="session")
def exported(burgers_model, tmp_path_factory) -> dict:
    """That model exported to ONNX in float32 and float64 (once per test session)."""
    from export.onnx_export import ExportConfig, export

    out = tmp_path_factory.mktemp("onnx")
    return {dtype: export(burgers_model, out / f"burgers8x_{dtype}.onnx", ExportConfig(dtype))
            for dtype in ("float32", "float64")}


@pytest.fixture(scope="session")
def export_committed(tmp_path_factory):
    """export_committed(equation, factor, dtype='float64') -> the committed network
    models/<equation>/network/<factor>x exported to ONNX (once per session and arguments)."""
    from export.onnx_export import ExportConfig, export

    out = tmp_path_factory.mktemp("committed")
    done = {}

    def make(equation: str, factor: int, dtype: str = "float64") -> Path:
        key = (equation, factor, dtype)
        if key not in done:
            done[key] = export(ROOT / "models" / equation / "network" / f"{factor}x",
                               out / f"{equation}{factor}x_{dtype}.onnx", ExportConfig(dtype)).path
        return done[key]
    return make


@pytest.fixture(scope="session")
def onnx32(exported) -> Path:
    return exported["float32"].path


@pytest.fixture(scope="session")
def onnx64(exported) -> Path:
    return exported["float64"].path


@pytest.fixture(scope="session")
def halo_states():
    """make(rng, batch, n, g=7): smooth-plus-noise halo-filled states (batch, n + 2g)."""
    def make(rng, batch, n, g=7):
        x = np.linspace(0, 2 * np.pi, n + 2 * g, endpoint=False)
        return np.sin(x + rng.uniform(0, 6, (batch, 1))) + 0.3 * rng.normal(size=(batch, n + 2 * g))
    return make


def _poison(source: Path, folder: Path, dtype, above: float | None = None) -> Path:
    """The model with NaN holes: flux + 0 * sqrt(flux - 0.01), NaN wherever its flux is below
    0.01 (everywhere at t = 0: the zero state's flux is 0); or, given `above`, flux + 0 *
    sqrt(above - flux), NaN wherever the flux exceeds `above` (late in a run, in one place)."""
    import onnx
    from onnx import helper, numpy_helper

    proto = onnx.load(source)
    for node in proto.graph.node:
        node.output[:] = ["flux_raw" if o == "flux" else o for o in node.output]
    hole = ["flux_raw", "c_hole"] if above is None else ["c_hole", "flux_raw"]
    proto.graph.initializer.extend([numpy_helper.from_array(np.array(0.01 if above is None else above, dtype), "c_hole"),
                                    numpy_helper.from_array(np.array(0.0, dtype), "c_zero")])
    proto.graph.node.extend([helper.make_node("Sub", hole, ["hole_d"]),
                             helper.make_node("Sqrt", ["hole_d"], ["hole_s"]),
                             helper.make_node("Mul", ["hole_s", "c_zero"], ["hole_z"]),
                             helper.make_node("Add", ["flux_raw", "hole_z"], ["flux"])])
    path = folder / f"poisoned_{np.dtype(dtype).name}{'' if above is None else f'_above_{above}'}.onnx"
    onnx.save(proto, path)
    return path


# The late hole: with the default forcing on 64 cells, the flux first exceeds 1.0 at one
# face between t = 0.75 and t = 1 (measured: a run to 0.75 passes, to 1.0 fails), after a
# restart at t = 0.5 was due, and on one rank of two.
LATE_HOLE = 1.0


@pytest.fixture(scope="session")
def late_poisoned(onnx32, tmp_path_factory) -> Path:
    """The float32 model that turns non-finite mid-run (LATE_HOLE)."""
    return _poison(onnx32, tmp_path_factory.mktemp("late_poisoned"), np.float32, above=LATE_HOLE)


@pytest.fixture(scope="session")
def poisoned(onnx32, tmp_path_factory) -> Path:
    """The float32 model with NaN holes (for the guard tests)."""
    return _poison(onnx32, tmp_path_factory.mktemp("poisoned"), np.float32)


@pytest.fixture(scope="session")
def poisoned64(onnx64, tmp_path_factory) -> Path:
    """The float64 model with NaN holes (decomposition-independent, for the MPI guard test)."""
    return _poison(onnx64, tmp_path_factory.mktemp("poisoned64"), np.float64)


@pytest.fixture(scope="session")
def learned_host(hfc, tool_env, tmp_path_factory) -> tuple[Path, dict]:
    """examples/02 built once with its Makefile against the installed library:
    (executable, environment with PKG_CONFIG_PATH)."""
    folder = tmp_path_factory.mktemp("learned_host")
    example = ROOT / "examples" / "02_fortran_learned"
    env = {**tool_env, "PKG_CONFIG_PATH": hfc("info", "--pkg-config-path").stdout.strip()}
    result = subprocess.run(["make", "-C", str(folder), "-f", str(example / "Makefile"), f"VPATH={example}"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return folder / "learned_host", env


@pytest.fixture(scope="session")
def broken_models(onnx32, tmp_path_factory) -> dict:
    """The float32 model edited to be refused: 'bare' (no metadata), 'renamed' (input x),
    'wrong_dtype' (metadata says float64), 'bad_halo' (metadata halo 'seven')."""
    import onnx

    def strip(proto):
        del proto.metadata_props[:]

    def rename(proto):
        old = proto.graph.input[0].name
        proto.graph.input[0].name = "x"
        for node in proto.graph.node:
            node.input[:] = ["x" if i == old else i for i in node.input]

    def metadata(key, value):
        def edit(proto):
            for p in proto.metadata_props:
                if p.key == key:
                    p.value = value
        return edit

    folder = tmp_path_factory.mktemp("broken")
    paths = {}
    for name, edit in (("bare", strip), ("renamed", rename), ("wrong_dtype", metadata("dtype", "float64")),
                       ("bad_halo", metadata("halo", "seven"))):
        proto = onnx.load(onnx32)
        edit(proto)
        paths[name] = folder / f"{name}.onnx"
        onnx.save(proto, paths[name])
    return paths


@pytest.fixture(scope="session")
def mpi_env() -> dict:
    """Environment for mpirun here: root allowed, oversubscribed ranks that yield instead of
    spinning, the venv's tools first on PATH."""
    if shutil.which("mpirun") is None:
        pytest.fail("mpirun is not installed; run `make setup`")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_mpi_yield_when_idle="1")
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    return env
