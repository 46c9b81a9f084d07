"""The hostile-input suite of the command line: every user mistake gives one line on stderr,
a non-zero exit, no traceback, no file left behind, no input changed, in bounded time;
signals clean up and exit 128 + signum; the Python callback does not leak.

Each row of the reliability probe of issue 11 is a named case (test_row<k>_...); the
property-based cases (Hypothesis) throw random argument vectors and random restart
corruptions at `hfc simulate` and hold the same invariants. New inputs (2D, PRDP,
Neural-IVP) add their cases here.
"""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import netCDF4
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HFC = str(Path(sys.executable).parent / "hfc")
TIMEOUT = 60        # seconds: every refusal here comes within a few; a hang fails the case
RUN = ["simulate", "--n", "32", "--t-end", "0.5", "--quiet"]
HYPOTHESIS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def hfc(*args, cwd, timeout=TIMEOUT, env=None):
    return subprocess.run([HFC, *(a if isinstance(a, bytes) else str(a) for a in args)], capture_output=True,
                          text=True, errors="replace", cwd=cwd, timeout=timeout, env=env)


def files(folder: Path) -> dict:
    """Every file under folder (hidden ones too) -> its SHA-256."""
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def hfc_lines(text: str) -> list[str]:
    """The lines hfc wrote (mpirun adds its own banner)."""
    return [line for line in text.splitlines() if line.startswith("hfc ")]


def assert_refused(result, folder: Path, before: dict, codes=(1, 2), says: str = "") -> str:
    """The invariants of a refusal: exit status, one line, no traceback, the folder as it was."""
    assert result.returncode in codes, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("hfc "), result.stderr
    assert says.lower() in lines[0].lower(), lines[0]
    assert files(folder) == before, "a refused run left or changed files"
    return lines[0]


@pytest.fixture
def work(tmp_path):
    return tmp_path


@pytest.fixture(scope="module")
def model(exported, tmp_path_factory) -> Path:
    """The Burgers 8x network in float32, in a folder of its own."""
    path = tmp_path_factory.mktemp("model") / "mc.onnx"
    shutil.copy(exported["float32"].path, path)
    return path


