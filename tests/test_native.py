"""The Fortran-native path: libhfc's hfc_onnx module over the ONNX Runtime C API.

Agreement with onnxruntime in Python and with torch on batched non-square inputs, the
coupled trajectories of `--backend python` and `--backend fortran`, the pure Fortran host
of examples/02, and the refusals (each also exercises the C API slots it goes through).
"""
import os
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from coupler.errors import ConfigError
from coupler.host import FortranModel, Host, HostConfig, TimeConfig, onnx_runtime
from coupler.learned import FortranLearnedFlux, LearnedFlux, ModelError, RuntimeConfig
from coupler.problems.forcing import random_forcing
from training.train import load_model

HOST = HostConfig("burgers", 64)
FORTRAN = RuntimeConfig(backend="fortran")


def test_runtime_library_and_version_are_recorded(hfc):
    path, version = onnx_runtime()
    assert Path(path).is_file() and version == onnxruntime.__version__
    info = hfc("info").stdout
    assert f"onnxruntime {version} {path}" in info


def test_native_fluxes_agree_with_onnxruntime_python_and_torch(onnx32, onnx64, burgers_model, rng,
                                                               halo_states):
    """Same library version, same input rounding, one thread: the Fortran path and
    onnxruntime-python run the same kernels on the same bits, so they agree exactly.
    Against torch: float64 to 1e-12 (operation order), float32 to 1e-6 (float32 kernels
    summing in a different order; measured ~4e-7)."""
    u = halo_states(rng, 3, 50)                                   # (3, 64): batched, not square
    torch64 = load_model(burgers_model, torch.float64)(torch.as_tensor(u[:, None])).detach().numpy()[:, 0]
    torch32 = load_model(burgers_model, torch.float32)(torch.as_tensor(u[:, None], dtype=torch.float32))
    torch32 = torch32.detach().numpy()[:, 0].astype(np.float64)
    scale = np.max(np.abs(torch64))
    for path, reference, tolerance in ((onnx64, torch64, 1e-12), (onnx32, torch32, 1e-6)):
        native = FortranLearnedFlux(path, FORTRAN)(u)
        assert native.shape == (3, 51)
        np.testing.assert_array_equal(native, LearnedFlux(path)(u))
        assert np.max(np.abs(native - reference)) <= tolerance * scale
        # single rows through the rank-1 entry point give the batch's rows, to the tolerance
        # of their precision (a kernel may sum a batch of one in another order)
        single = FortranLearnedFlux(path, FORTRAN)
        for row in range(3):
            np.testing.assert_allclose(single(u[row]), native[row], rtol=0, atol=tolerance * scale)


def test_coupled_runs_of_both_backends_are_bit_identical_over_1000_steps(onnx32):
    forcing, time = random_forcing(7), TimeConfig(dt=0.01)
    u0 = np.sin(HOST.cell_centres())
    python, steps = Host(HOST, LearnedFlux(onnx32).provider(), forcing, time).advance(u0, 0.0, 10.0)
    native_model = FortranLearnedFlux(onnx32, FORTRAN)
    native, _ = Host(HOST, native_model.provider(), forcing, time).advance(u0, 0.0, 10.0)
    assert steps == 1000 and np.max(np.abs(native)) > 0.1
    np.testing.assert_array_equal(native, python)


def test_hfc_simulate_backends_write_identical_files(hfc, onnx32, tmp_path):
    files = {}
    for backend in ("python", "fortran"):
        files[backend] = tmp_path / f"{backend}.nc"
        result = hfc("simulate", "--scheme", "learned", "--model", onnx32, "--backend", backend, "--n", 64,
                     "--t-end", 3, "--seed", 11, "--output", files[backend], "--quiet")
        assert result.returncode == 0, result.stderr
    with netCDF4.Dataset(files["python"]) as a, netCDF4.Dataset(files["fortran"]) as b:
        np.testing.assert_array_equal(a["u"][:], b["u"][:])
        assert b.backend.startswith("fortran") and b.onnxruntime_version == onnxruntime.__version__
        assert b.model_sha256 == a.model_sha256


