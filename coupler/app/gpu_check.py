"""`make gpu-check`: can this machine's NVIDIA GPU run hfc's learned models?

Without a GPU it says so in one line and exits 0 (nothing installed). With one it
(0) installs the CUDA build of ONNX Runtime and the CUDA libraries it needs (PyPI:
onnxruntime-gpu[cuda,cudnn]) into a separate virtual environment, .venv-gpu (the CPU
wheel of .venv stays as it is); (1) lists the execution providers; (2) runs the committed
Burgers model and a 2D advection model on the CUDA provider through Python (single calls)
and through the Fortran binding (`hfc simulate --backend fortran --device cuda:0`, short
runs), comparing with the CPU; (3) times ns per cell on GPU and CPU at 4096 to 1M cells;
(4) under `mpirun -n 2` checks that each rank's `--device cuda` is its node-local rank.

Tolerances (float32 models; the GPU's convolutions sum in another order): single calls
1e-5 of the largest flux; short host runs 1e-4 of the largest value (rounding differences
grow through the steps). The script uses the standard library at the top level, so the
system python3 runs it before any environment exists; each check runs in the environment
that has what it needs.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GPU_VENV = ROOT / ".venv-gpu"
MAIN_BIN = ROOT / ".venv" / "bin"
PACKAGES = ("onnxruntime-gpu[cuda,cudnn]>=1.20", "numpy>=2")
MODELS = {"burgers": ROOT / "models" / "burgers" / "network" / "8x",
          "advection2d": ROOT / "models" / "advection2d" / "deformational" / "L3C8" / "64"}
CALL_TOLERANCE, RUN_TOLERANCE = 1e-5, 1e-4
SIZES = (4096, 65536, 1048576)


def gpus() -> list[str]:
    """The NVIDIA GPUs the driver reports: `nvidia-smi -L`, else /proc/driver/nvidia/gpus."""
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30)
            if listed.returncode == 0:
                return [line for line in listed.stdout.splitlines() if line.startswith("GPU ")]
        except (OSError, subprocess.TimeoutExpired):
            pass
    return sorted(glob.glob("/proc/driver/nvidia/gpus/*"))


def run(command: list[str], env: dict | None = None) -> str:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, env=env)
    if result.returncode:
        raise SystemExit(f"gpu-check: `{' '.join(map(str, command))}` failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def gpu_environment() -> tuple[Path, dict]:
    """.venv-gpu with the CUDA build (created once), its python, and the environment in
    which the Fortran binding finds that build's library and the CUDA libraries."""
    python = GPU_VENV / "bin" / "python"
    if not python.exists():
        run([sys.executable, "-m", "venv", GPU_VENV])
    run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *PACKAGES])
    site = Path(run([python, "-c", "import onnxruntime, os; print(os.path.dirname(onnxruntime.__file__))"]).strip())
    library = sorted((site / "capi").glob("libonnxruntime.so.1*"))[-1]
    cuda_libs = sorted(glob.glob(str(site.parent / "nvidia" / "*" / "lib")))
    env = dict(os.environ, HFC_ONNXRUNTIME_LIB=str(library),
               LD_LIBRARY_PATH=os.pathsep.join([*cuda_libs, os.environ.get("LD_LIBRARY_PATH", "")]))
    return python, env


def python_check(paths: dict[str, str]) -> dict:
    """(1) providers, (2) CUDA vs CPU per model on random valid inputs, (3) ns per cell.
    Runs in .venv-gpu."""
    import numpy as np
    import onnxruntime as ort

    if hasattr(ort, "preload_dlls"):
        ort.preload_dlls()
    report = {"providers": ort.get_available_providers(), "models": {}}
    rng = np.random.default_rng(0)
    for name, path in paths.items():
        cpu = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        gpu = ort.InferenceSession(path, providers=[("CUDAExecutionProvider", {"device_id": 0}), "CPUExecutionProvider"])
        halo = int(cpu.get_modelmeta().custom_metadata_map["halo"])

        def inputs(cells: int) -> dict:
            if name == "burgers":
                return {"u": rng.normal(size=(1, 1, cells + 2 * halo)).astype(np.float32)}
            side = int(round(cells ** 0.5))
            shape = (1, 1, side + 2 * halo, side + 2 * halo)
            c = rng.uniform(0, 1, shape).astype(np.float32) ** 3
            return {"c": c, "u": rng.normal(size=shape).astype(np.float32),
                    "v": rng.normal(size=shape).astype(np.float32),
                    "c_range": np.array([[c.min(), c.max()]], np.float32)}

        case = inputs(4096)
        worst = max(float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
                    for a, b in zip(gpu.run(None, case), cpu.run(None, case)))
        timing = {}
        for cells in SIZES:
            case = inputs(cells)
            timing[cells] = {}
            for label, session in (("gpu", gpu), ("cpu", cpu)):
                session.run(None, case)
                times = []
                for _ in range(10):
                    start = time.perf_counter()
                    session.run(None, case)
                    times.append(time.perf_counter() - start)
                timing[cells][label] = 1e9 * sorted(times)[5] / cells
        report["models"][name] = {"on_cuda": gpu.get_providers()[0] == "CUDAExecutionProvider",
                                  "max_relative_difference": worst, "ns_per_cell": timing}
    return report


