"""Guards for non-finite fluxes (abort / WENO5 fallback, counted) and restarts (atomic,
checksummed, bit-identical continuation), from Python and through both learned backends."""
import glob
import hashlib
import shutil
import struct

import netCDF4
import numpy as np
import pytest

from coupler.errors import ConfigError, NonFiniteStateError
from coupler.host import Host, HostConfig, PythonFlux, TimeConfig, face_fluxes
from coupler.learned import FortranLearnedFlux, LearnedFlux, RuntimeConfig
from coupler.io.restart import RestartError
from coupler.simulate import RestartConfig, SimulationConfig, run
from coupler.problems.forcing import random_forcing

HOST = HostConfig("burgers", 64)


def weno5_with_holes(t_from: float, faces=slice(5, 8)):
    """WENO5 fluxes (halo 3) with NaN at three faces from time t_from on."""
    calls = {"holes": 0}

    def flux(u, t):
        f = face_fluxes(HOST, "weno5", u)
        if t >= t_from:
            f[faces] = np.nan
            calls["holes"] += 1
        return f
    return PythonFlux(flux, 3), calls


def test_fallback_replaces_exactly_the_bad_faces_by_weno5():
    """The holes are filled with WENO5's own fluxes, so the run equals the WENO5 run bit
    for bit, and the counter is three faces per stage that had holes."""
    provider, calls = weno5_with_holes(0.3)
    forcing, time = random_forcing(2), TimeConfig(dt=0.01)
    host = Host(HOST, provider, forcing, time, on_nonfinite="fallback")
    u, steps = host.advance(np.zeros(64), 0.0, 1.0)
    reference, _ = Host(HOST, "weno5", forcing, time).advance(np.zeros(64), 0.0, 1.0)
    np.testing.assert_array_equal(u, reference)
    assert calls["holes"] > 0 and host.fallback_faces == 3 * calls["holes"]


def test_abort_stops_in_the_step_where_fluxes_go_bad():
    """The holes open at t = 0.3: the run stops in step 30 or 31 (the stage times of step
    30 reach 0.3 only at its last stages), keeps the state and time of the last good step
    (the WENO5 state of that step, bit for bit) and counts no step further."""
    provider, _ = weno5_with_holes(0.3)
    forcing, time = random_forcing(2), TimeConfig(dt=0.01)
    host = Host(HOST, provider, forcing, time)
    host.set_state(np.zeros(64), 0.0)
    with pytest.raises(NonFiniteStateError, match="non-finite fluxes"):
        host.advance_to(1.0)
    u, t = host.get_state()
    steps = host.diagnostics().steps
    assert steps in (29, 30) and t == pytest.approx(0.01 * steps, abs=1e-12)
    reference = Host(HOST, "weno5", forcing, time)
    reference.set_state(np.zeros(64), 0.0)
    for _ in range(steps):
        reference.step(0.01)
    np.testing.assert_array_equal(u, reference.get_state()[0])
    with pytest.raises(NonFiniteStateError):      # state already bad: no fallback can help
        Host(HOST, provider, on_nonfinite="fallback").advance(np.full(64, np.nan), 0.0, 0.1)


def test_fallback_through_both_learned_backends_agrees(poisoned):
    forcing, time = random_forcing(4), TimeConfig(cfl=0.5)
    u0 = np.sin(HOST.cell_centres())
    results = []
    for model in (LearnedFlux(poisoned), FortranLearnedFlux(poisoned, RuntimeConfig(backend="fortran"))):
        host = Host(HOST, model.provider(), forcing, time, on_nonfinite="fallback")
        u, _ = host.advance(u0, 0.0, 2.0)
        assert np.all(np.isfinite(u)) and host.fallback_faces > 0
        results.append((u, host.fallback_faces))
        with pytest.raises(NonFiniteStateError, match="non-finite"):
            Host(HOST, model.provider(), forcing, time).advance(u0, 0.0, 2.0)
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]


@pytest.mark.parametrize("backend", ["python", "fortran"])
def test_cli_guard_policies_and_no_restart_from_a_poisoned_state(hfc, late_poisoned, tmp_path, backend):
    """The model turns non-finite mid-run (0.75 < t <= 1), after the restart of t = 0.5 was
    written. abort: no output, no temporary, and the restart kept is the finite one of
    t = 0.5, never one of the poisoned state; it continues under fallback to the end.
    fallback: the whole run ends, faces counted."""
    common = ["simulate", "--scheme", "learned", "--model", late_poisoned, "--backend", backend, "--n", 64,
              "--t-end", 1.5, "--save-every", 0.5, "--restart-every", 0.5, "--quiet"]
    out = tmp_path / "abort.nc"
    result = hfc(*common, "--output", out)
    assert result.returncode == 1 and "non-finite fluxes" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists() and not glob.glob(str(tmp_path / ".*.tmp"))
    with netCDF4.Dataset(tmp_path / "abort.restart.nc") as ds:
        assert ds.time == 0.5 and ds.steps > 0 and np.all(np.isfinite(ds["u"][:]))
        assert np.max(np.abs(ds["u"][:])) > 0.1          # a state that moved, not the initial zeros

    result = hfc(*common, "--on-nonfinite", "fallback", "--restart-from", tmp_path / "abort.restart.nc",
                 "--output", tmp_path / "continued.nc")
    assert result.returncode == 0, result.stderr
    with netCDF4.Dataset(tmp_path / "continued.nc") as ds:
        assert ds["time"][0] == 0.5 and ds["time"][-1] == 1.5 and ds.guard_fallback_faces > 0

    out = tmp_path / "fallback.nc"
    result = hfc(*common, "--on-nonfinite", "fallback", "--output", out)
    assert result.returncode == 0, result.stderr
    with netCDF4.Dataset(out) as ds:
        assert ds.on_nonfinite == "fallback" and ds.guard_fallback_faces > 0
        assert np.all(np.isfinite(ds["u"][:]))
    with netCDF4.Dataset(tmp_path / "fallback.restart.nc") as ds:
        assert ds.time == 1.5


