"""`hfc bench --front`: the accuracy-for-cost front of the learned schemes (Burgers, KS, KdV).

Every trained 8x model (models/burgers/{network,network-paper,constant-godunov}/8x and the
sweep in models/burgers-front/<name>/8x) is exported (float32, the lean graph) and run in
the Fortran host (the native binding, ONNX Runtime with one thread; constant stencils
natively) beside WENO5 at several resolutions, side by side in one process:

- `64 cells`: the paper's domain [0, 2 pi) at the models' dx (64 cells), WENO5 on 64,
  128 and 256 cells, scored against WENO5 on 1024 cells;
- `4096 cells`: a domain 64 times longer at the same dx (4096 cells, forcing wavenumbers
  scaled as in the paper's 10x test, training.evaluate.EvalConfig.forcing), WENO5 on 4096
  to 32768 cells, against WENO5 on 65536 cells.
A failed run (the scheme blew up) is "diverged". Then KS and KdV (pde_front): the
committed network models at factors 2-16 beside the polynomial stencil, their classical
scheme, on the fine grid and each factor's grid, against the spectral reference.

Error: the mean absolute error against the coarse-grained reference over t <= 15 (the
paper's window, snapshots every 0.5), mean over the unseen forcings. Cost: the wall time
of the host's time loop (the median over the forcings). A model trained for a host method
and Courant number (model.json train.integrator / courant) runs in that method at that
Courant number (an SSP-RK3 one trained above 0.5 also at 0.5, "@C0.5"), the others in
SSP-RK3 at CFL 0.5, as WENO5; every network model under SSP-RK3 runs a second time with
coefficient reuse ("+reuse": the network once per step, its stencils applied natively at
stages 2 and 3, hfc_learned); the best row within WENO5's range is timed again with its
WENO5 bracket in interleaved repeats (confirm); a last table measures the stability range
(MAE at Courant numbers 0.5-2) of WENO5 and some models. "WENO5 x" is the time WENO5 takes at the model's
error (log-log interpolation between its resolutions; beyond them a bound, >= or <=)
divided by the model's time: > 1 means the learned scheme pays for itself.
"""
from __future__ import annotations

import json
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from coupler.app.demo import REPO, coarse_grain, committed_model
from coupler.errors import HfcError
from coupler.host import Host, HostConfig, TimeConfig
from coupler.io.atomic import save_figure, write_text
from coupler.learned import FortranLearnedFlux, RuntimeConfig

T_END, SAVE_EVERY = 15.0, 0.5
COMMITTED = {"L3C32": "models/burgers/network/8x", "L3C32-paper": "models/burgers/network-paper/8x",
             "constant-godunov": "models/burgers/constant-godunov/8x"}
SWEEP = "models/burgers-front"
# a model of the time derivative run in a single-stage host: what legacy hosts do today
VARIANTS = {"L3C32 in forward Euler": ("L3C32", "euler", 0.5)}
REUSE = " +reuse"               # label suffix of a run with coefficient reuse across the RK stages
# the stability range: these models and WENO5 under SSP-RK3 at growing Courant numbers (64 cells)
STABILITY = ("L3C32", "L2C8", "ssprk3-C1-L3C16", "ssprk3-C1-L3C16-k3", "ssprk3-C1-L2C8")
COURANTS = (0.5, 1.0, 1.25, 1.5, 2.0)
# KS and KdV: the committed network models at these factors against the polynomial stencil
PDE_FACTORS, PDE_RUNS = (2, 4, 8, 16), 3
PDE_NAMES = {"ks": "KS", "kdv": "KdV"}
CONFIRM_REPEATS = 5          # interleaved repeats of the best row and its WENO5 bracket


@dataclass(frozen=True)
class Domain:
    """One comparison: the learned grid `cells`, WENO5 `weno` grids, the reference grid."""
    name: str
    multiple: int               # domain length in units of the paper's 2 pi
    cells: int                  # the learned models' grid (their dx)
    weno: tuple[int, ...]
    reference: int
    seeds: int


