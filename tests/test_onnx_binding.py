"""The general ONNX binding (hfc_onnx) from a Fortran program: a model of two inputs and two
outputs of different ranks, float32 and float64, with symbolic dimensions; outputs against
onnxruntime in Python; shape and rank mismatches refused with what was found; the learned
provider on blocks with wider halos than the model's (the same fluxes); and one ONNX Runtime
environment and no extra thread per process."""
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

NX, NY, NF = 5, 3, 6


def two_in_two_out(path, dtype):
    """c [1, 1, ny, nx] and v [1, ny, nf] in; fx = v * mean(c) [1, ny, nf] and
    fy = 2 c + 1 [1, 1, ny, nx] out; ny, nx, nf symbolic."""
    kind = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT
    two = helper.make_tensor("two", kind, [], [2.0])
    one = helper.make_tensor("one", kind, [], [1.0])
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["c"], ["m"], keepdims=0),
         helper.make_node("Mul", ["v", "m"], ["fx"]),
         helper.make_node("Mul", ["c", "two"], ["c2"]),
         helper.make_node("Add", ["c2", "one"], ["fy"])],
        "two_in_two_out",
        [helper.make_tensor_value_info("c", kind, [1, 1, "ny", "nx"]),
         helper.make_tensor_value_info("v", kind, [1, "ny", "nf"])],
        [helper.make_tensor_value_info("fx", kind, [1, "ny", "nf"]),
         helper.make_tensor_value_info("fy", kind, [1, 1, "ny", "nx"])],
        initializer=[two, one])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    helper.set_model_props(model, {"purpose": "binding test", "inputs": "c,v"})
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


@pytest.fixture(scope="module")
def check_onnx(hfc, tool_env, repo_root, tmp_path_factory):
    """fortran/tests/check_onnx.f90 built against the installed serial library (pkg-config hfc)."""
    folder = tmp_path_factory.mktemp("check_onnx")
    env = {**tool_env, "PKG_CONFIG_PATH": hfc("info", "--pkg-config-path").stdout.strip()}
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "hfc"], capture_output=True, text=True, env=env,
                           check=True).stdout.split()
    assert not any("mpi" in f for f in flags), f"the serial library must not need MPI flags: {flags}"
    exe = folder / "check_onnx"
    build = subprocess.run(["gfortran", "-O2", str(repo_root / "fortran/tests/check_onnx.f90"), *flags, "-o", str(exe)],
                           capture_output=True, text=True, env=env)
    assert build.returncode == 0, build.stderr
    return exe


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_two_inputs_two_outputs_of_different_ranks(check_onnx, onnx64, tmp_path, dtype):
    model = two_in_two_out(tmp_path / "m.onnx", dtype)
    run = subprocess.run([str(check_onnx), str(model), str(tmp_path / "out.bin"), str(onnx64)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    code = 11 if dtype == np.float64 else 1
    assert f"input c type {code} dims 1,1,-1,-1" in out and f"input v type {code} dims 1,-1,-1" in out
    assert f"output fx type {code} dims 1,-1,-1" in out and f"output fy type {code} dims 1,1,-1,-1" in out
    assert "metadata entries 2" in out
    # the Fortran arrays c(nx, ny), v(nf, ny) are the tensors [1, 1, ny, nx], [1, ny, nf]
    c = np.arange(1, NX * NY + 1, dtype=np.float64).reshape(1, 1, NY, NX)
    v = (0.5 * np.arange(1, NF * NY + 1) - 3.0).reshape(1, NY, NF)
    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    fx, fy = session.run(["fx", "fy"], {"c": c.astype(dtype), "v": v.astype(dtype)})
    got = np.fromfile(tmp_path / "out.bin")
    # float64: the same kernels, the same bits; float32: the same, widened exactly
    np.testing.assert_array_equal(got[:NF * NY], fx.astype(np.float64).ravel())
    np.testing.assert_array_equal(got[NF * NY:], fy.astype(np.float64).ravel())
    assert "rank mismatch: stat 1 onnx: input 'c' has rank 4 in the graph, the array given has rank 2 ([3, 5])" in out
    assert "shape mismatch: stat 1 onnx: input 'c' has shape [1, 1, ?, ?] in the graph, the array given " \
           "[1, 2, 3, 3]" in out
    assert "size mismatch: stat 1 onnx: the array given for input 'c' has 18 values, its shape [1, 1, 3, 5] " \
           "needs 15" in out
    assert "count mismatch: stat 1 onnx: the model has 2 inputs and 2 outputs, the call gives 1 inputs and 1 outputs " \
           "(1 to all of them)" in out
    assert "first output only: stat 0 same T" in out
    # a strided section would be copied to a temporary the tensor cannot keep: refused
    assert "strided array: stat 1 onnx: no usable array for input 'c' (empty, strided" in out
    assert "learned wider halos ok; a longer state: stat 1 learned provider: the state has 82 values, the grid " \
           "needs n + 2g = 64 + 2*7 = 78" in out


def test_one_environment_and_no_extra_thread(onnx32, tmp_path):
    """Two models loaded and run through the Fortran binding with one intra-op thread each
    add no thread to the process (one ONNX Runtime environment, its telemetry worker off)."""
    script = tmp_path / "threads.py"
    script.write_text(
        "import os, numpy as np\n"
        "from coupler.learned import FortranLearnedFlux, RuntimeConfig\n"
        "before = len(os.listdir('/proc/self/task'))\n"
        f"models = [FortranLearnedFlux({str(onnx32)!r}, RuntimeConfig(backend='fortran')) for _ in range(2)]\n"
        "for m in models: m(np.zeros((2, 78)))\n"
        "print(before, len(os.listdir('/proc/self/task')))\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    before, after = map(int, result.stdout.split())
    assert after == before, f"threads {before} -> {after}"
