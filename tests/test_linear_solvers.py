"""PRDP's differentiable iterative solvers (training.linear_solvers) and the operators of
its appendix D (training.operators), against dense linear algebra: the solvers converge
to the direct solution; unrolled gradients are the exact derivatives of the K-iteration
map (finite differences); implicit and unrolled gradients agree at convergence with the
exact adjoint; the implicit gradient's error falls as K grows. All in float64, so the
tolerances below are round-off of O(10-1000) operations on O(1) numbers unless stated."""
import pytest
import torch

from training.linear_solvers import SolverConfig, iterations_to, relative_residual, solve
from training.operators import BurgersOseen1D, HeatBTCS, Poisson1D

F64 = torch.float64


def dense(matvec, n, *params):
    """The matrix of a matvec on states (1, n), column by column."""
    return torch.stack([matvec(e[None], *params)[0] for e in torch.eye(n, dtype=F64)], 1)


def burgers_state(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.arange(n, dtype=F64) / n
    return (torch.sin(2 * torch.pi * x) + 0.3 * torch.randn(n, generator=g, dtype=F64))[None]


CASES = {  # name: (operator, params, methods that converge on it, iterations for convergence)
    "heat1d": (HeatBTCS(30, 1, nu=0.001, dt=1.0), (), ("jacobi", "sd", "cg", "gmres"), 200),
    "poisson1d": (Poisson1D(16), (), ("jacobi", "sd", "cg", "gmres"), 3000),
    "burgers1d": (BurgersOseen1D(64, nu=0.001, dt=0.01), (burgers_state(64),), ("jacobi", "gmres"), 200),
}


@pytest.mark.parametrize("case", CASES)
def test_every_solver_converges_to_the_direct_solution(case):
    op, params, methods, k = CASES[case]
    n = op.n
    a = dense(op.matvec, n, *params)
    b = torch.randn(3, n, generator=torch.Generator().manual_seed(1), dtype=F64)
    direct = torch.linalg.solve(a, b.T).T
    diagonal = op.diagonal(*params)
    assert torch.allclose((torch.as_tensor(diagonal, dtype=F64) * torch.ones(1, n, dtype=F64))[0], torch.diagonal(a))
    for method in methods:
        iterations = {"cg": 2 * n, "gmres": k // 10}.get(method, k if method == "jacobi" else 20 * k)
        u = solve(op.matvec, b, SolverConfig(method, iterations, restart=10), params, diagonal)
        assert torch.allclose(u, direct, rtol=0, atol=1e-9 * direct.abs().max()), method
        assert float(relative_residual(op.matvec, u, b, params).max()) < 1e-9


def test_heat_operator_in_2d_and_3d_is_the_periodic_laplacian_step():
    """A = I - nu dt L_d: on a Fourier mode exp(2 pi i k.x) its eigenvalue is
    1 + nu dt N^2 sum 4 sin^2(pi k_d / N) (checked on a cosine mode, d = 2 and 3)."""
    for dims in (2, 3):
        op = HeatBTCS(8, dims, nu=0.01, dt=0.5)
        k = (1, 2, 3)[:dims]
        grids = torch.meshgrid(*[torch.arange(8, dtype=F64)] * dims, indexing="ij")
        mode = torch.cos(2 * torch.pi * sum(kd * g for kd, g in zip(k, grids)) / 8)[None]
        eigen = 1 + op.r * sum(4 * torch.sin(torch.tensor(torch.pi * kd / 8, dtype=F64)) ** 2 for kd in k)
        assert torch.allclose(op.matvec(mode), eigen * mode, atol=1e-12)


@pytest.mark.parametrize("method", ["jacobi", "sd", "cg", "gmres"])
def test_unrolled_gradient_is_the_derivative_of_the_k_iteration_map(method):
    """Central differences of L(b) = c . P_K(b) (and of L(w) through the Burgers matrix for
    Jacobi / GMRES) against the unrolled gradient, K small (far from convergence). Step 1e-6:
    truncation O(1e-12) for this smooth map, round-off O(1e-10)."""
    op, params = (BurgersOseen1D(16, nu=0.01, dt=0.02), (burgers_state(16, 2),)) if method in ("jacobi", "gmres") \
        else (HeatBTCS(16, 1, nu=0.001, dt=1.0), ())
    config = SolverConfig(method, 3, restart=4)
    g = torch.Generator().manual_seed(3)
    b, c = torch.randn(1, 16, generator=g, dtype=F64), torch.randn(1, 16, generator=g, dtype=F64)
    diagonal = lambda *p: op.diagonal(*p)   # noqa: E731
    inputs = (b, *params)

    def loss(b, *p):
        return (c * solve(op.matvec, b, config, p, diagonal(*p))).sum()

    leaves = [x.clone().requires_grad_() for x in inputs]
    grads = torch.autograd.grad(loss(*leaves), leaves)
    for which, grad in enumerate(grads):
        direction = torch.randn(inputs[which].shape, generator=g, dtype=F64)
        shifted = lambda s: loss(*[x + s * direction if i == which else x for i, x in enumerate(inputs)])  # noqa: E731
        fd = (shifted(1e-6) - shifted(-1e-6)) / 2e-6
        assert float((grad * direction).sum()) == pytest.approx(float(fd), rel=1e-6, abs=1e-8), which


@pytest.mark.parametrize("method", ["jacobi", "gmres"])
def test_implicit_and_unrolled_agree_at_convergence_with_the_exact_adjoint(method):
    """At convergence both gradients are the exact ones: dL/db = A^-T c and
    dL/dw = -(A^-T c)^T dA(w)/dw u, from dense algebra (the Burgers matrix depends on w)."""
    op = BurgersOseen1D(24, nu=0.01, dt=0.02)
    w, g = burgers_state(24, 4), torch.Generator().manual_seed(5)
    b, c = torch.randn(1, 24, generator=g, dtype=F64), torch.randn(1, 24, generator=g, dtype=F64)
    a = dense(op.matvec, 24, w)
    lam = torch.linalg.solve(a.T, c[0])
    u = torch.linalg.solve(a, b[0])
    w_leaf = w.clone().requires_grad_()
    exact_w = -torch.autograd.grad(op.matvec(u[None], w_leaf), w_leaf, lam[None])[0]
    k = 300 if method == "jacobi" else 20
    for mode in ("unrolled", "implicit"):
        bl, wl = b.clone().requires_grad_(), w.clone().requires_grad_()
        u_k = solve(op.matvec, bl, SolverConfig(method, k, restart=8, differentiation=mode), (wl,), op.diagonal(w))
        gb, gw = torch.autograd.grad((c * u_k).sum(), (bl, wl))
        assert torch.allclose(gb[0], lam, atol=1e-9 * lam.abs().max()), mode
        assert torch.allclose(gw, exact_w, atol=1e-8 * exact_w.abs().max()), mode


def test_implicit_gradient_error_falls_with_k():
    """Jacobi on the 1D heat system (the paper's emulator set-up, N = 30): the implicit
    gradient with K iterations in both solves approaches the exact A^-T c as K grows, at the
    rate of the Jacobi iteration (spectral radius 2r / (1 + 2r) = 0.64 here)."""
    op = HeatBTCS(30, 1, nu=0.001, dt=1.0)
    g = torch.Generator().manual_seed(6)
    b, c = torch.randn(1, 30, generator=g, dtype=F64), torch.randn(1, 30, generator=g, dtype=F64)
    exact = torch.linalg.solve(dense(op.matvec, 30).T, c[0])
    errors = []
    for k in (2, 5, 10, 20, 40):
        leaf = b.clone().requires_grad_()
        u = solve(op.matvec, leaf, SolverConfig("jacobi", k, differentiation="implicit"), (), op.diagonal())
        grad, = torch.autograd.grad((c * u).sum(), leaf)
        errors.append(float((grad[0] - exact).norm() / exact.norm()))
    assert all(later < 0.7 * earlier for earlier, later in zip(errors, errors[1:]) if earlier > 1e-14), errors
    assert errors[-1] < 1e-6


def test_batched_solves_equal_single_ones_and_k_epsilon_is_the_first_k_below_tolerance():
    op = HeatBTCS(30, 1)
    b = torch.randn(4, 30, generator=torch.Generator().manual_seed(7), dtype=F64)
    config = SolverConfig("cg", 7)
    together = solve(op.matvec, b, config)
    for i in range(4):
        assert torch.allclose(together[i], solve(op.matvec, b[i:i + 1], config)[0], atol=1e-13)
    k = iterations_to(op.matvec, b, SolverConfig("jacobi"), 1e-5, diagonal=op.diagonal())
    residual = lambda k: relative_residual(op.matvec, solve(op.matvec, b, SolverConfig("jacobi", k), (),  # noqa: E731
                                                            op.diagonal()), b).max()
    assert residual(k) < 1e-5 <= residual(k - 1)


@pytest.mark.parametrize("kwargs", [{"method": "bicg"}, {"differentiation": "adjoint"}, {"iterations": -1},
                                    {"restart": 0}])
def test_solver_config_refuses_what_it_cannot_run(kwargs):
    with pytest.raises(ValueError):
        SolverConfig(**kwargs)


def test_burgers_2d_reduces_to_1d_and_its_solvers_converge():
    """With the second wind component 0 and fields constant along axis -1, the 2D Oseen
    operator acts on each column as the 1D one (the diffusion along axis -1 vanishes on a
    constant); Jacobi and GMRES reach the dense solution of the 2D system (1e-9)."""
    from training.operators import BurgersOseen2D
    n = 8
    op2, op1 = BurgersOseen2D(n, nu=0.01, dt=0.01), BurgersOseen1D(n, nu=0.01, dt=0.01)
    g = torch.Generator().manual_seed(4)
    w1 = burgers_state(n)[0]
    w = torch.stack([w1[:, None].expand(n, n), torch.zeros(n, n, dtype=F64)])[None]
    u1 = torch.randn(n, generator=g, dtype=F64)
    u = torch.stack([u1[:, None].expand(n, n), 2 * u1[:, None].expand(n, n)])[None]
    expected = op1.matvec(u1[None], w1[None])[0]
    out = op2.matvec(u, w)
    assert torch.allclose(out[0, 0], expected[:, None].expand(n, n), atol=1e-12)
    assert torch.allclose(out[0, 1], 2 * expected[:, None].expand(n, n), atol=1e-12)
    w = torch.randn(1, 2, n, n, generator=g, dtype=F64)
    b = torch.randn(1, 2, n, n, generator=g, dtype=F64)
    size = 2 * n * n
    a = torch.stack([op2.matvec(e.reshape(1, 2, n, n), w).flatten() for e in torch.eye(size, dtype=F64)], 1)
    direct = torch.linalg.solve(a, b.flatten()).reshape(b.shape)
    assert torch.allclose(op2.diagonal(w).flatten(), torch.diagonal(a), atol=1e-12)
    for method, k in (("jacobi", 300), ("gmres", 40)):
        x = solve(op2.matvec, b, SolverConfig(method, k, 10), params=(w,), diagonal=op2.diagonal(w))
        assert torch.allclose(x, direct, atol=1e-9), method
