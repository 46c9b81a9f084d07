"""`hfc demo` (the main job of `make demo`): forced Burgers of Bar-Sinai et al. (2019) in
the Fortran host at a coarse and a fine grid with the classical schemes, and on the
coarse grid with the committed learned model (exported to ONNX, run by ONNX Runtime
through the Python callback), scored against a WENO5 reference on 512 cells (the paper's
"exact" resolution) coarse-grained by cell averaging; prints an accuracy/speed table,
writes netCDF files, a markdown table and a space-time PNG.
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from coupler.host import SCHEMES, HostConfig
from coupler.simulate import SimulationConfig, SimulationResult, run

REFERENCE_N = 512
GRIDS = {"coarse": 64, "fine": 256}       # resample factors 8 and 2
T_END, SAVE_EVERY = 15.0, 0.1             # the paper's MAE window: t <= 15
FIRST_SEED = 1000                         # forcings kept apart from training seeds
MODEL = Path(__file__).resolve().parent.parent / "models" / "burgers" / "network" / "8x"


def learned_model(output_dir: Path) -> Path | None:
    """The committed Burgers 8x model as ONNX, exported once into the output folder
    (again when model.pt is newer). None when the source tree's models are not at hand."""
    source = MODEL if MODEL.is_dir() else Path("models/burgers/network/8x")
    if not (source / "model.pt").is_file():
        return None
    target = output_dir / "burgers_network_8x.onnx"
    if not target.exists() or target.stat().st_mtime < (source / "model.pt").stat().st_mtime:
        from export.onnx_export import export
        print(f"exporting {source} to {target}")
        export(source, target)
    return target


def coarse_grain(states: np.ndarray, n: int) -> np.ndarray:
    """Cell averages of (time, N) fine states on n cells (N a multiple of n)."""
    return states.reshape(states.shape[0], n, -1).mean(axis=-1)


def mae(result: SimulationResult, reference: SimulationResult) -> float:
    """Mean absolute error over space and all saved times t <= T_END."""
    return float(np.mean(np.abs(result.states - coarse_grain(reference.states, result.states.shape[1]))))


def main(output_dir: Path, seeds: int = 10) -> int:
    output_dir.mkdir(parents=True, exist_ok=True)
    base = SimulationConfig(host=HostConfig("burgers", REFERENCE_N), scheme="weno5",
                            t_end=T_END, save_every=SAVE_EVERY, ic="zero")
    runs = [(scheme, label, n) for label, n in GRIDS.items() for scheme in SCHEMES]
    model = learned_model(output_dir)
    if model is None:
        print("hfc demo: models/burgers/network/8x not found (run from the repository root); skipping the learned run")
    else:
        runs.insert(len(SCHEMES), ("learned", "coarse", GRIDS["coarse"]))
    errors = {key: [] for key in runs}
    timing = {key: [] for key in runs}
    first: dict = {}

    print(f"hfc demo: forced Burgers (L = 2 pi, eta = 0.01, t <= {T_END:g}), {seeds} unseen forcings, "
          f"reference WENO5 on {REFERENCE_N} cells")
    with tqdm(total=seeds * (len(runs) + 1), desc="runs", unit="run") as bar:
        for i in range(seeds):
            seed = FIRST_SEED + i
            save = i == 0
            reference = run(replace(base, seed=seed),
                            output_dir / f"reference_weno5_n{REFERENCE_N}.nc" if save else None)
            bar.update()
            if save:
                first["reference"] = reference
            for key in runs:
                scheme, label, n = key
                config = replace(base, host=HostConfig("burgers", n), scheme=scheme, seed=seed,
                                 model=str(model) if scheme == "learned" else None)
                result = run(config, output_dir / f"{scheme}_n{n}.nc" if save else None)
                errors[key].append(mae(result, reference))
                timing[key].append(result)
                if save:
                    first[key] = result
                bar.update()

    # mesh convergence of the reference itself: 512 vs 1024 cells, first forcing
    finer = run(replace(base, host=HostConfig("burgers", 2 * REFERENCE_N), seed=FIRST_SEED))
    ref_error = float(np.mean(np.abs(first["reference"].states - coarse_grain(finer.states, REFERENCE_N))))

    lines = [f"| scheme | n | resample factor | MAE (t <= {T_END:g}) | wall time (s) | ns / cell-stage | steps |",
             "|---|---|---|---|---|---|---|"]
    for key in runs:
        scheme, label, n = key
        results = timing[key]
        wall = np.mean([r.wall_seconds for r in results])
        ns = np.median([r.ns_per_cell_stage for r in results])
        steps = int(np.mean([r.nsteps for r in results]))
        lines.append(f"| {scheme} | {n} | {REFERENCE_N // n} ({label}) | {np.mean(errors[key]):.4f} "
                     f"| {wall:.3f} | {ns:.1f} | {steps} |")
    smallest = min(np.mean(e) for e in errors.values())
    note = (f"Reference check: WENO5 at {REFERENCE_N} vs {2 * REFERENCE_N} cells (coarse-grained) differ by "
            f"MAE {ref_error:.1e}, {smallest / ref_error:.0f}x below the smallest error in the table. "
            f"MAE is the mean over space, the "
            f"{len(first['reference'].times)} saved times and {seeds} forcings (seeds {FIRST_SEED}.."
            f"{FIRST_SEED + seeds - 1}); all runs CFL 0.5, SSP-RK3, zero initial state.")
    table = "\n".join(lines)
    print(table)
    print(note)
    (output_dir / "table.md").write_text(f"Regenerate: `hfc demo --output-dir {output_dir} --seeds {seeds}`\n\n"
                                         f"{table}\n\n{note}\n")
    plot(first, output_dir / "spacetime.png")
    print(f"wrote {output_dir}/table.md, {output_dir}/spacetime.png and netCDF files of the first forcing")
    return 0


def plot(first: dict, path: Path) -> None:
    """Space-time panels: the reference and each scheme on the coarse grid."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = GRIDS["coarse"]
    panels = [(f"reference WENO5, {REFERENCE_N} cells", first["reference"])]
    panels += [(f"{key[0]}, {n} cells (8x coarser)", result) for key, result in first.items()
               if key != "reference" and key[1] == "coarse"]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4.2), sharey=True, constrained_layout=True)
    vmax = float(np.abs(first["reference"].states).max())
    for ax, (title, result) in zip(axes, panels):
        m = result.states.shape[1]
        image = ax.imshow(result.states, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                          extent=[0, 2 * math.pi, result.times[0], result.times[-1]], interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("x")
    axes[0].set_ylabel("t")
    fig.colorbar(image, ax=axes, shrink=0.8, label="u")
    fig.suptitle(f"Forced Burgers (Bar-Sinai et al. 2019), forcing seed {FIRST_SEED}")
    fig.savefig(path, dpi=110)
    plt.close(fig)
