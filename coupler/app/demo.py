"""`hfc demo` (the main job of `make demo`): forced Burgers of Bar-Sinai et al. (2019) in
the Fortran host at a coarse (64) and a fine (256) grid with the classical schemes, and on
the coarse grid with the committed learned model exported to ONNX, run three ways: by
onnxruntime through the Python callback, by libhfc's Fortran binding over the ONNX Runtime
C API (`--backend fortran`), and by the pure Fortran program of examples/02 (no Python in
the process). Everything is scored against WENO5 on 512 cells (the paper's "exact"
resolution, 8x finer than the coarse grid) coarse-grained by cell averaging; prints MAE,
survival time, wall time and cell updates per second, writes netCDF files, a markdown
table and a space-time PNG. Then the 2D part (coupler.app.demo2d): the paper's deformational
flow at 64^2, Van Leer against WENO5.
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import tempfile
import time as clock
from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np
from tqdm import tqdm

from coupler.errors import HfcError
from coupler.io.atomic import save_figure, write_text
from coupler.host import HostConfig
from coupler.learned import RuntimeConfig
from coupler.simulate import SimulationConfig, SimulationResult, run
from coupler.problems.forcing import random_forcing
from training.metrics import valid_simulation_time

REFERENCE_N = 512
GRIDS = {"coarse": 64, "fine": 256}       # resample factors 8 and 2
T_END, SAVE_EVERY = 15.0, 0.1             # the paper's MAE window: t <= 15
FIRST_SEED = 1000                         # forcings kept apart from training seeds
SCHEMES = ("godunov", "fv3", "weno5")      # the classical schemes of the table
REPO = Path(__file__).resolve().parent.parent
MODEL = "models/burgers/network/8x"
EXAMPLE = REPO / "examples" / "02_fortran_learned"


@dataclass(frozen=True)
class Row:
    """One line of the table: a scheme on a grid, run by some driver."""
    name: str
    scheme: str
    n: int
    backend: str = "python"   # python | fortran (learned through hfc) | program (examples/02)

    @property
    def label(self) -> str:
        return f"{REFERENCE_N // self.n}x ({'coarse' if self.n == GRIDS['coarse'] else 'fine'})"


def committed_model(relative: str = MODEL) -> Path | None:
    """A committed model folder (default the Burgers 8x model), beside the package or under
    the current folder when the package is installed elsewhere; None when not at hand."""
    for source in (REPO / relative, Path(relative)):
        if (source / "model.pt").is_file():
            return source
    return None


def learned_model(output_dir: Path, dtype: str = "float32", relative: str = MODEL) -> Path | None:
    """A committed model (default the Burgers 8x one) as ONNX, exported once into the output
    folder (again when model.pt is newer). None when the source tree's models are not at hand."""
    source = committed_model(relative)
    if source is None:
        return None
    stem = relative.removeprefix("models/").replace("/", "_")
    target = output_dir / (f"{stem}.onnx" if dtype == "float32" else f"{stem}_{dtype}.onnx")
    if not target.exists() or target.stat().st_mtime < (source / "model.pt").stat().st_mtime:
        from export.onnx_export import ExportConfig, export
        print(f"exporting {source} to {target}")
        export(source, target, ExportConfig(dtype))
    return target


def build_fortran_program(output_dir: Path) -> Path | None:
    """examples/02 compiled against the installed libhfc and libhfc_mpi (pkg-config hfc-mpi) and netCDF-Fortran;
    None (with the reason printed) when that is not possible here."""
    from coupler.paths import fortran_paths

    source = next((p.resolve() / "learned_host.f90" for p in (EXAMPLE, Path("examples/02_fortran_learned"))
                   if (p / "learned_host.f90").is_file()), None)
    if source is None or not shutil.which("gfortran") or not shutil.which("nf-config"):
        print("hfc demo: examples/02 or gfortran/nf-config not found; skipping the pure Fortran program")
        return None
    exe = (output_dir / "learned_host").resolve()
    env_flags = subprocess.run(["pkg-config", "--cflags", "--libs", "hfc-mpi"], capture_output=True, text=True,
                               env={**os.environ, "PKG_CONFIG_PATH": str(fortran_paths()["pkgconfig"])})
    nc_flags = subprocess.run(["nf-config", "--fflags", "--flibs"], capture_output=True, text=True)
    with tempfile.TemporaryDirectory() as modules:     # the program's own module file, not into the results
        build = subprocess.run(["gfortran", "-O2", f"-J{modules}", str(source), *env_flags.stdout.split(),
                                *nc_flags.stdout.split(), "-o", str(exe)], capture_output=True, text=True,
                               cwd=output_dir)
    if build.returncode != 0:
        print(f"hfc demo: building examples/02 failed, skipping it:\n{build.stderr}")
        return None
    return exe