@pytest.fixture(scope="module")
def learned_restart(model, tmp_path_factory) -> Path:
    """A learned run to t = 4 that wrote a restart at t = 4 (the fallback guard on)."""
    folder = tmp_path_factory.mktemp("learned")
    result = hfc("simulate", "--n", 64, "--t-end", 4, "--save-every", 1, "--restart-every", 1, "--quiet",
                 "--scheme", "learned", "--model", model, "--on-nonfinite", "fallback", "--output", "a.nc",
                 cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / "a.restart.nc"


def scaled_restart(source: Path, target: Path, factor: float) -> Path:
    """What a hostile user can craft: the state scaled, the checksum made to match."""
    from coupler.io.restart import Restart, read_restart, write_restart

    r = read_restart(source)
    return write_restart(target, Restart(r.t, r.u * factor, r.nsteps, r.fallback_faces, r.identity))


# --- row 1: the output never overwrites the run's own inputs ----------------------------

def test_row1_output_equal_to_the_model_is_refused(work, model):
    shutil.copy(model, work / "mc.onnx")
    os.link(work / "mc.onnx", work / "hard.onnx")       # the same file under another name
    before = files(work)
    for output in ("mc.onnx", "hard.onnx", "./mc.onnx"):
        result = hfc(*RUN, "--scheme", "learned", "--model", "mc.onnx", "--output", output, cwd=work)
        assert_refused(result, work, before, codes=(1,), says="is the same file as the model")


def test_row1_output_equal_to_a_restart_is_refused(work):
    assert hfc(*RUN, "--restart-every", 0.25, "--output", "o.nc", cwd=work).returncode == 0
    before = files(work)
    assert_refused(hfc(*RUN, "--restart-every", 0.25, "--restart-file", "o.nc", "--output", "o.nc", cwd=work),
                   work, before, codes=(1,), says="the same file as the restart file")
    assert_refused(hfc(*RUN, "--restart-from", "o.restart.nc", "--output", "o.restart.nc", "--t-end", 1, cwd=work),
                   work, before, codes=(1,), says="the same file as the restart to continue from")
    assert_refused(hfc(*RUN, "--scheme", "learned", "--model", "o.nc", "--restart-every", 0.25,
                       "--restart-file", "o.nc", "--output", "p.nc", cwd=work),
                   work, before, codes=(1,), says="the same file as the model")


def test_row1_a_restart_may_replace_the_one_it_continues(work):
    """Continuing from r.nc and writing restarts to r.nc is the checkpoint-in-place
    workflow: read whole first, replaced atomically by a later state of the same run."""
    from coupler.io.restart import read_restart

    assert hfc(*RUN, "--restart-every", 0.25, "--restart-file", "r.nc", "--output", "a.nc", cwd=work).returncode == 0
    assert read_restart(work / "r.nc").t == 0.5
    result = hfc("simulate", "--n", 32, "--t-end", 1, "--save-every", 0.005, "--quiet", "--restart-every", 0.25,
                 "--restart-from", "r.nc", "--restart-file", "r.nc", "--output", "b.nc", cwd=work)
    assert result.returncode == 0, result.stderr
    assert read_restart(work / "r.nc").t == 1.0


def test_row1_export_never_overwrites_the_trained_model(work, burgers_model):
    folder = work / "8x"
    shutil.copytree(burgers_model, folder)
    before = files(work)
    # the model card of model.onnx would be model.json: the training's own summary
    assert_refused(hfc("export", "--model", folder, "--out", folder / "model.onnx", cwd=work), work, before,
                   codes=(1,), says="model.json")


# --- row 2: a run whose state blows up but stays finite ends ----------------------------

@pytest.mark.parametrize("backend", ["python", "fortran"])
@pytest.mark.parametrize("factor", [10, 20])
def test_row2_fallback_blow_up_from_a_scaled_restart_ends(work, model, learned_restart, factor, backend):
    scaled_restart(learned_restart, work / "r.nc", factor)
    before = files(work)
    start = time.perf_counter()
    result = hfc("simulate", "--n", 64, "--t-end", 40, "--save-every", 1, "--quiet", "--scheme", "learned",
                 "--model", model, "--on-nonfinite", "fallback", "--restart-from", "r.nc", "--backend", backend,
                 "--output", "b.nc", "--restart-every", 1, cwd=work)
    assert time.perf_counter() - start < 30, "the collapsing step was not stopped"
    assert_refused(result, work, before, codes=(1,), says="blowing up")


def test_row2_fallback_blow_up_ends_under_mpi(work, model, learned_restart, mpi_env):
    scaled_restart(learned_restart, work / "r.nc", 10)
    before = files(work)
    result = subprocess.run(["mpirun", "-n", "2", HFC, "simulate", "--n", "64", "--t-end", "40", "--save-every", "1",
                             "--quiet", "--scheme", "learned", "--model", str(model), "--on-nonfinite", "fallback",
                             "--restart-from", "r.nc", "--output", "b.nc"],
                            capture_output=True, text=True, cwd=work, env=mpi_env, timeout=TIMEOUT)
    assert result.returncode == 1
    lines = hfc_lines(result.stderr)
    assert len(lines) == 1 and "blowing up" in lines[0], result.stderr
    assert files(work) == before


def test_the_step_budget_stops_a_frame_that_would_need_more_steps(work):
    """The host's floor of the step: a fixed dt needing more steps than --max-steps is
    refused before the run (estimate) and inside the host (a frame's own budget)."""
    before = files(work)
    assert_refused(hfc(*RUN, "--dt", 1e-4, "--max-steps", 1000, "--output", "o.nc", cwd=work), work, before,
                   codes=(1,), says="more than the limit of 1000")

    from coupler.errors import HfcError
    from coupler.host import Host, HostConfig, TimeConfig

    host = Host(HostConfig("burgers", 32), "weno5", time=TimeConfig(dt=1e-3, max_steps=10))
    host.set_state(np.sin(HostConfig("burgers", 32).cell_centres()), 0.0)
    host.advance_to(0.01)                       # exactly 10 steps: within the budget
    with pytest.raises(HfcError, match="steps left of max_steps"):
        host.advance_to(0.0205)                 # 11 steps: refused before the first of them
    assert host.diagnostics().steps == 10
    host.close()


# --- row 3: absurd but finite arguments are refused with the estimate --------------------

@pytest.mark.parametrize("args, says", [
    (["--t-end", "1e308"], "time steps"),
    (["--dt", "1e-300"], "time steps"),
    (["--viscosity", "1e300"], "time steps"),
    (["--length", "1e-300"], "time steps"),
    (["--save-every", "1e-9"], "snapshots"),
    (["--n", "200000000", "--save-every", "0.005"], "memory"),
])
def test_row3_absurd_arguments_are_refused_before_the_run(work, args, says):
    before = files(work)
    start = time.perf_counter()
    assert_refused(hfc(*RUN, *args, "--output", "o.nc", cwd=work), work, before, codes=(1,), says=says)
    assert time.perf_counter() - start < 20


# --- row 4: one line instead of a traceback ----------------------------------------------

@pytest.mark.parametrize("args, code, says", [
    (["--seed", "-1"], 1, "seed must be an integer in [0, 2147483647]"),
    (["--seed", "1e30"], 2, "--seed"),
    (["--n", "1e12"], 2, "--n"),
    (["--n", "2147483649"], 1, "cells must be an integer in [1, 2147483647]"),
    (["--cfl", "nan"], 2, "finite"),
    (["--t-end", "-1"], 2, "--t-end"),
])
def test_row4_bad_numbers_give_one_line(work, args, code, says):
    before = files(work)
    assert_refused(hfc(*RUN, *args, "--output", "o.nc", cwd=work), work, before, codes=(code,), says=says)


def test_row4_a_non_utf8_output_name_gives_one_line(work):
    before = files(work)
    assert_refused(hfc(*RUN, "--output", b"\xff\xfe.nc", cwd=work), work, before, codes=(1,), says="UTF-8")


def test_row4_export_of_a_corrupt_model_gives_one_line(work, burgers_model):
    folder = work / "8x"
    shutil.copytree(burgers_model, folder)
    (folder / "model.pt").write_bytes(b"not a torch file" * 10)
    before = files(work)
    assert_refused(hfc("export", "--model", folder, "--out", work / "m.onnx", cwd=work), work, before, codes=(1,),
                   says="cannot load the trained model")


@pytest.mark.parametrize("factors", ["3", "7,8", "1024"])
def test_row4_evaluate_factors_that_do_not_divide_the_grid(work, factors):
    before = files(work)
    assert_refused(hfc("evaluate", "--out", work / "ev", "--factors", factors, "--quiet", cwd=work), work, before,
                   codes=(1,), says="do not divide the reference grid of 512 cells")


def test_row4_a_crafted_restart_of_another_size_gives_one_line(work):
    """100 cells, identity and checksum of a 2048-cell run: refused by its size."""
    from coupler.host import HostConfig
    from coupler.io.restart import Restart, write_restart
    from coupler.simulate import OutputConfig, ProblemConfig, SimulationConfig

    config = SimulationConfig(problem=ProblemConfig(HostConfig("burgers", 2048)), output=OutputConfig(t_end=1.0))
    write_restart(work / "r.nc", Restart(0.5, np.zeros(100), 10, 0, config.identity()))
    before = files(work)
    assert_refused(hfc("simulate", "--n", 2048, "--t-end", 1, "--quiet", "--restart-from", "r.nc", "--output", "o.nc",
                       cwd=work), work, before, codes=(1,), says="holds 100 cells")


def signalled(work, sig, args, wait=3.0):
    """Start hfc, send `sig` after `wait` seconds, return the finished process."""
    proc = subprocess.Popen([HFC, *map(str, args)], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(wait)
    assert proc.poll() is None, "the run ended before the signal: make it longer"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=TIMEOUT)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


LONG_RUN = ["simulate", "--n", "4096", "--t-end", "1000", "--quiet", "--output", "o.nc"]


def test_row4_sigint_stops_with_130_and_one_line(work):
    result = signalled(work, signal.SIGINT, LONG_RUN)
    assert_refused(result, work, {}, codes=(130,), says="stopped by SIGINT")


@pytest.mark.parametrize("args, says", [
    (["data", "--out", "d", "--seed", "-1", "--trajectories", "3"], "seed must be an integer"),
    (["data", "--out", b"d\xff", "--trajectories", "3"], "UTF-8"),
    (["data", "--out", "d", "--t-last", "1e308"], "at most 10000"),
    (["train", "--data", "d", "--out", "t", "--seed", "-5"], "no train.nc"),
    (["evaluate", "--out", "e", "--t-max", "1e308"], "horizon must lie in (0, 10000]"),
    (["evaluate", "--out", "e", "--domain", "100000"], "domain multiplier must be an integer in [1, 100]"),
    (["evaluate", "--out", "e", "--runs", "1000000000"], "number of runs"),
])
def test_the_other_commands_refuse_in_one_line(work, args, says):
    before = files(work)
    assert_refused(hfc(*args, "--quiet", cwd=work), work, before, codes=(1,), says=says)


def test_sigterm_stops_evaluate_and_its_worker_processes_quietly(work):
    """The process pool's workers inherit the handler: they exit quietly, the parent reports."""
    result = signalled(work, signal.SIGTERM, ["evaluate", "--out", "e", "--runs", "100", "--quiet"], wait=4.0)
    assert_refused(result, work, {}, codes=(143,), says="hfc evaluate: stopped by SIGTERM")


# --- row 5: nothing partial is left ------------------------------------------------------

def test_row5_export_to_a_non_utf8_name_leaves_nothing(work, burgers_model):
    before = files(work)
    assert_refused(hfc("export", "--model", burgers_model, "--out", os.fsencode(work) + b"/\xff.onnx", cwd=work),
                   work, before, codes=(1,), says="UTF-8")


@pytest.mark.parametrize("scheme", ["weno5", "learned-python", "learned-fortran"])
def test_row5_sigterm_removes_temporaries_and_keeps_the_restarts(work, model, scheme):
    """SIGTERM while the Fortran loop runs (one frame of 1000 time units: the host must stop
    between steps, not at the end of the frame) or while the callback runs in Python."""
    from coupler.io.restart import read_restart

    if scheme == "weno5":
        args = ["simulate", "--n", "1024", "--t-end", "20000", "--save-every", "1", "--restart-every", "1",
                "--quiet", "--output", "o.nc"]
    else:
        args = ["simulate", "--n", "64", "--t-end", "20000", "--save-every", "1", "--restart-every", "1", "--quiet",
                "--scheme", "learned", "--model", str(model), "--backend", scheme.split("-")[1], "--output", "o.nc"]
    start = time.perf_counter()
    result = signalled(work, signal.SIGTERM, args, wait=4.0)
    assert time.perf_counter() - start < 4.0 + 10
    kept = {p.name for p in work.iterdir()}
    assert kept == {"o.restart.nc"}, kept          # no output, no hidden temporaries
    assert read_restart(work / "o.restart.nc").t >= 1.0
    assert_refused(result, work, files(work), codes=(143,), says="stopped by SIGTERM")


def test_a_signal_inside_one_long_frame_stops_the_host_between_steps(work):
    """One output frame of 2000 time units at n = 65536 takes minutes: the stop must come
    from the host's poll between steps (hfc_signal), within a second or so."""
    start = time.perf_counter()
    result = signalled(work, signal.SIGTERM, ["simulate", "--n", "65536", "--t-end", "2000", "--save-every", "2000",
                                              "--max-steps", "10000000000", "--quiet", "--output", "o.nc"], wait=3.0)
    assert time.perf_counter() - start < 3.0 + 5
    assert_refused(result, work, {}, codes=(143,), says="stopped by SIGTERM")


# --- row 6: the callback does not leak ---------------------------------------------------

def test_row6_python_callback_rss_is_flat_over_1e5_callbacks():
    """1e5 callbacks (SSP-RK3: 3 per step) after a warm-up: RSS within 1 MB (the f2py
    callback leaked ~400 B per call: 40 MB here)."""
    import psutil

    from coupler.host import Host, HostConfig, PythonFlux, TimeConfig

    config = HostConfig("advection", 16)
    flux = np.zeros(17)
    host = Host(config, PythonFlux(lambda u, t: flux, halo=1), time=TimeConfig(dt=1e-3))
    host.set_state(np.zeros(16), 0.0)
    host.advance_to(3.0)                                   # warm-up: 9000 callbacks
    rss = psutil.Process().memory_info().rss
    host.advance_to(3.0 + 1e-3 * 100_000 / 3)              # 33,334 steps: 1e5 callbacks
    grown = psutil.Process().memory_info().rss - rss
    host.close()
    assert grown < 1 << 20, f"RSS grew by {grown / 1024:.0f} KiB over 1e5 callbacks"


# --- rows 8 to 11 ------------------------------------------------------------------------


@pytest.mark.parametrize("differ", [["--t-end", "1"], ["--n", "33"], ["--scheme", "godunov"], ["--seed", "1"]])
def test_row8_ranks_started_with_different_arguments_are_refused(work, mpi_env, differ):
    base = [HFC, *RUN, "--output", "o.nc"]
    start = time.perf_counter()
    result = subprocess.run(["mpirun", "-n", "1", *base, ":", "-n", "1", *base, *differ], capture_output=True,
                            text=True, cwd=work, env=mpi_env, timeout=TIMEOUT)
    assert time.perf_counter() - start < 30
    assert result.returncode == 1
    lines = hfc_lines(result.stderr)
    assert len(lines) == 1 and "different arguments (rank 1 differs from rank 0)" in lines[0], result.stderr
    assert files(work) == {}


def test_row9_evaluate_with_missing_models_is_refused(work):
    before = files(work)
    assert_refused(hfc("evaluate", "--models", work / "absent", "--out", work / "ev", "--quiet", cwd=work), work,
                   before, codes=(1,), says="does not exist")
    (work / "empty").mkdir()
    before = files(work)
    assert_refused(hfc("evaluate", "--models", work / "empty", "--out", work / "ev", "--quiet", cwd=work), work,
                   before, codes=(1,), says="no trained model")


@pytest.mark.parametrize("threads", ["5000", "100000"])
def test_row10_absurd_thread_counts_are_refused_at_once(work, model, threads):
    before = files(work)
    start = time.perf_counter()
    assert_refused(hfc(*RUN, "--scheme", "learned", "--model", model, "--threads", threads, "--output", "o.nc",
                       cwd=work), work, before, codes=(1,), says="threads must be an integer in [1,")
    assert time.perf_counter() - start < 10


def test_row11_the_initial_condition_may_not_change_on_restart(work):
    args = ["simulate", "--equation", "advection", "--n", "32", "--t-end", "1", "--quiet"]
    assert hfc(*args, "--ic", "sine", "--restart-every", 0.5, "--output", "a.nc", cwd=work).returncode == 0
    restart = work / "a.restart.nc"
    before = files(work)
    assert_refused(hfc(*args, "--t-end", 2, "--ic", "gaussian", "--restart-from", restart, "--output", "b.nc",
                       cwd=work), work, before, codes=(1,), says="initial_condition")


# --- property-based: random argument vectors and random restart corruptions ---------------

VALUES = {
    "--equation": ["burgers", "advection", "kdv", "ks", "heat", ""],
    "--scheme": ["weno5", "godunov", "fv3", "polynomial", "weno7", "learned"],
    "--n": ["8", "33", "64", "0", "-4", "1e12", "2147483649", "x", ""],
    "--t-end": ["0.05", "0.3", "0", "-1", "nan", "inf", "1e308", "1e-300", "abc"],
    "--dt": ["0.001", "0", "-0.1", "nan", "1e-300", "1e300"],
    "--cfl": ["0.4", "0", "11", "nan", "-1"],
    "--viscosity": ["0", "0.01", "-1", "1e300", "nan"],
    "--length": ["1", "6.28", "0", "1e-300", "1e300", "-2"],
    "--seed": ["0", "5", "-1", "2147483648", "1e30", "zz"],
    "--save-every": ["0.01", "0.1", "0", "1e-9", "-1", "nan"],
    "--ic": ["zero", "sine", "gaussian", "random", "square"],
    "--method": ["ssprk3", "euler", "rk4"],
    "--on-nonfinite": ["abort", "fallback", "ignore"],
    "--max-steps": ["100", "1", "0", "-5", "1e9"],
    "--restart-every": ["0.1", "0.05", "0.033", "0", "-1"],
}


@HYPOTHESIS
@given(st.dictionaries(st.sampled_from(sorted(VALUES)), st.just(None), max_size=6).flatmap(
    lambda keys: st.fixed_dictionaries({k: st.sampled_from(VALUES[k]) for k in keys})))
def test_random_argument_vectors_hold_the_invariants(options):
    """Whatever the arguments: exit 0 with a readable output (and nothing else but its
    restart), or exit 1/2 with one line and nothing written; never a traceback or a hang."""
    args = ["simulate", "--quiet", "--output", "o.nc"]
    args += ["--n", "16"] if "--n" not in options else []
    args += ["--t-end", "0.1"] if "--t-end" not in options else []
    for key, value in options.items():
        args += [key, value]
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        result = hfc(*args, cwd=folder)
        if result.returncode == 0:
            assert "Traceback" not in result.stderr
            written = {p.name for p in folder.iterdir()}
            assert written <= {"o.nc", "o.restart.nc"} and "o.nc" in written, written
            with netCDF4.Dataset(folder / "o.nc") as ds:
                assert np.all(np.isfinite(ds["u"][:]))
        else:
            assert_refused(result, folder, {}, codes=(1, 2))


CORRUPTIONS = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0.0, 0.99)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0.0, 0.999), st.integers(1, 255)), min_size=1,
                                       max_size=8)),
    st.tuples(st.just("attribute"), st.sampled_from(["time", "steps", "guard_fallback_faces", "checksum_sha256",
                                                     "run_n", "run_scheme", "run_seed", "run_initial_condition",
                                                     "hfc_restart_version"]),
              st.sampled_from(["0", "-1", "nan", "1e308", "", "weno5", "0.25", "x" * 300])),
    st.tuples(st.just("state"), st.sampled_from(["nan", "inf", "scale", "short"])),
)


