"""The Neural-IVP ansatz and linear algebra (training.ivp_ansatz, training.ivp_dynamics),
float64 throughout: forward-mode products against finite differences of the network,
M v and F against the dense Jacobian, the Nystrom-preconditioned CG against a direct
solve, and the cost of M v linear in the number of parameters (counted FLOPs)."""
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from training.ivp_ansatz import Ansatz, AnsatzConfig, ednn, flatten
from training.ivp_dynamics import (LinearSystem, NystromPreconditioner, conjugate_gradients, field,
                                   jacobian_vector, solve_dynamics)

F64 = torch.float64


def network(config: AnsatzConfig, seed: int = 0):
    torch.manual_seed(seed)
    module = Ansatz(config).double()
    return module, field(module), flatten(module)


def samples(n: int, dim: int, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, dim, generator=torch.Generator().manual_seed(seed), dtype=F64) * 2 - 1


def test_embedding_and_boundary_factor():
    """gamma has 2 dim (L + 1) features with the 2^-k damping; the box factor is 1 at the
    centre and 0 on every face, so u vanishes there."""
    module, u, theta = network(AnsatzConfig(dim=3, box=(-1.0, 1.0)))
    x = torch.zeros(1, 3, dtype=F64)
    features = module.embed(x)
    assert features.shape == (1, 36)
    assert torch.allclose(features[0, 6:12], 1.5 * 2.0 ** -torch.arange(6, dtype=F64))   # cos(0) 2^-k for x_0
    assert module.boundary_factor(x).item() == 1.0
    faces = torch.tensor([[1.0, 0.3, -0.2], [0.1, -1.0, 0.5], [0.0, 0.0, 1.0]], dtype=F64)
    assert torch.all(u(theta, faces) == 0)


@pytest.mark.parametrize("config", [AnsatzConfig(dim=2), ednn(2, box=(-1.0, 1.0))])
def test_jacobian_vector_products_are_derivatives(config):
    """J v against the central difference of u along v: (u(theta + h v) - u(theta - h v)) / 2h,
    h = 1e-5, error O(h^2) ~ 1e-10 of the O(1) derivative: tolerance 1e-7."""
    module, u, theta = network(config)
    x = samples(20, 2)
    v = torch.randn(theta.numel(), generator=torch.Generator().manual_seed(2), dtype=F64)
    h = 1e-5
    central = (u(theta + h * v, x) - u(theta - h * v, x)) / (2 * h)
    assert torch.allclose(jacobian_vector(u, theta, x, v), central, rtol=1e-7, atol=1e-7)


def test_matvec_and_rhs_against_the_dense_jacobian():
    """M v = (1/n) J^T J v and F = (1/n) J^T f with J from torch.func.jacrev: 1e-12 (round-off
    of sums over 64 samples)."""
    module, u, theta = network(AnsatzConfig(dim=2, hidden=16, layers=2))
    x = samples(64, 2)
    system = LinearSystem(u, theta, x)
    dense = torch.func.jacrev(lambda t: u(t, x))(theta)                        # (n, p)
    g = torch.Generator().manual_seed(3)
    v, f = torch.randn(theta.numel(), generator=g, dtype=F64), torch.randn(64, generator=g, dtype=F64)
    assert torch.allclose(system.matvec(v), dense.T @ (dense @ v) / 64, atol=1e-12)
    assert torch.allclose(system.rhs(f), dense.T @ f / 64, atol=1e-12)


def test_preconditioned_cg_solves_the_regularised_system_in_fewer_iterations():
    """(M + mu I) x = F against a dense solve (relative 1e-6 for CG tolerance 1e-10 and the
    condition number ~1e6 of M + mu I); Nystrom preconditioning of rank 100 cuts the
    iterations at least threefold (M's spectrum decays fast: the network's near-symmetries)."""
    module, u, theta = network(AnsatzConfig(dim=2, hidden=24, layers=2))
    x = samples(400, 2)
    system = LinearSystem(u, theta, x)
    f = torch.sin(3 * x[:, 0]) * x[:, 1]
    mu = 1e-6
    dense = torch.func.jacrev(lambda t: u(t, x))(theta)
    a = dense.T @ dense / 400 + mu * torch.eye(theta.numel(), dtype=F64)
    expected = torch.linalg.solve(a, dense.T @ f / 400)
    plain = solve_dynamics(system, f, mu, rank=0, tolerance=1e-10, max_iterations=5000)
    preconditioned = solve_dynamics(system, f, mu, rank=100, tolerance=1e-10, max_iterations=5000)
    for result in (plain, preconditioned):
        assert result.converged
        assert torch.linalg.norm(result.solution - expected) < 1e-6 * torch.linalg.norm(expected)
    assert 3 * preconditioned.iterations < plain.iterations


def test_nystrom_is_exact_for_a_low_rank_matrix():
    """For M of rank r <= l the approximation recovers its eigenpairs (1e-8 relative), and
    P^-1 (M + mu I) has every eigenvalue in [lam_min-ish, lam_r + mu] collapsed onto
    lam_r + mu on the range of U."""
    g = torch.Generator().manual_seed(5)
    q, _ = torch.linalg.qr(torch.randn(50, 6, generator=g, dtype=F64))
    lam = torch.tensor([9.0, 5.0, 3.0, 1.0, 0.5, 0.1], dtype=F64)
    m = q @ torch.diag(lam) @ q.T
    pre = NystromPreconditioner.build(lambda v: m @ v, 50, 10, 1e-3, g)
    assert torch.allclose(pre.eigenvalues[:6], lam, rtol=1e-8)
    image = torch.stack([pre.apply(c) for c in (m + 1e-3 * torch.eye(50, dtype=F64)).T], 1)
    eig = torch.linalg.eigvals(image).real
    assert eig.max() < 1.0 + 1e-6 and eig.min() > 1e-3 * 0.99


def test_conjugate_gradients_reports_non_convergence():
    a = torch.diag(torch.logspace(0, 8, 200, dtype=F64))
    result = conjugate_gradients(lambda v: a @ v, torch.ones(200, dtype=F64), 1e-12, max_iterations=5)
    assert not result.converged and result.iterations == 5 and result.residual > 1e-12


def test_cost_of_a_matrix_vector_product_is_linear_in_the_parameters():
    """FLOPs counted by torch's FlopCounterMode (deterministic, unlike timings) for M v on
    n = 256 samples, widths giving p from ~1e3 to ~1e5: FLOPs per parameter constant to 1.5x
    (a dense M would grow like p)."""
    per_parameter, sizes = [], []
    for hidden in (16, 56, 180):
        module, u, theta = network(AnsatzConfig(dim=2, hidden=hidden))
        system = LinearSystem(u, theta, samples(256, 2))
        v = torch.ones_like(theta)
        with FlopCounterMode(display=False) as counter:
            system.matvec(v)
        sizes.append(theta.numel())
        per_parameter.append(counter.get_total_flops() / theta.numel())
    assert sizes[0] < 2000 and sizes[-1] > 60000
    assert max(per_parameter) / min(per_parameter) < 1.5, (sizes, per_parameter)
