"""The Fortran library as Fortran users see it: a program outside the repository built
against the installed libhfc with pkg-config, and the debug build with run-time checks."""
import subprocess

import numpy as np

from coupler.host import Host, HostConfig, TimeConfig
from coupler.problems.forcing import random_forcing


def run(cmd, **kw):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))}\n{result.stdout}\n{result.stderr}"
    return result


def test_pure_fortran_host_matches_python_driven_host_bitwise(hfc, tool_env, repo_root, tmp_path):
    """examples/01: forcing written by Python as a namelist, read by Fortran; the final
    state is bit for bit the Python-driven host's (same library, same forcing bits)."""
    pkgconfig = hfc("info", "--pkg-config-path").stdout.strip()
    env = {**tool_env, "PKG_CONFIG_PATH": pkgconfig}
    example = repo_root / "examples" / "01_fortran_burgers"
    exe = tmp_path / "burgers_host"
    flags = run(["pkg-config", "--cflags", "--libs", "hfc"], env=env).stdout.split()
    run(["gfortran", "-O2", "-Wall", str(example / "burgers_host.f90"), *flags, "-o", str(exe)],
        env=env, cwd=tmp_path)

    n, t_end, seed = 96, 3.0, 21
    random_forcing(seed).write_namelist(tmp_path / "forcing.nml")
    (tmp_path / "host.nml").write_text(
        f"&host\n n = {n}\n scheme = 'fv3'\n t_end = {t_end}\n cfl = 0.4\n"
        f" forcing_file = 'forcing.nml'\n output_file = 'final.bin'\n/\n")
    out = run([str(exe), "host.nml"], env=env, cwd=tmp_path).stdout
    assert "steps=" in out
    fortran_state = np.fromfile(tmp_path / "final.bin", dtype=np.float64)

    python_state, _ = Host(HostConfig("burgers", n), "fv3", random_forcing(seed),
                           TimeConfig(cfl=0.4)).advance(np.zeros(n), 0.0, t_end)
    assert np.abs(python_state).max() > 0.05
    np.testing.assert_array_equal(fortran_state, python_state)


def test_fortran_host_reports_bad_configuration(hfc, tool_env, repo_root, tmp_path):
    pkgconfig = hfc("info", "--pkg-config-path").stdout.strip()
    env = {**tool_env, "PKG_CONFIG_PATH": pkgconfig}
    flags = run(["pkg-config", "--cflags", "--libs", "hfc"], env=env).stdout.split()
    exe = tmp_path / "burgers_host"
    run(["gfortran", str(repo_root / "examples/01_fortran_burgers/burgers_host.f90"), *flags, "-o", str(exe)],
        env=env, cwd=tmp_path)
    (tmp_path / "host.nml").write_text("&host\n n = 32\n scheme = 'weno7'\n forcing_file = 'missing.nml'\n/\n")
    result = subprocess.run([str(exe), "host.nml"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert result.returncode == 1 and "cannot open missing.nml" in result.stderr, result.stderr
    random_forcing(1).write_namelist(tmp_path / "forcing.nml")     # the forcing found, the scheme is next
    (tmp_path / "host.nml").write_text("&host\n n = 32\n scheme = 'weno7'\n forcing_file = 'forcing.nml'\n/\n")
    result = subprocess.run([str(exe), "host.nml"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert result.returncode == 1 and "scheme: unknown scheme 'weno7'" in result.stderr, result.stderr
    assert not (tmp_path / "final_state.bin").exists()


def test_debug_build_with_bounds_checking(tool_env, repo_root, tmp_path):
    """meson build of the library alone (-Dpython=false) with -fcheck=all and
    floating-point traps, then its Fortran self-checks (fortran/tests/check_host.f90)."""
    build = tmp_path / "debug"
    run(["meson", "setup", str(build), str(repo_root), "-Dpython=false", "-Dchecks=true",
         "-Dbuildtype=debug", "-Dnative=false"], env=tool_env)
    result = run(["meson", "test", "-C", str(build), "--print-errorlogs"], env=tool_env)
    assert "Ok:                1" in result.stdout or "1/1 check_host" in result.stdout
    log = (build / "meson-logs" / "testlog.txt").read_text()
    assert "check_host: all checks passed" in log
