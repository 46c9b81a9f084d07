"""The Neural-IVP ansatz (Finzi et al. 2023, Sec. 4.1 and appendix C): u(x, theta) an MLP
on a sinusoidal embedding of x, times a boundary factor that makes it vanish on the faces of
a box (the paper's Dirichlet problems on [-1, 1]^d; Berg & Nystrom 2018's construction).

- Embedding (Eq. 6): per coordinate, gamma(x) = [sin(2^k x pi / 2) 2^(-alpha k),
  cos(2^k x pi / 2) 2^(-alpha k)] for k = 0..L, alpha = 1 (high frequencies damped so the
  first and second derivatives stay bounded), scaled by 1.5 before the MLP.
- MLP: 3 hidden layers of 100 units, swish; linear head (its last layer, what head tuning
  refits by least squares).
- Boundary factor for the box [low, high]^d: prod_i (x_i - low)(high - x_i) / ((high - low) / 2)^2
  (1 at the centre, 0 on every face).
- EDNN (Du & Zaki 2021), the baseline: 4 hidden layers of 30 tanh units, no embedding.

The module is evaluated functionally (`torch.func.functional_call`) by training.ivp_dynamics
with the parameters as one flat vector theta; `flatten` / `unflatten` convert.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class AnsatzConfig:
    """The network u(x, theta) on R^dim; defaults are the paper's (appendix C)."""

    dim: int = 1
    hidden: int = 100
    layers: int = 3
    activation: str = "swish"              # or "tanh" (EDNN)
    frequencies: int = 5                   # L; 0 with embedding=False
    alpha: float = 1.0
    scale: float = 1.5
    embedding: bool = True
    box: tuple[float, float] | None = None  # Dirichlet box [low, high]^dim, None: no boundary factor
    outputs: int = 1                       # components of u (2 for a first-order system such as the wave equation)

    def __post_init__(self) -> None:
        if min(self.dim, self.hidden, self.layers, self.outputs) < 1 or self.frequencies < 0:
            raise ValueError("dim, hidden width, layers and outputs must be >= 1 and the frequencies >= 0")
        if self.activation not in ("swish", "tanh"):
            raise ValueError(f"activation is swish or tanh, got '{self.activation}'")
        if self.box is not None and not self.box[0] < self.box[1]:
            raise ValueError(f"the box needs low < high, got {self.box}")


def ednn(dim: int, box: tuple[float, float] | None = None, outputs: int = 1) -> AnsatzConfig:
    """Du & Zaki (2021)'s network: 4 hidden layers x 30 tanh units, no embedding."""
    return AnsatzConfig(dim, hidden=30, layers=4, activation="tanh", embedding=False, box=box, outputs=outputs)


class SinusoidalEmbedding(nn.Module):
    """x (..., dim) -> (..., 2 dim (L + 1)), Eq. 6 with alpha, times `scale`."""

    def __init__(self, frequencies: int, alpha: float, scale: float):
        super().__init__()
        k = torch.arange(frequencies + 1, dtype=torch.float64)
        self.register_buffer("omega", 2.0 ** k * math.pi / 2, persistent=False)
        self.register_buffer("weight", scale * 2.0 ** (-alpha * k), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        angles = x[..., None] * self.omega.to(x.dtype)                           # (..., dim, L + 1)
        weight = self.weight.to(x.dtype)
        return torch.cat([torch.sin(angles) * weight, torch.cos(angles) * weight], -1).flatten(-2)


class Ansatz(nn.Module):
    """u(x) for points x (..., dim); returns (...), or (..., outputs) for several components."""

    def __init__(self, config: AnsatzConfig):
        super().__init__()
        self.config = config
        activation = nn.SiLU() if config.activation == "swish" else nn.Tanh()
        if config.embedding:
            self.embed = SinusoidalEmbedding(config.frequencies, config.alpha, config.scale)
            width = 2 * config.dim * (config.frequencies + 1)
        else:
            self.embed = nn.Identity()
            width = config.dim
        layers: list[nn.Module] = []
        for _ in range(config.layers):
            layers += [nn.Linear(width, config.hidden), activation]
            width = config.hidden
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, config.outputs)

    def boundary_factor(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.box is None:
            return torch.ones_like(x[..., 0])
        low, high = self.config.box
        half = (high - low) / 2
        return torch.prod((x - low) * (high - x) / half ** 2, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.head(self.features(self.embed(x))) * self.boundary_factor(x)[..., None]
        return u[..., 0] if self.config.outputs == 1 else u


def flatten(module: nn.Module) -> torch.Tensor:
    """All parameters of `module` as one vector theta (in named_parameters order)."""
    return torch.cat([p.detach().reshape(-1) for p in module.parameters()])


def unflatten(module: nn.Module, theta: torch.Tensor) -> dict[str, torch.Tensor]:
    """theta as the {name: tensor} dict functional_call takes (views into theta)."""
    out, start = {}, 0
    for name, p in module.named_parameters():
        out[name] = theta[start:start + p.numel()].view_as(p)
        start += p.numel()
    return out