# references 4x (64 cells) and 2x (4096 cells) finer than WENO5's finest run: a reference
# close to a run understates that run's error (at 2x a little, in WENO5's favour)
DOMAINS = (Domain("64 cells", 1, 64, (64, 128, 256), 1024, 3),
           Domain("4096 cells", 64, 4096, (4096, 8192, 16384, 32768), 65536, 1))


@dataclass(frozen=True)
class Row:
    label: str
    cells: int
    method: str
    cfl: float
    mae: float
    seconds: float
    ns_per_cell_stage: float
    flops_per_cell: int | None = None
    speedup: float | None = None  # the classical scheme's time at this error / this time ("WENO5 x")
    bound: str = ""              # ">=" / "<=": the ratio is a bound (the error lies beyond the classical runs)
    reuse: bool = False          # the network once per step (coefficient reuse)
    classical: bool = False      # a row of the classical scheme the others are measured against


def models() -> dict[str, tuple[Path, str, float]]:
    """label -> (folder, host method, Courant number) of every model on the front."""
    folders = {label: committed_model(rel) for label, rel in COMMITTED.items()}
    sweep = next((root / SWEEP for root in (REPO, Path.cwd()) if (root / SWEEP).is_dir()), None)
    folders.update({p.parent.name: p for p in sorted(sweep.glob("*/8x")) if (p / "model.pt").is_file()} if sweep else {})
    out = {}
    for label, folder in folders.items():
        if folder is None:
            continue
        train = json.loads((folder / "model.json").read_text())["train"]
        declared = train.get("courant", 0.0)
        out[label] = (folder, train.get("integrator", "ssprk3") if declared else "ssprk3", declared or 0.5)
    return out


def run(provider, host_config: HostConfig, time_config: TimeConfig, forcing=None, u0: np.ndarray | None = None,
        times: np.ndarray | None = None) -> tuple[np.ndarray, float, int]:
    """States at the snapshots `times` (T, n; default every SAVE_EVERY up to T_END), host
    seconds, steps: one run from u0 (default 0). A run that fails (a non-finite flux or
    state: the scheme blew up) has NaN states from there on."""
    times = np.arange(0.0, T_END + 1e-9, SAVE_EVERY) if times is None else times
    n = host_config.n
    host = Host(host_config, provider, forcing, time_config)
    states, u, seconds, steps = np.full((len(times), n), np.nan), np.zeros(n) if u0 is None else u0, 0.0, 0
    states[0] = u
    for i, (t0, t1) in enumerate(zip(times, times[1:]), start=1):
        start = time.perf_counter()
        try:
            u, k = host.advance(u, t0, t1)
        except HfcError:
            break
        seconds += time.perf_counter() - start
        steps += k
        states[i] = u
    host.close()
    return states, seconds, max(steps, 1)


def burgers(n: int, domain: "Domain", method: str = "ssprk3", cfl: float = 0.5) -> tuple[HostConfig, TimeConfig]:
    """The forced Burgers host of a domain on n cells, and its time stepping."""
    return HostConfig("burgers", n, 2 * np.pi * domain.multiple), TimeConfig(cfl=cfl, method=method)


def equal_error_time(points: list[tuple[float, float]], error: float) -> float | None:
    """Wall time of the classical scheme at `error`, log-log interpolated between its
    (error, seconds) points; None outside their range."""
    points = sorted(points, key=lambda p: -p[0])
    for (e1, w1), (e2, w2) in zip(points, points[1:]):
        if e2 <= error <= e1:
            s = np.log(error / e1) / np.log(e2 / e1)
            return float(np.exp(np.log(w1) + s * np.log(w2 / w1)))
    return None


