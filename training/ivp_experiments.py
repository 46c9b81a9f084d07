"""The Neural-IVP experiments (Finzi et al. 2023, Sec. 4.3, 5 and appendix B) at a CPU scale:
`hfc neural-ivp --pde advection|heat|wave|fokker-planck`.

Per PDE, Neural-IVP with and without restarts and EDNN (Du & Zaki 2021: its 4 x 30 tanh
network, no embedding, no head tuning, plain CG) run through the same solver, each from its
own fit of the initial condition (same seed). Recorded: the relative L2 error against the
analytic solution (advection, heat, wave) on fixed test points at the output times, the
relative PDE residual ||J dtheta - f|| / ||f|| of every step's solve, CG iterations and
Nystrom's largest eigenvalue of M over time (the paper's Fig. 1 and 3), wall time; for the
wave equation also the paper's finite-difference solution (training.ivp_reference) on the
same test points (its grid's nodes).

The presets (`CASES`) are what fits a two-core CPU in minutes: fewer samples, narrower
networks and shorter fits than the paper's appendix C; the table states each.
"""
from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from coupler.io.atomic import save_figure

from training.ivp_ansatz import Ansatz, AnsatzConfig, ednn
from training.ivp_pdes import Advection, FokkerPlanck, Gaussian, Heat, Wave, relative_l2, uniform_box
from training.ivp_reference import grid_nodes, wave_finite_differences
from training.ivp_solver import IVPConfig, Trajectory, evaluate, evolve, fit


@dataclass(frozen=True)
class Case:
    """One experiment: the PDE, its domain (sampled uniformly; `dirichlet`: u = 0 on the
    faces by the boundary factor), the run's end, and the CPU-scale method settings."""

    pde: object
    dim: int
    box: tuple[float, float]
    dirichlet: bool
    t_end: float
    hidden: int
    solver: IVPConfig
    evaluations: int = 5                    # evaluation times over the run (after t = 0)
    test_points: int = 20_000
    fd_nodes: int = 0                       # > 0: the finite-difference reference on this many nodes per axis
    compare_restarts: bool = True           # also run Neural-IVP without restarts

    def ansatz(self, baseline: bool = False) -> AnsatzConfig:
        box = self.box if self.dirichlet else None
        k = getattr(self.pde, "outputs", 1)
        return ednn(self.dim, box, k) if baseline else AnsatzConfig(self.dim, hidden=self.hidden, box=box, outputs=k)

    def describe(self) -> str:
        return (f"{type(self.pde).__name__.lower()} in {self.dim}D on [{self.box[0]}, {self.box[1]}]^{self.dim}"
                f"{' (u = 0 on the faces)' if self.dirichlet else ''}, t in [0, {self.t_end}]")


CASES = {
    "advection": Case(Advection((1.0, 0.5), Gaussian((-0.3, -0.2), 0.25)), 2, (-1.5, 1.5), False, 0.3, 32,
                      IVPConfig(samples=1000, rank=200, rtol=1e-3, fit_steps=1500, fit_samples=1000, restarts=3)),
    "heat": Case(Heat(0.05, Gaussian((0.0, 0.0), 0.3)), 2, (-1.5, 1.5), False, 0.3, 32,
                 IVPConfig(samples=1000, rank=200, rtol=1e-3, fit_steps=1500, fit_samples=1000, restarts=3)),
    "wave": Case(Wave(), 3, (-1.0, 1.0), True, 0.15, 32,
                 IVPConfig(samples=1500, rank=100, rtol=3e-3, fit_steps=3000, fit_samples=12000, restarts=0),
                 fd_nodes=100, compare_restarts=False),
    "fokker-planck": Case(FokkerPlanck(), 8, (-1.0, 1.0), True, 0.25, 32,
                          IVPConfig(samples=1000, rank=200, rtol=1e-3, fit_steps=1000, fit_samples=1000, restarts=3)),
}


def methods(case: Case) -> dict[str, tuple[AnsatzConfig, IVPConfig]]:
    """Neural-IVP with and without restarts, and EDNN through the same code with the
    method's parts switched off."""
    runs = {"Neural-IVP": (case.ansatz(), case.solver)}
    if case.compare_restarts:
        runs["Neural-IVP, no restarts"] = (case.ansatz(), replace(case.solver, restarts=0))
    runs["EDNN"] = (case.ansatz(baseline=True), replace(case.solver, rank=0, restarts=0, head_tuning=False))
    return runs