def fortran_check(paths: dict[str, str], env: dict, scratch: Path) -> dict:
    """(2) the Fortran binding on CUDA vs CPU: short `hfc simulate --backend fortran` runs."""
    import netCDF4
    import numpy as np

    hfc = MAIN_BIN / "hfc"
    setups = {"burgers": ["--equation", "burgers", "--n", "64", "--t-end", "1.0"],
              "advection2d": ["--equation", "advection2d", "--nx", "64", "--velocity", "deformational",
                              "--t-end", "0.5"]}
    report = {}
    for name, path in paths.items():
        fields = {}
        for device in ("cpu", "cuda:0"):
            out = scratch / f"{name}-{device.replace(':', '')}.nc"
            run([hfc, "simulate", *setups[name], "--scheme", "learned", "--model", path, "--backend", "fortran",
                 "--device", device, "--output", out, "--quiet"], env)
            with netCDF4.Dataset(out) as ds:
                fields[device] = np.array(ds["u" if name == "burgers" else "c"][-1])
        worst = float(np.max(np.abs(fields["cuda:0"] - fields["cpu"])) / np.max(np.abs(fields["cpu"])))
        report[name] = {"max_relative_difference": worst, "ok": worst <= RUN_TOLERANCE}
    return report


def mpi_check(path: str) -> None:
    """(4) one rank of `mpirun -n 2`: the device `--device cuda` picks, and a session on it."""
    from mpi4py import MPI

    from coupler.learned import FortranLearnedFlux, RuntimeConfig
    config = RuntimeConfig(device="cuda", backend="fortran")
    local = os.environ.get("OMPI_COMM_WORLD_LOCAL_RANK", os.environ.get("MPI_LOCALRANKID", "?"))
    try:
        FortranLearnedFlux(path, config).close()
        status = "session ok"
    except Exception as exc:                      # reported, not raised: the other rank reports too
        status = f"session failed: {exc}"
    print(json.dumps({"rank": MPI.COMM_WORLD.Get_rank(), "local_rank": local, "device": config.device_index,
                      "status": status}), flush=True)


def main() -> int:
    found = gpus()
    if not found:
        print("gpu-check: no NVIDIA GPU on this machine (nvidia-smi and /proc/driver/nvidia report none); "
              "nothing to check")
        return 0
    print(f"gpu-check: {len(found)} GPU(s): {'; '.join(found)}")
    run(["make", "-C", ROOT, "setup"])                # the main environment: hfc, the Fortran binding, mpi4py
    python, env = gpu_environment()
    failures = []
    with tempfile.TemporaryDirectory(prefix="hfc-gpu-check-") as scratch:
        paths = {}
        for name, folder in MODELS.items():
            paths[name] = str(Path(scratch) / f"{name}.onnx")
            run([MAIN_BIN / "hfc", "export", "--model", folder, "--out", paths[name]])
        report = json.loads(run([python, __file__, "--python", json.dumps(paths)]).splitlines()[-1])
        print(f"(1) execution providers: {', '.join(report['providers'])}")
        for name, r in report["models"].items():
            ok = r["on_cuda"] and r["max_relative_difference"] <= CALL_TOLERANCE
            failures += [] if ok else [f"{name} through Python"]
            print(f"(2) {name}, Python: on CUDA {r['on_cuda']}, max relative difference to the CPU "
                  f"{r['max_relative_difference']:.2e} (tolerance {CALL_TOLERANCE:g})")
            for cells, t in r["ns_per_cell"].items():
                print(f"(3) {name}, {cells} cells: {t['gpu']:.2f} ns per cell on the GPU, {t['cpu']:.2f} on the CPU")
        for name, r in fortran_check(paths, env, Path(scratch)).items():
            failures += [] if r["ok"] else [f"{name} through Fortran"]
            print(f"(2) {name}, Fortran binding (hfc simulate): max relative difference to the CPU run "
                  f"{r['max_relative_difference']:.2e} (tolerance {RUN_TOLERANCE:g})")
        lines = run(["mpirun", "-n", "2", MAIN_BIN / "python", __file__, "--mpi", paths["burgers"]], env)
        for line in lines.splitlines():
            rank = json.loads(line)
            expected = rank["local_rank"] == str(rank["device"])
            failures += [] if expected and rank["status"] == "session ok" else [f"MPI rank {rank['rank']}"]
            print(f"(4) rank {rank['rank']} (node-local {rank['local_rank']}): cuda:{rank['device']}, {rank['status']}")
    print("gpu-check: " + ("all checks passed" if not failures else "FAILED: " + ", ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--python":
        print(json.dumps(python_check(json.loads(sys.argv[2]))))
    elif len(sys.argv) == 3 and sys.argv[1] == "--mpi":
        mpi_check(sys.argv[2])
    else:
        sys.exit(main())
