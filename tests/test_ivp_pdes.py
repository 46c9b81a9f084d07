"""The Neural-IVP experiments' PDEs (training.ivp_pdes) against mathematics: the wave
equation's exact solution solves it and its right-hand side is (psi, laplacian phi); the
Fokker-Planck right-hand side equals an independent finite-difference evaluation of
D laplacian u - div(h u); fields of two components through M v and head tuning."""
import numpy as np
import torch

from training.ivp_ansatz import Ansatz, AnsatzConfig, flatten
from training.ivp_dynamics import LinearSystem, field
from training.ivp_pdes import FokkerPlanck, Wave, uniform_box
from training.ivp_reference import grid_nodes, wave_finite_differences
from training.ivp_solver import IVPConfig, evaluate, fit

F64 = torch.float64


def shell_points(n: int, low: float, high: float, seed: int = 0) -> torch.Tensor:
    """n points with radius in [low, high] (random directions)."""
    g = torch.Generator().manual_seed(seed)
    direction = torch.randn(n, 3, generator=g, dtype=F64)
    direction /= torch.linalg.norm(direction, dim=1, keepdim=True)
    return direction * (low + (high - low) * torch.rand(n, 1, generator=g, dtype=F64))


def test_wave_exact_solution_solves_the_wave_equation():
    """phi_tt = laplacian phi and psi = phi_t by central differences (h = 1e-3) at t = 0.3,
    off the front r = t (0.35 <= r <= 0.6): O(h^2) with derivatives of f ~ 20^4 -> 1e-3
    of the terms' size; at t = 0 psi = -4 at the origin (the limit of f'(-r) / r)."""
    wave, h, t = Wave(), 1e-3, 0.3
    x = shell_points(200, 0.35, 0.6)
    phi = lambda x, t: wave.exact(x, t)[:, 0]                                          # noqa: E731
    phi_tt = (phi(x, t + h) - 2 * phi(x, t) + phi(x, t - h)) / h ** 2
    lap = sum((phi(x + h * e, t) - 2 * phi(x, t) + phi(x - h * e, t)) / h ** 2 for e in torch.eye(3, dtype=F64))
    scale = phi_tt.abs().max()
    assert scale > 1.0
    assert (phi_tt - lap).abs().max() < 1e-3 * scale
    psi = wave.exact(x, t)[:, 1]
    assert (psi - (phi(x, t + h) - phi(x, t - h)) / (2 * h)).abs().max() < 1e-3 * psi.abs().max()
    assert wave.exact(torch.zeros(1, 3, dtype=F64), 0.0)[0, 1] == -4.0
    inside = shell_points(50, 0.0, 0.25)
    assert torch.all(wave.exact(inside, 0.3) == 0)                                    # r < t: at rest


def test_wave_rhs_is_psi_and_the_laplacian():
    """For the exact field (network-free, two components), the rhs by autograd is (psi,
    laplacian phi), laplacian phi = phi_tt: central differences in t, 1e-3 relative."""
    wave, t = Wave(), 0.3
    u = lambda theta, x: wave.exact(x, t).reshape(-1)                                # noqa: E731
    x = shell_points(100, 0.35, 0.6, seed=1)
    f = wave.rhs(u, torch.zeros(1, dtype=F64), x, t).view(-1, 2)
    exact = wave.exact(x, t)
    assert torch.allclose(f[:, 0], exact[:, 1])
    h = 1e-3
    phi_tt = (wave.exact(x, t + h)[:, 0] - 2 * exact[:, 0] + wave.exact(x, t - h)[:, 0]) / h ** 2
    assert (f[:, 1] - phi_tt).abs().max() < 1e-3 * phi_tt.abs().max()