def measure(domain: Domain, entries: dict[str, tuple], progress: bool) -> list[Row]:
    """Every entry (label -> provider, cells, method, cfl, flops) on the domain's forcings;
    the WENO5 rows are the classical ones."""
    from training.evaluate import EvalConfig

    forcings = EvalConfig(domain=domain.multiple, runs=domain.seeds).forcing
    errors: dict[str, list[float]] = {k: [] for k in entries}
    walls: dict[str, list[tuple[float, int]]] = {k: [] for k in entries}
    bar = tqdm(total=domain.seeds * (len(entries) + 1), desc=f"front {domain.name}", disable=not progress)
    for i in range(domain.seeds):
        forcing = forcings(i)
        reference, _, _ = run("weno5", *burgers(domain.reference, domain), forcing)
        bar.update()
        for label, (provider, n, method, cfl, _) in entries.items():
            states, seconds, steps = run(provider, *burgers(n, domain, method, cfl), forcing)
            errors[label].append(float(np.mean(np.abs(states - coarse_grain(reference, n)))))
            walls[label].append((seconds, steps))
            bar.update()
    bar.close()
    return with_ratios([summary(label, entry, errors[label], walls[label], label.startswith("WENO5"))
                        for label, entry in entries.items()])


def summary(label: str, entry: tuple, errors: list[float], walls: list[tuple[float, int]], classical: bool) -> Row:
    """The row of one scheme: mean error, median host time and ns per cell-stage."""
    _, n, method, cfl, flops = entry
    stages = 3 if method == "ssprk3" else 1
    per = statistics.median(s / (stages * k * n) for s, k in walls) * 1e9
    return Row(label, n, method, cfl, float(np.mean(errors)), statistics.median(s for s, _ in walls), per, flops,
               reuse=label.endswith(REUSE), classical=classical)


def with_ratios(rows: list[Row]) -> list[Row]:
    """Each non-classical row with the classical scheme's time at its error over its own;
    beyond the classical resolutions a bound: below their smallest error the classical
    scheme needs at least its finest run's time (>=), above their largest at most its
    coarsest run's (<=)."""
    measured = [(r.mae, r.seconds) for r in rows if r.classical and np.isfinite(r.mae)]
    # the classical front: runs no other run beats in both error and time (a coarser grid can
    # be more accurate, as the polynomial stencil for KdV on 16 vs 64 cells)
    points = [p for p in measured if not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in measured)]

    def ratio(r: Row) -> Row:
        equal = equal_error_time(points, r.mae)
        if equal is not None:
            return replace(r, speedup=equal / r.seconds)
        finest, coarsest = min(points), max(points)
        bound, time = (">=", finest[1]) if r.mae < finest[0] else ("<=", coarsest[1])
        return replace(r, speedup=time / r.seconds, bound=bound)

    return [r if r.classical or not np.isfinite(r.mae) else ratio(r) for r in rows]


def confirm(domain: Domain, rows: list[Row], entries: dict[str, tuple]) -> list[str]:
    """The best row within WENO5's range (largest "WENO5 x") and the two WENO5 runs around
    its error, timed again in CONFIRM_REPEATS interleaved repeats (the first forcing): the
    ratio of the median times, the figure to quote (one run of a scheme is one sample of a
    noisy clock). The errors are those measured (deterministic)."""
    from training.evaluate import EvalConfig

    inside = [r for r in rows if not r.classical and r.speedup is not None and not r.bound]
    weno = sorted((r for r in rows if r.classical), key=lambda r: r.mae)
    if not inside:
        return []
    best = max(inside, key=lambda r: r.speedup)
    low, high = next((a, b) for a, b in zip(weno, weno[1:]) if a.mae <= best.mae <= b.mae)
    forcing = EvalConfig(domain=domain.multiple, runs=1).forcing(0)
    times: dict[str, list[float]] = {best.label: [], low.label: [], high.label: []}
    for _ in range(CONFIRM_REPEATS):
        for label in times:
            provider, n, method, cfl, _ = entries[label]
            times[label].append(run(provider, *burgers(n, domain, method, cfl), forcing)[1])
    median = {label: statistics.median(t) for label, t in times.items()}

    def ratio(model: float, a: float, b: float) -> float:
        return equal_error_time([(low.mae, a), (high.mae, b)], best.mae) / model

    each = [ratio(m, a, b) for m, a, b in zip(times[best.label], times[low.label], times[high.label])]
    return ["", f"Confirmed ({domain.name}; {CONFIRM_REPEATS} interleaved repeats, median host seconds): "
            f"{best.label} {median[best.label]:.3g}, {low.label} {median[low.label]:.3g}, {high.label} "
            f"{median[high.label]:.3g}: WENO5 x = {ratio(median[best.label], median[low.label], median[high.label]):.2f} "
            f"(per repeat {min(each):.2f}-{max(each):.2f})."]


