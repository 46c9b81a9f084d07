"""Right-hand sides L[u] of the PDEs Neural-IVP evolves, on the network's field u(theta, x),
with spatial derivatives by autograd (each u_i depends on x_i only, so the gradient of the
sum is the per-sample gradient), and their analytic solutions where there is one.

- advection: u_t = -c . grad u; exact u0(x - c t).
- heat: u_t = D laplacian u; exact for a Gaussian u0 on the whole space: a Gaussian of
  variance s^2 + 2 D t (scaled to keep its mass).
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


@dataclass(frozen=True)
class Heat:
    diffusivity: float
    initial: Gaussian

    def rhs(self, u: Field, theta: torch.Tensor, x: torch.Tensor, t: float) -> torch.Tensor:
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            grad = spatial_gradient(u, theta, x, create_graph=True)
            laplacian = sum(torch.autograd.grad(grad[:, i].sum(), x, retain_graph=True)[0][:, i]
                            for i in range(x.shape[1]))
        return self.diffusivity * laplacian.detach()

    def exact(self, x: torch.Tensor, t: float) -> torch.Tensor:
        s2 = self.initial.width ** 2 + 2 * self.diffusivity * t
        dim = x.shape[-1]
        c = torch.tensor(self.initial.centre, dtype=x.dtype)
        return (self.initial.width ** 2 / s2) ** (dim / 2) * torch.exp(-((x - c) ** 2).sum(-1) / (2 * s2))


def uniform_box(dim: int, low: float, high: float, dtype: torch.dtype = torch.float64):
    """A sampler of n points uniform on [low, high]^dim."""
    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, dim, generator=generator, dtype=dtype)
    return sample


def relative_l2(prediction: torch.Tensor, exact: torch.Tensor) -> float:
    return float(torch.linalg.norm(prediction - exact) / torch.linalg.norm(exact))

