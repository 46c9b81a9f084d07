"""Every committed model runs in the host: KdV and KS join Burgers with their exact flux
laws, their time-step rules and their classical baseline (the polynomial stencil). The
host driving an exported model equals the training code's own torch integrator on the same
initial state and step; `hfc simulate --equation ks --scheme learned` works end to end."""
import netCDF4
import numpy as np
import pytest
import torch

from coupler.host import Host, HostConfig, TimeConfig
from coupler.learned import FortranLearnedFlux, LearnedFlux, RuntimeConfig
from coupler.problems.initial_conditions import initial_condition
from training.integrate import integrate
from training.train import load_model

ROOT_MODELS = "models/{}/network/{}x"


@pytest.mark.parametrize("equation, factor, steps", [("ks", 8, 200), ("kdv", 4, 200)])
def test_host_with_exported_model_equals_the_training_integrator(repo_root, export_committed, equation, factor,
                                                                  steps):
    """Float64 export through the Fortran binding in the host's SSP-RK3, against
    training.integrate (torch SSP-RK3 on the same float64 weights), fixed step from the
    equation's own rule: agreement to 1e-10 of max|u| after `steps` steps (ONNX Runtime and
    torch differ in operation order, ~1e-16 per flux; KS and KdV amplify that only mildly
    over these few time units)."""
    path = export_committed(equation, factor)
    native = FortranLearnedFlux(path, RuntimeConfig(backend="fortran"))
    n = {"ks": 256, "kdv": 256}[equation] // factor
    config = HostConfig(equation, n)
    native.check_host(config)
    u0 = initial_condition("random", n, config.length, seed=3)
    dt = config.law.stable_dt(config.dx, config.law.max_wave_speed([1.5 * np.abs(u0).max()]), 0.5)
    host = Host(config, native.provider(), time=TimeConfig(dt=dt))
    host.set_state(u0, 0.0)
    for _ in range(steps):
        host.step(dt)
    u, t = host.get_state()
    model = load_model(repo_root / ROOT_MODELS.format(equation, factor), torch.float64)
    ours = integrate(model, u0[None], np.array([0.0, steps * dt]), dt, dtype=torch.float64)[0, -1]
    assert np.abs(u - u0).max() > 1e-2, "the state must evolve"
    np.testing.assert_allclose(u, ours, rtol=0, atol=1e-10 * np.abs(u0).max())


def test_hfc_simulate_ks_learned_and_polynomial(hfc, export_committed, tmp_path):
    """The CLI: KS on its own domain (L = 64, 32 cells = factor 8) from the random initial
    condition, with the exported float32 model through both backends (the same bits) and
    with the classical baseline (the default scheme for KS)."""
    model = export_committed("ks", 8, "float32")
    files = {}
    for name, extra in (("python", ["--scheme", "learned", "--model", model]),
                        ("fortran", ["--scheme", "learned", "--model", model, "--backend", "fortran"]),
                        ("polynomial", [])):
        files[name] = tmp_path / f"{name}.nc"
        result = hfc("simulate", "--equation", "ks", "--n", 32, "--t-end", 5, "--seed", 2, *extra,
                     "--output", files[name], "--quiet")
        assert result.returncode == 0, result.stderr
    with netCDF4.Dataset(files["python"]) as a, netCDF4.Dataset(files["fortran"]) as b, \
            netCDF4.Dataset(files["polynomial"]) as c:
        assert a.equation == "ks" and a.initial_condition == "random" and a.length == 64.0
        assert c.scheme == "polynomial"
        np.testing.assert_array_equal(a["u"][:], b["u"][:])
        u, v = a["u"][:], c["u"][:]
        assert np.all(np.isfinite(u)) and np.abs(u[-1] - u[0]).max() > 0.1
        # the learned and the polynomial scheme solve the same problem: close early on
        assert np.abs(u[10] - v[10]).max() < 0.1 * np.abs(u[10]).max()
        np.testing.assert_allclose(a["mass"][:], a["mass"][0], atol=1e-4)   # conservative (float32 model)


@pytest.mark.parametrize("equation", ["kdv", "ks"])
def test_model_refused_for_another_equation(export_committed, equation):
    model = LearnedFlux(export_committed(equation, 8, "float32"))
    from coupler.errors import ConfigError
    with pytest.raises(ConfigError, match=f"metadata equation = {equation}, the host has burgers"):
        model.check_host(HostConfig("burgers", 32, 64.0 if equation == "ks" else 32.0))
