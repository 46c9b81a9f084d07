"""Evaluation (`hfc evaluate`): integrate learned and baseline schemes on unseen forcings
or initial conditions at each resample factor and score them against the coarse-grained
reference, with the metrics of Bar-Sinai et al. (2019): mean absolute error over the
paper's short window (t <= 15 Burgers, 1 KdV, 3 KS) and "valid simulation time" (median
over runs, bootstrap 95% interval), up to t = 100.

Burgers baselines (first-order Godunov, third-order FV, WENO5) run in the Fortran host
(SSP-RK3, CFL 0.5); learned models and the polynomial baseline run in torch with the
same SSP-RK3 at a fixed step from the same CFL rule, using the reference's max |u|.
"""
from __future__ import annotations

import json
import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from coupler.errors import ConfigError
from coupler.limits import check_range
from coupler.io.atomic import save_figure, write_text
from coupler.problems.equations import make_equation as make_law
from coupler.problems.forcing import ForcingConfig, random_forcing
from training.data import EVALUATION_SEED, FINE_N, MAX_TIME, coarse_grain
from training.equations import make_equation
from training.integrate import ForcingBatch, integrate
from training.metrics import bootstrap_median, mean_absolute_error, valid_simulation_time
from training.models import FluxModel

MAE_WINDOW = {"burgers": 15.0, "kdv": 1.0, "ks": 3.0}
HOST_SCHEMES = ("godunov", "fv3", "weno5")