def test_points(case: Case) -> torch.Tensor:
    """Fixed evaluation points: the finite-difference grid's nodes, else uniform samples."""
    if case.fd_nodes:
        g = torch.as_tensor(grid_nodes(case.fd_nodes))
        return torch.stack(torch.meshgrid(*([g] * case.dim), indexing="ij"), -1).reshape(-1, case.dim)
    return uniform_box(case.dim, *case.box)(case.test_points, torch.Generator().manual_seed(123))


def _evaluate(module: Ansatz, theta: torch.Tensor, x: torch.Tensor, chunk: int = 200_000) -> torch.Tensor:
    return torch.cat([evaluate(module, theta, x[i:i + chunk]) for i in range(0, len(x), chunk)])


def _error(case: Case, prediction: torch.Tensor, x: torch.Tensor, t: float) -> float | None:
    """Relative L2 error of u (the first component, phi, for the wave equation)."""
    if case.pde.exact is None:
        return None
    exact = case.pde.exact(x, t)
    first = (lambda a: a[:, 0]) if exact.ndim == 2 else (lambda a: a)
    return relative_l2(first(prediction), first(exact))


@dataclass
class MethodResult:
    ansatz: AnsatzConfig
    config: IVPConfig
    parameters: int
    times: list[float]
    errors: list[float | None]
    trajectory: Trajectory = field(repr=False)
    fit_seconds: float = 0.0

    def summary(self) -> dict:
        t = self.trajectory
        return {"parameters": self.parameters, "times": self.times, "errors": self.errors, "steps": t.steps,
                "refits": t.refits, "seconds": t.seconds, "fit_seconds": self.fit_seconds,
                "ansatz": asdict(self.ansatz), "config": asdict(self.config)}


def run_method(case: Case, ansatz: AnsatzConfig, config: IVPConfig, x_test: torch.Tensor, seed: int = 0,
               progress: bool = False) -> tuple[Ansatz, MethodResult]:
    torch.manual_seed(seed)
    module = Ansatz(ansatz).double()
    generator = torch.Generator().manual_seed(seed)
    sampler = uniform_box(case.dim, *case.box)
    start = time.perf_counter()
    theta0 = fit(module, case.pde.initial, sampler, config, generator)
    fit_seconds = time.perf_counter() - start
    times = tuple(float(t) for t in np.linspace(0, case.t_end, case.evaluations + 1))
    trajectory = evolve(module, case.pde.rhs, theta0, sampler, case.t_end, config, outputs=times, generator=generator,
                        progress=progress)
    errors = [_error(case, _evaluate(module, th, x_test), x_test, t)
              for t, th in zip(trajectory.times, trajectory.thetas)]
    return module, MethodResult(ansatz, config, int(theta0.numel()), list(trajectory.times), errors, trajectory,
                                fit_seconds)


def finite_differences(case: Case, x_test: torch.Tensor, times: list[float]) -> dict:
    """The wave equation's finite-difference reference at the output times (t > 0)."""
    n = case.fd_nodes
    start = time.perf_counter()
    initial = case.pde.exact(x_test, 0.0).numpy().reshape(n, n, n, 2)
    later = [t for t in times if t > 0]
    states = wave_finite_differences(initial[..., 0], initial[..., 1], tuple(later))
    seconds = time.perf_counter() - start
    errors = [_error(case, torch.as_tensor(initial.reshape(-1, 2)), x_test, 0.0)]
    errors += [_error(case, torch.as_tensor(np.stack([phi.ravel(), psi.ravel()], -1)), x_test, t)
               for t, (phi, psi) in zip(later, states)]
    return {"nodes": n, "times": [0.0, *later], "errors": errors, "seconds": seconds}


def run(name: str, case: Case, progress: bool = True) -> tuple[dict, dict[str, tuple[Ansatz, MethodResult]]]:
    """Every method on the case; returns the results (JSON-able) and the runs themselves."""
    x_test = test_points(case)
    runs = {}
    for method, (ansatz, config) in tqdm(methods(case).items(), desc=f"neural-ivp {name}", unit="method",
                                         disable=not progress):
        runs[method] = run_method(case, ansatz, config, x_test, progress=progress)
    results = {method: r.summary() for method, (_, r) in runs.items()}
    if case.fd_nodes:
        results["finite differences"] = finite_differences(case, x_test, results["Neural-IVP"]["times"])
    return results, runs


