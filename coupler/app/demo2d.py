"""The 2D part of `hfc demo`: the deformational flow of Zhuang et al. (2021) (LeVeque's
swirl, Eq. 8, T = 5, on [0, 1]^2, the cosine blob of Eq. 9, peak Courant number 0.5) in the
Fortran host at 64^2: Van Leer with forward Euler (the paper's baseline) against WENO5
with SSP-RK3 (a stronger baseline the paper did not use), with upwind and Van Leer at 128^2
for scale. The flow reverses at T / 2, so the exact solution at T is the initial blob: the
table gives the paper's L1 and L2 errors there and its entropy (Eq. 10); the figure shows
the blob at t = 0, T / 2 and T. Then Van Leer again on 4 MPI ranks (2 x 2), which must equal
the serial file bit for bit.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np

from coupler.errors import HfcError
from coupler.host import HostConfig, TimeConfig
from coupler.io.atomic import save_figure, write_text
from coupler.problems.advection2d import FlowConfig
from coupler.simulate import NumericsConfig, OutputConfig, ProblemConfig, SimulationConfig, SimulationResult, run

PERIOD = 5.0
SAVE_EVERY = 0.125
ROWS = (("vanleer", "euler", 64), ("weno5", "ssprk3", 64), ("upwind", "euler", 64), ("vanleer", "euler", 128))


def config(scheme: str, method: str, n: int) -> SimulationConfig:
    return SimulationConfig(problem=ProblemConfig(HostConfig("advection2d", (n, n)), flow=FlowConfig(period=PERIOD)),
                            numerics=NumericsConfig(scheme, time=TimeConfig(cfl=0.5, method=method)),
                            output=OutputConfig(PERIOD, SAVE_EVERY))


def main(output_dir: Path) -> bool:
    """Run the rows, write the table, the figure and the netCDF files; True when the 4-rank
    run equals the serial one (or mpirun is absent)."""
    print(f"hfc demo, 2D: the deformational flow (Zhuang et al. 2021, Eq. 8-9, T = {PERIOD:g}), peak Courant 0.5")
    results = {}
    lines = ["| scheme | time stepping | cells | L1 at T | L2 at T | entropy at T | steps | wall time (s) |",
             "|---|---|---|---|---|---|---|---|"]
    for scheme, method, n in ROWS:
        path = output_dir / f"deformational_{scheme}_{n}.nc"
        result = run(config(scheme, method, n), path)
        with netCDF4.Dataset(path) as ds:
            l1, l2, entropy = (float(ds[name][-1]) for name in ("l1_error", "l2_error", "entropy"))
        results[(scheme, n)] = (result, path)
        lines.append(f"| {scheme} | {'SSP-RK3' if method == 'ssprk3' else 'forward Euler'} | {n}^2 | {l1:.2e} | "
                     f"{l2:.2e} | {entropy:.3f} | {result.nsteps} | {result.wall_seconds:.3f} |")
    table = "\n".join(lines)
    note = ("L1 = mean |c - c0|, L2 = root mean square of c - c0 at t = T, where the exact solution is the initial "
            "blob c0 (the paper's metrics); entropy of Eq. 10, 1 at t = 0 (it grows as a monotone scheme "
            "diffuses). Wall time: the time in the Fortran host, one core.")
    print(table)
    write_text(output_dir / "table2d.md", f"Regenerate: `hfc demo --output-dir {output_dir}`\n\n{table}\n\n{note}\n")
    plot({key: value[0] for key, value in results.items() if key[1] == 64 and key[0] != "upwind"},
         {key: value[1] for key, value in results.items()}, output_dir / "deformational.png")
    print(f"wrote {output_dir}/table2d.md, {output_dir}/deformational.png")
    return mpi_check(output_dir, results[("vanleer", 64)][1])


def mpi_check(output_dir: Path, serial: Path) -> bool:
    """Van Leer at 64^2 on 4 ranks (a 2 x 2 process grid) against the serial file."""
    if shutil.which("mpirun") is None:
        print("hfc demo: mpirun not found; skipping the 4-rank 2D run")
        return True
    hfc = str(Path(sys.executable).parent / "hfc")
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMPI_MCA_mpi_yield_when_idle": "1"}
    out = output_dir / "mpi_check_2d_4ranks.nc"
    done = subprocess.run(["mpirun", "-n", "4", hfc, "simulate", "--equation", "advection2d", "--scheme", "vanleer",
                           "--time-stepping", "euler", "--cfl", "0.5", "--nx", "64", "--velocity", "deformational",
                           "--period", repr(PERIOD), "--t-end", repr(PERIOD), "--procs", "2x2", "--save-every",
                           repr(SAVE_EVERY), "--output", str(out), "--quiet"],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise HfcError(f"the 4-rank 2D run failed: {done.stderr.strip()}")
    with netCDF4.Dataset(serial) as a, netCDF4.Dataset(out) as b:
        equal = bool(np.array_equal(a["c"][:], b["c"][:]))
    out.unlink()
    print("4 MPI ranks (2 x 2) vs serial, vanleer on 64^2: " + ("bit for bit identical" if equal else "DIFFERENT"))
    return equal


def plot(results: dict[tuple[str, int], SimulationResult], files: dict[tuple[str, int], Path], path: Path) -> None:
    """The blob at t = 0, T/2, T for each 64^2 scheme, and the entropy of every row over time."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(15, 3.6 * len(results)), constrained_layout=True)
    grid = fig.add_gridspec(len(results), 4, width_ratios=[1, 1, 1, 1.25])
    for row, ((scheme, n), result) in enumerate(results.items()):
        for col, t in enumerate((0.0, PERIOD / 2, PERIOD)):
            k = int(np.argmin(np.abs(result.times - t)))
            ax = fig.add_subplot(grid[row, col])
            image = ax.imshow(result.states[k], origin="lower", extent=[0, 1, 0, 1], cmap="viridis", vmin=0, vmax=1,
                              interpolation="nearest")
            ax.set_title(f"{scheme}, {n}^2, t = {result.times[k]:g}", fontsize=10)
            ax.set_xticks([0, 0.5, 1])
            ax.set_yticks([0, 0.5, 1])
        fig.colorbar(image, ax=ax, shrink=0.8, label="c")
    ax = fig.add_subplot(grid[:, 3])
    for (scheme, n), file in files.items():
        with netCDF4.Dataset(file) as ds:
            ax.plot(ds["time"][:], ds["entropy"][:], label=f"{scheme} {n}^2")
    ax.set_xlabel("t")
    ax.set_ylabel("entropy (Eq. 10)")
    ax.legend(fontsize=9)
    fig.suptitle(f"Deformational flow (Zhuang et al. 2021, Eq. 8-9), T = {PERIOD:g}: back to the initial blob at T")
    save_figure(fig, path, dpi=100)
    plt.close(fig)
