"""The Python runtime of learned fluxes: LearnedFlux against torch (float64 and float32,
the cost of the one cast), batched layout, the Fortran host driving the model through the
callback, `hfc simulate --scheme learned`, and every refusal before the first step."""
import hashlib
import os
from pathlib import Path

import netCDF4
import numpy as np
import onnx
import pytest
import torch

from coupler.errors import ConfigError, HfcError
from coupler.host import Host, HostConfig, PythonFlux, TimeConfig
from coupler.learned import FortranLearnedFlux, LearnedFlux, ModelError, RuntimeConfig
from coupler.problems.forcing import random_forcing
from training.train import load_model

HOST = HostConfig("burgers", 64)


def test_float64_model_equals_torch_and_float32_cast_is_measured(onnx64, onnx32, burgers_model, rng,
                                                                 halo_states):
    u = halo_states(rng, 5, 64)
    torch64 = load_model(burgers_model, torch.float64)(torch.as_tensor(u[:, None])).detach().numpy()[:, 0]
    torch32 = load_model(burgers_model, torch.float32)(torch.as_tensor(u[:, None], dtype=torch.float32))
    torch32 = torch32.detach().numpy()[:, 0].astype(np.float64)
    scale = np.max(np.abs(torch64))
    # float64 end to end: same arithmetic up to operation order
    assert np.max(np.abs(LearnedFlux(onnx64)(u) - torch64)) <= 1e-12 * scale
    # float32 model vs float32 torch on the same rounded input: kernels differ in summation order
    assert np.max(np.abs(LearnedFlux(onnx32)(u) - torch32)) <= 1e-6 * scale
    # the cost of running the host's float64 state through a float32 model: ~1e-7 relative
    assert np.max(np.abs(LearnedFlux(onnx32)(u) - torch64)) <= 1e-5 * scale


def test_batched_call_is_rowwise_and_not_transposed(onnx32, rng, halo_states):
    learned = LearnedFlux(onnx32)
    u = halo_states(rng, 3, 40)                                   # (3, 54): not square
    batch = learned(u)
    assert batch.shape == (3, 41) and batch.dtype == np.float64
    # rows agree with single calls to float32 rounding (ONNX Runtime blocks its kernels by
    # batch size, so the last bit may differ); a transposition would differ at O(1)
    for row in range(3):
        np.testing.assert_allclose(batch[row], learned(u[row]), rtol=0, atol=1e-6 * np.max(np.abs(batch)))


def test_fortran_host_with_learned_flux_matches_torch_callback(onnx64, burgers_model):
    """The Fortran loop calling ONNX Runtime and the Fortran loop calling torch (both
    float64) give the same trajectory to round-off over ~150 SSP-RK3 steps."""
    learned = LearnedFlux(onnx64)
    learned.check_host(HOST)
    model = load_model(burgers_model, torch.float64)
    torch_flux = PythonFlux(lambda u, t: model(torch.as_tensor(u.copy())[None, None]).detach().numpy()[0, 0], 7)
    forcing, time = random_forcing(3), TimeConfig(cfl=0.5)
    u0 = np.sin(HOST.cell_centres())
    a, steps = Host(HOST, learned.provider(), forcing, time).advance(u0, 0.0, 10.0)
    b, _ = Host(HOST, torch_flux, forcing, time).advance(u0, 0.0, 10.0)
    assert steps > 100
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-11)


