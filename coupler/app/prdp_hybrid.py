"""`hfc prdp --case hybrid`: train the neural-hybrid IMEX flux with PRDP and with converged
physics (training.prdp_hybrid), export the PRDP model with K_max in its metadata, and run
it in the Fortran host at K_max, K_epsilon and converged (the paper's outlook)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from coupler.io.atomic import save_figure, write_text
from export.onnx_export import export
from training import prdp_hybrid
from training.train import atomic_torch_save

MODEL = "advection_imex.onnx"


def run(out: Path, command: str, seeds: int, progress: bool = True,
        config: prdp_hybrid.HybridConfig = prdp_hybrid.HybridConfig()) -> str:
    result = prdp_hybrid.experiment(config, seeds, progress)
    model_dir = out / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    atomic_torch_save(result.model.state_dict(), model_dir / "model.pt")
    summary = prdp_hybrid.summary(config, result, command)
    write_text(model_dir / "model.json", json.dumps(summary, indent=2) + "\n")
    report = export(model_dir, out / MODEL)
    k_max = summary["imex"]["iterations"]
    host = prdp_hybrid.outlook(config, report.path, k_max, result.k_epsilon)
    runs = {"converged": [r.__dict__ for r in result.converged], "prdp": [r.__dict__ for r in result.prdp]}
    write_text(out / "results.json", json.dumps({"command": command, "k_epsilon": result.k_epsilon,
                                                  "savings": result.savings, "host": host, "runs": runs,
                                                  "torch_version": torch.__version__}))
    text = table(result, host, k_max, command)
    write_text(out / "table.md", text)
    plot(result, host, out / "figure.png")
    return text


def table(result: prdp_hybrid.HybridResult, host: dict, k_max: int, command: str) -> str:
    (cm, cs), (pm, ps) = ((np.mean(v), np.std(v)) for v in ([r.validation[-1] for r in runs]
                                                           for runs in (result.converged, result.prdp)))
    s = result.savings
    lines = [f"Neural-hybrid IMEX flux (advection-diffusion, 32 cells): {len(result.prdp)} seeds, "
             f"K_epsilon = {result.k_epsilon}.", "",
             "| training | final validation error (Eq. 56, converged physics) | K at the end |", "|---|---|---|",
             f"| converged (K = {result.k_epsilon}) | {cm:.2e} ± {cs:.1e} | {result.k_epsilon} |",
             f"| PRDP | {pm:.2e} ± {ps:.1e} | {', '.join(map(str, s['k_max']))} |", "",
             f"Savings in cumulative solver iterations (mean ± std over seeds): total {100 * s['total'][0]:.0f}% ± "
             f"{100 * s['total'][1]:.0f}%, IC {100 * s['ic'][0]:.0f}%, PR {100 * s['pr'][0]:.0f}%.", "",
             f"In the Fortran host (IMEX Euler, {host['samples']} unseen initial states, {host['steps']} steps; the "
             f"exported model is seed 0's, K_max = {k_max}; error Eq. 56 against the exact solution):", "",
             "| flux | K | error (mean over the rollout) | error at the end | µs per step |", "|---|---|---|---|---|"]
    lines += [f"| {r['scheme']} | {r['level']} = {r['k']} | {r['error_mean']:.2e} | {r['error_final']:.2e} | "
              f"{1e6 * r['seconds_per_step']:.1f} |" for r in host["rows"]]
    lines += ["", f"Python and Fortran backends bit-identical at K_max: {host['backends_bit_identical']}.", "",
              f"Regenerate: `{command}`", ""]
    return "\n".join(lines)


def plot(result: prdp_hybrid.HybridResult, host: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(13, 3.6))
    for runs, label, color in ((result.converged, f"K = {result.k_epsilon}", "C0"), (result.prdp, "PRDP", "C3")):
        v = np.array([r.validation for r in runs])
        a.semilogy(np.nanmedian(v, 0), color=color, label=label)
        b.plot(np.mean([r.cumulative for r in runs], 0), color=color, label=label)
    for r in result.prdp:
        c.plot(range(1, len(r.iterations) + 1), r.iterations, color="C3", lw=0.8)
    c.axhline(result.k_epsilon, color="gray", ls=":")
    a.set(xlabel="epoch", ylabel="validation error (median over seeds)", title="training")
    b.set(xlabel="epoch", ylabel="cumulative solver iterations", title="cost")
    c.set(xlabel="epoch", ylabel="K", title="PRDP's K per seed (dotted: K_eps)")
    a.legend()
    b.legend()
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