def stability(domain: Domain, learned: dict[str, tuple]) -> list[str]:
    """MAE under SSP-RK3 at each of COURANTS on the domain's forcings, for WENO5 and the
    STABILITY models (with and without coefficient reuse): where each scheme stays stable.
    Models run beyond their declared Courant number here on purpose (no check_host); a run
    that blows up is "diverged"."""
    from training.evaluate import EvalConfig

    forcings = [EvalConfig(domain=domain.multiple, runs=domain.seeds).forcing(i) for i in range(domain.seeds)]
    references = [coarse_grain(run("weno5", *burgers(domain.reference, domain), f)[0], domain.cells)
                  for f in forcings]
    schemes = {"WENO5": ("weno5", "-")}
    for label in STABILITY:
        if label in learned:
            model, _, cfl, _ = learned[label]
            schemes[label] = (model.provider(), f"{cfl:g}")
            schemes[label + REUSE] = (replace(model.provider(), reuse=True), f"{cfl:g}")
    lines = [f"\nStability range ({domain.name}, SSP-RK3; MAE (t <= 15) at each Courant number, "
             f"{domain.seeds} forcings):", "",
             "| scheme | trained at Courant | " + " | ".join(f"C = {c:g}" for c in COURANTS) + " |",
             "|---|---|" + "---|" * len(COURANTS)]
    for label, (provider, trained) in schemes.items():
        cells = []
        for c in COURANTS:
            error = np.mean([np.mean(np.abs(run(provider, *burgers(domain.cells, domain, cfl=c), f)[0] - ref))
                             for f, ref in zip(forcings, references)])
            cells.append(f"{error:.2e}" if np.isfinite(error) and error < 1 else "diverged")
        lines.append(f"| {label} | {trained} | " + " | ".join(cells) + " |")
    return lines


