"""The Fortran linear solvers (hfc_linear_solver, hfc_implicit_operators) against the torch
ones a PRDP model is trained through (training.linear_solvers): the same K iterations give
the same solution. Tolerance 1e-12 relative, float64: the two run the same operations in
the same order except for reductions (sum order) and GMRES's small least-squares solve
(Givens rotations here, a pseudo-inverse in torch), round-off of O(10-100) operations times
the conditioning of the 2x2..4x4 Hessenberg systems, measured at 2e-16..4e-15."""
import numpy as np
import pytest
import torch

from coupler.errors import ConfigError
from coupler.host import linear_solve
from training.linear_solvers import SolverConfig, solve
from training.operators import BurgersOseen1D, HeatBTCS


def torch_solution(system, b, w, n, method, k, restart):
    if system == "heat":
        op = HeatBTCS(n, nu=0.001, dt=1.0)
        return solve(op.matvec, torch.tensor(b)[None], SolverConfig(method, k, restart), diagonal=op.diagonal())[0]
    op, w = BurgersOseen1D(n, nu=0.001, dt=0.01), torch.tensor(w)[None]
    return solve(op.matvec, torch.tensor(b)[None], SolverConfig(method, k, restart), params=(w,),
                 diagonal=op.diagonal(w))[0]


@pytest.mark.parametrize("system", ["heat", "burgers"])
@pytest.mark.parametrize("method", ["jacobi", "sd", "cg", "gmres"])
def test_fortran_solvers_equal_the_torch_ones(system, method):
    n = 48
    rng = np.random.default_rng(3)
    b, w = rng.standard_normal(n), 3 * rng.standard_normal(n)
    dt = 1.0 if system == "heat" else 0.01
    for k in (0, 1, 4, 17):
        expected = torch_solution(system, b, w, n, method, k, 3).numpy()
        got = linear_solve(system, b, 1 / n, dt, 0.001, method, k, 3, w=w)
        scale = max(np.abs(expected).max(), 1e-300)
        assert np.abs(got - expected).max() <= 1e-12 * scale, (system, method, k)


def test_k_iterations_converge_to_the_implicit_step():
    """Enough CG iterations solve the heat step: the Fourier mode sin(2 pi m x) is divided by
    1 + 4 r sin^2(pi m / n) exactly (the BTCS symbol), r = nu dt / dx^2."""
    n, m, nu, dt = 40, 3, 0.002, 1.0
    x = np.arange(n) / n
    b = np.sin(2 * np.pi * m * x)
    r = nu * dt * n ** 2
    got = linear_solve("heat", b, 1 / n, dt, nu, "cg", 60)
    assert np.abs(got - b / (1 + 4 * r * np.sin(np.pi * m / n) ** 2)).max() < 1e-12


def test_bad_solver_arguments_are_refused():
    with pytest.raises(ConfigError, match="unknown linear solver"):
        linear_solve("heat", np.ones(4), 0.25, 1.0, 0.001, "sor", 3)
    with pytest.raises(ConfigError, match="unknown system"):
        linear_solve("wave", np.ones(4), 0.25, 1.0, 0.001, "cg", 3)
    with pytest.raises(ConfigError, match="iterations must be >= 0"):
        linear_solve("heat", np.ones(4), 0.25, 1.0, 0.001, "cg", -1)
