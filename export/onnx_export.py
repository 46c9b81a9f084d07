"""torch -> ONNX export of a trained flux model (`hfc export`), with the metadata of
DESIGN.md, verification against torch and a model card.

The exported graph is the trained module itself. 1D: input `u` (batch, 1, n + 2g) cell
averages with g halo cells per side, output `flux` (batch, 1, n + 1) face fluxes, batch
and n dynamic, no padding inside; the equation's flux formula is part of the graph. 2D
advection (training/advection_model.py): inputs `c`, `u`, `v` (batch, 1, ny + 2g, nx + 2g)
and `c_range` (batch, 2), outputs `flux_x` (batch, 1, ny, nx + 1) and `flux_y` (batch, 1,
ny + 1, nx), batch, ny and nx dynamic. Nothing is written unless the ONNX checker passes
and ONNX Runtime reproduces torch on random valid inputs within the tolerance of the dtype.
"""
from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from coupler import __version__
from coupler.errors import ConfigError
from coupler.io.atomic import AtomicFile, check_not_reading, check_path, check_writable
from coupler.problems.equations import EQUATIONS
from coupler.schema import ModelMetadata
from training.advection_model import INPUTS as INPUTS_2D, OUTPUTS as OUTPUTS_2D, AdvectionModelConfig
from training.advection_model import export_form as export_form_2d
from training.advection_train import load_advection_model
from training.models import export_form
from training.train import PRESETS, TrainConfig, load_model, preset

INPUT, OUTPUT = "u", "flux"
STENCILS = "stencils"        # a network model's second output: its per-face stencils (coefficient reuse)
TIMING_CELLS = 4096        # the model card's ns per cell: one call on 4096 cells (64^2 in 2D), one thread
# ORT vs torch, max |difference| / max |torch| over the verification inputs
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}


