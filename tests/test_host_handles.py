"""Host handles: created once, advanced many times, queried, freed; nothing rebuilt per call;
misuse gives a clear error (never a crash); steppers over the abstract right-hand side;
providers that read fewer halo cells than the host's state holds."""
import numpy as np
import pytest

from coupler.errors import ConfigError
from coupler.fortran_bindings import hfc_api as api
from coupler.host import Host, HostConfig, PythonFlux, TimeConfig, face_fluxes
from coupler.problems.forcing import random_forcing
from coupler.problems.initial_conditions import initial_condition

CONFIG = HostConfig("burgers", 64)


def test_one_handle_over_frames_equals_a_host_rebuilt_every_frame():
    """One handle advanced frame by frame gives the bits of a host built anew from the
    returned state at every frame (what the Python wrapper did before handles): the state
    kept in Fortran between calls is exactly the state handed back; the counters add up."""
    forcing, time = random_forcing(5), TimeConfig(cfl=0.5)
    frames = np.linspace(0.0, 3.0, 13)
    kept = Host(CONFIG, "weno5", forcing, time)
    kept.set_state(np.zeros(64), 0.0)
    u, steps = np.zeros(64), 0
    for t0, t1 in zip(frames[:-1], frames[1:]):
        taken = kept.advance_to(t1)
        u, again = Host(CONFIG, "weno5", forcing, time).advance(u, t0, t1)
        assert taken == again
        steps += taken
        np.testing.assert_array_equal(kept.get_state()[0], u)
    d = kept.diagnostics()
    assert d.t == 3.0 and d.steps == steps > 20 and (d.n_local, d.offset, d.halo) == (64, 0, 3)


def test_freed_and_never_created_hosts_give_errors_not_crashes():
    host = Host(CONFIG, "godunov")
    stale = host.id
    host.close()
    host.id = stale                                 # a stale id: its slot is free
    with pytest.raises(ConfigError, match="not created"):
        host.set_state(np.zeros(64), 0.0)
    u = np.zeros(64)
    t, stat, errmsg = api.api_host_get_state(63, u)
    assert stat == 1 and "not created" in errmsg
    steps, stat, errmsg = api.api_host_advance(0, 1.0)
    assert stat == 1 and "no host with id 0" in errmsg


def test_messages_name_the_sizes_and_are_blank_on_success():
    host = Host(CONFIG, "weno5")
    with pytest.raises(ConfigError, match=r"state has shape \(63,\), the grid has 64 cells"):
        host.set_state(np.zeros(63), 0.0)
    stat, errmsg = api.api_host_set_state(host.id, np.zeros(63), 0.0)
    assert stat == 1 and errmsg.strip() == "set_state: the state has 63 cells, this block of the grid has 64"
    stat, errmsg = api.api_host_set_state(host.id, np.zeros(64), 0.0)
    assert stat == 0 and errmsg.strip() == ""
    with pytest.raises(ConfigError, match=r"flux has shape \(64, 2\), expected \(n \+ 1, nbatch\) = \(65, 2\)"):
        from coupler.host import make_provider, _check
        pid, halo = make_provider(CONFIG, "weno5")
        _check(*api.api_provider_face_fluxes(pid, CONFIG.dx, 0.0, np.zeros((70, 2), order="F"),
                                             np.zeros((64, 2), order="F")))


def test_a_provider_reading_fewer_halo_cells_than_the_state_holds():
    """With the fallback guard the host's halo is WENO5's (3); a Python provider that reads
    one cell per side still sees exactly one, and the run equals the host without the
    guard (whose halo is 1) bit for bit."""
    seen = []

    def first_order(u, t):
        seen.append(u.shape)
        return face_fluxes(CONFIG, "godunov", u)

    u0 = np.sin(CONFIG.cell_centres())
    plain, _ = Host(CONFIG, PythonFlux(first_order, 1), time=TimeConfig(dt=0.01)).advance(u0, 0.0, 0.5)
    guarded = Host(CONFIG, PythonFlux(first_order, 1), time=TimeConfig(dt=0.01), on_nonfinite="fallback")
    assert guarded.halo == 3
    u, _ = guarded.advance(u0, 0.0, 0.5)
    np.testing.assert_array_equal(u, plain)
    assert set(seen) == {(66,)}


def test_forward_euler_is_first_order_in_time():
    """Linear advection of sin with WENO5 (space error ~dx^5, negligible at n = 256): halving
    dt halves the error of forward Euler (observed order >= 0.9), and SSP-RK3 is far better."""
    config = HostConfig("advection", 256, 2.0, viscosity=0.0, velocity=1.0)
    u0 = initial_condition("sine", 256, 2.0)
    edges = np.linspace(0, 2.0, 257) - 0.5
    exact = (np.cos(np.pi * edges[:-1]) - np.cos(np.pi * edges[1:])) / (np.pi * config.dx)
    errors = {}
    for method in ("euler", "ssprk3"):
        for dt in (2e-3, 1e-3):
            u, _ = Host(config, "weno5", time=TimeConfig(dt=dt, method=method)).advance(u0, 0.0, 0.5)
            errors[method, dt] = np.abs(u - exact).max()
    assert np.log2(errors["euler", 2e-3] / errors["euler", 1e-3]) >= 0.9
    assert errors["ssprk3", 1e-3] < 1e-3 * errors["euler", 1e-3]


def test_step_takes_exactly_dt():
    host = Host(CONFIG, "fv3", random_forcing(1), TimeConfig(dt=0.02))
    host.set_state(np.zeros(64), 0.0)
    for _ in range(5):
        host.step(0.02)
    d = host.diagnostics()
    assert d.steps == 5 and d.t == 0.02 + 0.02 + 0.02 + 0.02 + 0.02


def test_a_python_flux_of_the_wrong_shape_is_an_error_not_a_broadcast():
    """A scalar (or any array numpy could broadcast) must not become a constant flux."""
    from coupler.errors import ProviderError
    for wrong in (0.0, np.zeros(1), np.zeros((1, 65))):
        with pytest.raises(ProviderError, match="returned shape"):
            Host(CONFIG, PythonFlux(lambda u, t, w=wrong: w, 1), time=TimeConfig(dt=0.01)).advance(
                np.zeros(64), 0.0, 0.05)


def test_a_collapsing_time_step_stops_the_run():
    """A state so large that the CFL step no longer advances t stops with a clear error
    instead of looping (no step limit set)."""
    from coupler.errors import NonFiniteStateError
    host = Host(CONFIG, "godunov", time=TimeConfig(cfl=0.5))
    with pytest.raises(NonFiniteStateError, match="no longer advances t"):
        host.advance(np.full(64, 1e17), 1.0, 2.0)


def test_a_host_refuses_a_model_freed_and_loaded_again(onnx32):
    """The learned provider keeps a pointer to the model's slot: a model freed under a live
    host, and another loaded into the same slot, is refused, not silently run."""
    from coupler.learned import FortranLearnedFlux, RuntimeConfig
    first = FortranLearnedFlux(onnx32, RuntimeConfig(backend="fortran"))
    host = Host(CONFIG, first.provider(), time=TimeConfig(dt=0.01))
    slot = first.id
    first.close()
    second = FortranLearnedFlux(onnx32, RuntimeConfig(backend="fortran"))
    assert second.id == slot
    with pytest.raises(ConfigError, match="freed or loaded again"):
        host.advance(np.zeros(64), 0.0, 0.05)
