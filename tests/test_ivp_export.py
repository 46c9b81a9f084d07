"""A Neural-IVP solution for hosts: the evaluator u(x, theta) exported to ONNX and theta(t)
to netCDF (export.ivp_export, coupler.io.trajectory), integrated over the cells of a grid
by the Fortran library (hfc_ivp_evaluator), and the committed 2D advection solution run
against the Fortran finite-volume host (coupler.app.neural_ivp)."""
import json

import numpy as np
import pytest
import torch

from coupler.errors import HfcError
from coupler.io.trajectory import read_trajectory
from coupler.ivp import KEYS, KIND, IVPEvaluator
from coupler.schema import ModelError
from export.ivp_export import Evaluator, export_solution
from training.ivp_ansatz import Ansatz, AnsatzConfig, flatten

F64 = torch.float64


@pytest.fixture(scope="module")
def solutions(tmp_path_factory):
    """Two exported solutions of random networks: 2D with one component on a Dirichlet box,
    1D with two components."""
    out = {}
    for name, config in (("2d", AnsatzConfig(dim=2, hidden=16, box=(-1.0, 2.0))),
                         ("1d", AnsatzConfig(dim=1, hidden=8, outputs=2))):
        torch.manual_seed(0)
        module = Ansatz(config).double()
        theta = flatten(module)
        thetas = [theta, theta + 0.1 * torch.randn(theta.numel(), generator=torch.Generator().manual_seed(1),
                                                   dtype=F64)]
        folder = tmp_path_factory.mktemp(name)
        paths = export_solution(module, [0.0, 0.5], thetas, (-1.0, 2.0), f"test {name}", folder)
        out[name] = (module, thetas, paths)
    return out


def test_export_writes_the_evaluator_and_the_trajectory(solutions):
    """The trajectory reads back bit for bit with the evaluator's metadata; ONNX Runtime
    reproduces torch to 1e-12 at each theta (checked by the export, reported here)."""
    module, thetas, paths = solutions["2d"]
    trajectory = read_trajectory(paths["trajectory"])
    assert trajectory.times.tolist() == [0.0, 0.5]
    assert np.array_equal(trajectory.thetas, torch.stack(thetas).numpy())
    assert set(KEYS) <= set(trajectory.attributes)
    assert trajectory.attributes["model_kind"] == KIND
    assert json.loads(trajectory.attributes["ansatz"])["box"] == [-1.0, 2.0]
    assert float(trajectory.attributes["evaluator_max_relative_error"]) <= 1e-12
    assert np.array_equal(trajectory.at(0.5), trajectory.thetas[1])
    with pytest.raises(HfcError, match="not at 0.25"):
        trajectory.at(0.25)


def gauss_legendre_reference(module, theta, lower, widths, cells, order):
    """Cell averages by numpy's Gauss-Legendre nodes and the torch network: (ny, nx, k)."""
    nodes, weights = np.polynomial.legendre.leggauss(order)
    evaluator = Evaluator(module)
    out = np.zeros((cells[1] if len(cells) == 2 else 1, cells[0], module.config.outputs))
    for j in range(out.shape[0]):
        for i in range(cells[0]):
            axes = [lower[0] + widths[0] * (i + 0.5 + 0.5 * nodes)]
            w = weights / 2
            if len(cells) == 2:
                axes.append(lower[1] + widths[1] * (j + 0.5 + 0.5 * nodes))
                w = np.outer(weights, weights).ravel() / 4
            points = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(cells))
            with torch.no_grad():
                u = evaluator(torch.as_tensor(points), torch.as_tensor(theta)).numpy()
            out[j, i] = w @ u
    return out


@pytest.mark.parametrize("name, lower, widths, cells, order", [
    ("2d", (-1.0, -1.0), (0.25, 0.2), (12, 15), 4),
    ("2d", (-1.0, -0.5), (0.5, 0.5), (6, 3), 7),
    ("1d", (-1.0,), (0.1,), (30,), 3),
])
def test_fortran_cell_averages_equal_an_independent_quadrature(solutions, name, lower, widths, cells, order):
    """The Fortran Gauss-Legendre nodes (Newton on P_q) and the ONNX evaluator against
    numpy's leggauss and the torch network: 1e-13 of the field's size (round-off of sums of
    q^2 terms)."""
    module, thetas, paths = solutions[name]
    evaluator = IVPEvaluator(paths["evaluator"])
    assert (evaluator.dims, evaluator.parameters, evaluator.components) == (len(cells), thetas[1].numel(),
                                                                           module.config.outputs)
    got = evaluator.cell_averages(thetas[1].numpy(), lower, widths, cells, order)
    expected = gauss_legendre_reference(module, thetas[1].numpy(), lower, widths, cells, order)
    expected = expected[0] if len(cells) == 1 else expected
    expected = expected[..., 0] if module.config.outputs == 1 else expected
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= 1e-13 * np.max(np.abs(expected))
    evaluator.close()


