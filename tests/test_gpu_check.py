"""`make gpu-check` without a GPU (these machines have none): one line, exit 0, quickly, and
nothing installed (.venv-gpu is not created)."""
import subprocess
import time

import pytest

from coupler.app.gpu_check import gpus


@pytest.mark.skipif(bool(gpus()), reason="this machine has a GPU: `make gpu-check` runs the real checks")
def test_gpu_check_without_a_gpu_says_so_and_exits_0(repo_root):
    had_venv = (repo_root / ".venv-gpu").exists()
    start = time.perf_counter()
    result = subprocess.run(["make", "--no-print-directory", "gpu-check"], cwd=repo_root, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["gpu-check: no NVIDIA GPU on this machine (nvidia-smi and "
                                          "/proc/driver/nvidia report none); nothing to check"]
    assert time.perf_counter() - start < 30
    assert (repo_root / ".venv-gpu").exists() == had_venv
