"""Evaluation of learned 2D advection against the classical schemes (`hfc evaluate
--equation advection2d`): the paper's deformational-flow test (Zhuang et al. 2021, Sec. III B,
Fig. 5-6): LeVeque's swirl (Eq. 8, T = 5) on [0, 1]^2 carrying the cosine blob (Eq. 9),
peak Courant number 0.5. The flow reverses at T / 2, so the exact solution at T is the
initial blob; the metrics are the paper's: L1 and L2 errors at T and the entropy of Eq. 10
over time. Every row runs in the Fortran host (learned models through the backend asked
for), serially, and its file is kept beside the table.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np

from coupler.errors import NonFiniteStateError
from coupler.host import HostConfig, TimeConfig
from coupler.io.atomic import save_figure, write_text
from coupler.learned import RuntimeConfig
from coupler.problems.advection2d import FlowConfig
from coupler.simulate import NumericsConfig, OutputConfig, ProblemConfig, SimulationConfig, run

PERIOD = 5.0
SAVE_EVERY = 0.125


@dataclass(frozen=True)
class Row:
    """One run of the table: a scheme at a resolution (a learned one with its model)."""

    label: str
    scheme: str
    n: int
    method: str = "euler"
    model: Path | None = None


def baselines(n: int = 64) -> list[Row]:
    """The paper's baseline (Van Leer, forward Euler) at n, 2n and 4n; WENO5 with SSP-RK3
    (a stronger baseline the paper did not use) and first-order upwind at n."""
    return [Row(f"vanleer {n}", "vanleer", n), Row(f"weno5 {n}", "weno5", n, "ssprk3"), Row(f"upwind {n}", "upwind", n),
            Row(f"vanleer {2 * n}", "vanleer", 2 * n), Row(f"vanleer {4 * n}", "vanleer", 4 * n)]


def config(row: Row, backend: str = "fortran") -> SimulationConfig:
    return SimulationConfig(problem=ProblemConfig(HostConfig("advection2d", (row.n, row.n)),
                                                  flow=FlowConfig(period=PERIOD)),
                            numerics=NumericsConfig(row.scheme, time=TimeConfig(cfl=0.5, method=row.method),
                                                    model=str(row.model) if row.model else None),
                            runtime=RuntimeConfig(backend=backend), output=OutputConfig(PERIOD, SAVE_EVERY))


def deformational(rows: list[Row], out_dir: Path, backend: str = "fortran", command: str = "",
                  name: str = "table") -> dict:
    """Run every row; write deformational_<label>.nc, <name>.md (the table), <name>.json
    (the metrics) and deformational.png into out_dir; return the metrics by label."""
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics, files = {}, {}
    for row in rows:
        path = out_dir / f"deformational_{row.label.replace(' ', '_')}.nc"
        try:
            result = run(config(row, backend), path)
        except NonFiniteStateError as exc:   # an unstable model: a row that says so, not a lost table
            metrics[row.label] = {"scheme": row.scheme, "cells": row.n, "time_stepping": row.method,
                                  "failed": str(exc), "model": str(row.model) if row.model else None}
            continue
        with netCDF4.Dataset(path) as ds:
            l1, l2, entropy = (float(ds[name][-1]) for name in ("l1_error", "l2_error", "entropy"))
        metrics[row.label] = {"scheme": row.scheme, "cells": row.n, "time_stepping": row.method, "l1": l1, "l2": l2,
                              "entropy": entropy, "steps": result.nsteps, "host_seconds": result.wall_seconds,
                              "model": str(row.model) if row.model else None}
        files[row.label] = path
    lines = ["| scheme | time stepping | cells | L1 at T | L2 at T | entropy at T | steps | time in the host (s) |",
             "|---|---|---|---|---|---|---|---|"]
    for label, m in metrics.items():
        if "failed" in m:
            lines.append(f"| {label.split()[0]} | forward Euler | {m['cells']}^2 | unstable: {m['failed']} "
                         "| - | - | - | - |")
            continue
        lines.append(f"| {label.split()[0]} | {'SSP-RK3' if m['time_stepping'] == 'ssprk3' else 'forward Euler'} | "
                     f"{m['cells']}^2 | {m['l1']:.2e} | {m['l2']:.2e} | {m['entropy']:.3f} | {m['steps']} | "
                     f"{m['host_seconds']:.3f} |")
    note = ("L1 = mean |c - c0|, L2 = root mean square of c - c0 at t = T, where the exact solution is the initial "
            "blob c0 (the paper's metrics); entropy of Eq. 10, 1 at t = 0. Time in the host: one core.")
    write_text(out_dir / f"{name}.md", (f"Regenerate: `{command}`\n\n" if command else "") + "\n".join(lines) +
               f"\n\n{note}\n")
    write_text(out_dir / f"{name}.json", json.dumps(metrics, indent=2) + "\n")
    plot(files, out_dir / "deformational.png")
    return metrics


def plot(files: dict[str, Path], path: Path, shown: int = 4) -> None:
    """The blob at t = 0, T/2, T for the first `shown` rows, and every row's entropy."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(files.items())[:shown]
    fig = plt.figure(figsize=(15, 3.6 * len(rows)), constrained_layout=True)
    grid = fig.add_gridspec(len(rows), 4, width_ratios=[1, 1, 1, 1.25])
    for r, (label, file) in enumerate(rows):
        with netCDF4.Dataset(file) as ds:
            times, c = ds["time"][:].data, ds["c"][:].data
        for col, t in enumerate((0.0, times[-1] / 2, times[-1])):
            k = int(np.argmin(np.abs(times - t)))
            ax = fig.add_subplot(grid[r, col])
            image = ax.imshow(c[k], origin="lower", extent=[0, 1, 0, 1], cmap="viridis", vmin=0, vmax=1,
                              interpolation="nearest")
            ax.set_title(f"{label}^2, t = {times[k]:g}", fontsize=10)
            ax.set_xticks([0, 0.5, 1])
            ax.set_yticks([0, 0.5, 1])
        fig.colorbar(image, ax=ax, shrink=0.8, label="c")
    ax = fig.add_subplot(grid[:, 3])
    for label, file in files.items():
        with netCDF4.Dataset(file) as ds:
            ax.plot(ds["time"][:], ds["entropy"][:], label=f"{label}^2")
    ax.set_xlabel("t")
    ax.set_ylabel("entropy (Eq. 10)")
    ax.legend(fontsize=9)
    fig.suptitle("Deformational flow (Zhuang et al. 2021, Eq. 8-9), T = 5: back to the initial blob at T")
    save_figure(fig, path, dpi=100)
    plt.close(fig)