def test_cell_averages_of_a_one_cell_grid_match_a_fine_midpoint_rule(solutions):
    """Mathematics, not the same formula twice: the average over one 0.2 x 0.1 cell by 6 x 6
    Gauss points against the midpoint rule on 400 x 400 sub-cells. The embedding's highest
    frequency is 16 pi: 10 radians across the cell, resolved by 6 points (error ~ (10 / 2)^12
    / 12! ~ 5e-4 of the smallest-weighted mode at worst); the midpoint rule's O(h^2) error
    ~ (10 / 400)^2 / 24 ~ 3e-5 of that mode. Tolerance 1e-5 of the average."""
    module, thetas, paths = solutions["2d"]
    evaluator = IVPEvaluator(paths["evaluator"])
    got = evaluator.cell_averages(thetas[0].numpy(), (-0.5, 0.0), (0.2, 0.1), (1, 1), 6)[0, 0]
    s = (np.arange(400) + 0.5) / 400
    points = np.stack(np.meshgrid(-0.5 + 0.2 * s, 0.1 * s, indexing="ij"), -1).reshape(-1, 2)
    with torch.no_grad():
        midpoint = Evaluator(module)(torch.as_tensor(points), thetas[0]).mean().item()
    assert abs(got - midpoint) < 1e-5 * abs(midpoint)


def test_evaluator_refusals(solutions, repo_root):
    """A flux model is not an evaluator; theta of the wrong length, a bad quadrature order
    and a 2D grid for a 1D evaluator are refused with their reasons."""
    with pytest.raises(ModelError, match="not a Neural-IVP evaluator"):
        IVPEvaluator(repo_root / "results" / "prdp" / "hybrid" / "advection_imex.onnx")
    _, thetas, paths = solutions["2d"]
    evaluator = IVPEvaluator(paths["evaluator"])
    with pytest.raises(HfcError, match="theta has 5 values"):
        evaluator.cell_averages(np.zeros(5), (0.0, 0.0), (1.0, 1.0), (2, 2))
    with pytest.raises(HfcError, match="quadrature order"):
        evaluator.cell_averages(thetas[0].numpy(), (0.0, 0.0), (1.0, 1.0), (2, 2), order=0)
    with pytest.raises(HfcError, match="widths must be positive"):
        evaluator.cell_averages(thetas[0].numpy(), (0.0, 0.0), (1.0, -1.0), (2, 2))
    one_d = IVPEvaluator(solutions["1d"][2]["evaluator"])
    with pytest.raises(HfcError, match="averages must be"):
        one_d.cell_averages(solutions["1d"][1][0].numpy(), (0.0, 0.0), (1.0, 1.0), (2, 2))


def test_committed_advection_solution_in_the_fortran_host(repo_root):
    """results/neural-ivp/advection (regenerated by the command in its table.md): the host
    integrates the Neural-IVP solution over its cells and runs Van Leer from its initial
    averages. Against the exact cell averages: Neural-IVP's cell-average errors at 0 and T
    are its pointwise errors of the run (results.json, Python's evaluation on 20000 points)
    within 20% (averaging a smooth error barely changes its relative size); the FV run
    converges with the grid (Van Leer's limited second order: measured 1.9x from 32^2 to
    64^2, asserted 1.5x) and towards the Neural-IVP solution."""
    from coupler.app.neural_ivp import host_comparison
    from training.ivp_experiments import CASES

    folder = repo_root / "results" / "neural-ivp" / "advection"
    recorded = json.loads((folder / "results.json").read_text())["results"]["Neural-IVP"]
    case = CASES["advection"]
    coarse, fine = (host_comparison(folder, case.pde, case.box, case.t_end, n) for n in (32, 64))
    for c in (coarse, fine):
        assert c.initial_vs_exact <= 1.2 * recorded["errors"][0]
        assert c.ivp_vs_exact <= 1.2 * recorded["errors"][-1]
    assert fine.fv_vs_exact < coarse.fv_vs_exact / 1.5
    assert fine.fv_vs_ivp < coarse.fv_vs_ivp / 1.5


def test_neural_ivp_command_refuses_an_unknown_pde(hfc):
    result = hfc("neural-ivp", "--pde", "burgers", "--out", "x")
    assert result.returncode == 2 and "invalid choice: 'burgers'" in result.stderr