class MatmulConv1d(torch.nn.Module):
    """The same valid Conv1d as im2col + MatMul. ONNX Runtime's CPU Conv kernel is float32
    only, MatMul also runs in float64; the float64 export uses this (verified to 1e-12)."""

    def __init__(self, conv: torch.nn.Conv1d):
        super().__init__()
        self.kernel = conv.kernel_size[0]
        self.weight = torch.nn.Parameter(conv.weight.detach().flatten(1).T.clone())   # (C k, O)
        self.bias = None if conv.bias is None else torch.nn.Parameter(conv.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        columns = x.unfold(-1, self.kernel, 1).permute(0, 2, 1, 3).flatten(2)      # (B, L', C k)
        out = columns @ self.weight
        return (out if self.bias is None else out + self.bias).transpose(1, 2)


class MatmulConv2d(torch.nn.Module):
    """The same valid Conv2d as shifted slices + MatMul (float64 in ONNX Runtime)."""

    def __init__(self, conv: torch.nn.Conv2d):
        super().__init__()
        self.kernel = conv.kernel_size
        self.weight = torch.nn.Parameter(conv.weight.detach().flatten(1).T.clone())   # (C kh kw, O)
        self.bias = torch.nn.Parameter(conv.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kh, kw = self.kernel
        rows, cols = x.shape[-2] - kh + 1, x.shape[-1] - kw + 1
        shifts = [x[..., a:a + rows, b:b + cols] for a in range(kh) for b in range(kw)]
        columns = torch.stack(shifts, 2).flatten(1, 2)                        # (B, C kh kw, H', W')
        return (columns.movedim(1, -1) @ self.weight + self.bias).movedim(-1, 1)


def float64_friendly(model: torch.nn.Module) -> torch.nn.Module:
    """Swap every Conv1d / Conv2d for its MatMul twin, in place."""
    for name, child in model.named_children():
        if isinstance(child, torch.nn.Conv1d):
            setattr(model, name, MatmulConv1d(child))
        elif isinstance(child, torch.nn.Conv2d):
            setattr(model, name, MatmulConv2d(child))
        else:
            float64_friendly(child)
    return model


class ExportError(Exception):
    """The model could not be exported or did not verify; nothing was written."""


@dataclass(frozen=True)
class ExportConfig:
    dtype: str = "float32"
    opset: int = 18
    seed: int = 0                      # verification inputs

    def __post_init__(self) -> None:
        if self.dtype not in TOLERANCE:
            raise ValueError(f"dtype must be one of {', '.join(TOLERANCE)}, got '{self.dtype}'")


# TrainConfig fields that are `hfc train` flags of their own (the schedule comes from the preset)
TRAIN_FLAGS = ("kind", "godunov", "unroll", "unroll_dt", "integrator", "courant", "layers", "channels", "kernel",
               "stencil", "init", "seed", "dtype", "threads")


def training_command(train: dict, data_dir: str, out_dir: str) -> str:
    """The `hfc train` command that reproduces a model.json's training configuration
    (numbers as Python writes them back exactly; paths as given, from the repository root)."""
    config = TrainConfig(**train)
    base = {k: getattr(config, k) for k in TRAIN_FLAGS + ("learning_rate",)}
    flags = [f"--equation {config.equation}", f"--factor {config.factor}", f"--data {data_dir}",
             f"--out {out_dir}"]
    name = next((p for p in PRESETS if preset(p, config.equation, config.factor, **base) == config), None)
    if name is None:
        flags += [f"--steps {config.steps}", f"--batch-size {config.batch_size}"]
        name = "quick"
    if config.learning_rate != preset(name, config.equation, config.factor, unroll=config.unroll).learning_rate:
        flags.append(f"--learning-rate {config.learning_rate!r}")
    flags.append(f"--preset {name}")
    default = TrainConfig()
    for key in TRAIN_FLAGS:
        value = getattr(config, key)
        if key == "unroll_dt" and config.unroll and not config.courant:
            flags.append(f"--unroll-dt {value!r}")
        elif key != "unroll_dt" and value != getattr(default, key):
            flag = "--" + key.replace("_", "-")
            flags.append(flag if value is True else f"{flag} {value!r}" if isinstance(value, float) else f"{flag} {value}")
    return "hfc train " + " ".join(flags)


def stencil_metadata(model_dir: Path) -> dict[str, str]:
    """A constant-coefficient model's stencils (float64, exact from the constraint and the
    trained constants), which hosts run natively (hfc_constant_stencil): stencil_size and
    stencil_<quantity> (value, or left and right; d<order> per derivative), each the
    space-separated coefficients of the cells k - size/2 .. k + size/2 - 1 of face k."""
    model = load_model(model_dir)
    stencils = model.stencil_coefficients()
    return {"stencil_size": str(model.config.stencil),
            **{f"stencil_{name}": " ".join(repr(c) for c in alpha) for name, alpha in stencils.items()}}


def metadata(summary: dict, model_dir: Path, config: ExportConfig, outputs: tuple[str, ...] = (OUTPUT,)
             ) -> dict[str, str]:
    """ONNX metadata_props (the schema of coupler.schema): everything a host checks before
    its first step, and provenance."""
    if "imex" in summary:
        return metadata_imex(summary, config, outputs)
    m, t = summary["model"], summary["train"]
    length = EQUATIONS[m["equation"]].length
    stencils = stencil_metadata(model_dir) if m["kind"] == "constant" else {}
    # trained through the host's method at a Courant number: the host must use that method, at most that Courant
    stepping = {"time_stepping": t["integrator"], "courant": repr(float(t["courant"]))} if t.get("courant") else {}
    return ModelMetadata(
        equation=m["equation"], space_dimensions=1, halo=summary["halo"], dx=float(m["dx"]), length=float(length),
        viscosity=float(m["viscosity"]) if m["equation"] == "burgers" else 0.0, inputs=(INPUT,), outputs=outputs,
        dtype=config.dtype,
        extra={
            "cells": str(int(round(length / m["dx"]))),
            "resample_factor": str(t["factor"]),
            "input_meaning": "cell averages with halo cells on both sides, shape (batch, 1, n + 2 halo)",
            "output_meaning": "total flux J at the n + 1 interior faces, face k between cells k-1 and k, "
                              "shape (batch, 1, n + 1)",
            "model_kind": m["kind"] + ("-godunov" if m["godunov"] else ""),
            **stencils,
            **stepping,
            "training_command": training_command(t, summary["data"]["dir"], str(model_dir)),
            "dataset_sha256": summary["data"]["train_sha256"],
            "validation_loss": repr(float(summary["validation_loss_final"])),
            "code_version": __version__,
            "torch_version": torch.__version__,
        }).to_props()


def metadata_imex(summary: dict, config: ExportConfig, outputs: tuple[str, ...]) -> dict[str, str]:
    """A flux trained through the host's IMEX step (training.prdp_hybrid): the explicit law
    (no viscosity) and the implicit step it must run in: the diffusivity, the time step, the
    solver and its K (K_max of the PRDP training), K_epsilon and the training's savings."""
    m, imex = summary["model"], summary["imex"]
    length = EQUATIONS[m["equation"]].length
    return ModelMetadata(
        equation=m["equation"], space_dimensions=1, halo=summary["halo"], dx=float(m["dx"]), length=float(length),
        viscosity=0.0, inputs=(INPUT,), outputs=outputs, dtype=config.dtype,
        extra={
            "cells": str(int(round(length / m["dx"]))),
            "input_meaning": "cell averages with halo cells on both sides, shape (batch, 1, n + 2 halo)",
            "output_meaning": "the explicit (advective) flux at the n + 1 interior faces of an IMEX Euler step, "
                              "shape (batch, 1, n + 1)",
            "model_kind": m["kind"] + "-imex",
            "training_command": summary["command"],
            "validation_loss": repr(float(summary["validation_loss_final"])),
            "time_stepping": "imex",
            "diffusivity": repr(float(imex["diffusivity"])),
            "velocity": repr(float(imex["velocity"])),
            "time_step": repr(float(imex["time_step"])),
            "implicit_solver": imex["solver"],
            "implicit_iterations": str(int(imex["iterations"])),
            "k_epsilon": str(int(imex["k_epsilon"])),
            "prdp_savings": f"total {imex['savings_total']:.3f}, incomplete convergence {imex['savings_ic']:.3f}, "
                            f"progressive refinement {imex['savings_pr']:.3f} (mean over the training seeds)",
            "code_version": __version__,
            "torch_version": torch.__version__,
        }).to_props()


def verification_inputs(halo: int, dtype: torch.dtype, seed: int,
                        shapes=((1, 64), (3, 37), (2, 512), (5, 9))) -> list[torch.Tensor]:
    """Random valid inputs of several non-square (batch, cells) shapes: smooth waves plus jumps, O(1)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    cases = []
    for batch, n in shapes:
        x = np.linspace(0, 2 * np.pi, n + 2 * halo, endpoint=False)
        u = sum(rng.uniform(-1, 1, (batch, 1)) * np.sin(k * x + rng.uniform(0, 2 * np.pi, (batch, 1)))
                for k in range(1, 4))
        u += np.where(rng.uniform(size=(batch, n + 2 * halo)) < 0.05, rng.uniform(-1, 1, (batch, n + 2 * halo)), 0)
        cases.append(torch.as_tensor(u[:, None, :], dtype=dtype))
    return cases


@dataclass(frozen=True)
class ExportReport:
    path: Path
    max_relative_error: float
    sha256: str
    metadata: dict
    ns_per_cell: float = float("nan")     # measured at export: ONNX Runtime, one thread, TIMING_CELLS cells


@dataclass
class Graph:
    """What the exporter needs of a trained model: the module, its argument names, an
    example and the dynamic axes of each input, the metadata and the verification cases."""

    model: torch.nn.Module
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    example: tuple[torch.Tensor, ...]
    shapes: dict
    meta: dict
    cases: list[tuple[torch.Tensor, ...]]
    timing: tuple[torch.Tensor, ...] = ()      # an input of TIMING_CELLS cells, for the card's ns per cell


def graph_1d(model_dir: Path, summary: dict, config: ExportConfig) -> Graph:
    """The 1D model in its export form (training.models.export_form: every fixed linear map
    folded into the last convolution), checked against the trained module. A network model
    also returns its per-face stencils (what a host reuses across the stages of a step)."""
    dtype = getattr(torch, config.dtype)
    trained = load_model(model_dir, dtype)
    model = export_form(trained, stencils=trained.net is not None)
    g = model.halo
    cases = [(u,) for u in verification_inputs(g, dtype, config.seed)]
    check_export_form(model, trained, cases, config.dtype)
    outputs = (OUTPUT, STENCILS) if model.with_stencils else (OUTPUT,)
    meta = metadata(summary, model_dir, config, outputs)
    meta["flops_per_cell"] = str(model.flops_per_cell())
    if model.with_stencils:
        meta["stencils_form"] = model.stencils_form
        meta["stencils_meaning"] = (f"per face k, {model.groups} stencils of {model.stencil} cells (k - "
                                    f"{model.stencil // 2} .. k + {model.stencil // 2 - 1}) whose values q make the "
                                    "flux by stencils_form, shape (batch, groups * cells, n + 1)")
    timing = verification_inputs(g, dtype, config.seed, ((1, TIMING_CELLS),))[0]
    return Graph(model, (INPUT,), outputs, (torch.zeros(2, 1, 64 + 2 * g, dtype=dtype),),
                 {INPUT: {0: torch.export.Dim("batch"), 2: torch.export.Dim("cells", min=2 * g + 2)}}, meta, cases,
                 (timing,))


def check_export_form(form: torch.nn.Module, trained: torch.nn.Module, cases: list[tuple], dtype: str) -> None:
    """The export form computes the trained module's outputs (the fluxes; not the stencils
    the form may return besides) to the dtype's tolerance."""
    with torch.no_grad():
        for case in cases:
            a, b = form(*case), trained(*case)
            for x, y in zip(*(r if isinstance(r, tuple) else (r,) for r in (a, b))):
                if not float((x - y).abs().max() / y.abs().max()) <= TOLERANCE[dtype]:
                    raise ExportError("the export form (folded linear maps, gathered cells) changed the fluxes "
                                      f"beyond {TOLERANCE[dtype]:g}")


def metadata_2d(summary: dict, model_dir: Path, config: ExportConfig) -> dict[str, str]:
    """The schema's metadata of a 2D advection model (dy beside dx, the domain's x length)."""
    m, t = summary["model"], summary["train"]
    data = summary["data"]
    flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in t.items()
                     if k in ("layers", "channels", "kernel", "accuracy", "window", "steps", "batch_size", "seed",
                              "learning_rate", "dtype"))
    return ModelMetadata(
        equation="advection2d", space_dimensions=2, halo=summary["halo"], dx=float(m["dx"]),
        length=float(m["dx"]) * data["cells"][0] if "cells" in data else 1.0,
        viscosity=0.0, inputs=INPUTS_2D, outputs=OUTPUTS_2D, dtype=config.dtype,
        extra={
            "dy": repr(float(m["dy"])),
            "cells": "x".join(map(str, data.get("cells", ["?", "?"]))),
            "input_meaning": "c: cell averages (batch, 1, ny + 2 halo, nx + 2 halo); u, v: the x-face velocity left "
                             "of / the y-face velocity below every cell, same shape; c_range: (batch, 2), the "
                             "minimum and maximum of c over the whole domain",
            "output_meaning": "flux_x (batch, 1, ny, nx + 1) and flux_y (batch, 1, ny + 1, nx): u c and v c at the "
                              "interior faces",
            "normalisation": "(c - c_range[0]) / (c_range[1] - c_range[0]) into the network (Zhuang et al. 2021)",
            "stencil": f"{m['normal']}x{m['tangent']} cells (across x along a face), accuracy {m['accuracy']}",
            "network": f"{m['layers']} convolutions, {m['channels']} channels, kernel {m['kernel']}",
            "flops_per_cell": str(AdvectionModelConfig(**m).flops_per_cell(folded=True)),
            "constraint": "folded into the face layers (alpha = fixed + B theta as one convolution); the stencil's "
                          "cells gathered by one-hot convolutions",
            "time_stepping": "euler",
            "model_kind": "network",
            "resample_factor": str(data.get("factor", "")),
            "training_command": f"hfc train --equation advection2d --data {Path(data['path']).parent} "
                                f"--out {model_dir} --stencil {m['normal']}x{m['tangent']} {flags}",
            "dataset_sha256": data["sha256"],
            "validation_loss": repr(float(summary["validation_loss_final"])),
            "code_version": __version__,
            "torch_version": torch.__version__,
        }).to_props()