def test_fortran_checks_the_host_before_the_first_step(onnx32):
    """The check lives in Fortran too (a pure Fortran host has no Python to do it)."""
    model = FortranLearnedFlux(onnx32, FORTRAN)
    u0 = np.zeros(32)
    with pytest.raises(ConfigError, match="learned provider: model metadata dx"):
        Host(HostConfig("burgers", 32), model.provider()).advance(u0, 0.0, 0.1)
    with pytest.raises(ConfigError, match="learned provider: model metadata viscosity"):
        Host(HostConfig("burgers", 64, viscosity=0.05), model.provider()).advance(np.zeros(64), 0.0, 0.1)
    with pytest.raises(ConfigError, match="learned provider: model metadata equation = burgers"):
        Host(HostConfig("advection", 64), model.provider()).advance(np.zeros(64), 0.0, 0.1)
    model.close()
    with pytest.raises(ConfigError, match="no loaded model"):
        Host(HOST, FortranModel(99, 7)).advance(np.zeros(64), 0.0, 0.1)


def test_bad_models_are_refused_by_the_fortran_path(onnx32, broken_models):
    with pytest.raises(ModelError, match="ONNX Runtime cannot load the model"):
        FortranLearnedFlux(onnx32, FORTRAN, data=b"\x08\x07 not a model at all")
    with pytest.raises(ModelError, match="ONNX Runtime cannot load the model"):
        FortranLearnedFlux(onnx32, FORTRAN, data=onnx32.read_bytes()[: onnx32.stat().st_size // 2])
    for name, message in (("bare", "lacks the metadata 'input_name'"),
                          ("renamed", "the input is named 'x', the metadata says 'u'"),
                          ("wrong_dtype", "metadata dtype 'float64' differs"), ("bad_halo", "metadata halo 'seven'")):
        with pytest.raises(ModelError, match=message):
            FortranLearnedFlux(broken_models[name], FORTRAN)
    with pytest.raises(ModelError, match="no CUDA execution provider"):
        FortranLearnedFlux(onnx32, RuntimeConfig(device="cuda:0", backend="fortran"))


def test_model_ids_are_freed_and_reused(onnx32, rng, halo_states):
    first = FortranLearnedFlux(onnx32, FORTRAN)
    second = FortranLearnedFlux(onnx32, FORTRAN)
    assert first.id != second.id
    freed = first.id
    first.close()
    third = FortranLearnedFlux(onnx32, FORTRAN)
    assert third.id == freed
    u = halo_states(rng, 1, 20)
    np.testing.assert_array_equal(second(u), third(u))


def test_a_missing_onnxruntime_library_is_a_clear_error(hfc, onnx32, tmp_path):
    env = {**os.environ, "HFC_ONNXRUNTIME_LIB": str(tmp_path / "libonnxruntime.so.1")}
    out = tmp_path / "x.nc"
    exe = Path(sys.executable).parent / "hfc"
    result = subprocess.run([str(exe), "simulate", "--scheme", "learned", "--model", str(onnx32), "--backend",
                             "fortran", "--n", "64", "--t-end", "1", "--output", str(out)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1 and "cannot open the ONNX Runtime library" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_pure_fortran_learned_host_matches_both_backends_bitwise(hfc, learned_host, onnx32, tmp_path):
    """examples/02: no Python in the process; its netCDF snapshots equal those of
    `hfc simulate --scheme learned` with either backend on the same configuration, and with
    coefficient reuse those of the Fortran backend with --reuse-coefficients."""
    exe, env = learned_host
    random_forcing(5).write_namelist(tmp_path / "forcing.nml")
    (tmp_path / "host.nml").write_text(
        f"&host\n n = 64\n scheme = 'learned'\n model_file = '{onnx32}'\n t_end = 4.0\n save_every = 0.5\n"
        f" forcing_file = 'forcing.nml'\n output_file = 'pure.nc'\n/\n")
    run = subprocess.run([str(exe), "host.nml"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert f"ONNX Runtime {onnxruntime.__version__}" in run.stdout
    for backend in ("python", "fortran"):
        out = tmp_path / f"{backend}.nc"
        result = hfc("simulate", "--scheme", "learned", "--model", onnx32, "--backend", backend, "--n", 64,
                     "--t-end", 4, "--save-every", 0.5, "--seed", 5, "--output", out, "--quiet")
        assert result.returncode == 0, result.stderr
        with netCDF4.Dataset(tmp_path / "pure.nc") as pure, netCDF4.Dataset(out) as driven:
            assert pure["u"].shape == (9, 64) and np.max(np.abs(pure["u"][-1])) > 0.05
            np.testing.assert_array_equal(pure["time"][:], driven["time"][:])
            np.testing.assert_array_equal(pure["u"][:], driven["u"][:])
    # coefficient reuse: the same bits from the namelist's switch and the command line's, another scheme
    (tmp_path / "host.nml").write_text((tmp_path / "host.nml").read_text().replace(
        "output_file = 'pure.nc'", "output_file = 'reuse.nc'\n reuse_coefficients = .true."))
    run = subprocess.run([str(exe), "host.nml"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    result = hfc("simulate", "--scheme", "learned", "--model", onnx32, "--backend", "fortran", "--reuse-coefficients",
                 "--n", 64, "--t-end", 4, "--save-every", 0.5, "--seed", 5, "--output", tmp_path / "driven.nc", "--quiet")
    assert result.returncode == 0, result.stderr
    with netCDF4.Dataset(tmp_path / "reuse.nc") as pure, netCDF4.Dataset(tmp_path / "driven.nc") as driven, \
            netCDF4.Dataset(tmp_path / "pure.nc") as plain:
        np.testing.assert_array_equal(pure["u"][:], driven["u"][:])
        assert driven.coefficient_reuse == 1 and np.abs(pure["u"][-1] - plain["u"][-1]).max() > 1e-6


@pytest.mark.parametrize("edit, message", [
    ("n = 32", "metadata dx"),
    ("viscosity = 0.02", "metadata viscosity"),
    ("model_file = 'absent.onnx'", "cannot open the model file"),
    ("model_file = 'notes.onnx'", "ONNX Runtime cannot load the model"),
    ("model_file = 'external/m.onnx'", "ONNX Runtime cannot load the model"),   # a model in memory has no folder
    ("save_every = 0.3", "whole number of save_every"),
    ("dt = 1.0e-9", "steps left of max_steps"),          # at the first frame: the .part file exists
])
def test_pure_fortran_learned_host_refuses_bad_input_without_output(learned_host, onnx32, tmp_path, edit, message):
    exe, env = learned_host
    random_forcing(5).write_namelist(tmp_path / "forcing.nml")
    (tmp_path / "notes.onnx").write_text("not a model")
    (tmp_path / "external").mkdir()
    onnx.save(onnx.load(onnx32), tmp_path / "external" / "m.onnx", save_as_external_data=True,
              location="weights.bin", size_threshold=0)
    (tmp_path / "host.nml").write_text(
        f"&host\n n = 64\n model_file = '{onnx32}'\n t_end = 1.0\n forcing_file = 'forcing.nml'\n"
        f" output_file = 'out.nc'\n {edit}\n/\n")
    run = subprocess.run([str(exe), "host.nml"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert run.returncode != 0 and message in run.stderr, run.stderr
    assert not (tmp_path / "out.nc").exists() and not (tmp_path / "out.nc.part").exists()


def test_pure_fortran_learned_host_failing_mid_run_removes_its_partial_output(learned_host, late_poisoned,
                                                                             tmp_path):
    """The model turns non-finite mid-run, after frames were written to the .part file (a
    run to the first frame succeeds): exit 1 with the reason, and neither the output nor the
    .part is left."""
    exe, env = learned_host
    random_forcing(5).write_namelist(tmp_path / "forcing.nml")

    def run_to(t_end):
        (tmp_path / "host.nml").write_text(
            f"&host\n n = 64\n model_file = '{late_poisoned}'\n t_end = {t_end}\n save_every = 0.25\n"
            " forcing_file = 'forcing.nml'\n output_file = 'out.nc'\n/\n")
        return subprocess.run([str(exe), "host.nml"], capture_output=True, text=True, cwd=tmp_path, env=env,
                              timeout=300)

    assert run_to(0.25).returncode == 0 and (tmp_path / "out.nc").exists()   # the hole opens later
    (tmp_path / "out.nc").unlink()
    run = run_to(1.5)
    assert run.returncode == 1 and "non-finite fluxes" in run.stderr, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forcing.nml", "host.nml"]