def table(heading: str, rows: list[Row], classical: str = "WENO5", window: str = "t <= 15") -> list[str]:
    """The markdown table of one front, best error first."""
    lines = [f"\n### {heading}", "",
             f"| scheme | cells | time stepping | CFL | FLOP/cell | MAE ({window}) | host s | ns/cell-stage | "
             f"{classical} x |", "|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: r.mae if np.isfinite(r.mae) else np.inf):
        speed = "-" if r.speedup is None else f"{r.bound}{r.speedup:.2f}"
        error = f"{r.mae:.2e}" if np.isfinite(r.mae) else "diverged"
        method = r.method + (", reuse" if r.reuse else "")
        lines.append(f"| {r.label} | {r.cells} | {method} | {r.cfl:g} | {r.flops_per_cell or '-'} | {error} "
                     f"| {r.seconds:.3g} | {r.ns_per_cell_stage:.0f} | {speed} |")
    return lines


def heading(domain: Domain) -> str:
    return (f"{domain.name} (domain {domain.multiple} x 2 pi; reference WENO5 on {domain.reference} cells, "
            f"{domain.seeds} unseen forcing{'s' if domain.seeds > 1 else ''})")


def figure(panels: dict[str, list[Row]], path: Path) -> None:
    """Error against host time, one panel per front: the classical scheme's line, the
    learned models by time stepping and reuse."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(len(panels), 2)
    rows_of_panels = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows_of_panels, columns, figsize=(7 * columns, 5.5 * rows_of_panels), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (title, rows) in zip(axes.flat, panels.items()):
        classical = sorted((r for r in rows if r.classical), key=lambda r: r.cells)
        ax.plot([r.seconds for r in classical], [r.mae for r in classical], "k-o", label=classical[0].label.split()[0])
        for r in classical:
            ax.annotate(str(r.cells), (r.seconds, r.mae), textcoords="offset points", xytext=(4, 4), fontsize=7)
        styles = {("ssprk3", False): ("o", "C0", "learned, SSP-RK3"), ("euler", False): ("s", "C2", "learned, forward Euler"),
                  ("ssprk3", True): ("^", "C1", "learned, SSP-RK3, network once per step")}
        for (method, reuse), (marker, color, legend) in styles.items():
            learned = [r for r in rows if not r.classical and np.isfinite(r.mae) and r.method == method
                       and r.reuse == reuse]
            if learned:
                ax.plot([r.seconds for r in learned], [r.mae for r in learned], marker, color=color, label=legend)
            for r in learned:
                ax.annotate(r.label, (r.seconds, r.mae), textcoords="offset points", xytext=(4, -8), fontsize=6)
        ax.set(xscale="log", yscale="log", xlabel="host wall time (s)", ylabel="MAE", title=title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=130)
    plt.close(fig)


def entries(domain: Domain, learned: dict[str, tuple]) -> dict[str, tuple]:
    """label -> (provider, cells, method, cfl, flops) of the domain's runs: WENO5 at its
    resolutions, every learned model in its method at its Courant number (and one trained
    for a larger one also at the host's default 0.5, "@C0.5"), the VARIANTS, and each
    network model under SSP-RK3 once more with coefficient reuse. The host's refusals run
    first."""
    out = {f"WENO5 {n}": ("weno5", n, "ssprk3", 0.5, None) for n in domain.weno}
    for label, (model, method, cfl, flops) in learned.items():
        # a model trained for a larger Courant number runs at the host's default too
        runs = [(label, cfl)] + ([(f"{label} @C0.5", 0.5)] if method == "ssprk3" and cfl > 0.5 else [])
        for name, courant in runs:
            out[name] = (model.provider(), domain.cells, method, courant, flops)
            if method == "ssprk3" and "stencils_form" in model.metadata:
                out[name + REUSE] = (replace(model.provider(), reuse=True), domain.cells, method, courant, flops)
    out.update({label: (learned[base][0].provider(), domain.cells, method, cfl, learned[base][3])
                for label, (base, method, cfl) in VARIANTS.items() if base in learned})
    for label, (provider, n, method, cfl, _) in out.items():
        if not label.startswith("WENO5"):
            provider.owner.check_host(HostConfig("burgers", n, 2 * np.pi * domain.multiple),
                                      TimeConfig(cfl=cfl, method=method))
    return out


def pde_front(equation: str, tmp: Path, progress: bool) -> tuple[str, list[Row], str]:
    """KS or KdV (no forcing; the paper's random initial conditions, unseen seeds): each
    committed network model (models/<equation>/network/<f>x, exported lean) in the host
    with and without coefficient reuse, beside the polynomial stencil (these equations'
    classical scheme) on the fine grid and each factor's grid; reference: the spectral
    solver on the fine grid (training.evaluate.reference); MAE over the paper's window.
    Returns the table's heading, the rows and the window."""
    from export.onnx_export import export
    from training.evaluate import MAE_WINDOW, EvalConfig, reference

    window = MAE_WINDOW[equation]
    folders = {f: committed_model(f"models/{equation}/network/{f}x") for f in PDE_FACTORS}
    folders = {f: folder for f, folder in folders.items() if folder is not None}
    config = EvalConfig(equation, runs=PDE_RUNS, t_max=window, save_every=window / 10, factors=PDE_FACTORS)
    fine = reference(config, progress=False)                       # (runs, T, n_fine) cell averages
    time_config = TimeConfig(cfl=0.5)
    entries = {f"polynomial {config.n_fine // f}": ("polynomial", config.n_fine // f, "ssprk3", 0.5, None)
               for f in (1, *PDE_FACTORS)}
    models = []
    try:
        for f, folder in folders.items():
            exported = export(folder, tmp / f"{equation}-{f}x.onnx")
            models.append(FortranLearnedFlux(exported.path, RuntimeConfig(backend="fortran", threads=1)))
            n, flops = config.n_fine // f, int(exported.metadata["flops_per_cell"])
            models[-1].check_host(HostConfig(equation, n), time_config)
            entries[f"network {f}x"] = (models[-1].provider(), n, "ssprk3", 0.5, flops)
            entries[f"network {f}x" + REUSE] = (replace(models[-1].provider(), reuse=True), n, "ssprk3", 0.5, flops)
        errors: dict[str, list[float]] = {k: [] for k in entries}
        walls: dict[str, list[tuple[float, int]]] = {k: [] for k in entries}
        for i in tqdm(range(config.runs), desc=f"front {equation}", disable=not progress):
            for label, (provider, n, *_) in entries.items():
                target = coarse_grain(fine[i], n)
                states, seconds, steps = run(provider, HostConfig(equation, n), time_config, None, target[0].copy(),
                                             config.times)
                errors[label].append(float(np.mean(np.abs(states - target))))
                walls[label].append((seconds, steps))
    finally:
        for model in models:
            model.close()
    rows = with_ratios([summary(label, entry, errors[label], walls[label], label.startswith("polynomial"))
                        for label, entry in entries.items()])
    return (f"{PDE_NAMES[equation]} (domain {config.length:g}; reference: spectral on "
            f"{config.n_fine} points; {config.runs} unseen initial conditions)"), rows, f"t <= {window:g}"


def report(lines: list[str]) -> list[str]:
    """Print a table as soon as it is measured; return it for the file."""
    print("\n".join(lines), flush=True)
    return lines


def main(out: Path = Path("results/burgers-front"), progress: bool = True) -> int:
    from export.onnx_export import export

    found = models()
    if not found:
        raise HfcError("no trained 8x Burgers models found (models/burgers/*/8x, models/burgers-front/*/8x); run "
                       "`hfc bench --front` from the repository root")
    results: dict[str, list[Row]] = {}
    panels: dict[str, list[Row]] = {}
    lines = ["hfc bench --front: learned Burgers schemes (8x, float32 lean ONNX, Fortran binding, 1 thread; "
             "constant stencils native) vs WENO5 in the Fortran host; then KS and KdV against the polynomial stencil"]
    with tempfile.TemporaryDirectory() as tmp:
        learned = {}
        try:
            for label, (folder, method, cfl) in tqdm(found.items(), desc="export", disable=not progress):
                exported = export(folder, Path(tmp) / f"{label}.onnx")
                learned[label] = (FortranLearnedFlux(exported.path, RuntimeConfig(backend="fortran", threads=1)),
                                  method, cfl, int(exported.metadata["flops_per_cell"]))
            for domain in DOMAINS:
                runs = entries(domain, learned)
                results[domain.name] = measure(domain, runs, progress)
                panels[f"Burgers, learned at 8x vs WENO5: {domain.name}"] = results[domain.name]
                lines += report(table(heading(domain), results[domain.name]))
                lines += report(confirm(domain, results[domain.name], runs))
            lines += report(stability(DOMAINS[0], learned))
        finally:
            for model, *_ in learned.values():
                model.close()
        for equation in ("ks", "kdv"):
            title, results[equation], window = pde_front(equation, Path(tmp), progress)
            panels[f"{PDE_NAMES[equation]}: learned at 2-16x vs polynomial"] = results[equation]
            lines += report(table(title, results[equation], "polynomial", window))
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "front.md", "\n".join(lines) + f"\n\nRegenerate: `hfc bench --front --out {out}` (from the "
               "repository root; writes front.md, front.json, front.png).\n")
    write_text(out / "front.json", json.dumps({k: [asdict(r) for r in v] for k, v in results.items()}, indent=1))
    figure(panels, out / "front.png")
    print(f"wrote {out}/front.md, front.json, front.png")
    return 0
