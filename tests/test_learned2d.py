"""The learned 2D advection model at run time: exported to ONNX (float32 and float64,
verified against torch), run in the Fortran host through the Python callback and through
the Fortran binding (bit for bit the same), equal to the torch model's own Euler steps, on
1, 2, 4 and 6 MPI ranks bit for bit, and refused on a grid it was not trained for."""
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import torch

from coupler.errors import ConfigError
from coupler.host import Host, HostConfig, TimeConfig
from coupler.learned import FortranLearnedFlux, LearnedFlux
from coupler.problems.flows import Grid2D, RandomFlow
from export.onnx_export import ExportConfig, export
from training.advection_data import AdvectionDataConfig, generate
from training.advection_model import euler_unroll
from training.advection_train import AdvectionTrainConfig, AdvectionTrainer, load_advection_model

HFC = str(Path(sys.executable).parent / "hfc")
N = 16            # the models' coarse grid on [0, 1]^2


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two briefly trained models (3 layers: halo 3; 1 layer: halo 1), each exported in
    float64 and float32. Training moves the weights off their initialisation so the
    network's part of the fluxes is not negligible."""
    root = tmp_path_factory.mktemp("learned2d")
    data = generate(AdvectionDataConfig(coarse=N, factor=2, trajectories=3, steps=12, seed=1), root / "train.nc",
                    progress=False)
    out = {}
    for layers in (3, 1):
        folder = root / f"L{layers}"
        AdvectionTrainer(AdvectionTrainConfig(layers=layers, channels=6, window=2, steps=3, batch_size=2,
                                              validation=1, learning_rate=0.05), data, folder).run(progress=False)
        for dtype in ("float64", "float32"):
            out[layers, dtype] = export(folder, folder / f"{dtype}.onnx", ExportConfig(dtype=dtype)).path
        out[layers] = folder
    return out


def test_export_verifies_and_carries_the_2d_metadata(models):
    meta = LearnedFlux(models[3, "float64"]).meta
    assert (meta.space_dimensions, meta.halo, meta.inputs, meta.outputs) == (2, 3, ("c", "u", "v", "c_range"),
                                                                           ("flux_x", "flux_y"))
    assert float(meta.extra["dy"]) == meta.dx == 1 / N
    card = models[3, "float32"].with_suffix(".json").read_text()
    assert '"max_relative_error_ort_vs_torch"' in card


def test_the_float32_graph_is_lean(models):
    """The exported graph of a 3-layer model: static slicing (no shape arithmetic: no Shape,
    Gather or Reshape node), the constraint folded into the face convolutions, the stencil's
    cells gathered by one convolution per face, its sums one product and one sum per face:
    28 nodes (95 with a slice, product and sum per stencil cell and dynamic slice bounds)."""
    import collections

    import onnx

    ops = collections.Counter(n.op_type for n in onnx.load(str(models[3, "float32"])).graph.node)
    assert not {"Shape", "Gather", "Reshape", "MatMul"} & set(ops), ops
    assert ops["Conv"] == 6 and ops["ReduceSum"] == 2 and ops["Slice"] <= 8 and sum(ops.values()) <= 30, ops


