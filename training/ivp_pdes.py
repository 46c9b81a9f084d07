"""Right-hand sides L[u] of the PDEs Neural-IVP evolves, on the network's field u(theta, x),
with spatial derivatives by autograd (each u_i depends on x_i only, so the gradient of the
sum is the per-sample gradient), and their analytic solutions where there is one.

- advection: u_t = -c . grad u; exact u0(x - c t).
- heat: u_t = D laplacian u; exact for a Gaussian u0 on the whole space: a Gaussian of
  variance s^2 + 2 D t (scaled to keep its mass).
- wave (appendix B.1): phi_tt = laplacian phi in 3D as the first-order system u = (phi, psi
  = phi_t), L[u] = (psi, laplacian phi), from the outgoing spherical wave f(t - r) / r,
  f(s) = 2 s^2 exp(-200 s^2). The initial value problem's solution is f(t - r) / r for
  r > t and 0 inside: the paper's formula f(t - r) / r everywhere adds a point source at
  the origin (it is singular there for t > 0) that its own initial data do not hold.
- Fokker-Planck (appendix B.3, the harmonic trap of Bruna et al. 2022): u_t = D laplacian u
  - div(h u), h(x) = (a - x) + alpha (1 1^T / d - I) x, on [-1, 1]^d with u = 0 on the
  faces, from u0 = (3/4)^d prod_i (1 - x_i^2); no analytic solution.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from training.ivp_dynamics import Field


def spatial_gradient(u: Field, theta: torch.Tensor, x: torch.Tensor, create_graph: bool = False):
    """grad_x u at the samples (n, dim); with create_graph, differentiable again in x (pass
    an x that requires grad)."""
    if not x.requires_grad:
        x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        grad, = torch.autograd.grad(u(theta, x).sum(), x, create_graph=create_graph)
    return grad


@dataclass(frozen=True)
class Gaussian:
    """exp(-|x - centre|^2 / (2 width^2)) in dim dimensions."""

    centre: tuple[float, ...]
    width: float

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        c = torch.tensor(self.centre, dtype=x.dtype)
        return torch.exp(-((x - c) ** 2).sum(-1) / (2 * self.width ** 2))


@dataclass(frozen=True)
class Advection:
    velocity: tuple[float, ...]
    initial: Gaussian

    def rhs(self, u: Field, theta: torch.Tensor, x: torch.Tensor, t: float) -> torch.Tensor:
        grad = spatial_gradient(u, theta, x)
        return -(grad * torch.tensor(self.velocity, dtype=x.dtype)).sum(-1)

    def exact(self, x: torch.Tensor, t: float) -> torch.Tensor:
        return self.initial(x - t * torch.tensor(self.velocity, dtype=x.dtype))


def laplacian(values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The Laplacian at the samples of per-sample values (n,) computed from x (which
    requires grad) under autograd; with the gradient (n, dim) it used."""
    grad, = torch.autograd.grad(values.sum(), x, create_graph=True)
    total = sum(torch.autograd.grad(grad[:, i].sum(), x, retain_graph=True)[0][:, i] for i in range(x.shape[1]))
    return total.detach(), grad.detach()


@dataclass(frozen=True)
class Heat:
    diffusivity: float
    initial: Gaussian

    def rhs(self, u: Field, theta: torch.Tensor, x: torch.Tensor, t: float) -> torch.Tensor:
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            return self.diffusivity * laplacian(u(theta, x), x)[0]

    def exact(self, x: torch.Tensor, t: float) -> torch.Tensor:
        s2 = self.initial.width ** 2 + 2 * self.diffusivity * t
        dim = x.shape[-1]
        c = torch.tensor(self.initial.centre, dtype=x.dtype)
        return (self.initial.width ** 2 / s2) ** (dim / 2) * torch.exp(-((x - c) ** 2).sum(-1) / (2 * s2))


@dataclass(frozen=True)
class Wave:
    """phi_tt = laplacian phi in `dim` dimensions as u = (phi, phi_t), from the outgoing
    spherical wave (exact for dim = 3)."""

    dim: int = 3
    outputs = 2

    @staticmethod
    def profile(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """f(s) = 2 s^2 exp(-200 s^2) and f'(s)."""
        g = torch.exp(-200 * s ** 2)
        return 2 * s ** 2 * g, (4 * s - 800 * s ** 3) * g

    def initial(self, x: torch.Tensor) -> torch.Tensor:
        return self.exact(x, 0.0)

    def rhs(self, u: Field, theta: torch.Tensor, x: torch.Tensor, t: float) -> torch.Tensor:
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            values = u(theta, x).view(x.shape[0], 2)
            lap, _ = laplacian(values[:, 0], x)
        return torch.stack([values[:, 1].detach(), lap], 1).reshape(-1)

    def exact(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """(n, 2): f(t - r) / r and f'(t - r) / r where r > t, 0 inside (f(s) / r -> 2 s^2 / r
        and f'(s) / r -> -4 + 800 s^2 as r -> 0 at t = 0: finite)."""
        r = torch.linalg.norm(x, dim=-1)
        s = t - r
        f, df = self.profile(s)
        safe = torch.where(r > 0, r, torch.ones_like(r))
        phi = torch.where(r > 0, f / safe, torch.zeros_like(r))
        psi = torch.where(r > 0, df / safe, torch.full_like(r, -4.0))
        outside = (r > t) | (t == 0)
        return torch.stack([torch.where(outside, phi, 0 * phi), torch.where(outside, psi, 0 * psi)], -1)


@dataclass(frozen=True)
class FokkerPlanck:
    """u_t = D laplacian u - div(h u) with the harmonic trap's drift h (appendix B.3)."""

    dim: int = 8
    diffusivity: float = 0.01
    alpha: float = 0.25
    a: float = 0.2

    def drift(self, x: torch.Tensor) -> torch.Tensor:
        return (self.a - x) + self.alpha * (x.mean(-1, keepdim=True) - x)

    def initial(self, x: torch.Tensor) -> torch.Tensor:
        return (0.75 ** self.dim) * torch.prod(1 - x ** 2, dim=-1)

    def rhs(self, u: Field, theta: torch.Tensor, x: torch.Tensor, t: float) -> torch.Tensor:
        """D lap u - h . grad u - u div h, div h = -d + alpha (1 - d)."""
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            values = u(theta, x)
            lap, grad = laplacian(values, x)
        divergence = -self.dim + self.alpha * (1 - self.dim)
        return (self.diffusivity * lap - (self.drift(x.detach()) * grad).sum(-1)
                - divergence * values.detach())

    exact = None


def uniform_box(dim: int, low: float, high: float, dtype: torch.dtype = torch.float64):
    """A sampler of n points uniform on [low, high]^dim."""
    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, dim, generator=generator, dtype=dtype)
    return sample


def relative_l2(prediction: torch.Tensor, exact: torch.Tensor) -> float:
    return float(torch.linalg.norm(prediction - exact) / torch.linalg.norm(exact))

