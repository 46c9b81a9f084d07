"""`hfc prdp --case ...`: run one of the PRDP paper's experiments and write its results
(results.json with every run's history, table.md, figure.png) into a folder."""
from __future__ import annotations

import json
import platform
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from coupler.io.atomic import save_figure, write_text
from training import prdp_emulator, prdp_poisson

CASES = ("poisson", *prdp_emulator.CASES)


def _provenance(command: str) -> dict:
    return {"command": command, "torch_version": torch.__version__, "python": platform.python_version()}


def _percent(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def poisson(out: Path, command: str, progress: bool = True) -> dict:
    """The five rows of the paper's table (Sec. 4.1): K_epsilon, the converged and the PRDP
    run's cumulative iterations to the target parameter error, the PR saving."""
    from tqdm import tqdm
    rows = [prdp_poisson.experiment(c) for c in tqdm(prdp_poisson.presets(), desc="prdp poisson", unit="row",
                                                     disable=not progress)]
    paper = {"1P jacobi unrolled": "33%", "3P jacobi unrolled": "48%", "3P jacobi implicit": "48%",
             "3P sd unrolled": "43%", "3P sd implicit": "43%"}
    lines = ["| problem | K_eps | converged: steps, iterations | PRDP: steps, iterations, final K | PR saving "
             "| paper |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        c, p = r["converged"], r["prdp"]
        lines.append(f"| {r['label']} | {r['k_epsilon']} | {c['steps_to_target']}, {c['iterations_to_target']} | "
                     f"{p['steps_to_target']}, {p['iterations_to_target']}, {p['iterations'][-1]} | "
                     f"{_percent(r['pr_saving'])} | {paper[r['label']]} |")
    target = prdp_poisson.PoissonInverseConfig().target
    write_text(out / "table.md", f"Poisson inverse problem: iterations until the relative parameter error is "
               f"below {target:g}.\n\n" + "\n".join(lines) + f"\n\nRegenerate: `{command}`\n")
    summary = {"provenance": _provenance(command), "rows": rows}
    write_text(out / "results.json", json.dumps(summary))
    _plot_poisson(rows, out / "figure.png")
    return summary


def _plot_poisson(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(rows), figsize=(4 * len(rows), 3.4), squeeze=False)
    for ax, r in zip(axes[0], rows):
        for name, style in (("converged", "C0"), ("prdp", "C1")):
            run = r[name]
            ax.semilogy(np.cumsum(run["iterations"]), run["parameter_error"], style,
                        label=f"{'K_eps' if name == 'converged' else 'PRDP'}")
        ax.axhline(r["config"]["target"], color="gray", lw=0.6, ls=":")
        ax.set(title=r["label"], xlabel="cumulative solver iterations", ylabel="relative parameter error")
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def emulator(name: str, out: Path, command: str, seeds: int, sweep: bool = True, smoothing: int | None = None,
             progress: bool = True, resume: bool = False) -> dict:
    """The converged baseline, PRDP and (if `sweep`) the fixed-K sweep of one emulator case
    (each finished training kept in out/runs/, taken up again with `resume`)."""
    case = prdp_emulator.CASES[name]
    if smoothing:
        case = replace(case, prdp=replace(case.prdp, smoothing=smoothing))
    summary = prdp_emulator.experiment(case, seeds, sweep=sweep, progress=progress, runs_dir=out / "runs",
                                       resume=resume)
    summary["provenance"] = _provenance(command)
    s, k_eps = summary["savings"], summary["k_epsilon"]
    sweep_rows = "\n".join(f"| {k} | {m:.4f} ± {sd:.4f} |" for k, (m, sd) in summary["sweep"].items())
    text = (f"{name}: {seeds} seeds; K_epsilon = {k_eps}; PRDP {case.prdp}.\n\n"
            "| training | final validation error (Eq. 56, mean ± std) | K at the end | mean seconds per run |\n"
            "|---|---|---|---|\n"
            f"| converged (K = {k_eps}) | {summary['converged_error'][0]:.4f} ± {summary['converged_error'][1]:.4f} | "
            f"{k_eps} | {summary['seconds']['converged']:.1f} |\n"
            f"| PRDP | {summary['prdp_error'][0]:.4f} ± {summary['prdp_error'][1]:.4f} | "
            f"{', '.join(map(str, s['k_max']))} | {summary['seconds']['prdp']:.1f} |\n\n"
            f"Savings in cumulative solver iterations (mean ± std over seeds): total {_percent(s['total'][0])} ± "
            f"{_percent(s['total'][1])}, IC {_percent(s['ic'][0])}, PR {_percent(s['pr'][0])}.\n\n"
            + (f"Fixed-K sweep (Fig. 4):\n\n| K | final validation error |\n|---|---|\n{sweep_rows}\n\n"
               if sweep else "")
            + f"Regenerate: `{command}`\n")
    write_text(out / "table.md", text)
    write_text(out / "results.json", json.dumps(summary))
    _plot_emulator(summary, out / "figure.png")
    return summary


def _plot_emulator(summary: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    runs, k_eps = summary["runs"], summary["k_epsilon"]
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(13, 3.6))
    groups = {}
    for r in runs:
        groups.setdefault(r["fixed_k"], []).append(r)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(groups)))
    for (k, rs), color in zip(sorted(groups.items(), key=lambda kv: -1 if kv[0] is None else kv[0]), colors):
        v = np.array([r["validation"] for r in rs])
        label = "PRDP" if k is None else f"K = {k}"
        style = dict(color="C3", lw=2) if k is None else dict(color=color, lw=2 if k == k_eps else 0.8)
        a.semilogy(v.mean(0), label=label, **style)
        if k is None or k == k_eps:
            b.plot(np.array([r["cumulative"] for r in rs]).mean(0), label=label, **style)
        if k is None:
            for r in rs:
                c.plot(range(1, len(r["iterations"]) + 1), r["iterations"], color="C3", lw=0.8, alpha=0.7)
    a.set(xlabel="epoch", ylabel="validation error (Eq. 56)", title=f"{summary['case']}: mean over seeds")
    a.legend(fontsize=6, ncol=2)
    b.set(xlabel="epoch", ylabel="cumulative solver iterations", title="cost")
    b.legend(fontsize=8)
    c.axhline(k_eps, color="gray", ls=":", label="K_eps")
    c.set(xlabel="epoch", ylabel="K", title="PRDP's refinement per seed")
    c.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def run(case: str, out: Path, command: str, seeds: int = 5, sweep: bool = True, smoothing: int | None = None,
        progress: bool = True, resume: bool = False) -> str:
    """One experiment into `out`; its table's text."""
    out.mkdir(parents=True, exist_ok=True)
    if case == "poisson":
        poisson(out, command, progress)
    else:
        emulator(case, out, command, seeds, sweep, smoothing, progress, resume)
    return (out / "table.md").read_text()