def run_fortran_program(exe: Path, model: Path, seed: int, n: int, workdir: Path, output: Path) -> SimulationResult:
    """One run of the pure Fortran host; its wall time includes start-up, model load and output."""
    random_forcing(seed).write_namelist(workdir / "forcing.nml")
    write_text(workdir / "host.nml",
        f"&host\n n = {n}\n scheme = 'learned'\n model_file = '{model.resolve()}'\n t_end = {T_END}\n"
        f" save_every = {SAVE_EVERY}\n forcing_file = 'forcing.nml'\n output_file = '{output.resolve()}'\n/\n")
    start = clock.perf_counter()
    done = subprocess.run([str(exe), "host.nml"], capture_output=True, text=True, cwd=workdir)
    wall = clock.perf_counter() - start
    if done.returncode != 0:
        raise HfcError(f"examples/02 failed: {done.stderr.strip()}")
    with netCDF4.Dataset(output) as ds:
        return SimulationResult(ds["time"][:].data, ds["u"][:].data, int(ds.steps), wall)


def coarse_grain(states: np.ndarray, n: int) -> np.ndarray:
    """Cell averages of (time, N) fine states on n cells (N a multiple of n)."""
    return states.reshape(states.shape[0], n, -1).mean(axis=-1)


def mae(result: SimulationResult, reference: SimulationResult) -> float:
    """Mean absolute error over space and all saved times t <= T_END."""
    return float(np.mean(np.abs(result.states - coarse_grain(reference.states, result.states.shape[1]))))


def survival(result: SimulationResult, reference: SimulationResult) -> float:
    """The paper's valid simulation time (capped at T_END here)."""
    target = coarse_grain(reference.states, result.states.shape[1])
    return float(valid_simulation_time(result.states, target, result.times))


def main(output_dir: Path, seeds: int = 10) -> int:
    output_dir.mkdir(parents=True, exist_ok=True)
    base = SimulationConfig().but(host=HostConfig("burgers", REFERENCE_N), scheme="weno5",
                                  t_end=T_END, save_every=SAVE_EVERY, ic="zero")
    coarse, fine = GRIDS["coarse"], GRIDS["fine"]
    rows = [Row(s, s, coarse) for s in SCHEMES]
    model = learned_model(output_dir)
    program = build_fortran_program(output_dir) if model else None
    if model is None:
        print("hfc demo: models/burgers/network/8x not found (run from the repository root); skipping the learned runs")
    else:
        native = Row("learned (fortran binding)", "learned", coarse, "fortran")
        rows += [Row("learned (python callback)", "learned", coarse, "python"), native]
        if program:
            rows.append(Row("learned (pure Fortran program)", "learned", coarse, "program"))
    rows += [Row(s, s, fine) for s in SCHEMES]
    errors = {row: [] for row in rows}
    survivals = {row: [] for row in rows}
    results = {row: [] for row in rows}
    references = []
    first: dict = {}
    identical = True

    print(f"hfc demo: forced Burgers (L = 2 pi, eta = 0.01, t <= {T_END:g}), {seeds} unseen forcings, "
          f"reference WENO5 on {REFERENCE_N} cells")
    with tqdm(total=seeds * (len(rows) + 1), desc="runs", unit="run") as bar:
        for i in range(seeds):
            seed = FIRST_SEED + i
            save = i == 0
            reference = run(base.but(seed=seed),
                            output_dir / f"reference_weno5_n{REFERENCE_N}.nc" if save else None)
            references.append(reference)
            bar.update()
            if save:
                first["reference"] = reference
            for row in rows:
                stem = f"{row.scheme}_{row.backend}" if row.scheme == "learned" else row.scheme
                path = output_dir / f"{stem}_n{row.n}.nc"
                if row.backend == "program":
                    result = run_fortran_program(program, model, seed, row.n, output_dir, path)
                    identical &= bool(np.array_equal(result.states, results[native][-1].states))
                else:
                    config = base.but(host=HostConfig("burgers", row.n), scheme=row.scheme, seed=seed,
                                     model=str(model) if row.scheme == "learned" else None,
                                     runtime=RuntimeConfig(backend=row.backend))
                    result = run(config, path if save else None)
                errors[row].append(mae(result, reference))
                survivals[row].append(survival(result, reference))
                results[row].append(result)
                if save and row.backend != "program":
                    first[(row.name, row.n)] = result
                bar.update()

    # mesh convergence of the reference itself: 512 vs 1024 cells, first forcing
    finer = run(base.but(host=HostConfig("burgers", 2 * REFERENCE_N), seed=FIRST_SEED))
    ref_error = float(np.mean(np.abs(first["reference"].states - coarse_grain(finer.states, REFERENCE_N))))

    header = (f"| scheme | n | resample factor | MAE (t <= {T_END:g}) | survival time | wall time (s) "
              f"| cell updates / s | steps |")
    lines = [header, "|---|---|---|---|---|---|---|---|"]

    def line(name, n, label, mae_text, surv_text, runs):
        wall = np.mean([r.wall_seconds for r in runs])
        steps = int(np.mean([r.nsteps for r in runs]))
        updates = np.median([r.nsteps * n / r.wall_seconds for r in runs])
        return f"| {name} | {n} | {label} | {mae_text} | {surv_text} | {wall:.3f} | {updates:.3g} | {steps} |"

    for row in rows:
        lines.append(line(row.name, row.n, row.label, f"{np.mean(errors[row]):.4f}",
                          f"{np.median(survivals[row]):.1f}", results[row]))
    lines.append(line("weno5 (the reference)", REFERENCE_N, "1x", "0 (reference)", "-", references))
    smallest = min(np.mean(e) for e in errors.values())
    notes = [f"Reference check: WENO5 at {REFERENCE_N} vs {2 * REFERENCE_N} cells (coarse-grained) differ by "
             f"MAE {ref_error:.1e}, {smallest / ref_error:.0f}x below the smallest error in the table.",
             f"MAE is the mean over space, the {len(first['reference'].times)} saved times and {seeds} forcings "
             f"(seeds {FIRST_SEED}..{FIRST_SEED + seeds - 1}); survival time is the median over forcings of the "
             f"paper's valid simulation time, capped at t = {T_END:g}. All runs CFL 0.5, SSP-RK3, zero "
             "initial state; wall time is the time in the Fortran host (for the pure Fortran program: the "
             "whole process, start-up, model load and netCDF output included); cell updates / s = steps x n "
             "/ wall time."]
    if program:
        notes.append("The pure Fortran program's snapshots equal those of `--backend fortran` bit for bit: "
                     f"{'yes' if identical else 'NO'}.")
    table = "\n".join(lines)
    print(table)
    print("\n".join(notes))
    write_text(output_dir / "table.md", f"Regenerate: `hfc demo --output-dir {output_dir} --seeds {seeds}`\n\n"
                                         f"{table}\n\n" + "\n\n".join(notes) + "\n")
    plot(first, output_dir / "spacetime.png")
    print(f"wrote {output_dir}/table.md, {output_dir}/spacetime.png and netCDF files of the first forcing")
    parallel = mpi_check(output_dir, learned_model(output_dir, "float64") if model else None)
    from coupler.app import demo2d
    parallel_2d = demo2d.main(output_dir)
    return 0 if identical and parallel and parallel_2d else 1


