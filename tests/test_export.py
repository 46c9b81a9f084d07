"""ONNX export: metadata, checker, ONNX Runtime against torch on non-square dynamic shapes,
float32 and float64, the model card, and refusals."""
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from export.onnx_export import training_command
from training.train import load_model


def test_metadata_and_model_card(exported, burgers_model):
    report = exported["float32"]
    proto = onnx.load(report.path)
    meta = {p.key: p.value for p in proto.metadata_props}
    summary = json.loads((burgers_model / "model.json").read_text())
    assert meta["equation"] == "burgers" and meta["halo"] == "7" and meta["space_dimensions"] == "1"
    assert float(meta["dx"]) == summary["model"]["dx"] and meta["cells"] == "64"
    assert meta["resample_factor"] == "8" and meta["dtype"] == "float32"
    assert meta["dataset_sha256"] == summary["data"]["train_sha256"]
    assert meta["training_command"].startswith("hfc train --equation burgers --factor 8")
    assert [i.name for i in proto.graph.input] == ["u"]
    assert [o.name for o in proto.graph.output] == ["flux", "stencils"] and meta["output_name"] == "flux,stencils"
    assert meta["stencils_form"] == "square"
    card = json.loads(report.path.with_suffix(".json").read_text())
    assert card["sha256"] == report.sha256 and "hfc export --model" in card["regenerate"]
    assert report.path.with_suffix(".md").read_text().startswith("# Model card")


def test_exported_stencils_make_the_flux_by_their_form(onnx64, rng, halo_states):
    """The second output, per face 2 stencils of 6 cells, applied in numpy to the cells
    k - 3 .. k + 2 of face k and combined by the metadata's form (square: q1^2 + q2) gives
    the graph's own flux to 1e-12 relative (float64): what a host reusing the stencils at a
    later stage computes. Shape (batch, 12, n + 1)."""
    session = ort.InferenceSession(str(onnx64), providers=["CPUExecutionProvider"])
    u = halo_states(rng, 3, 40)                                    # halo 7, 40 cells: 41 faces
    flux, stencils = session.run(["flux", "stencils"], {"u": u[:, None]})
    assert stencils.shape == (3, 12, 41)
    cells = np.stack([u[:, 7 - 3 + j:7 - 3 + j + 41] for j in range(6)], axis=1)     # (batch, 6, faces)
    q1, q2 = ((stencils[:, 6 * i:6 * i + 6] * cells).sum(1) for i in range(2))
    np.testing.assert_allclose(q1 * q1 + q2, flux[:, 0], rtol=0, atol=1e-12 * np.abs(flux).max())


@pytest.mark.parametrize("dtype, tolerance", [("float32", 1e-6), ("float64", 1e-12)])
def test_onnx_runtime_matches_torch_on_dynamic_nonsquare_shapes(exported, burgers_model, dtype, tolerance):
    """Batch and length differ from the export example (2 x 78) and from each other. The same
    kernels as torch up to the order of sums, relative to the largest flux: float32 to 1e-6
    (measured 3.9e-7, as test_native), float64 to 1e-12 (measured 6e-16)."""
    assert exported[dtype].max_relative_error <= tolerance
    model = load_model(burgers_model, getattr(torch, dtype))
    session = ort.InferenceSession(str(exported[dtype].path), providers=["CPUExecutionProvider"])
    rng = np.random.Generator(np.random.PCG64(7))
    for batch, n in ((4, 100), (1, 513), (7, 3)):
        u = rng.normal(size=(batch, 1, n + 14)).astype(dtype)
        expected = model(torch.as_tensor(u)).detach().numpy()
        got = session.run(["flux"], {"u": u})[0]
        assert got.shape == (batch, 1, n + 1)
        assert np.max(np.abs(got - expected)) <= tolerance * np.max(np.abs(expected))


@pytest.mark.parametrize("equation, kind, godunov, stencil, layers", [
    ("burgers", "network", False, 6, 3), ("burgers", "network", True, 6, 3), ("burgers", "constant", True, 6, 3),
    ("burgers", "baseline", False, 4, 3), ("burgers", "network", False, 8, 1), ("kdv", "network", False, 6, 2),
    ("ks", "constant", False, 6, 3), ("advection", "network", False, 6, 3)])