def verification_inputs_2d(halo: int, dtype: torch.dtype, seed: int,
                           shapes=((1, 32, 48), (2, 9, 13), (1, 64, 64))) -> list[tuple[torch.Tensor, ...]]:
    """Random valid 2D inputs of non-square (batch, ny, nx) shapes: blobs in [0, 1], O(1) velocities."""
    rng = np.random.Generator(np.random.PCG64(seed))
    cases = []
    for batch, ny, nx in shapes:
        shape = (batch, 1, ny + 2 * halo, nx + 2 * halo)
        c = rng.uniform(0, 1, shape) ** 3
        u, v = rng.normal(size=(2, *shape))
        c_range = np.stack([c.min((1, 2, 3)), c.max((1, 2, 3))], -1)
        cases.append(tuple(torch.as_tensor(a, dtype=dtype) for a in (c, u, v, c_range)))
    return cases


def graph_2d(model_dir: Path, summary: dict, config: ExportConfig) -> Graph:
    """The 2D model in its export form (training.advection_model.export_form: the constraint
    folded into the face layers, the stencil's cells gathered by convolutions), checked
    against the trained module on the verification inputs (the tolerance of ONNX Runtime's)."""
    dtype = getattr(torch, config.dtype)
    trained = load_advection_model(model_dir, dtype)
    model = export_form_2d(trained)
    g = model.halo
    cases = verification_inputs_2d(g, dtype, config.seed)
    check_export_form(model, trained, cases, config.dtype)
    batch, rows, cols = torch.export.Dim("batch"), torch.export.Dim("rows", min=2 * g + 1), \
        torch.export.Dim("cols", min=2 * g + 1)
    field = {0: batch, 2: rows, 3: cols}
    example = tuple(torch.rand(2, 1, 24 + 2 * g, 32 + 2 * g, dtype=dtype) for _ in range(3)) + \
        (torch.tensor([[0.0, 1.0], [0.0, 1.0]], dtype=dtype),)
    side = int(TIMING_CELLS ** 0.5)
    return Graph(model, INPUTS_2D, OUTPUTS_2D, example, {"c": field, "u": field, "v": field, "c_range": {0: batch}},
                 metadata_2d(summary, model_dir, config), cases,
                 verification_inputs_2d(g, dtype, config.seed, ((1, side, side),))[0])