def _config(**kw):
    base = dict(host=HOST, t_end=4.0, save_every=0.5, seed=9)
    base.update(kw)
    return SimulationConfig().but(**base)


@pytest.mark.parametrize("scheme, time", [("weno5", TimeConfig(dt=0.01)), ("weno5", TimeConfig(cfl=0.5)),
                                          ("learned", TimeConfig(cfl=0.5))])
def test_restart_continuation_is_bit_identical(onnx32, tmp_path, scheme, time):
    """2N steps in one run == N steps, restart, N steps (the restart holds the exact bits
    of the state; the continued run takes the same steps)."""
    model = dict(model=str(onnx32), runtime=RuntimeConfig(backend="fortran")) if scheme == "learned" else {}
    whole = run(_config(scheme=scheme, time=time, **model))
    first = run(_config(scheme=scheme, time=time, t_end=2.0, restart=RestartConfig(every=2.0), **model),
                tmp_path / "first.nc")
    second = run(_config(scheme=scheme, time=time, restart=RestartConfig(start_from=str(tmp_path / "first.restart.nc")),
                         **model), tmp_path / "second.nc")
    np.testing.assert_array_equal(second.states[-1], whole.states[-1])
    np.testing.assert_array_equal(second.states, whole.states[4:])
    assert 0 < first.nsteps < second.nsteps == whole.nsteps      # counted on from the restart
    if time.dt:                                                  # a fixed step: 2.0 / dt and 4.0 / dt steps
        assert (first.nsteps, whole.nsteps) == (round(2.0 / time.dt), round(4.0 / time.dt))
    with netCDF4.Dataset(tmp_path / "first.restart.nc") as ds:    # the checksum, recomputed here
        digest = hashlib.sha256(np.asarray(ds["u"][:], "<f8").tobytes() + struct.pack("<d", ds.time)).hexdigest()
        assert ds.checksum_sha256 == digest and ds.time == 2.0 and ds.steps == first.nsteps
    with netCDF4.Dataset(tmp_path / "second.nc") as ds:
        assert ds.restart_from.endswith("first.restart.nc") and ds.restart_from_checksum == digest
    assert not glob.glob(str(tmp_path / ".*.tmp"))


def test_every_identity_field_of_a_restart_is_checked(tmp_path):
    """Each field of the run's identity, changed alone in the restart, is refused by name."""
    config = _config(t_end=1.0, restart=RestartConfig(every=1.0))
    run(config, tmp_path / "a.nc")
    restart = tmp_path / "a.restart.nc"
    with netCDF4.Dataset(restart) as ds:
        recorded = {name[4:] for name in ds.ncattrs() if name.startswith("run_")}
    assert recorded == set(config.identity())
    for key in sorted(recorded):
        edited = tmp_path / f"edited_{key}.nc"
        shutil.copy(restart, edited)
        with netCDF4.Dataset(edited, "a") as ds:
            ds.setncattr(f"run_{key}", ds.getncattr(f"run_{key}") + "0")
        with pytest.raises(ConfigError, match=f"different run: {key} ="):
            run(_config(restart=RestartConfig(start_from=str(edited))))


def test_bad_restarts_are_refused(tmp_path):
    run(_config(t_end=1.0, restart=RestartConfig(every=1.0)), tmp_path / "a.nc")
    restart = tmp_path / "a.restart.nc"
    with pytest.raises(ConfigError, match="different run: seed"):
        run(_config(seed=10, restart=RestartConfig(start_from=str(restart))))
    with pytest.raises(ConfigError, match="different run: .*save_every"):
        run(_config(save_every=0.25, restart=RestartConfig(start_from=str(restart))))
    with pytest.raises(ConfigError, match="different run: method = 'ssprk3' in the restart, 'euler' here"):
        run(_config(time=TimeConfig(method="euler"), restart=RestartConfig(start_from=str(restart))))
    with pytest.raises(ConfigError, match="not an output time before t_end"):
        run(_config(t_end=1.0, restart=RestartConfig(start_from=str(restart))))
    with pytest.raises(ConfigError, match="whole number of output intervals"):
        _config(restart=RestartConfig(every=0.7))
    with netCDF4.Dataset(restart, "a") as ds:
        ds["u"][3] = ds["u"][3] + 1e-12
    with pytest.raises(RestartError, match="fails its checksum"):
        run(_config(restart=RestartConfig(start_from=str(restart))))
    with pytest.raises(RestartError, match="does not exist"):
        run(_config(restart=RestartConfig(start_from=str(tmp_path / "absent.nc"))))
    with netCDF4.Dataset(restart, "a") as ds:
        ds.delncattr("steps")
    with pytest.raises(RestartError, match="incomplete or damaged"):
        run(_config(restart=RestartConfig(start_from=str(restart))))
    (tmp_path / "junk.nc").write_text("not netCDF")
    with pytest.raises(RestartError, match="cannot read"):
        run(_config(restart=RestartConfig(start_from=str(tmp_path / "junk.nc"))))
