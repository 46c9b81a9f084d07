"""Evaluation pipeline on a tiny configuration: every scheme scored, files written."""
import json

import numpy as np
import torch

from training.evaluate import EvalConfig, evaluate, stable_step
from training.models import FluxModel, ModelConfig


def test_tiny_evaluation_writes_table_metrics_and_plots(tmp_path):
    config = EvalConfig("burgers", runs=3, t_max=2.0, save_every=0.5, factors=(8, 16), workers=1)
    models = {"polynomial": {f: FluxModel(ModelConfig("burgers", "baseline", dx=2 * np.pi / (512 // f)))
                             for f in (8, 16)}}
    summary = evaluate(config, models, tmp_path, progress=False)
    names = {(r["scheme"], r["factor"]) for r in summary["rows"]}
    assert names == {(s, f) for s in ("godunov", "fv3", "weno5", "polynomial") for f in (8, 16)}
    for row in summary["rows"]:
        assert 0.0 <= row["survival_low"] <= row["survival_median"] <= row["survival_high"] <= 2.0
        if row["scheme"] != "polynomial":
            # measured 0.004 (WENO5, 64 cells) to 0.1 (FV3, 32 cells) against WENO5 on 512
            # cells; 0.2 fails a scheme that stops tracking the solution (|u| ~ 1)
            assert np.isfinite(row["mae_mean"]) and row["mae_mean"] < 0.2 and row["diverged"] == 0
    # the centred 6-cell stencil has no upwinding: on 32 cells the shocks blow it up, and the
    # evaluation must report that rather than fail
    poly16 = next(r for r in summary["rows"] if r["scheme"] == "polynomial" and r["factor"] == 16)
    assert poly16["diverged"] > 0 and not np.isfinite(poly16["mae_mean"])
    weno = {r["factor"]: r["mae_mean"] for r in summary["rows"] if r["scheme"] == "weno5"}
    assert weno[8] < weno[16]                              # finer grid, smaller error
    godunov = {r["factor"]: r["mae_mean"] for r in summary["rows"] if r["scheme"] == "godunov"}
    assert weno[8] < 0.5 * godunov[8] and weno[16] < 0.5 * godunov[16]   # fifth order beats first (~1/9, 1/4)
    assert (tmp_path / "table.md").read_text().count("| weno5 |") == 2
    assert json.loads((tmp_path / "metrics.json").read_text())["rows"]
    assert (tmp_path / "metrics.png").stat().st_size > 0 and (tmp_path / "example.png").stat().st_size > 0


def test_stable_step_follows_the_explicit_limits():
    dx = 0.1
    burgers = FluxModel(ModelConfig("burgers", "baseline", dx=dx, viscosity=0.01))
    # advective limit dx / (2 * 0.5 * u_max) = 0.05 < diffusive 1.5 dx^2 / (4 eta) = 0.375
    assert stable_step(burgers, dx, 2.0, 1.0) == np.float64(0.05)
    ks = FluxModel(ModelConfig("ks", "baseline", dx=dx))
    # fourth-derivative limit 1.5 dx^4 / 16 dominates
    assert stable_step(ks, dx, 1.0, 1.0) == 1.5 * dx ** 4 / 16


def test_torch_integrator_agrees_with_the_fortran_host_driving_the_same_model():
    """training.integrate (torch SSP-RK3 + tabulated forcing) and the Fortran host calling the
    same float64 model through the Python callback are independent implementations of the
    same scheme: they agree to round-off over 40 steps."""
    from coupler.host import Host, HostConfig, PythonFlux, TimeConfig
    from coupler.problems.forcing import random_forcing
    from training.integrate import ForcingBatch, integrate

    n, dt = 64, 0.0125
    torch.manual_seed(3)
    model = FluxModel(ModelConfig("burgers", "network", dx=2 * np.pi / n), torch.float64).eval()
    x = (np.arange(n) + 0.5) * 2 * np.pi / n
    u0 = 0.4 * np.sin(x) + 0.2
    forcing = random_forcing(17)

    def flux(u, t):
        with torch.no_grad():
            return model(torch.from_numpy(np.array(u))[None, None])[0, 0].numpy()

    host, _ = Host(HostConfig("burgers", n), PythonFlux(flux, model.halo), forcing,
                   TimeConfig(dt=dt)).advance(u0, 0.0, 0.5)
    ours = integrate(model, u0[None], np.array([0.0, 0.5]), dt, ForcingBatch([forcing], n, 2 * np.pi),
                     dtype=torch.float64)[0, -1]
    assert np.abs(host - u0).max() > 1e-3
    np.testing.assert_allclose(ours, host, rtol=0, atol=1e-12)