def test_coefficient_reuse_in_the_host_is_the_torch_reuse_scheme(onnx64, burgers_model):
    """With reuse_coefficients the Fortran host runs the network once per SSP-RK3 step and
    applies its exported stencils natively at stages 2 and 3. training.integrate(reuse=True)
    (torch: the free parameters of stage 1 reused) is an independent implementation of the
    same scheme: float64 trajectories agree to round-off (1e-11) over 80 forced steps, while
    the scheme itself differs from the one without reuse by far more (> 1e-6)."""
    from training.integrate import ForcingBatch, integrate

    reusing = FortranLearnedFlux(onnx64, RuntimeConfig(backend="fortran", reuse_coefficients=True))
    plain = FortranLearnedFlux(onnx64, RuntimeConfig(backend="fortran"))
    model = load_model(burgers_model, torch.float64)
    forcing, dt = random_forcing(5), 0.0125
    u0 = 0.5 * np.sin(HOST.cell_centres()) + 0.1
    a, steps = Host(HOST, reusing.provider(), forcing, TimeConfig(dt=dt)).advance(u0, 0.0, 1.0)
    b, _ = Host(HOST, plain.provider(), forcing, TimeConfig(dt=dt)).advance(u0, 0.0, 1.0)
    ours = integrate(model, u0[None], np.array([0.0, 1.0]), dt, ForcingBatch([forcing], 64, HOST.length),
                     dtype=torch.float64, reuse=True)[0, -1]
    assert steps == 80
    np.testing.assert_allclose(a, ours, rtol=0, atol=1e-11)
    assert np.abs(a - b).max() > 1e-6


def test_coefficient_reuse_is_refused_where_it_cannot_run(onnx64, burgers_model, tmp_path):
    """The Python backend has no native stencils; a model exported without its stencils
    (one output) cannot give them; a one-stage method has nothing to reuse: each refused
    with the reason, before any step (the Fortran library refuses the model too)."""
    with pytest.raises(ConfigError, match="coefficient reuse runs in the Fortran backend"):
        RuntimeConfig(reuse_coefficients=True)
    proto = onnx.load(onnx64)                   # as exported before models had their stencils
    del proto.graph.output[1]
    props = {p.key: p.value for p in proto.metadata_props if not p.key.startswith("stencils")}
    del proto.metadata_props[:]
    for key, value in {**props, "output_name": "flux"}.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, tmp_path / "one_output.onnx")
    model = FortranLearnedFlux(tmp_path / "one_output.onnx", RuntimeConfig(backend="fortran", reuse_coefficients=True))
    with pytest.raises(ConfigError, match="coefficient reuse needs a 1D network model exported with its stencils"):
        model.check_host(HOST)
    with pytest.raises(HfcError, match="coefficient reuse needs a 1D network model exported with its stencils"):
        Host(HOST, model.provider())               # the Fortran library's own refusal
    reusing = FortranLearnedFlux(onnx64, RuntimeConfig(backend="fortran", reuse_coefficients=True))
    with pytest.raises(ConfigError, match="coefficient reuse is for SSP-RK3: under euler"):
        reusing.check_host(HOST, TimeConfig(cfl=0.5, method="euler"))
    Host(HOST, FortranLearnedFlux(tmp_path / "one_output.onnx", RuntimeConfig(backend="fortran")).provider()).close()


def test_hfc_simulate_learned_writes_model_provenance(hfc, onnx32, tmp_path):
    out = tmp_path / "learned.nc"
    result = hfc("simulate", "--scheme", "learned", "--model", onnx32, "--n", 64, "--t-end", 2,
                 "--seed", 1000000005, "--output", out, "--quiet")
    assert result.returncode == 0, result.stderr
    with netCDF4.Dataset(out) as ds:
        assert ds.scheme == "learned" and ds.model_dtype == "float32"
        assert ds.model_sha256 == hashlib.sha256(Path(onnx32).read_bytes()).hexdigest()
        assert ds.threads == 1 and ds.device == "cpu"
        u = ds["u"][:]
        assert np.all(np.isfinite(u)) and u.shape == (101, 64) and np.max(np.abs(u[-1])) > 0.05


