"""`hfc neural-ivp --pde NAME --out DIR`: the Neural-IVP experiment of one PDE
(training.ivp_experiments), its table, results and figure, the Neural-IVP solution exported
for hosts (evaluator.onnx + trajectory.nc, export.ivp_export), and for 2D advection the
solution in the Fortran finite-volume host: the host integrates the evaluator over its cells
(Gauss-Legendre, hfc_ivp_evaluator), starts a Van Leer run from those cell averages, and the
two solutions are held against each other and against the exact cell averages."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import erf

from coupler.host import Host, HostConfig, TimeConfig
from coupler.io.atomic import write_text
from coupler.io.trajectory import read_trajectory
from coupler.ivp import IVPEvaluator
from coupler.problems.flows import ConstantFlow
from export.ivp_export import export_solution
from training import ivp_experiments
from training.ivp_pdes import Advection

QUADRATURE_ORDER = 4          # Gauss-Legendre points per axis and cell: exact to degree 7


def gaussian_cell_averages(pde: Advection, t: float, lower: tuple[float, float], cells: tuple[int, int],
                           widths: tuple[float, float]) -> np.ndarray:
    """Exact cell averages (ny, nx) of the advected Gaussian at time t: a product of erf
    differences per axis."""
    centre = np.asarray(pde.initial.centre) + t * np.asarray(pde.velocity)
    s = pde.initial.width * math.sqrt(2.0)
    axes = []
    for d in range(2):
        edges = lower[d] + widths[d] * np.arange(cells[d] + 1)
        axes.append(math.sqrt(math.pi) * s / 2 * np.diff(erf((edges - centre[d]) / s)) / widths[d])
    return axes[1][:, None] * axes[0][None, :]


@dataclass(frozen=True)
class HostComparison:
    cells: int
    steps: int
    fv_vs_exact: float            # relative L2 of the cell averages at T
    ivp_vs_exact: float
    fv_vs_ivp: float
    initial_vs_exact: float       # the Neural-IVP initial averages against the exact ones


def host_comparison(folder: Path, pde: Advection, box: tuple[float, float], t_end: float, cells: int,
                    scheme: str = "vanleer", cfl: float = 0.5) -> HostComparison:
    """Neural-IVP's advection solution (folder's evaluator and trajectory) and a Fortran FV
    run from its initial cell averages on cells x cells of the box, at t_end."""
    trajectory = read_trajectory(folder / "trajectory.nc")
    length = box[1] - box[0]
    lower, widths, n = (box[0], box[0]), (length / cells, length / cells), (cells, cells)
    evaluator = IVPEvaluator(folder / "evaluator.onnx")
    try:
        start = evaluator.cell_averages(trajectory.at(0.0), lower, widths, n, QUADRATURE_ORDER)
        ivp_end = evaluator.cell_averages(trajectory.at(t_end), lower, widths, n, QUADRATURE_ORDER)
    finally:
        evaluator.close()
    host = Host(HostConfig("advection2d", n=n, length=(length, length)), scheme, flow=ConstantFlow(*pde.velocity),
                time=TimeConfig(cfl=cfl))
    try:
        fv_end, steps = host.advance(start, 0.0, t_end)
    finally:
        host.close()
    exact0, exact_end = (gaussian_cell_averages(pde, t, lower, n, widths) for t in (0.0, t_end))
    rel = lambda a, b: float(np.linalg.norm(a - b) / np.linalg.norm(b))                 # noqa: E731
    return HostComparison(cells, steps, rel(fv_end, exact_end), rel(ivp_end, exact_end), rel(fv_end, ivp_end),
                          rel(start, exact0))


def run(pde: str, out: Path, command: str, progress: bool = True, case: ivp_experiments.Case | None = None,
        host_cells: tuple[int, ...] = (32, 64, 128)) -> str:
    case = case or ivp_experiments.CASES[pde]
    results, runs = ivp_experiments.run(pde, case, progress)
    module, best = runs["Neural-IVP"]
    export_solution(module, best.times, best.trajectory.thetas, case.box, case.describe(), out,
                    {"command": command})
    text = ivp_experiments.table(pde, case, results, command)
    if isinstance(case.pde, Advection) and case.dim == 2:
        comparisons = [host_comparison(out, case.pde, case.box, case.t_end, n) for n in host_cells]
        results["host"] = [c.__dict__ for c in comparisons]
        text += "\n" + host_table(comparisons, case)
    write_text(out / "table.md", text)
    write_text(out / "results.json", ivp_experiments.results_json(case, results, command))
    ivp_experiments.plot({k: v for k, v in results.items() if k != "host"}, out / "figure.png", case.describe())
    return text


def host_table(comparisons: list[HostComparison], case: ivp_experiments.Case) -> str:
    lines = ["## The solution in the Fortran finite-volume host", "",
             f"evaluator.onnx integrated over each cell by {QUADRATURE_ORDER} x {QUADRATURE_ORDER} Gauss-Legendre "
             "points in Fortran (hfc_ivp_evaluator); Van Leer (SSP-RK3, CFL 0.5) from those initial averages to "
             f"t = {case.t_end}; relative L2 of cell averages against the exact ones (erf products).", "",
             "| cells | FV steps | Neural-IVP at 0 vs exact | FV vs exact | Neural-IVP vs exact | FV vs Neural-IVP |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {c.cells}^2 | {c.steps} | {c.initial_vs_exact:.2e} | {c.fv_vs_exact:.2e} | {c.ivp_vs_exact:.2e} | "
              f"{c.fv_vs_ivp:.2e} |" for c in comparisons]
    return "\n".join(lines) + "\n"