def torch_to_onnx(model: torch.nn.Module, example: tuple, inputs: tuple[str, ...], outputs: tuple[str, ...],
                  shapes: dict, opset: int | None = None):
    """The ONNX ModelProto of `model` by the dynamo exporter (optimised, weights inside)."""
    import onnx

    with tempfile.TemporaryDirectory(prefix="hfc-export-") as scratch:
        raw = Path(scratch) / "raw.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # the exporter logs a warning per torchvision operator it cannot register
            logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
            torch.onnx.export(model, example, raw, dynamo=True, input_names=list(inputs), output_names=list(outputs),
                              dynamic_shapes=shapes, opset_version=opset, optimize=True, external_data=False,
                              verbose=False)
        return onnx.load(raw)


def checked_bytes(proto, meta: dict[str, str], doc: str) -> bytes:
    """The model with `meta` as its metadata and `doc` as its description, after the ONNX
    checker (a failure is an ExportError)."""
    import onnx

    del proto.metadata_props[:]
    for key, value in meta.items():
        proto.metadata_props.add(key=key, value=value)
    proto.doc_string = doc
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"the exported graph fails the ONNX checker: {exc}") from None
    return proto.SerializeToString()


def export(model_dir: str | Path, out_path: str | Path, config: ExportConfig = ExportConfig()) -> ExportReport:
    """Export, check, verify against torch; then write the .onnx file and its model card."""
    import onnxruntime as ort

    model_dir, out_path = Path(model_dir), Path(out_path)
    outputs = card_paths(check_path(out_path))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    for label, path in outputs.items():
        check_writable(path)
        check_not_reading((label, path), {"the trained model's " + name: model_dir / name
                                          for name in ("model.json", "model.pt", "log.csv", "checkpoint.pt")})
    try:
        summary = json.loads((model_dir / "model.json").read_text())
        graph = (graph_2d if summary.get("equation") == "advection2d" else graph_1d)(model_dir, summary, config)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:   # damaged or foreign: one line
        raise ConfigError(f"cannot export the trained model in '{model_dir}': {type(exc).__name__} "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}; train it again with `hfc train`") from None
    model = float64_friendly(graph.model) if config.dtype == "float64" else graph.model
    proto = torch_to_onnx(model, graph.example, graph.inputs, graph.outputs, graph.shapes, config.opset)
    meta = graph.meta
    data = checked_bytes(proto, meta, f"hfc learned flux model ({meta['equation']}, {meta['model_kind']}"
                         + (f", {meta['resample_factor']}x)" if "resample_factor" in meta else ")"))
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    worst = 0.0
    with torch.no_grad():
        for case in graph.cases:
            expected = model(*case)
            expected = [e.numpy() for e in (expected if isinstance(expected, tuple) else (expected,))]
            got = session.run(list(graph.outputs), {name: x.numpy() for name, x in zip(graph.inputs, case)})
            for a, b in zip(got, expected):
                if a.shape != b.shape:
                    raise ExportError(f"ONNX Runtime returned shape {a.shape}, torch {b.shape}")
                worst = max(worst, float(np.max(np.abs(a - b)) / np.max(np.abs(b))))
    if not worst <= TOLERANCE[config.dtype]:
        raise ExportError(f"ONNX Runtime differs from torch by {worst:.3g} (relative), more than "
                          f"{TOLERANCE[config.dtype]:g} for {config.dtype}")
    digest = hashlib.sha256(data).hexdigest()
    report = ExportReport(out_path, worst, digest, meta, ns_per_cell(data, graph))
    card_json, card_md = model_card(report, summary, config, model_dir)
    # all three under temporary names first, then renamed: a failure leaves none of them
    files: list[AtomicFile] = []
    try:
        for path, content in zip(outputs.values(), (data, card_json.encode(), card_md.encode())):
            files.append(AtomicFile(path))
            files[-1].tmp.write_bytes(content)
        for atomic in files:
            atomic.commit()
    finally:
        for atomic in files:
            atomic.abort()     # nothing left of a failed export (a no-op once committed)
    return report