def test_the_lean_export_form_is_the_trained_model(equation, kind, godunov, stencil, layers):
    """Folding the constraint, 1/dx^l, the law's coefficients and sqrt(c) into the last
    convolution changes only the order of float64 sums: 1e-13 relative to the largest flux
    (measured <= 1.5e-15), on random weights and states with jumps. Advection (the IMEX
    models' explicit law) has no convective term: the linear part alone. A network's
    stencils output, applied by its form, gives the same flux."""
    from training.models import FluxModel, ModelConfig, export_form

    torch.manual_seed(1)
    model = FluxModel(ModelConfig(equation, kind, godunov, stencil=stencil, layers=layers), torch.float64)
    if model.theta is not None:
        torch.nn.init.normal_(model.theta)
    lean = export_form(model, stencils=kind == "network")
    with torch.no_grad():
        for batch, n in ((1, 64), (3, 9)):
            u = torch.randn(batch, 1, n + 2 * model.halo, dtype=torch.float64)
            expected = model(u)
            flux = lean(u)
            if kind == "network":           # the stencils output makes the flux by its form (what a host reuses)
                flux, stencils = flux
                assert torch.equal(lean.flux(lean.stencil_values(u, stencils)), flux)
            assert float((flux - expected).abs().max() / expected.abs().max()) <= 1e-13


def test_the_exported_graph_is_lean(exported, burgers_model):
    """No constraint MatMul, no division, no shape arithmetic: the network's convolutions,
    the gather, two stencil products and the flux formula; the card's FLOPs per cell are
    the convolutions' multiply-adds (15 194 for the 3 x 32 network)."""
    proto = onnx.load(exported["float32"].path)
    ops = [node.op_type for node in proto.graph.node]
    assert not {"MatMul", "Div", "Pow", "Shape", "Gather", "Split"} & set(ops), ops
    assert ops.count("Conv") == 4 and len(ops) <= 14
    meta = {p.key: p.value for p in proto.metadata_props}
    weights = 2 * sum(onnx.numpy_helper.to_array(t).size for t in proto.graph.initializer if t.dims and
                      len(t.dims) == 3) - 2 * 6 * 14      # Conv weights, less the one-hot gather (6 x 14)
    assert int(meta["flops_per_cell"]) == weights + 2 * 2 * 6 + 2 == 15194
    card = json.loads(exported["float32"].path.with_suffix(".json").read_text())
    assert card["cost"]["flops_per_cell"] == 15194 and card["cost"]["ns_per_cell"] > 0


def test_training_command_names_the_preset():
    from dataclasses import asdict
    from training.train import preset

    config = asdict(preset("quick", "burgers", 4, kind="constant", godunov=True, unroll=8, threads=1))
    command = training_command(config, "data/burgers", "models/x")
    assert command == ("hfc train --equation burgers --factor 4 --data data/burgers --out models/x --preset quick "
                       "--kind constant --godunov --unroll 8 --unroll-dt 0.001 --threads 1")
    config["steps"] = 123
    assert "--steps 123" in training_command(config, "d", "o")
    config = asdict(preset("quick", "burgers", 8, unroll=8, integrator="euler", courant=0.5, layers=2, channels=8))
    assert training_command(config, "d", "o") == ("hfc train --equation burgers --factor 8 --data d --out o --preset "
                                                  "quick --unroll 8 --integrator euler --courant 0.5 --layers 2 "
                                                  "--channels 8")


def test_cli_export_refuses_bad_input(hfc, tmp_path, burgers_model):
    result = hfc("export", "--model", tmp_path, "--out", tmp_path / "m.onnx")
    assert result.returncode == 1 and "holds no trained model" in result.stderr and "Traceback" not in result.stderr
    result = hfc("export", "--model", burgers_model, "--out", tmp_path / "missing" / "m.onnx")
    assert result.returncode == 1 and "does not exist" in result.stderr
    result = hfc("export", "--model", burgers_model, "--out", tmp_path / "m.txt")
    assert result.returncode == 1 and ".onnx" in result.stderr
    assert not list(tmp_path.glob("*.onnx"))
