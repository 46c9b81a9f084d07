"""The hostile-input suite of the pure Fortran programs (examples/01 and examples/02): every
bad namelist field, forcing file or output path gives one line on stderr that names the
field, a non-zero exit, no output (not even a partial one), no input changed, in bounded
time. Ranks started with different configurations are refused on every rank, by the
programs and by the library's hfc_host_create; SIGTERM removes the partial output and exits
143. Named cases for rows 7 and 8 of issue 11, then random namelists (Hypothesis).
"""
import hashlib
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coupler.problems.forcing import random_forcing

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60      # seconds: every refusal here comes at once; a hang fails the case
HYPOTHESIS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
# a run that is valid and quick: 32 cells to t = 0.5 (both programs), frames of 0.25 (02)
BASE = {"n": "32", "t_end": "0.5", "forcing_file": "'forcing.nml'", "output_file": "'out.bin'"}
BASE_02 = {**BASE, "scheme": "'weno5'", "save_every": "0.25", "output_file": "'out.nc'"}


def build(hfc, tool_env, folder: Path, source: str, package: str) -> tuple[Path, dict]:
    """An example program built in `folder` (its .mod lands there) against the installed
    library `package` (pkg-config hfc or hfc-mpi): (executable, environment)."""
    env = {**tool_env, "PKG_CONFIG_PATH": hfc("info", "--pkg-config-path").stdout.strip()}
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", package], capture_output=True, text=True, env=env,
                           check=True).stdout.split()
    exe = folder / Path(source).stem
    subprocess.run(["gfortran", "-O2", str(ROOT / "examples" / source), *flags, "-o", str(exe)], capture_output=True,
                   env=env, check=True, cwd=folder)
    return exe, env


@pytest.fixture(scope="module")
def burgers_host(hfc, tool_env, tmp_path_factory) -> tuple[Path, dict]:
    """examples/01, serial, against libhfc."""
    return build(hfc, tool_env, tmp_path_factory.mktemp("burgers_host"), "01_fortran_burgers/burgers_host.f90", "hfc")


@pytest.fixture(scope="module")
def own_loop(hfc, tool_env, tmp_path_factory) -> tuple[Path, dict]:
    """examples/03 (MPI) against libhfc_mpi."""
    return build(hfc, tool_env, tmp_path_factory.mktemp("own_loop"), "03_own_loop/own_loop.f90", "hfc-mpi")


@pytest.fixture
def work(tmp_path):
    random_forcing(5).write_namelist(tmp_path / "forcing.nml")
    return tmp_path


def files(folder: Path) -> dict:
    """Every file under folder (hidden ones too) -> its SHA-256."""
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def namelist(fields: dict) -> str:
    return "&host\n" + "".join(f" {key} = {value}\n" for key, value in fields.items()) + "/\n"


def run(program, work: Path, fields: dict, timeout=TIMEOUT):
    exe, env = program
    (work / "host.nml").write_text(namelist(fields))
    return subprocess.run([str(exe), "host.nml"], capture_output=True, text=True, errors="replace", cwd=work,
                          env=env, timeout=timeout)