@pytest.fixture(scope="module")
def good_restart(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("restart")
    result = hfc("simulate", "--n", 32, "--t-end", 0.5, "--restart-every", 0.25, "--quiet", "--output", "a.nc",
                 cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / "a.restart.nc"


def corrupt(source: Path, target: Path, how) -> None:
    data = bytearray(source.read_bytes())
    if how[0] == "truncate":
        target.write_bytes(bytes(data[:int(how[1] * len(data))]))
        return
    if how[0] == "flip":
        for where, mask in how[1]:
            data[int(where * len(data))] ^= mask
        target.write_bytes(bytes(data))
        return
    if how == ("state", "short"):     # crafted: a consistent checksum over a state of another size
        from coupler.io.restart import Restart, read_restart, write_restart
        r = read_restart(source)
        write_restart(target, Restart(r.t, r.u[:-3], r.nsteps, r.fallback_faces, r.identity))
        return
    shutil.copy(source, target)
    with netCDF4.Dataset(target, "a") as ds:
        if how[0] == "attribute":
            ds.setncattr(how[1], how[2])
        else:
            u = ds["u"][:]
            u[3] = {"nan": np.nan, "inf": np.inf, "scale": u[3] * 1e6 + 1}[how[1]]
            ds["u"][:] = u


@HYPOTHESIS
@given(CORRUPTIONS)
def test_random_restart_corruptions_are_refused_or_harmless(good_restart, how):
    """A damaged restart is refused in one line (checksum, format, identity, size) and left
    as it was; only a change that touches nothing the run uses may continue."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        corrupt(good_restart, folder / "r.nc", how)
        before = files(folder)
        result = hfc("simulate", "--n", 32, "--t-end", 1.0, "--save-every", 0.005, "--quiet", "--restart-from", "r.nc",
                     "--output", "b.nc", cwd=folder)
        if result.returncode == 0:
            assert files(folder)[Path("r.nc")] == before[Path("r.nc")]
            assert {p.name for p in folder.iterdir()} == {"r.nc", "b.nc"}
        else:
            assert_refused(result, folder, before, codes=(1,))
