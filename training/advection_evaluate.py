"""Evaluation of learned 2D advection against the classical schemes (`hfc evaluate
--equation advection2d --case ...`), the paper's tests (Zhuang et al. 2021, Sec. III):

- deformational: LeVeque's swirl (Eq. 8, T = 5) on [0, 1]^2 carrying the cosine blob (Eq. 9),
  peak Courant number 0.5. The flow reverses at T / 2, so the exact solution at T is the
  initial blob; L1 and L2 errors at T and the entropy of Eq. 10 over time (Fig. 5-6).
- square: the 1D square wave at 32 cells (Fig. 2-3).
- turbulence: ten blobs in decaying turbulence at 32^2 over 256 steps (Fig. 7-8), and the
  accuracy-for-cost front (Fig. 11, with one core's wall time in the host).

Every row runs in the Fortran host (learned models through the backend asked for), serially.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np
from tqdm import tqdm

from coupler.errors import NonFiniteStateError
from coupler.host import Host, HostConfig, TimeConfig
from coupler.io.atomic import save_figure, write_text
from coupler.learned import RuntimeConfig
from coupler.problems.advection2d import FlowConfig
from coupler.problems.flows import CachedFlow, Grid2D
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
    from coupler.problems.flows import ConstantFlow
    from training.advection_data import AdvectionDataConfig, trajectory

    data = AdvectionDataConfig(case="square", coarse=32, factor=8, trajectories=samples, steps=SQUARE_STEPS,
                               seed=1000)
    coarse = data.grids()[0]
    host_config = HostConfig("advection2d", (coarse.nx, coarse.ny), (coarse.lx, coarse.ly))
    rows = learned_rows(models, host_config, backend)
    rows.update({"vanleer": ("vanleer", "euler"), "upwind": ("upwind", "euler"), "weno5": ("weno5", "ssprk3")})
    errors = {name: np.zeros(SQUARE_STEPS + 1) for name in rows}
    failed: dict[str, str] = {}
    example = {}
    for k in range(samples):
        reference = trajectory(data, k)
        for name, (provider, method) in rows.items():
            if name in failed:
                continue
            try:
                states, _ = host_run(host_config, provider, method, reference["dt"], ConstantFlow(1.0, 0.0),
                                     reference["c"][0], reference["dt"], SQUARE_STEPS)
            except NonFiniteStateError as exc:     # an unstable model: a row that says so
                failed[name] = str(exc)
                continue
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


def learned_rows(models: dict[str, Path], host_config: HostConfig, backend: str) -> dict[str, tuple]:
    """(provider, "euler") of each exported model, loaded once and checked against the grid
    and forward Euler (the time stepping the models were trained through)."""
    from coupler.learned import load_model

    rows = {}
    for name, path in models.items():
        learned = load_model(path, RuntimeConfig(backend=backend))
        learned.check_host(host_config, TimeConfig(method="euler"))
        rows[name] = (learned.provider(), "euler")
    return rows


TURBULENCE_STEPS = 256      # twice the training trajectories' 128 steps (the paper's Fig. 7-8)
TURBULENCE_CELLS = 32


def turbulence(models: dict[str, Path], out_dir: Path, samples: int = 20, steps: int = TURBULENCE_STEPS,
               backend: str = "fortran", command: str = "", resolution: int = 256, progress: bool = True) -> dict:
    """The paper's turbulence test (Sec. III C, Fig. 7-8) and its accuracy-for-cost front
    (Fig. 11): `samples` sets of ten blobs (seeds apart from training's) in a decaying
    turbulence run of another seed, `steps` coarse steps of peak Courant 0.5 at 32^2. Rows:
    each model (32^2, forward Euler), Van Leer at 32, 64, 128 and `resolution` (the
    reference: the paper's 256^2), WENO5 (SSP-RK3) at 32, 64, 128, each at the step of its
    own grid (a 4x finer grid takes 4 steps per coarse step). Every state is averaged onto
    32^2; per step and averaged over the samples: the MAE and R^2 against the reference and
    the entropy (Eq. 10). Host time: the seconds spent advancing, one core."""
    from training.advection_data import AdvectionDataConfig, coarse_average, turbulence as turbulence_flow, \
        turbulence_blobs
    from coupler.problems.advection2d import entropy

    data = AdvectionDataConfig.for_case("turbulence", coarse=TURBULENCE_CELLS, factor=resolution // TURBULENCE_CELLS,
                                        trajectories=samples, steps=steps, seed=1000)
    coarse = data.grids()[0]
    flow, dt = turbulence_flow(data, progress)
    flow = CachedFlow(flow)          # every sample's runs share the frames of a grid
    grid = lambda n: Grid2D(n, n, coarse.lx, coarse.ly)      # noqa: E731
    host = lambda n: HostConfig("advection2d", (n, n), (coarse.lx, coarse.ly))    # noqa: E731
    rows = {name: (provider, method, TURBULENCE_CELLS)
            for name, (provider, method) in learned_rows(models, host(TURBULENCE_CELLS), backend).items()}
    resolutions = [n for n in (32, 64, 128, 256, 512) if n < resolution]
    rows.update({f"vanleer {n}": ("vanleer", "euler", n) for n in resolutions + [resolution]})
    rows.update({f"weno5 {n}": ("weno5", "ssprk3", n) for n in resolutions if n <= 128})
    reference = f"vanleer {resolution}"
    sums = {name: {"mae": np.zeros(steps + 1), "r2": np.zeros(steps + 1), "entropy": np.zeros(steps + 1),
                   "seconds": 0.0} for name in rows}
    failed: dict[str, str] = {}
    example: dict[str, np.ndarray] = {}
    for k in tqdm(range(samples), desc="turbulence samples", unit="sample", disable=not progress):
        states = {}
        for name in [reference] + [r for r in rows if r != reference]:     # the reference first
            provider, method, n = rows[name]
            if name in failed:
                continue
            try:
                fine, seconds = host_run(host(n), provider, method, dt * TURBULENCE_CELLS / n, flow,
                                         turbulence_blobs(data, k, grid(n)), dt, steps)
            except NonFiniteStateError as exc:     # an unstable model: a row that says so
                failed[name] = str(exc)
                continue
            states[name] = coarse_average(fine, n // TURBULENCE_CELLS)
            truth = states[reference]
            d = states[name] - truth
            sums[name]["mae"] += np.abs(d).mean((1, 2)) / samples
            sums[name]["r2"] += (1.0 - (d ** 2).sum((1, 2)) /
                                 ((truth - truth.mean((1, 2), keepdims=True)) ** 2).sum((1, 2))) / samples
            sums[name]["entropy"] += np.array([entropy(c, states[name][0]) for c in states[name]]) / samples
            sums[name]["seconds"] += seconds / samples
        if k == 0:
            example = {name: s[[0, steps // 2, steps]] for name, s in states.items()}
    for name in failed:
        del sums[name]
    flops = {name: model_flops(path) for name, path in models.items()}
    peak = peak_gflops()
    metrics = {name: {"scheme": rows[name][0] if isinstance(rows[name][0], str) else "learned",
                      "cells": rows[name][2], "time_stepping": rows[name][1],
                      "mae_final": float(m["mae"][-1]), "mae_half": float(m["mae"][steps // 2]),
                      "r2_final": float(m["r2"][-1]), "entropy_final": float(m["entropy"][-1]),
                      "host_seconds": m["seconds"], "us_per_coarse_step": 1e6 * m["seconds"] / steps,
                      "model": str(models[name]) if name in models else None,
                      "model_flops_per_cell": flops.get(name)} for name, m in sums.items()}
    for m in metrics.values():
        if m["model_flops_per_cell"]:
            m["model_gflops"] = m["model_flops_per_cell"] * TURBULENCE_CELLS ** 2 / (1e3 * m["us_per_coarse_step"])
            m["share_of_peak"] = m["model_gflops"] / peak
    metrics.update({name: {"failed": message} for name, message in failed.items()})
    lines = [f"| scheme | cells | MAE at step {steps // 2} | MAE at step {steps} | R^2 at step {steps} | "
             f"entropy at step {steps} | host time per run (s) | us per coarse step | model FLOP per cell-step | "
             "share of peak |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, m in metrics.items():
        if "failed" in m:
            lines.append(f"| {name} | 32^2 | unstable: {m['failed']} | - | - | - | - | - | - | - |")
            continue
        lines.append(f"| {name} | {m['cells']}^2 | {m['mae_half']:.2e} | {m['mae_final']:.2e} | {m['r2_final']:.4f} | "
                     f"{m['entropy_final']:.3f} | {m['host_seconds']:.3f} | {m['us_per_coarse_step']:.0f} | "
                     f"{m['model_flops_per_cell'] or '-'} | "
                     f"{format(m['share_of_peak'], '.1%') if 'share_of_peak' in m else '-'} |")
    note = (f"{samples} sets of ten blobs (width 0.5, seeds apart from training's) in decaying turbulence of another "
            f"seed, {steps} steps of peak Courant 0.5 at 32^2 (dt = {dt:.4g}); every scheme at its own grid's step "
            f"(a grid n takes n/32 steps per coarse step), averaged onto 32^2 and compared with {reference}^2 "
            "(the reference, error 0 by definition); means over the samples. Host time: one core, the seconds "
            "spent advancing (learned models: ONNX Runtime, one thread, in the host). Share of peak: the model's FLOP "
            f"per second in the host over one core's float32 matrix-product rate ({peak:.0f} GFLOP/s, measured in "
            "the same run).")
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "table.md", (f"Regenerate: `{command}`\n\n" if command else "") + "\n".join(lines) +
               f"\n\n{note}\n")
    write_text(out_dir / "metrics.json", json.dumps(
        {"samples": samples, "steps": steps, "dt": dt, "peak_gflops": peak, "rows": metrics,
         "per_step": {n: {k: v.tolist() for k, v in m.items() if k != "seconds"} for n, m in sums.items()}},
        indent=2) + "\n")
    plot_turbulence(example, sums, metrics, reference, out_dir)
    return metrics


def peak_gflops(n: int = 1024, repeats: int = 5) -> float:
    """One core's float32 rate on a large matrix product (torch, one thread): the peak the
    models' convolutions are measured against. Best of `repeats`."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a, b = torch.rand(n, n), torch.rand(n, n)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return 2.0 * n ** 3 / best / 1e9


def plot_turbulence(example: dict[str, np.ndarray], sums: dict, metrics: dict, reference: str, out_dir: Path) -> None:
    """turbulence.png: one sample at steps 0, half, end (Fig. 7) and MAE, R^2, entropy over
    the steps (Fig. 8); front.png: MAE at the end against host time per coarse step (Fig. 11)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    learned = sorted((n for n, m in metrics.items() if m.get("scheme") == "learned"),
                     key=lambda n: -metrics[n]["r2_final"])
    names = [reference] + [n for n in ("vanleer 128", "vanleer 64", "vanleer 32") if n in example] + \
        [n for n in learned if n in example][:2]          # the models of the best R^2
    fig = plt.figure(figsize=(2.6 * max(len(names), 4), 2.6 * 3 + 3.2), constrained_layout=True)
    grid = fig.add_gridspec(4, max(len(names), 3), height_ratios=[1, 1, 1, 1.3])
    for row in range(3):
        top = float(example[reference][row].max())       # each step's colour scale: the reference's range
        for col, name in enumerate(names):
            ax = fig.add_subplot(grid[row, col])
            ax.imshow(example[name][row], origin="lower", cmap="viridis", vmin=0, vmax=top, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(name, fontsize=9)
    steps = np.arange(len(next(iter(sums.values()))["mae"]))
    for col, (key, label) in enumerate((("mae", "MAE against the reference"), ("r2", "R^2"),
                                        ("entropy", "entropy (Eq. 10)"))):
        ax = fig.add_subplot(grid[3, col])
        for name, m in sums.items():
            if name != reference or key == "entropy":
                ax.plot(steps, m[key], label=name, lw=1.5 if name in names else 0.7,
                        ls="-" if metrics[name].get("scheme") == "learned" else "--")
        ax.set_xlabel("coarse step")
        ax.set_ylabel(label)
        if key == "r2":
            ax.set_ylim(0.5, 1.01)
    ax.legend(fontsize=6, ncol=2)
    fig.suptitle("Ten blobs in decaying turbulence, 32^2 (Zhuang et al. 2021, Fig. 7-8): one sample at steps 0, "
                 "half, end (all on 32^2); MAE, R^2, entropy over the samples (dashed: classical)", fontsize=10)
    save_figure(fig, out_dir / "turbulence.png", dpi=90)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 4.5), constrained_layout=True)
    for name, m in metrics.items():
        if "failed" in m or name == reference:
            continue
        marker = {"vanleer": "s", "weno5": "^"}.get(m["scheme"], "o")
        ax.loglog(m["us_per_coarse_step"], m["mae_final"], marker, label=name)
        ax.annotate(name, (m["us_per_coarse_step"], m["mae_final"]), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")
    ax.set_xlabel("host time per 32^2 step (us, one core)")
    ax.set_ylabel("MAE at the last step")
    ax.set_title("Accuracy for cost, turbulence at 32^2 (cf. Zhuang et al. 2021, Fig. 11)", fontsize=10)
    save_figure(fig, out_dir / "front.png", dpi=100)
    plt.close(fig)


def host_run(config: HostConfig, provider, method: str, dt: float, flow, c0: np.ndarray, every: float,
             count: int) -> tuple[np.ndarray, float]:
    """States (count + 1, ny, nx) of a host run from c0, one every `every` (a whole number of
    steps dt), and the seconds spent advancing (the host's own time, one core)."""
    host = Host(config, provider, None, TimeConfig(dt=dt, method=method), flow=flow)
    try:
        host.set_state(c0, 0.0)
        states, seconds = [np.array(c0, dtype=np.float64)], 0.0
        for k in range(1, count + 1):
            start = time.perf_counter()
            host.advance_to(k * every)
            seconds += time.perf_counter() - start
            states.append(host.get_state()[0])
    finally:
        host.close()
    return np.array(states), seconds


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