def assert_refused(result, work: Path, before: dict, says: str) -> str:
    """One line '<program>: error ...' naming what is wrong, exit 1, the folder as it was."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and re.match(r"\w+: error\b", lines[0]), result.stderr   # no STOP, no backtrace
    assert says.lower() in lines[0].lower(), lines[0]
    assert files(work) == before, "a refused run left or changed files"
    return lines[0]


# --- row 7: bad namelists, forcing files and output paths --------------------------------

FIELD_CASES = [   # (field, value, what the message must say); each on both programs
    ("t_end", "nan", "t_end must be finite and > 0, got NaN"),
    ("t_end", "inf", "t_end must be finite and > 0, got Infinity"),
    ("t_end", "0", "t_end must be finite and > 0, got 0"),
    ("dt", "-0.1", "dt must be finite and >= 0"),
    ("dt", "nan", "dt must be finite and >= 0, got NaN"),
    ("cfl", "11", "cfl must be in (0, 10], got 11"),
    ("n", "0", "n must be an integer in [1, 100000000], got 0"),
    ("n", "2147483647", "n must be an integer in [1, 100000000]"),
    ("length", "-1", "length must be finite and > 0"),
    ("viscosity", "-1", "viscosity must be finite and >= 0"),
    ("max_steps", "0", "max_steps must be an integer in [1,"),
    ("scheme", "'weno7'", "scheme: unknown scheme 'weno7'"),
    ("nn", "3", "(nn = 3): cannot match namelist object name nn"),
    ("n", "'abc'", "(n = 'abc')"),
    ("n", "3000000000", "(n = 3000000000): integer overflow"),
    ("output_file", "''", "output_file is empty"),
    ("output_file", "'missing/out.x'", "the folder 'missing' of 'missing/out.x' does not exist; create it first"),
    ("output_file", "'sub'", "output_file 'sub' is a folder"),
    ("output_file", "'forcing.nml'", "output_file 'forcing.nml' is the input 'forcing.nml'"),
    ("output_file", "'./host.nml'", "is the input 'host.nml'"),
    ("output_file", "'link.nml'", "is the input 'forcing.nml'"),                 # a link to an input
    ("output_file", "'/proc/out.x'", "cannot create files in '/proc'"),         # not even root may
    ("forcing_file", "'absent.nml'", "cannot open absent.nml"),
    ("dt", "1e-300", "need more than the 100000000 steps left of max_steps"),   # would run for ever
    ("viscosity", "1e300", "ask for too small a step"),
]


@pytest.mark.parametrize("program_name", ["burgers_host", "learned_host"])
@pytest.mark.parametrize("field, value, says", FIELD_CASES, ids=[f"{f}={v}" for f, v, _ in FIELD_CASES])
def test_row7_bad_field_is_named_and_nothing_is_written(request, work, program_name, field, value, says):
    program = request.getfixturevalue(program_name)
    (work / "sub").mkdir()
    (work / "link.nml").symlink_to("forcing.nml")
    fields = dict(BASE if program_name == "burgers_host" else BASE_02)
    fields.pop(field, None)
    fields[field] = value
    before = files(work) | {Path("host.nml"): hashlib.sha256(namelist(fields).encode()).hexdigest()}
    assert_refused(run(program, work, fields), work, before, says)


@pytest.mark.parametrize("program_name", ["burgers_host", "learned_host"])
@pytest.mark.parametrize("n_modes, given, says", [
    (20, 2, "gives 2 values of amplitude (entries 1 to n_modes = 20 needed, finite)"),   # was: uninitialised memory
    (2, 3, "gives 3 values of amplitude (entries 1 to n_modes = 2 needed, finite)"),
    (-1, 0, "n_modes missing or not in [0, 4096]"),
])
def test_row7_forcing_counts_must_match_n_modes(request, work, program_name, n_modes, given, says):
    program = request.getfixturevalue(program_name)
    values = ", ".join(["0.5"] * given)
    waves = ", ".join(["3"] * given)
    (work / "forcing.nml").write_text(f"&hfc_forcing\n n_modes = {n_modes}\n amplitude = {values}\n"
                                      f" omega = {values}\n phase = {values}\n wavenumber = {waves}\n/\n")
    fields = dict(BASE if program_name == "burgers_host" else BASE_02)
    before = files(work) | {Path("host.nml"): hashlib.sha256(namelist(fields).encode()).hexdigest()}
    assert_refused(run(program, work, fields), work, before, says)


@pytest.mark.parametrize("text, says", [
    ("&other\n nn = 1\n/\n&host\n ! a comment\n n = 32, t_end = 0.5\n nn = 3\n/\n",
     "host.nml, line 7 (nn = 3): cannot match namelist object name nn"),    # the line, not another group's
    ("&host\n n = 32\n t_end = 0.5\n", "no complete &host ... / group"),
    ("&other\n n = 32\n/\n", "no &host namelist group in host.nml"),      # gfortran would read nothing
    ("&host\n output_file = '" + "x" * 1100 + "'\n/\n", "host.nml, line 2 is longer than 1024 characters"),
])
def test_row7_namelist_files_are_read_whole_or_refused_naming_the_line(burgers_host, work, text, says):
    (work / "host.nml").write_text(text)
    before = files(work)
    exe, env = burgers_host
    result = subprocess.run([str(exe), "host.nml"], capture_output=True, text=True, cwd=work, env=env, timeout=TIMEOUT)
    assert_refused(result, work, before, says)


OWN_LOOP = {"n": "64", "steps": "10", "output_file": "'out.bin'"}


@pytest.mark.parametrize("field, value, says", [
    ("dt", "-1", "dt must be finite and > 0, got -1"),
    ("steps", "-3", "steps must be an integer in [0, 100000000], got -3"),
    ("nn", "3", "(nn = 3): cannot match namelist object name nn"),
    ("output_file", "'model.nml'", "output_file 'model.nml' is the input 'model.nml'"),
    ("output_file", "'missing/out.bin'", "does not exist; create it first"),
    ("n", "4", "n must be an integer in [8, 100000000], got 4"),          # one rank holds 8 ghost cells
])
def test_row7_the_own_loop_example_checks_its_namelist(own_loop, work, field, value, says):
    """examples/03 (a modeller's own loop): the same checks, message from one rank."""
    fields = {**OWN_LOOP, field: value}
    (work / "model.nml").write_text(namelist(fields).replace("&host", "&model"))
    before = files(work)
    exe, env = own_loop
    result = subprocess.run([str(exe), "model.nml"], capture_output=True, text=True, cwd=work, env=env,
                            timeout=TIMEOUT)
    assert_refused(result, work, before, says)


def test_row7_output_over_the_model_is_refused(learned_host, onnx32, work):
    model = work / "mc.onnx"
    model.write_bytes(onnx32.read_bytes())
    fields = {**BASE_02, "scheme": "'learned'", "model_file": "'mc.onnx'", "output_file": "'mc.onnx'"}
    before = files(work) | {Path("host.nml"): hashlib.sha256(namelist(fields).encode()).hexdigest()}
    assert_refused(run(learned_host, work, fields), work, before, "output_file 'mc.onnx' is the input 'mc.onnx'")


@pytest.mark.parametrize("program_name, output", [("burgers_host", "out.bin"), ("learned_host", "out.nc")])
def test_the_base_namelist_runs(request, work, program_name, output):
    """The valid configuration the cases above spoil: it runs and writes its output."""
    fields = BASE if program_name == "burgers_host" else BASE_02
    result = run(request.getfixturevalue(program_name), work, fields)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert (work / output).stat().st_size > 0 and not (work / f"{output}.part").exists()


# The values a hostile user tries, field by field; a drawn namelist mixes them with the
# valid base, so most draws are refused and some run (both must hold the invariants).
HOSTILE = {
    "n": st.sampled_from(["0", "-5", "16", "2147483647", "'x'", "1.5", "100000001"]),
    "t_end": st.sampled_from(["nan", "inf", "-1", "0", "1e308", "0.25", "'x'"]),
    "dt": st.sampled_from(["-1", "nan", "1e-300", "0", "0.01", "1e308"]),
    "cfl": st.sampled_from(["0", "-1", "11", "nan", "0.4"]),
    "viscosity": st.sampled_from(["-1", "nan", "inf", "1e300", "0.02"]),
    "length": st.sampled_from(["0", "-1", "inf", "1e-300", "1e300", "3.0"]),
    "scheme": st.sampled_from(["'weno7'", "''", "'godunov'", "3"]),
    "max_steps": st.sampled_from(["0", "-1", "1", "5"]),
    "output_file": st.sampled_from(["''", "'missing/o.x'", "'.'", "'forcing.nml'", "'host.nml'", "'o.x'"]),
    "forcing_file": st.sampled_from(["'absent.nml'", "'host.nml'", "'forcing.nml'"]),
    "unknown_field": st.sampled_from(["1"]),
}


@HYPOTHESIS
@given(st.dictionaries(st.sampled_from(sorted(HOSTILE)), st.just(None), min_size=1, max_size=4), st.data())
def test_random_namelists_hold_the_invariants(burgers_host, tmp_path_factory, chosen, data):
    work = tmp_path_factory.mktemp("random")
    random_forcing(5).write_namelist(work / "forcing.nml")
    fields = dict(BASE)
    for field in chosen:
        fields[field] = data.draw(HOSTILE[field], label=field)
    output = fields["output_file"].strip("'")
    inputs = {path: digest for path, digest in files(work).items()}
    start = time.perf_counter()
    result = run(burgers_host, work, fields)
    assert time.perf_counter() - start < TIMEOUT / 2
    inputs[Path("host.nml")] = hashlib.sha256(namelist(fields).encode()).hexdigest()
    if result.returncode == 0:
        assert result.stderr == "" and output and (work / output).is_file()
        left = {p: d for p, d in files(work).items() if p != Path(output)}
        assert left == inputs, "a run changed one of its inputs"
    else:
        assert_refused(result, work, inputs, says="")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_removes_the_partial_output_and_exits_128_plus_signum(learned_host, work, signum):
    fields = {**BASE_02, "n": "4096", "t_end": "2000.0", "save_every": "1.0"}   # minutes of work
    (work / "host.nml").write_text(namelist(fields))
    exe, env = learned_host
    process = subprocess.Popen([str(exe), "host.nml"], cwd=work, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (work / "out.nc.part").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (work / "out.nc.part").exists(), "the run never started writing"
    time.sleep(0.3)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 128 + signum, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"stopped by signal {int(signum)}" in lines[0], stderr
    assert not (work / "out.nc").exists() and not (work / "out.nc.part").exists()


# --- row 8: ranks configured differently ---------------------------------------------------

@pytest.mark.parametrize("differ", [{"t_end": "1.0"}, {"n": "33"}, {"scheme": "'godunov'"}])
def test_row8_ranks_with_different_namelists_are_refused(learned_host, mpi_env, work, differ):
    """An MPMD launch of examples/02 with another namelist on rank 1: refused on every rank,
    one line from rank 0, no output, no hang (a different t_end used to hang in the frames)."""
    exe, _ = learned_host
    (work / "a.nml").write_text(namelist(BASE_02))
    (work / "b.nml").write_text(namelist({**BASE_02, **differ}))
    before = files(work)
    start = time.perf_counter()
    result = subprocess.run(["mpirun", "-n", "1", str(exe), "a.nml", ":", "-n", "1", str(exe), "b.nml"],
                            capture_output=True, text=True, cwd=work, env={**mpi_env, **learned_host[1]},
                            timeout=TIMEOUT)
    assert time.perf_counter() - start < 30
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "learned_host: error" in line]
    assert lines == ["learned_host: error 1 (rank 0): the ranks were configured differently (rank 1 differs from "
                     "rank 0); start every rank with the same configuration"], result.stderr
    assert files(work) == before


@pytest.mark.parametrize("what", ["n", "scheme", "cfl"])
def test_row8_the_library_refuses_hosts_configured_differently(mpi_env, what):
    """hfc_host_create itself (no CLI check in front): every one of 3 ranks refuses alike."""
    result = subprocess.run(["mpirun", "-n", "3", sys.executable, str(ROOT / "tests/mpi/mismatched_host.py"), what],
                            capture_output=True, text=True, env=mpi_env, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    # counted, not split into lines: the ranks' outputs may interleave in mpirun's stdout
    refused = re.findall(r"rank (\d) refused: the ranks were configured differently \(rank 2 differs from rank 0\)",
                         result.stdout)
    assert sorted(refused) == ["0", "1", "2"], result.stdout


def test_the_library_accepts_ranks_configured_alike(mpi_env):
    result = subprocess.run(["mpirun", "-n", "3", sys.executable, str(ROOT / "tests/mpi/mismatched_host.py"), "none"],
                            capture_output=True, text=True, env=mpi_env, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert sorted(re.findall(r"rank (\d) created", result.stdout)) == ["0", "1", "2"], result.stdout