def test_wave_finite_differences_converge():
    """The paper's finite-difference reference: its error against the exact phi at t = 0.25
    falls with the grid (the front is a few cells wide: below second order; measured 0.25
    at 60^3 and 0.11 at 100^3 nodes; here 24 -> 40 nodes must cut it by >= 1.5)."""
    wave, errors = Wave(), []
    for n in (24, 40):
        g = torch.as_tensor(grid_nodes(n))
        x = torch.stack(torch.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
        initial = wave.exact(x, 0.0).numpy().reshape(n, n, n, 2)
        (phi, _), = wave_finite_differences(initial[..., 0], initial[..., 1], (0.25,))
        exact = wave.exact(x, 0.25)[:, 0].numpy()
        errors.append(np.linalg.norm(phi.ravel() - exact) / np.linalg.norm(exact))
    assert errors[1] < errors[0] / 1.5


def test_fokker_planck_rhs_against_finite_differences():
    """D laplacian u - div(h u) of a smooth 8D field (not in the rhs's form: u = initial
    condition times a cosine) by autograd, against central differences of u and of h u
    (h = 1e-4; O(h^2) truncation and 1e-16 / h^2 round-off: 1e-6 of the terms)."""
    fp = FokkerPlanck()
    k = torch.linspace(0.5, 1.5, 8, dtype=F64)
    field_ = lambda x: fp.initial(x) * torch.cos(x @ k)                               # noqa: E731
    u = lambda theta, x: field_(x)                                                   # noqa: E731
    x = (torch.rand(40, 8, generator=torch.Generator().manual_seed(0), dtype=F64) - 0.5) * 1.2
    got = fp.rhs(u, torch.zeros(1, dtype=F64), x, 0.0)
    h, lap, div = 1e-4, 0.0, 0.0
    for e in torch.eye(8, dtype=F64):
        lap = lap + (field_(x + h * e) - 2 * field_(x) + field_(x - h * e)) / h ** 2
        flux = lambda y: (fp.drift(y) @ e) * field_(y)                                 # noqa: E731
        div = div + (flux(x + h * e) - flux(x - h * e)) / (2 * h)
    expected = fp.diffusivity * lap - div
    assert (got - expected).abs().max() < 1e-6 * expected.abs().max()


def test_two_components_through_matvec_and_head_tuning():
    """u with two components: M v against the dense Jacobian of the flattened field (rows
    (sample, component)), and head tuning recovers a target in the head's span exactly
    (1e-8: the ridge 1e-8 and round-off)."""
    torch.manual_seed(0)
    module = Ansatz(AnsatzConfig(dim=2, hidden=12, layers=2, outputs=2)).double()
    u, theta = field(module), flatten(module)
    x = uniform_box(2, -1.0, 1.0)(50, torch.Generator().manual_seed(1))
    assert u(theta, x).shape == (100,)
    dense = torch.func.jacrev(lambda t: u(t, x))(theta)
    v = torch.randn(theta.numel(), generator=torch.Generator().manual_seed(2), dtype=F64)
    assert torch.allclose(LinearSystem(u, theta, x).matvec(v), dense.T @ (dense @ v) / 50, atol=1e-12)
    target_module = Ansatz(module.config).double()
    with torch.no_grad():
        target_module.features.load_state_dict(module.features.state_dict())
        target_module.head.weight.normal_()
    target = lambda y: target_module(y).detach()                                      # noqa: E731
    sampler = uniform_box(2, -1.0, 1.0)
    fit(module, target, sampler, IVPConfig(fit_steps=0, fit_samples=200), torch.Generator().manual_seed(3))
    y = sampler(300, torch.Generator().manual_seed(4))
    assert torch.allclose(evaluate(module, flatten(module), y), target(y), atol=1e-8)


def test_a_two_component_run_refits():
    """A field of two components through evolve with a refit halfway (u_t = 0, so the run
    itself keeps theta): the refit targets the network's own two components and keeps the
    function (1e-2: 200 Adam steps, then head tuning)."""
    from training.ivp_solver import evolve

    torch.manual_seed(0)
    module = Ansatz(AnsatzConfig(dim=1, hidden=8, layers=2, outputs=2, box=(-1.0, 1.0))).double()
    sampler = uniform_box(1, -1.0, 1.0)
    config = IVPConfig(samples=200, rank=20, fit_steps=200, fit_samples=200, restarts=2, rtol=1e-2)
    target = lambda x: torch.stack([torch.sin(torch.pi * x[:, 0]), torch.cos(torch.pi * x[:, 0] / 2)], -1)  # noqa: E731
    theta = fit(module, target, sampler, config, torch.Generator().manual_seed(0))
    still = lambda u, th, x, t: torch.zeros(2 * x.shape[0], dtype=x.dtype)                # noqa: E731
    trajectory = evolve(module, still, theta, sampler, 0.1, config, outputs=(0.05,),
                        generator=torch.Generator().manual_seed(1))
    assert trajectory.refits == [0.05] and trajectory.times == [0.05, 0.1]
    x = sampler(500, torch.Generator().manual_seed(2))
    before, after = evaluate(module, theta, x), evaluate(module, trajectory.thetas[-1], x)
    assert after.shape == (500, 2)
    assert torch.linalg.norm(after - before) < 1e-2 * torch.linalg.norm(before)