def run(model_path, backend, steps=6, nx=N, ny=N, on_nonfinite="abort", seed=3):
    """A random flow's blob advanced `steps` Euler steps; the states after each."""
    flow = RandomFlow(seed=seed)
    grid = Grid2D(nx, ny)
    u, v = flow.face_velocities(grid)
    dt = 0.5 / max(np.abs(u).max() / grid.dx, np.abs(v).max() / grid.dy)
    learned = (FortranLearnedFlux if backend == "fortran" else LearnedFlux)(model_path)
    host = Host(HostConfig("advection2d", (nx, ny), (1.0, 1.0)), learned.provider(), None,
                TimeConfig(dt=dt, method="euler"), on_nonfinite, flow=flow)
    x, y = grid.centres()
    c0 = np.exp(-((x - 0.4) ** 2 + (y - 0.6) ** 2) / 0.02)
    host.set_state(c0, 0.0)
    states = []
    for k in range(1, steps + 1):
        host.advance_to(k * dt)
        states.append(host.get_state()[0])
    host.close()
    return c0, np.array(states), (u[:, :-1], v[:-1, :]), dt


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_backends_are_bit_identical_and_match_torch(models, dtype):
    """The Python callback (onnxruntime in Python) and the Fortran binding give the same
    bits; both equal the torch model's own forward-Euler steps on the periodic domain, an
    implementation that shares nothing with the host (padding, range, divergence, update)."""
    c0, fortran, (u, v), dt = run(models[3, dtype], "fortran")
    _, python, _, _ = run(models[3, dtype], "python")
    np.testing.assert_array_equal(fortran, python)
    model = load_advection_model(models[3], torch.float64)
    with torch.no_grad():
        expected = euler_unroll(model, *(torch.tensor(a)[None] for a in (c0, u, v)), dt, len(fortran))[0].numpy()
    # float64: the same arithmetic in another order, round-off ~1e-15 per step on values
    # of O(1); float32: the model's rounding of its inputs and weights, ~1e-7 relative
    tolerance = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(fortran, expected, rtol=0, atol=tolerance)
    assert np.abs(fortran[-1] - c0).max() > 1e-3                 # the state moved
    np.testing.assert_allclose(fortran.sum((1, 2)), c0.sum(), rtol=1e-13)   # conservative


def test_a_wider_block_halo_than_the_models_gives_the_same_fluxes(models):
    """A 1-layer model has halo 1; with the Van Leer guard (halo 2) the host's blocks are
    wider and the provider hands the model a window of them: the same bits."""
    _, plain, _, _ = run(models[1, "float64"], "fortran", steps=3)
    _, guarded, _, _ = run(models[1, "float64"], "fortran", steps=3, on_nonfinite="fallback")
    np.testing.assert_array_equal(plain, guarded)


@pytest.mark.parametrize("backend", ["python", "fortran"])
def test_a_grid_the_model_was_not_trained_for_is_refused(models, backend):
    with pytest.raises(ConfigError, match="dy"):
        (FortranLearnedFlux if backend == "fortran" else LearnedFlux)(models[3, "float64"]).check_host(
            HostConfig("advection2d", (N, 2 * N), (1.0, 1.0)))


def test_mpi_runs_are_bit_identical_on_1_2_4_6_ranks(models, mpi_env, tmp_path):
    """The command line under mpirun, both backends, a float64 export: the model's range
    input is the whole domain's (one reduction per stage), so every decomposition gives the
    serial run's bits. 16 x 16 cells: the 3 x 2 process grid splits them unevenly."""
    args = ["simulate", "--equation", "advection2d", "--scheme", "learned", "--model", str(models[3, "float64"]),
            "--nx", str(N), "--t-end", "0.3", "--save-every", "0.15", "--quiet"]
    reference = None
    for ranks in (0, 2, 4, 6):
        for backend in ("python", "fortran"):
            out = tmp_path / f"{backend}{ranks}.nc"
            command = (["mpirun", "-n", str(ranks)] if ranks else []) + [HFC, *args, "--backend", backend,
                                                                       "--output", str(out)]
            result = subprocess.run(command, capture_output=True, text=True, env=mpi_env, timeout=180)
            assert result.returncode == 0, result.stderr
            with netCDF4.Dataset(out) as ds:
                c = ds["c"][:].data
            if reference is None:
                reference = c
            np.testing.assert_array_equal(c, reference, err_msg=f"{ranks} ranks, {backend}")
    assert np.abs(reference[-1] - reference[0]).max() > 1e-3


