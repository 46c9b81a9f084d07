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
