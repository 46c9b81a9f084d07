"""Installable like a library: `make install PREFIX=...` gives a prefix with lib/, include/hfc/
(the .mod files), lib/pkgconfig/ (hfc.pc serial, hfc-mpi.pc) and lib/cmake/hfc/, usable
without the Python virtual environment: examples/01 built with pkg-config (serial, no MPI
flags) and examples/03 (a legacy model's own loop, mpi_f08) built with CMake against the
prefix, run with a PATH that does not contain the environment, ONNX Runtime located by the
documented rule ($HFC_ONNXRUNTIME_LIB, here a copy outside the environment)."""
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from coupler.host import Host, HostConfig, TimeConfig, onnx_runtime
from coupler.learned import FortranLearnedFlux, RuntimeConfig
from coupler.problems.forcing import random_forcing
from coupler.problems.initial_conditions import initial_condition

CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def run(cmd, **kw):
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def prefix(repo_root, tmp_path_factory):
    """`make install PREFIX=<tmp>` (meson/ninja from the environment, the result without it)."""
    where = tmp_path_factory.mktemp("prefix")
    run(["make", "-C", repo_root, "install", f"PREFIX={where}"])
    return where


@pytest.fixture(scope="module")
def clean_env(tmp_path_factory):
    """An environment without the virtual environment: system PATH, ONNX Runtime from a copy."""
    lib = Path(onnx_runtime()[0])
    copy = tmp_path_factory.mktemp("ort") / lib.name
    shutil.copy(lib, copy)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "LD_LIBRARY_PATH")}
    env.update(PATH=CLEAN_PATH, HFC_ONNXRUNTIME_LIB=str(copy), OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    return env


def test_prefix_layout(prefix):
    for path in ("lib/libhfc.so", "lib/libhfc_mpi.so", "include/hfc/hfc_host.mod", "include/hfc/hfc_coupler.mod",
                 "include/hfc/hfc_mpi.mod", "lib/pkgconfig/hfc.pc", "lib/pkgconfig/hfc-mpi.pc",
                 "lib/cmake/hfc/hfcConfig.cmake", "lib/cmake/hfc/hfcConfigVersion.cmake"):
        assert (prefix / path).exists(), path
    needed = run(["readelf", "-d", prefix / "lib" / "libhfc.so"]).stdout
    assert "mpi" not in needed, "libhfc must not link MPI"
    assert ".venv" not in needed


def test_serial_program_with_pkg_config_from_the_prefix(prefix, clean_env, repo_root, tmp_path):
    env = {**clean_env, "PKG_CONFIG_PATH": str(prefix / "lib" / "pkgconfig")}
    flags = run(["pkg-config", "--cflags", "--libs", "hfc"], env=env).stdout.split()
    assert not any("mpi" in f for f in flags), flags
    exe = tmp_path / "burgers_host"
    run(["gfortran", "-O2", repo_root / "examples/01_fortran_burgers/burgers_host.f90", *flags, "-o", exe], env=env,
        cwd=tmp_path)
    assert ".venv" not in run(["readelf", "-d", exe]).stdout
    random_forcing(4).write_namelist(tmp_path / "forcing.nml")
    (tmp_path / "host.nml").write_text("&host\n n = 64\n scheme = 'weno5'\n t_end = 2.0\n"
                                       " forcing_file = 'forcing.nml'\n output_file = 'final.bin'\n/\n")
    run([exe, "host.nml"], env=env, cwd=tmp_path)
    expected, _ = Host(HostConfig("burgers", 64), "weno5", random_forcing(4), TimeConfig(cfl=0.5)).advance(
        np.zeros(64), 0.0, 2.0)
    np.testing.assert_array_equal(np.fromfile(tmp_path / "final.bin"), expected)


@pytest.fixture(scope="module")
def own_loop(prefix, clean_env, repo_root, tmp_path_factory):
    """examples/03 configured and built with CMake: find_package(hfc CONFIG) from the prefix."""
    build = tmp_path_factory.mktemp("own_loop")
    cmake = shutil.which("cmake")
    run([cmake, "-S", repo_root / "examples/03_own_loop", "-B", build, f"-DCMAKE_PREFIX_PATH={prefix}"],
        env=clean_env)
    run([cmake, "--build", build], env=clean_env)
    return build / "own_loop"


@pytest.mark.parametrize("scheme", ["weno5", "learned"])
def test_own_loop_serial_and_mpi_with_cmake(own_loop, clean_env, onnx64, tmp_path, scheme):
    """The legacy model's own SSP-RK3 loop, its own decomposition (remainder on the last rank)
    and its own 8 ghost cells (more than the model's 7), or the library's halo fill through
    hfc_mpi_ring: every rank count and both ghost modes give the serial bits; against the
    library's host on the same state and steps, 1e-13 (the user's RK update is compiled with
    the user's flags, which may fuse multiply-adds differently: round-off only)."""
    n, steps, dt = 64, 60, 0.01
    u0 = initial_condition("sine", n, 2 * np.pi)
    u0.tofile(tmp_path / "u0.bin")
    outputs = {}
    for ranks, own in ((1, True), (3, True), (2, False)):
        name = f"r{ranks}{own}"
        (tmp_path / f"{name}.nml").write_text(
            f"&model\n n = {n}\n steps = {steps}\n dt = {dt}\n scheme = '{scheme}'\n model_file = '{onnx64}'\n"
            f" initial_file = 'u0.bin'\n own_ghosts = {'.true.' if own else '.false.'}\n"
            f" output_file = '{name}.bin'\n/\n")
        command = [own_loop, f"{name}.nml"] if ranks == 1 else ["mpirun", "-n", ranks, own_loop, f"{name}.nml"]
        assert "own_loop:" in run(command, env=clean_env, cwd=tmp_path).stdout
        outputs[name] = np.fromfile(tmp_path / f"{name}.bin")
    serial = outputs.pop("r1True")
    for name, u in outputs.items():
        np.testing.assert_array_equal(u, serial, err_msg=name)
    provider = "weno5"
    if scheme == "learned":
        model = FortranLearnedFlux(onnx64, RuntimeConfig(backend="fortran"))
        provider = model.provider()
    host = Host(HostConfig("burgers", n), provider, time=TimeConfig(dt=dt))
    host.set_state(u0, 0.0)
    for _ in range(steps):
        host.step(dt)
    expected = host.get_state()[0]
    assert np.abs(expected - u0).max() > 0.05
    np.testing.assert_allclose(serial, expected, rtol=0, atol=1e-13)


def test_own_loop_bad_layout_stops_every_rank_with_the_reason(own_loop, clean_env, tmp_path):
    """8 cells on 3 ranks with the remainder on the last: blocks of 2, 2 and 4 cells cannot
    hold WENO5's halo of 3; the coupler refuses on every rank alike (no rank waits in a
    collective) and the example stops with the message."""
    (tmp_path / "bad.nml").write_text("&model\n n = 8\n steps = 1\n scheme = 'weno5'\n own_ghosts = .false.\n/\n")
    result = subprocess.run(["mpirun", "-n", "3", str(own_loop), "bad.nml"], capture_output=True, text=True,
                            env=clean_env, cwd=tmp_path, timeout=120)
    assert result.returncode != 0
    assert "halo width must lie in [0, n]" in result.stderr and "halo 3, n = 2" in result.stderr, result.stderr