def test_pure_fortran_example_equals_both_backends(models, hfc, tool_env, mpi_env, repo_root, tmp_path):
    """examples/04 built with its Makefile against the installed library: its file equals
    `hfc simulate --scheme learned` (both backends) bit for bit, serially and on 4 ranks;
    asked to step the Euler-trained model with SSP-RK3 it refuses."""
    example = repo_root / "examples" / "04_fortran_advection2d"
    env = {**tool_env, "PKG_CONFIG_PATH": hfc("info", "--pkg-config-path").stdout.strip()}
    built = subprocess.run(["make", "-C", str(tmp_path), "-f", str(example / "Makefile"), f"VPATH={example}"],
                           capture_output=True, text=True, env=env, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    subprocess.run([sys.executable, str(example / "inputs.py"), "--nx", str(N), "--output",
                    str(tmp_path / "inputs.nc")], check=True, capture_output=True)
    (tmp_path / "host.nml").write_text(f"&host\n model_file = '{models[3, 'float64']}'\n t_end = 0.3\n"
                                       " save_every = 0.15\n/\n")
    files = {}
    for ranks in (0, 4):
        command = (["mpirun", "-n", str(ranks)] if ranks else []) + [str(tmp_path / "advection2d_host"), "host.nml"]
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=mpi_env, timeout=180)
        assert result.returncode == 0, result.stdout + result.stderr
        files[f"program{ranks}"] = (tmp_path / "advection2d_host.nc").rename(tmp_path / f"program{ranks}.nc")
    for backend in ("python", "fortran"):
        files[backend] = tmp_path / f"{backend}.nc"
        result = hfc("simulate", "--equation", "advection2d", "--scheme", "learned", "--model",
                     str(models[3, "float64"]), "--backend", backend, "--nx", str(N), "--time-stepping", "euler",
                     "--t-end", "0.3", "--save-every", "0.15", "--output", str(files[backend]), "--quiet")
        assert result.returncode == 0, result.stderr
    states = {}
    for name, path in files.items():
        with netCDF4.Dataset(path) as ds:
            states[name] = ds["c"][:].data
    for name in ("program0", "program4", "fortran"):
        np.testing.assert_array_equal(states[name], states["python"], err_msg=name)
    assert states["python"].shape == (3, N, N)
    # the model was trained through forward Euler: the program refuses SSP-RK3, and writes nothing
    (tmp_path / "host.nml").write_text((tmp_path / "host.nml").read_text().replace("/\n", " time_stepping = 'ssprk3'\n/\n"))
    result = subprocess.run([str(tmp_path / "advection2d_host"), "host.nml"], cwd=tmp_path, capture_output=True,
                            text=True, env=mpi_env, timeout=180)
    assert result.returncode != 0 and "time_stepping = euler, the host steps with ssprk3" in result.stdout + result.stderr
    assert not (tmp_path / "advection2d_host.nc").exists()


def test_guard_in_2d_replaces_non_finite_fluxes_by_van_leer_and_counts_them():
    """A 2D provider whose fluxes are NaN at every face: with the fallback policy every
    face takes Van Leer's flux (the equation's fallback), so the run is the Van Leer run bit
    for bit and every face of every step is counted; with abort the first step fails."""
    from coupler.errors import NonFiniteStateError
    from coupler.host import PythonFlux

    nx, ny = 12, 10
    flow, grid = RandomFlow(seed=2), Grid2D(nx, ny)
    x, y = grid.centres()
    c0 = np.exp(-((x - 0.5) ** 2 + (y - 0.5) ** 2) / 0.05)
    holes = PythonFlux(lambda c, t, dt, u, v: (np.full((ny, nx + 1), np.nan), np.full((ny + 1, nx), np.nan)), 2)
    config, time = HostConfig("advection2d", (nx, ny), (1.0, 1.0)), TimeConfig(dt=0.01, method="euler")
    guarded = Host(config, holes, None, time, "fallback", flow=flow)
    c, steps = guarded.advance(c0, 0.0, 0.1)
    reference, _ = Host(config, "vanleer", None, time, flow=flow).advance(c0, 0.0, 0.1)
    np.testing.assert_array_equal(c, reference)
    # each face of the periodic domain counted once (2 nx ny of them), whatever the blocks
    assert steps == 10 and guarded.fallback_faces == steps * 2 * nx * ny
    with pytest.raises(NonFiniteStateError, match="non-finite"):
        Host(config, holes, None, time, flow=flow).advance(c0, 0.0, 0.1)
