"""The host's IMEX Euler step (hfc_stepper, hfc_implicit_diffusion): an explicit Euler step
of the provider's fluxes for the law without its viscosity, then (I - nu dt L) u = u* by K
iterations of the configured solver. Checked against the same two parts assembled from the
library's pieces (bit for bit), against the BTCS symbol, and for refusal where it does not
apply."""
import numpy as np
import pytest

from coupler.errors import ConfigError
from coupler.host import Host, HostConfig, ImplicitConfig, TimeConfig, face_fluxes, linear_solve

N, DT, ETA = 64, 0.02, 0.01


def one_step(equation, velocity, scheme, implicit, u0):
    config = HostConfig(equation, n=N, length=1.0, viscosity=ETA, velocity=velocity)
    host = Host(config, scheme, time=TimeConfig(dt=DT, method="imex", implicit=implicit))
    try:
        host.set_state(u0, 0.0)
        host.step(DT)
        return host.get_state()[0]
    finally:
        host.close()


@pytest.mark.parametrize("velocity, implicit", [(1.0, ImplicitConfig("jacobi", 7)), (-0.7, ImplicitConfig("sd", 4)),
                                                (1.0, ImplicitConfig("cg", 5)), (0.4, ImplicitConfig("gmres", 3, 4))])
def test_imex_step_is_the_explicit_step_then_the_solve(velocity, implicit):
    """Bit for bit: the host's step equals Godunov fluxes of the inviscid law (the provider
    built without the viscosity), a forward Euler update, and the same solver on the heat
    system (the operations are the same ones in the same order)."""
    x = (np.arange(N) + 0.5) / N
    u0 = np.sin(2 * np.pi * x) + 0.3 * np.cos(6 * np.pi * x)
    inviscid = HostConfig("advection", n=N, length=1.0, viscosity=0.0, velocity=velocity)
    flux = face_fluxes(inviscid, "godunov", np.concatenate([u0[-1:], u0, u0[:1]]))
    explicit = u0 - DT * N * (flux[1:] - flux[:-1])
    expected = linear_solve("heat", explicit, 1 / N, DT, ETA, implicit.solver, implicit.iterations, implicit.restart)
    np.testing.assert_array_equal(one_step("advection", velocity, "godunov", implicit, u0), expected)


def test_converged_imex_diffusion_damps_each_mode_by_the_btcs_symbol():
    """Velocity 0: a converged solve divides cos(2 pi m x) by 1 + 4 r sin^2(pi m / N)
    (r = eta dt / dx^2; 1e-12: CG to its round-off on 64 unknowns)."""
    x = (np.arange(N) + 0.5) / N
    for m in (1, 5):
        u0 = np.cos(2 * np.pi * m * x)
        u1 = one_step("advection", 0.0, "godunov", ImplicitConfig("cg", 80), u0)
        r = ETA * DT * N ** 2
        np.testing.assert_allclose(u1, u0 / (1 + 4 * r * np.sin(np.pi * m / N) ** 2), atol=1e-12)


def test_imex_is_refused_where_there_is_no_viscosity():
    with pytest.raises(ConfigError, match="has no viscosity"):
        Host(HostConfig("kdv", n=32), "polynomial", time=TimeConfig(dt=1e-3, method="imex"))
    with pytest.raises(ConfigError, match="unknown linear solver"):
        ImplicitConfig("sor")


def test_models_run_only_in_the_time_stepping_they_were_trained_for():
    from coupler.schema import ModelMetadata
    base = dict(equation="advection", space_dimensions=1, halo=7, dx=0.2, length=6.4, viscosity=0.0,
                inputs=("u",), outputs=("flux",), dtype="float32")
    explicit = ModelMetadata(**base)
    with pytest.raises(ConfigError, match="trained for explicit time stepping"):
        explicit.check_time("m.onnx", "imex", "jacobi", 0.1, 0.4)
    explicit.check_time("m.onnx", "ssprk3", "jacobi", None, 0.0)
    imex = ModelMetadata(**base, extra={"time_stepping": "imex", "time_step": "0.1", "diffusivity": "0.4",
                                        "implicit_solver": "jacobi"})
    imex.check_time("m.onnx", "imex", "jacobi", 0.1, 0.4)
    for method, solver, dt, nu in (("ssprk3", "jacobi", 0.1, 0.4), ("imex", "cg", 0.1, 0.4),
                                   ("imex", "jacobi", 0.05, 0.4), ("imex", "jacobi", None, 0.4),
                                   ("imex", "jacobi", 0.1, 0.3)):
        with pytest.raises(ConfigError, match="--time-stepping imex --implicit-solver jacobi --dt 0.1"):
            imex.check_time("m.onnx", method, solver, dt, nu)


def test_cli_imex_options_and_their_misuse(hfc, tmp_path):
    """`hfc simulate --time-stepping imex` runs Burgers with the viscosity implicit and says
    so in the file; the solver options without it are refused in one line."""
    import netCDF4
    out = tmp_path / "imex.nc"
    ok = hfc("simulate", "--n", 32, "--t-end", 0.5, "--viscosity", 0.05, "--time-stepping", "imex",
             "--implicit-solver", "cg", "--implicit-iterations", 6, "--output", out, "--quiet")
    assert ok.returncode == 0, ok.stderr
    with netCDF4.Dataset(out) as ds:
        assert ds.time_stepping == "IMEX Euler (diffusion implicit: cg, K = 6)"
    bad = hfc("simulate", "--n", 32, "--t-end", 0.5, "--implicit-iterations", 6, "--output", tmp_path / "x.nc")
    assert bad.returncode != 0 and "belong to --time-stepping imex" in bad.stderr and "Traceback" not in bad.stderr