def ns_per_cell(data: bytes, graph: Graph, repeats: int = 7) -> float:
    """ONNX Runtime's time per cell of one call on the graph's timing input (one intra-op
    thread, the median of `repeats` timed calls after a warm-up): the model card's cost, a
    measurement on the exporting machine, so in the card and not in the model's metadata."""
    import statistics
    import time

    import onnxruntime as ort

    if not graph.timing:
        return float("nan")
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    feed = {name: x.numpy() for name, x in zip(graph.inputs, graph.timing)}
    fluxes = [name for name in graph.outputs if name != STENCILS]       # what a host asks for at every call
    session.run(fluxes, feed)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(fluxes, feed)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) / TIMING_CELLS * 1e9


def card_paths(out_path: Path) -> dict[str, Path]:
    """The files an export writes: the .onnx model and its card (.json, .md) beside it."""
    return {"the model": out_path, "the model card": out_path.with_suffix(".json"),
            "the model card (text)": out_path.with_suffix(".md")}


def model_card(report: ExportReport, summary: dict, config: ExportConfig, model_dir: Path) -> tuple[str, str]:
    """The texts of <model>.json and <model>.md."""
    meta = report.metadata
    card = {"file": report.path.name, "sha256": report.sha256, "metadata": meta,
            "verification": {"max_relative_error_ort_vs_torch": report.max_relative_error,
                             "tolerance": TOLERANCE[config.dtype]},
            "export": asdict(config), "training": summary,
            "cost": {"flops_per_cell": int(meta["flops_per_cell"]) if "flops_per_cell" in meta else None,
                     "ns_per_cell": report.ns_per_cell,
                     "measured": f"ONNX Runtime, 1 thread, one call on {TIMING_CELLS} cells, median of 7, at export"},
            "regenerate": meta["training_command"] if "imex" in summary else
                          f"{meta['training_command']} && hfc export --model {model_dir} --out {report.path}"
                          + (f" --dtype {config.dtype}" if config.dtype != "float32" else "")}
    trained = (f"trained through the host's IMEX step ({meta['implicit_solver']}, K = {meta['implicit_iterations']})"
               if "imex" in summary else f"trained at resample factor {meta['resample_factor']}")
    lines = [f"# Model card: {report.path.name}", "",
             f"Learned face fluxes for **{meta['equation']}** ({meta['model_kind']}), {trained} "
             f"(dx = {float(meta['dx']):.6g}, {meta['cells']} cells on length "
             f"{float(meta['length']):.6g}), exported as {meta['dtype']}.", "",
             "| field | value |", "|---|---|"]
    lines += [f"| {k} | `{v}` |" for k, v in meta.items()]
    lines += ["", f"Cost: {meta.get('flops_per_cell', '?')} FLOP per cell; {report.ns_per_cell:.0f} ns per cell "
                  f"({card['cost']['measured']}).",
              "", f"Verification: ONNX Runtime vs torch, max relative difference "
                  f"{report.max_relative_error:.3g} (tolerance {TOLERANCE[config.dtype]:g}).",
              (f"Validation loss (MAE of {summary['train']['window']} forward-Euler steps, Zhuang et al. Eq. 6): "
               if meta["equation"] == "advection2d" else
               "Validation loss (the PRDP paper's Eq. 56 over a rollout with converged physics): "
               if "imex" in summary else
               "Validation loss (normalized MSE of du/dt, 1 = predicting zero): ") +
              f"{float(meta['validation_loss']):.4g}.",
              "", "Regenerate:", "", "```", card["regenerate"], "```", ""]
    return json.dumps(card, indent=2) + "\n", "\n".join(lines)
