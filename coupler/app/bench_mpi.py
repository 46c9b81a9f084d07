"""`hfc bench --mpi`: strong scaling of the host from 1 to 2 MPI ranks, n = 2^16 cells.

Each case is `hfc simulate` (serial) and `mpirun -n 2 hfc simulate` as a user runs them,
fixed steps, one output frame; the figure is the time inside the Fortran host (per-rank
timers, the slowest rank under MPI), median of repeats, and the share of it spent in the
halo exchange. Parallel efficiency = T(1) / (2 T(2)). The learned case uses the committed
Burgers 8x network (float32) through the Fortran binding, one ONNX Runtime thread per rank,
on a domain 1024x the training one (the model's dx).
"""
from __future__ import annotations

import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from coupler.app.demo import committed_model
from coupler.errors import HfcError

N = 1 << 16
TARGET_EFFICIENCY = 0.8
RANK_LINE = re.compile(r"rank (\d+): ([0-9.]+) s in the host, ([0-9.]+) s")
SERIAL_LINE = re.compile(r"steps, ([0-9.]+) s in the host")


def run_case(ranks: int, args: list[str], env: dict) -> tuple[float, float]:
    """(host seconds of the slowest rank, its halo-exchange seconds)."""
    hfc = str(Path(sys.executable).parent / "hfc")
    command = ([hfc] if ranks == 1 else ["mpirun", "-n", str(ranks), hfc]) + args
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if result.returncode != 0:
        raise HfcError(f"{' '.join(command)} failed:\n{result.stderr.strip()}")
    if ranks == 1:
        return float(SERIAL_LINE.search(result.stdout).group(1)), 0.0
    rows = [(float(wall), float(halo)) for _, wall, halo in RANK_LINE.findall(result.stdout)]
    return max(rows)


def main(repeats: int = 3) -> int:
    if shutil.which("mpirun") is None:
        raise HfcError("mpirun not found; run `make setup`")
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    source = committed_model()
    with tempfile.TemporaryDirectory() as tmp:
        cases = {"weno5": (["--scheme", "weno5"], 1e-4, 200)}
        if source is not None:
            from export.onnx_export import export

            model = Path(tmp) / "burgers_8x.onnx"
            export(source, model)
            cases["learned (fortran binding)"] = (["--scheme", "learned", "--model", str(model), "--backend",
                                                   "fortran", "--threads", "1"], 1e-4, 20)
        print(f"hfc bench --mpi: n = {N} cells, 1 vs 2 ranks, time in the Fortran host, median of {repeats}")
        print("| provider | steps | 1 rank (s) | 2 ranks (s) | speed-up | efficiency | halo exchange share (2 ranks) |")
        print("|---|---|---|---|---|---|---|")
        for name, (scheme, dt, steps) in cases.items():
            t_end = dt * steps
            args = ["simulate", *scheme, "--n", str(N), "--length", repr(N * 2 * math.pi / 64), "--no-forcing",
                    "--ic", "sine", "--dt", repr(dt), "--t-end", repr(t_end), "--save-every", repr(t_end),
                    "--output", str(Path(tmp) / "out.nc"), "--quiet"]
            one = statistics.median(run_case(1, args, env)[0] for _ in range(repeats))
            two = [run_case(2, args, env) for _ in range(repeats)]
            t2 = statistics.median(w for w, _ in two)
            halo = statistics.median(h / w for w, h in two)
            efficiency = one / (2 * t2)
            print(f"| {name} | {steps} | {one:.3f} | {t2:.3f} | {one / t2:.2f} | {efficiency:.0%} | {halo:.1%} |",
                  flush=True)
    print(f"(target: efficiency >= {TARGET_EFFICIENCY:.0%} at 2 ranks for the learned provider)")
    return 0