@pytest.mark.parametrize("args, message", [
    (["--n", 32], "metadata dx = "),
    (["--n", 64, "--viscosity", 0.02], "metadata viscosity"),
    (["--n", 64, "--equation", "advection"], "metadata equation = burgers"),
    (["--n", 64, "--device", "cuda:0"], "no CUDA execution provider"),
    (["--n", 64, "--device", "gpu"], "device must be"),
])
def test_host_mismatch_is_refused_before_the_first_step(hfc, onnx32, tmp_path, args, message):
    out = tmp_path / "x.nc"
    result = hfc("simulate", "--scheme", "learned", "--model", onnx32, "--t-end", 1, "--output", out, *args)
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_bad_model_files_are_refused(onnx32, broken_models, tmp_path):
    text = tmp_path / "notes.onnx"
    text.write_text("this is not a model")
    with pytest.raises(ModelError, match="not an ONNX model"):
        LearnedFlux(text)
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(onnx32.read_bytes()[: onnx32.stat().st_size // 2])
    with pytest.raises(ModelError, match="not an ONNX model|cannot load"):
        LearnedFlux(truncated)
    with pytest.raises(ModelError, match="does not exist"):
        LearnedFlux(tmp_path / "absent.onnx")
    for name, message in (("bare", "lacks the hfc metadata"), ("renamed", "expected one input 'u'"),
                          ("wrong_dtype", "metadata dtype float64")):
        with pytest.raises(ModelError, match=message):
            LearnedFlux(broken_models[name])


def _with_external_data(onnx32, folder, location):
    """The model with its weights in an external file at `location` (relative to folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    proto = onnx.load(onnx32)
    onnx.save(proto, folder / "m.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
              location="weights.bin", size_threshold=0)
    proto = onnx.load(folder / "m.onnx", load_external_data=False)
    for tensor in proto.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    onnx.save(proto, folder / "m.onnx")
    return folder / "m.onnx"


def test_external_data_inside_the_folder_loads_and_outside_or_linked_is_refused(onnx32, tmp_path, rng,
                                                                               halo_states):
    inside = _with_external_data(onnx32, tmp_path / "ok", "weights.bin")
    u = halo_states(rng, 2, 30)
    np.testing.assert_array_equal(LearnedFlux(inside)(u), LearnedFlux(onnx32)(u))

    outside = _with_external_data(onnx32, tmp_path / "evil", "../ok/weights.bin")
    with pytest.raises(ModelError, match="outside the model's folder"):
        LearnedFlux(outside)
    linked = _with_external_data(onnx32, tmp_path / "linked", "weights.bin")
    (tmp_path / "linked" / "weights.bin").unlink()
    os.symlink(tmp_path / "ok" / "weights.bin", tmp_path / "linked" / "weights.bin")
    with pytest.raises(ModelError, match="through a link"):
        LearnedFlux(linked)


@pytest.mark.parametrize("backend", ["python", "fortran"])
def test_every_refusal_holds_on_both_paths(onnx32, broken_models, tmp_path, backend):
    """Each broken model and each unsafe external-data layout is refused by the Python
    runtime and by the Fortran binding alike (their messages differ in wording, not in what
    they name)."""
    def load(path):
        return LearnedFlux(path) if backend == "python" else FortranLearnedFlux(path, RuntimeConfig(backend="fortran"))

    for name, message in (("bare", "lacks the (hfc )?metadata"), ("renamed", r"inputs \[x\]|input is named 'x'"),
                          ("wrong_dtype", "metadata dtype '?float64"), ("bad_halo", "halo.*'seven'")):
        with pytest.raises(ModelError, match=message):
            load(broken_models[name])
    with pytest.raises(ModelError, match="outside the model's folder"):
        load(_with_external_data(onnx32, tmp_path / "evil", "../ok/weights.bin"))
    _with_external_data(onnx32, tmp_path / "ok", "weights.bin")
    linked = _with_external_data(onnx32, tmp_path / "linked", "weights.bin")
    (tmp_path / "linked" / "weights.bin").unlink()
    os.symlink(tmp_path / "ok" / "weights.bin", tmp_path / "linked" / "weights.bin")
    with pytest.raises(ModelError, match="through a link"):
        load(linked)


def test_runtime_config_validation():
    with pytest.raises(ConfigError):
        RuntimeConfig(threads=0)
    with pytest.raises(ConfigError, match="cpu', 'cuda:N' or 'cuda'"):
        RuntimeConfig(device="tpu")


def test_device_cuda_is_the_node_local_rank(monkeypatch):
    """`--device cuda` under MPI: rank k on a node takes GPU k (Open MPI's local rank)."""
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_RANK", "3")
    assert RuntimeConfig(device="cuda").device_index == 3
    assert RuntimeConfig(device="cuda:1").device_index == 1 and RuntimeConfig().device_index == -1
    monkeypatch.delenv("OMPI_COMM_WORLD_LOCAL_RANK")
    assert RuntimeConfig(device="cuda").device_index == 0