def mpi_check(output_dir: Path, model: Path | None) -> bool:
    """The first forcing again on 2 MPI ranks (`mpirun -n 2 hfc simulate`), WENO5 and, when
    at hand, the learned model (exported in float64) through the Fortran binding: the files
    must equal the serial runs' bit for bit. Skipped (True) when mpirun is not installed."""
    if shutil.which("mpirun") is None:
        print("hfc demo: mpirun not found; skipping the 2-rank run")
        return True
    hfc = str(Path(sys.executable).parent / "hfc")
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    runs = {"weno5": ["--scheme", "weno5"]}
    if model is not None:
        runs["learned float64 (fortran binding)"] = ["--scheme", "learned", "--model", str(model), "--backend", "fortran"]
    same = True
    for name, scheme in runs.items():
        args = ["simulate", *scheme, "--n", str(GRIDS["coarse"]), "--t-end", repr(T_END), "--save-every",
                repr(SAVE_EVERY), "--seed", str(FIRST_SEED), "--quiet"]
        files = {ranks: output_dir / f"mpi_check_{ranks}rank.nc" for ranks in (1, 2)}
        subprocess.run([hfc, *args, "--output", str(files[1])], check=True, capture_output=True, env=env)
        done = subprocess.run(["mpirun", "-n", "2", hfc, *args, "--output", str(files[2])],
                              capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise HfcError(f"the 2-rank run failed: {done.stderr.strip()}")
        with netCDF4.Dataset(files[1]) as a, netCDF4.Dataset(files[2]) as b:
            equal = bool(np.array_equal(a["u"][:], b["u"][:]))
            gap = float(np.max(np.abs(a["u"][:] - b["u"][:])))
        same &= equal
        print(f"2 MPI ranks vs serial, {name} on {GRIDS['coarse']} cells: "
              + ("bit for bit identical" if equal else f"DIFFERENT (max {gap:.1e})"))
        print("\n".join(line for line in done.stdout.splitlines() if line.startswith("rank ")))
        for path in files.values():
            path.unlink()
    return same


def plot(first: dict, path: Path) -> None:
    """Space-time panels: the reference and each scheme on the coarse grid."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = GRIDS["coarse"]
    panels = [(f"reference WENO5, {REFERENCE_N} cells", first["reference"])]
    panels += [(f"{key[0]}, {n} cells (8x coarser)", result) for key, result in first.items()
               if key != "reference" and key[1] == n and "fortran" not in key[0]]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4.2), sharey=True, constrained_layout=True)
    vmax = float(np.abs(first["reference"].states).max())
    for ax, (title, result) in zip(axes, panels):
        image = ax.imshow(result.states, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                          extent=[0, 2 * math.pi, result.times[0], result.times[-1]], interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("x")
    axes[0].set_ylabel("t")
    fig.colorbar(image, ax=axes, shrink=0.8, label="u")
    fig.suptitle(f"Forced Burgers (Bar-Sinai et al. 2019), forcing seed {FIRST_SEED}")
    save_figure(fig, path, dpi=110)
    plt.close(fig)