def table(name: str, case: Case, results: dict, command: str) -> str:
    error_note = ("relative L2 error of phi against the analytic solution on the finite-difference grid's nodes"
                  if case.fd_nodes else "relative L2 error against the analytic solution on "
                  f"{case.test_points} fixed uniform points" if case.pde.exact is not None else
                  "no analytic solution: the PDE residual is the measure")
    s = case.solver
    lines = [f"# Neural-IVP: {name}", "", f"{case.describe()}; {error_note}.", "",
             f"CPU preset: {s.samples} samples per step, Nystrom rank {s.rank}, {s.method.upper()} rtol {s.rtol:g}, "
             f"mu {s.mu:g}, fit {s.fit_steps} Adam steps on {s.fit_samples} samples, {s.restarts} refits; "
             f"Neural-IVP network 3 x {case.hidden} swish on the sinusoidal embedding (L = 5); EDNN 4 x 30 tanh.", "",
             "PDE residual: ||J dtheta - f|| / ||f|| of each step's solve on fresh samples (the paper's measure); "
             "in brackets on the step's own samples (the least-squares fit).", "",
             "| method | parameters | error at 0 (fit) | error at the end | steps | CG iterations (mean, max) | "
             "PDE residual (median, max) [own samples] | largest eigenvalue of M (first, last) | refits | "
             "seconds (fit + run) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for method, r in results.items():
        if method == "finite differences":
            lines.append(f"| finite differences ({r['nodes']}^3 nodes, RK45 rtol 1e-4) | - | {r['errors'][0]:.2e} | "
                         f"{r['errors'][-1]:.2e} | - | - | - | - | - | {r['seconds']:.0f} |")
            continue
        cg = [k for step in r["steps"] for k in step["cg_iterations"]]
        residuals = [step["pde_residual"] for step in r["steps"]]
        own = np.median([step["fit_residual"] for step in r["steps"]])
        eig = [step["top_eigenvalue"] for step in r["steps"] if step["top_eigenvalue"] is not None]
        err = [("-" if e is None else f"{e:.2e}") for e in (r["errors"][0], r["errors"][-1])]
        lines.append(f"| {method} | {r['parameters']} | {err[0]} | {err[1]} | {len(r['steps'])} | "
                     f"{np.mean(cg):.0f}, {max(cg)} | {np.median(residuals):.1e}, {max(residuals):.1e} [{own:.1e}] | "
                     + (f"{eig[0]:.2e}, {eig[-1]:.2e}" if eig else "- (plain CG)")
                     + f" | {len(r['refits'])} | {r['fit_seconds']:.0f} + {r['seconds']:.0f} |")
    lines += ["", f"Regenerate: `{command}`", ""]
    return "\n".join(lines)


def results_json(case: Case, results: dict, command: str) -> str:
    return json.dumps({"command": command, "case": case.describe(), "solver": asdict(case.solver), "results": results,
                       "torch_version": torch.__version__, "python": platform.python_version()}, default=str)


def plot(results: dict, path: Path, title: str) -> None:
    """Error, PDE residual, CG iterations and M's largest eigenvalue over time."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.6))
    for method, r in results.items():
        if r["errors"][0] is not None:
            axes[0].semilogy(r["times"], r["errors"], "o-", label=method)
        if method == "finite differences":
            continue
        t = [s["t"] for s in r["steps"]]
        axes[1].semilogy(t, [s["pde_residual"] for s in r["steps"]], label=method)
        axes[2].semilogy(t, [max(s["cg_iterations"]) for s in r["steps"]], label=method)
        if r["steps"] and r["steps"][0]["top_eigenvalue"] is not None:
            axes[3].semilogy(t, [s["top_eigenvalue"] for s in r["steps"]], label=method)
        for refit in r["refits"]:
            axes[2].axvline(refit, color="grey", lw=0.5, ls=":")
    for ax, label in zip(axes, ("relative L2 error", "relative PDE residual (fresh samples)",
                                "CG iterations (max per step)",
                                "largest eigenvalue of M")):
        ax.set(xlabel="t", title=label)
        if ax.has_data():
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
