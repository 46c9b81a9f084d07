"""A Neural-IVP solution for hosts: the evaluator u(x, theta) as ONNX (the network's graph with
its parameters an input, so one file serves every time of the trajectory) and theta(t) as
netCDF (coupler.io.trajectory), both carrying the evaluator's metadata (coupler.ivp.KEYS:
dimension, domain, boundary factor, the ansatz). The evaluator is written only after the
ONNX checker passes and ONNX Runtime reproduces torch to 1e-12 (float64, the same
operations; measured ~1e-15) at every theta of the trajectory."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch.func import functional_call

from coupler import __version__
from coupler.io.atomic import write_bytes
from coupler.io.trajectory import write_trajectory
from coupler.ivp import INPUTS, KIND, OUTPUTS
from export.onnx_export import ExportError, checked_bytes, torch_to_onnx
from training.ivp_ansatz import Ansatz, unflatten

TOLERANCE = 1e-12          # ORT vs torch, max |difference| / max |torch|, float64


class Evaluator(torch.nn.Module):
    """u(x, theta): x (n, dim), theta (p,) -> u (n, components)."""

    def __init__(self, module: Ansatz):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        u = functional_call(self.module, unflatten(self.module, theta), (x,))
        return u.reshape(x.shape[0], self.module.config.outputs)


def metadata(module: Ansatz, box: tuple[float, float], pde: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    c = module.config
    p = sum(t.numel() for t in module.parameters())
    return {"model_kind": KIND, "space_dimensions": str(c.dim), "parameters": str(p), "components": str(c.outputs),
            "domain_low": repr(float(box[0])), "domain_high": repr(float(box[1])),
            "boundary_factor": "box" if c.box is not None else "none", "ansatz": json.dumps(asdict(c)), "pde": pde,
            "input_meaning": f"x: points (n, {c.dim}) in [domain_low, domain_high]^{c.dim}; theta: the network's "
                             f"{p} parameters (a row of the trajectory's theta(time, parameter))",
            "output_meaning": f"u: (n, {c.outputs}) the solution's components at the points",
            "code_version": __version__, "torch_version": torch.__version__, **(extra or {})}


def export_evaluator(module: Ansatz, thetas: list[torch.Tensor], meta: dict[str, str], path: str | Path) -> float:
    """Write the evaluator to `path`, verified at every theta of `thetas`; returns the worst
    relative difference between ONNX Runtime and torch."""
    import onnxruntime as ort

    module = module.double()
    evaluator = Evaluator(module).eval()
    dim = module.config.dim
    proto = torch_to_onnx(evaluator, (torch.rand(16, dim, dtype=torch.float64), thetas[0].double()), INPUTS, OUTPUTS,
                          {"x": {0: torch.export.Dim("points")}, "theta": None})
    data = checked_bytes(proto, meta, f"hfc Neural-IVP evaluator u(x, theta) ({meta['pde']})")
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    low, high = float(meta["domain_low"]), float(meta["domain_high"])
    x = low + (high - low) * torch.rand(1000, dim, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    worst = 0.0
    with torch.no_grad():
        for theta in thetas:
            expected = evaluator(x, theta.double()).numpy()
            got, = session.run(list(OUTPUTS), {"x": x.numpy(), "theta": theta.double().numpy()})
            worst = max(worst, float(np.max(np.abs(got - expected)) / max(np.max(np.abs(expected)), 1e-300)))
    if not worst <= TOLERANCE:
        raise ExportError(f"ONNX Runtime differs from torch by {worst:.3g} (relative), more than {TOLERANCE:g}")
    write_bytes(path, data)
    return worst


def export_solution(module: Ansatz, times: list[float], thetas: list[torch.Tensor], box: tuple[float, float],
                    pde: str, out: str | Path, extra: dict[str, str] | None = None) -> dict[str, Path]:
    """evaluator.onnx and trajectory.nc in `out` for one Neural-IVP run."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta = metadata(module, box, pde, extra)
    paths = {"evaluator": out / "evaluator.onnx", "trajectory": out / "trajectory.nc"}
    worst = export_evaluator(module, thetas, meta, paths["evaluator"])
    write_trajectory(paths["trajectory"], times, torch.stack(thetas).numpy(),
                     {**meta, "evaluator": paths["evaluator"].name, "evaluator_max_relative_error": f"{worst:.3g}"})
    return paths
