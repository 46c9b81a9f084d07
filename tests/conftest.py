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
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "coupler.cli"]

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
