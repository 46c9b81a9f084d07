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
                  suffix: str = "") -> dict:
    """Run every row; write deformational_<label>.nc, table<suffix>.md, metrics<suffix>.json
    and deformational.png into out_dir; return the metrics by label."""
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
                              "model": str(row.model) if row.model else None,
                              "model_flops_per_cell": model_flops(row.model) if row.model else None}
        files[row.label] = path
    lines = ["| scheme | time stepping | cells | L1 at T | L2 at T | entropy at T | steps | time in the host (s) | "
             "model FLOP per cell-step |", "|---|---|---|---|---|---|---|---|---|"]
    for label, m in metrics.items():
        if "failed" in m:
            lines.append(f"| {label.split()[0]} | forward Euler | {m['cells']}^2 | unstable: {m['failed']} "
                         "| - | - | - | - | - |")
            continue
        lines.append(f"| {label.split()[0]} | {'SSP-RK3' if m['time_stepping'] == 'ssprk3' else 'forward Euler'} | "
                     f"{m['cells']}^2 | {m['l1']:.2e} | {m['l2']:.2e} | {m['entropy']:.3f} | {m['steps']} | "
                     f"{m['host_seconds']:.3f} | {m['model_flops_per_cell'] or '-'} |")
    note = ("L1 = mean |c - c0|, L2 = root mean square of c - c0 at t = T, where the exact solution is the initial "
            "blob c0 (the paper's metrics); entropy of Eq. 10, 1 at t = 0. Time in the host: one core.")
    write_text(out_dir / f"table{suffix}.md", (f"Regenerate: `{command}`\n\n" if command else "") + "\n".join(lines) +
               f"\n\n{note}\n")
    write_text(out_dir / f"metrics{suffix}.json", json.dumps(metrics, indent=2) + "\n")
    plot(files, out_dir / "deformational.png")
    return metrics


def model_flops(path: Path) -> int | None:
    """FLOP per cell-step of an exported 2D model (its metadata's flops_per_cell)."""
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    return int(meta["flops_per_cell"]) if "flops_per_cell" in meta else None


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


SQUARE_STEPS = 256          # four passes through the periodic domain at Courant 0.5 (64 steps each)


def square(models: dict[str, Path], out_dir: Path, samples: int = 20, backend: str = "fortran",
           command: str = "") -> dict:
    """The paper's first test (Sec. III A, Fig. 2-3): square waves (unseen: seeds apart from
    training's) carried by u = 1 across 32 cells at Courant 0.5, forward Euler; the error is
    the MAE against Van Leer at 8x resolution averaged onto the coarse grid, per step over
    the samples. Rows: each model, Van Leer, upwind (Euler) and WENO5 (SSP-RK3) at 32 cells."""
    from coupler.host import Host
    from coupler.learned import load_model
    from coupler.problems.flows import ConstantFlow
    from training.advection_data import AdvectionDataConfig, trajectory

    data = AdvectionDataConfig(case="square", coarse=32, factor=8, trajectories=samples, steps=SQUARE_STEPS,
                               seed=1000)
    coarse = data.grids()[0]
    host_config = HostConfig("advection2d", (coarse.nx, coarse.ny), (coarse.lx, coarse.ly))
    rows = {}
    for name, path in models.items():        # loaded once, checked against the grid (both backends)
        learned = load_model(path, RuntimeConfig(backend=backend))
        learned.check_host(host_config)
        rows[name] = (learned.provider(), "euler")
    rows.update({"vanleer": ("vanleer", "euler"), "upwind": ("upwind", "euler"), "weno5": ("weno5", "ssprk3")})
    errors = {name: np.zeros(SQUARE_STEPS + 1) for name in rows}
    failed: dict[str, str] = {}
    example = {}
    for k in range(samples):
        reference = trajectory(data, k)
        for name, (provider, method) in rows.items():
            if name in failed:
                continue
            host = Host(host_config, provider, None, TimeConfig(dt=reference["dt"], method=method),
                        flow=ConstantFlow(1.0, 0.0))
            states = [reference["c"][0]]
            try:
                host.set_state(reference["c"][0], 0.0)
                for step in range(1, SQUARE_STEPS + 1):
                    host.advance_to(step * reference["dt"])
                    states.append(host.get_state()[0])
            except NonFiniteStateError as exc:     # an unstable model: a row that says so
                failed[name] = str(exc)
                continue
            finally:
                host.close()
            states = np.array(states)
            errors[name] += np.abs(states - reference["c"]).mean((1, 2)) / samples
            if k == 0:
                example[name] = states[:, 0, :]
        if k == 0:
            example["reference (Van Leer, 8x)"] = reference["c"][:, 0, :]
    for name in failed:
        del errors[name]
        example.pop(name, None)
    metrics = {name: {"mae_mean": float(e[1:].mean()), "mae_final": float(e[-1])} for name, e in errors.items()}
    metrics.update({name: {"failed": message} for name, message in failed.items()})
    lines = ["| scheme | cells | MAE over 256 steps | MAE at step 256 |", "|---|---|---|---|"]
    lines += [f"| {name} | 32 | {m['mae_mean']:.2e} | {m['mae_final']:.2e} |" if "failed" not in m else
              f"| {name} | 32 | unstable: {m['failed']} | - |" for name, m in metrics.items()]
    note = (f"{samples} square waves (heights 0.1-0.9, widths 2-8 cells, seeds apart from training's) at u = 1, "
            "Courant 0.5, against Van Leer at 256 cells averaged onto the 32; forward Euler (WENO5: SSP-RK3).")
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "table.md", (f"Regenerate: `{command}`\n\n" if command else "") + "\n".join(lines) +
               f"\n\n{note}\n")
    write_text(out_dir / "metrics.json", json.dumps({"samples": samples, "rows": metrics,
                                                     "mae_per_step": {n: e.tolist() for n, e in errors.items()}},
                                                    indent=2) + "\n")
    plot_square(example, errors, out_dir / "square.png")
    return metrics


def plot_square(example: dict[str, np.ndarray], errors: dict[str, np.ndarray], path: Path) -> None:
    """Fig. 2 (one sample at steps 0, 64, 128, 256) and Fig. 3 (MAE over even steps)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 5, figsize=(20, 3.6), constrained_layout=True)
    x = (np.arange(32) + 0.5) / 32
    for ax, step in zip(axes[:4], (0, 64, 128, 256)):
        for name, states in example.items():
            ax.step(x, states[step], where="mid", label=name, lw=2 if name.startswith("reference") else 1)
        ax.set_title(f"step {step}")
        ax.set_xlabel("x")
    axes[0].legend(fontsize=8)
    steps = np.arange(2, len(next(iter(errors.values()))), 2)     # even steps: the error alternates (Courant 0.5)
    for name, e in errors.items():
        axes[4].plot(steps, e[steps], label=name)
    axes[4].set_xlabel("time step (even steps)")
    axes[4].set_ylabel("MAE against the 8x reference")
    axes[4].legend(fontsize=8)
    fig.suptitle("1D advection of square waves, 32 cells, Courant 0.5 (Zhuang et al. 2021, Fig. 2-3)")
    save_figure(fig, path, dpi=100)
    plt.close(fig)