@dataclass(frozen=True)
class EvalConfig:
    equation: str = "burgers"
    runs: int = 100
    t_max: float = 100.0
    save_every: float = 0.5
    factors: tuple[int, ...] = (2, 4, 8, 16, 32)
    domain: int = 1                     # domain length multiplier (10: the generalization test)
    cfl: float = 0.5
    seed: int = EVALUATION_SEED
    workers: int = 2

    def __post_init__(self) -> None:
        if self.equation not in FINE_N:
            raise ConfigError(f"unknown equation '{self.equation}' (expected one of {', '.join(FINE_N)})")
        check_range("the number of runs", self.runs, 1, 100_000, "the paper scores 100")
        check_range("the domain multiplier", self.domain, 1, 100, "the paper's generalization test is 10")
        if not 0 < self.t_max <= MAX_TIME:
            raise ConfigError(f"the evaluation horizon must lie in (0, {MAX_TIME:g}] (the paper's is 100), got "
                              f"{self.t_max:g}")
        bad = [f for f in self.factors if f < 1 or self.n_fine % f or self.n_fine // f < 8]
        if bad or not self.factors:
            good = [f for f in range(1, self.n_fine // 8 + 1) if self.n_fine % f == 0]
            raise ConfigError(f"resample factors {', '.join(map(str, bad)) or '(none)'} do not divide the reference "
                              f"grid of {self.n_fine} cells into at least 8 coarse cells; use some of "
                              f"{', '.join(map(str, good))}")

    @property
    def times(self) -> np.ndarray:
        return np.round(np.arange(0.0, self.t_max + 1e-9, self.save_every), 12)

    @property
    def length(self) -> float:
        return make_equation(self.equation).length * self.domain

    @property
    def n_fine(self) -> int:
        return FINE_N[self.equation] * self.domain

    def forcing(self, i: int):
        """Burgers forcing of run i; on a larger domain l is scaled so k = 2 pi l / L keeps
        the training range (SI Appendix II: l in {30..60} on the 10x domain)."""
        if self.domain == 1:
            return random_forcing(self.seed + i)
        waves = tuple(range(3 * self.domain, 6 * self.domain + 1))
        return random_forcing(self.seed + i, ForcingConfig(wavenumbers=waves))


def _burgers_run(args) -> np.ndarray:
    """One Fortran-host run: states (T, n) at the output times (NaN after a failure)."""
    from coupler.errors import HfcError
    from coupler.host import Host, HostConfig, TimeConfig

    scheme, n, length, forcing, times, cfl = args
    host = Host(HostConfig("burgers", n, length), scheme, forcing, TimeConfig(cfl=cfl))
    out = np.full((len(times), n), np.nan)
    u = np.zeros(n)
    out[0] = u
    for i in range(1, len(times)):
        try:
            u, _ = host.advance(u, times[i - 1], times[i])
        except HfcError:
            break
        out[i] = u
    return out


def host_runs(config: EvalConfig, scheme: str, n: int, progress: bool, label: str) -> np.ndarray:
    jobs = [(scheme, n, config.length, config.forcing(i), config.times, config.cfl) for i in range(config.runs)]
    with ProcessPoolExecutor(config.workers) as pool:
        return np.stack(list(tqdm(pool.map(_burgers_run, jobs), total=len(jobs), desc=label,
                                  disable=not progress, leave=False)))


def reference(config: EvalConfig, progress: bool = True) -> np.ndarray:
    """Fine reference states (runs, T, n_fine)."""
    if config.equation == "burgers":
        return host_runs(config, "weno5", config.n_fine, progress, "reference WENO5")
    from training import spectral
    cfg = spectral.SpectralConfig(config.equation, n=config.n_fine, length=config.length)
    v0 = np.stack([spectral.random_initial_condition(config.seed + i, config.n_fine, config.length)
                   for i in range(config.runs)])
    nodal = spectral.solve(cfg, v0, config.times, progress=progress)
    return spectral.cell_averages(nodal, config.length)


def check_grid(model: FluxModel, dx: float) -> FluxModel:
    """The same weights on a grid of spacing dx (the model must have been trained for it)."""
    if not math.isclose(model.config.dx, dx, rel_tol=1e-9):
        raise ValueError(f"model trained for dx = {model.config.dx:.6g}, grid has dx = {dx:.6g}")
    return model


def evaluate(config: EvalConfig, models: dict[str, dict[int, FluxModel]], out_dir: str | Path,
             progress: bool = True) -> dict:
    """Score every scheme at every factor; writes table.md, metrics.json and plots."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    times = config.times
    fine = reference(config, progress)
    u_max = float(np.nanmax(np.abs(fine)))
    window = MAE_WINDOW[config.equation]
    rows, examples = [], {}
    for factor in config.factors:
        n = config.n_fine // factor
        coarse = coarse_grain(fine, np.zeros_like(fine), factor)[0]
        schemes: dict[str, np.ndarray] = {}
        if config.equation == "burgers":
            for scheme in HOST_SCHEMES:
                schemes[scheme] = host_runs(config, scheme, n, progress, f"{scheme} {factor}x")
        u0 = coarse[:, 0]
        for name, by_factor in models.items():
            if factor not in by_factor:
                continue
            model = by_factor[factor]
            dx = config.length / n
            dt = stable_step(model, dx, u_max, config.cfl)
            forcing = (ForcingBatch([config.forcing(i) for i in range(config.runs)], n, config.length)
                       if config.equation == "burgers" else None)
            schemes[name] = integrate(check_grid(model, dx), u0, times, dt, forcing, progress)
        for name, states in schemes.items():
            mae = mean_absolute_error(states, coarse, times, window)
            survival = valid_simulation_time(states, coarse, times)
            med, low, high = bootstrap_median(survival)
            rows.append({"scheme": name, "factor": factor, "n": n, "mae_mean": float(np.mean(mae)),
                         "mae_median": float(np.median(mae)), "diverged": int(np.sum(~np.isfinite(mae))),
                         "survival_median": med, "survival_low": low, "survival_high": high})
        examples[factor] = {"reference": coarse[0], **{k: v[0] for k, v in schemes.items()}}
    summary = {"config": {**config.__dict__, "factors": list(config.factors)}, "rows": rows,
               "reference_max_abs": u_max}
    write_text(out_dir / "metrics.json", json.dumps(summary, indent=2) + "\n")
    write_text(out_dir / "table.md", markdown_table(config, rows))
    plot_metrics(config, rows, out_dir / "metrics.png")
    plot_examples(config, examples, fine[0], out_dir / "example.png")
    return summary


def stable_step(model: FluxModel, dx: float, u_max: float, cfl: float) -> float:
    """The host's time-step rule (coupler.problems.equations.Equation.stable_dt) for the
    model's equation at the largest wave speed of a state bounded by u_max: the same rule
    the Fortran host applies each step, here once, for a fixed step in batched torch."""
    law = make_law(model.equation.name, model.config.viscosity if model.equation.name == "burgers" else None)
    return law.stable_dt(dx, law.max_wave_speed([u_max]), cfl)


def markdown_table(config: EvalConfig, rows: list[dict]) -> str:
    window = MAE_WINDOW[config.equation]
    lines = [f"{config.equation}: {config.runs} runs on unseen {'forcings' if config.equation == 'burgers' else 'initial conditions'}, "
             f"domain {config.domain}x, reference on {config.n_fine} cells.", "",
             f"| scheme | factor | n | MAE (t <= {window:g}), mean | diverged | valid time, median [95% CI] |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['scheme']} | {r['factor']} | {r['n']} | {r['mae_mean']:.4g} | {r['diverged']} "
                     f"| {r['survival_median']:.4g} [{r['survival_low']:.4g}, {r['survival_high']:.4g}] |")
    return "\n".join(lines) + "\n"


def plot_metrics(config: EvalConfig, rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for scheme in dict.fromkeys(r["scheme"] for r in rows):
        rs = [r for r in rows if r["scheme"] == scheme]
        f = [r["factor"] for r in rs]
        mae = [r["mae_mean"] if r["diverged"] == 0 else np.nan for r in rs]
        ax1.plot(f, mae, "o-", label=scheme)
        med = np.array([r["survival_median"] for r in rs])
        err = np.array([[m - r["survival_low"], r["survival_high"] - m] for m, r in zip(med, rs)]).T
        ax2.errorbar(f, med, yerr=err, fmt="o-", capsize=3, label=scheme)
    for ax in (ax1, ax2):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("resample factor")
    ax1.set_yscale("log")
    ax1.set_ylabel(f"MAE, t <= {MAE_WINDOW[config.equation]:g} (diverged runs omitted)")
    ax2.set_ylabel("valid simulation time (median, 95% CI)")
    ax1.legend(fontsize=8)
    fig.suptitle(f"{config.equation}, {config.runs} runs, domain {config.domain}x")
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def plot_examples(config: EvalConfig, examples: dict, fine: np.ndarray, path: Path) -> None:
    """Fig. 3(a)-style panels: one run, every scheme (rows) at every factor (columns)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    factors = sorted(examples)
    schemes = [s for s in examples[factors[0]] if s != "reference"]
    for f in factors:
        schemes += [s for s in examples[f] if s not in schemes and s != "reference"]
    rows = ["reference"] + schemes
    fig, axes = plt.subplots(len(rows), len(factors), figsize=(2.6 * len(factors), 1.9 * len(rows)),
                             sharex=True, sharey=True, squeeze=False, constrained_layout=True)
    vmax = float(np.nanmax(np.abs(fine)))
    extent = [0, config.length, config.times[0], config.times[-1]]
    for j, f in enumerate(factors):
        for i, name in enumerate(rows):
            ax = axes[i, j]
            data = examples[f].get(name)
            if data is not None:
                ax.imshow(data, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                          extent=extent, interpolation="nearest")
            if i == 0:
                ax.set_title(f"{f}x", fontsize=9)
            if j == 0:
                ax.set_ylabel(f"{name}\nt", fontsize=8)
    fig.suptitle(f"{config.equation}: one unseen run (white: diverged)")
    save_figure(fig, path, dpi=90)
    plt.close(fig)
