"""The neural-hybrid IMEX flux end to end at test size (training.prdp_hybrid,
coupler.app.prdp_hybrid): the exact reference, the torch IMEX step against the host's,
training through the solver, export with the implicit step in the metadata, `hfc simulate`
running it through both backends with the same bits, and refusal of any other stepping."""
import json

import netCDF4
import numpy as np
import pytest
import torch

from coupler.host import Host, HostConfig, ImplicitConfig, TimeConfig
from training import prdp_hybrid as ph
from training.linear_solvers import SolverConfig

CONFIG = ph.quick()


def test_exact_cell_averages_are_averages_of_the_solution():
    """One mode, checked against a 2000-point quadrature of the moving, decaying sine over
    each cell at t = 3 dt (quadrature error ~1e-7 of the amplitude)."""
    cfg = ph.HybridConfig(modes=1)
    u = ph.exact_cell_averages(cfg, 1, 3, torch.Generator().manual_seed(0))[0, 3].numpy()
    g = torch.Generator().manual_seed(0)
    amplitude = float(torch.rand(1, 1, generator=g, dtype=torch.float64)[0, 0]) * 2 - 1
    phase = float(torch.rand(1, 1, generator=g, dtype=torch.float64)[0, 0]) * 2 * np.pi
    t, k = 3 * cfg.dt, 2 * np.pi / cfg.length
    x = (np.arange(cfg.n)[:, None] + (np.arange(2000)[None] + 0.5) / 2000) * cfg.dx
    quadrature = (amplitude * np.exp(-cfg.diffusivity * k ** 2 * t) * np.sin(k * (x - t) + phase)).mean(1)
    np.testing.assert_allclose(u, quadrature, atol=1e-7)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from coupler.app import prdp_hybrid as app
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("hybrid")
    text = app.run(out, "hfc prdp --case hybrid (test size)", 1, progress=False, config=CONFIG)
    return out, text


def test_the_torch_imex_step_is_the_hosts(trained):
    """The training's step (torch, float64 here) and the Fortran host's (the Python backend
    evaluating the same float64 torch model through its callback) agree to round-off: 1e-12."""
    out, _ = trained
    from training.train import load_model
    model = load_model(out / "model", torch.float64)
    u0 = ph.exact_cell_averages(CONFIG, 2, 0, torch.Generator().manual_seed(3))[:, 0]
    k = 7
    expected = ph.imex_step(CONFIG, model, u0, SolverConfig("jacobi", k)).detach().numpy()
    from coupler.host import PythonFlux

    def flux(u, t):
        with torch.no_grad():
            return model(torch.tensor(u)[None, None])[0, 0].numpy()

    config = HostConfig("advection", n=CONFIG.n, length=CONFIG.length, viscosity=CONFIG.diffusivity, velocity=1.0)
    for i in range(2):
        host = Host(config, PythonFlux(flux, model.halo), time=TimeConfig(dt=CONFIG.dt, method="imex",
                                                                           implicit=ImplicitConfig("jacobi", k)))
        host.set_state(u0[i].numpy(), 0.0)
        host.step(CONFIG.dt)
        np.testing.assert_allclose(host.get_state()[0], expected[i], atol=1e-12)
        host.close()


def test_export_records_the_implicit_step_and_the_report_is_written(trained):
    out, text = trained
    card = json.loads((out / "advection_imex.json").read_text())["metadata"]
    assert card["time_stepping"] == "imex" and card["implicit_solver"] == "jacobi"
    assert int(card["implicit_iterations"]) >= CONFIG.prdp.k0 and int(card["k_epsilon"]) == 28
    assert float(card["viscosity"]) == 0.0 and float(card["diffusivity"]) == CONFIG.diffusivity
    assert "bit-identical at K_max: True" in text and (out / "figure.png").stat().st_size > 0


def test_hfc_simulate_runs_the_model_at_its_k_through_both_backends_bit_identically(trained, hfc, tmp_path):
    out, _ = trained
    model = out / "advection_imex.onnx"
    k = json.loads((out / "advection_imex.json").read_text())["metadata"]["implicit_iterations"]
    args = ["simulate", "--equation", "advection", "--n", CONFIG.n, "--viscosity", CONFIG.diffusivity,
            "--scheme", "learned", "--model", model, "--time-stepping", "imex", "--dt", repr(CONFIG.dt),
            "--t-end", repr(20 * CONFIG.dt), "--save-every", repr(2 * CONFIG.dt), "--quiet"]
    states = {}
    for backend in ("python", "fortran"):
        result = hfc(*args, "--backend", backend, "--output", tmp_path / f"{backend}.nc")
        assert result.returncode == 0, result.stderr
        with netCDF4.Dataset(tmp_path / f"{backend}.nc") as ds:
            states[backend] = ds["u"][:].data
            assert ds.time_stepping == f"IMEX Euler (diffusion implicit: jacobi, K = {k})"
    np.testing.assert_array_equal(states["python"], states["fortran"])
    explicit = [a for a in args if a not in ("--time-stepping", "imex")]      # SSP-RK3, the default
    refused = hfc(*explicit, "--output", tmp_path / "x.nc")
    assert refused.returncode != 0 and "--time-stepping imex --implicit-solver jacobi" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "x.nc").exists()
    off_grid = [a if a != repr(20 * CONFIG.dt) else "2.0" for a in args]
    refused = hfc(*off_grid, "--output", tmp_path / "y.nc")
    assert refused.returncode != 0 and "not a whole number of steps" in refused.stderr
    other = [a if a != CONFIG.diffusivity else 0.3 for a in args]
    refused = hfc(*other, "--output", tmp_path / "z.nc")
    assert refused.returncode != 0 and "diffusivity 0.4" in refused.stderr
