"""The matrix-free linear systems of appendix D of the PRDP paper, as
`matvec(u, *params)` (linear in u, batched over the first axis) and their diagonals, for
training.linear_solvers.

- Poisson 1D (D.1): A = L~1, the three-point second difference on N interior points of
  (0, 1) with u = 0 on the boundary, dx = 1 / (N + 1).
- Heat BTCS (D.2-D.4): A = I - nu dt L_d, the periodic Laplacian on N^d points of the cube
  of side `length` (the paper's unit cube by default; dx = length / N), for a state
  (batch, N, ..., N) of d axes.
- Burgers 1D (D.5, Eq. 42): A(w) = I + dt Gamma(w) - dt nu L1, the upwind convection
  matrix linearised around the previous state w (an Oseen problem): winds at the left face
  (w_{i-1} + w_i) / 2 where positive with the backward difference, at the right face
  (w_i + w_{i+1}) / 2 where negative with the forward difference (the paper's Eq. 39 prints
  max(., 0) for both; the negative winds need min(., 0)).
- Burgers 2D (D.6, Eq. 49): the same for a velocity field (batch, 2, N, N), unit square,
  dx = 1 / N: each component convected by the upwind Gamma_2 = Gamma_{2,1} + Gamma_{2,2}
  (direction 1 along axis -2 with the winds of component 0, direction 2 along axis -1 with
  component 1) and diffused by nu L_2 (Eq. 48 prints L_2 u_2 in the first row; u_1 is meant).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


def _laplacian(u: torch.Tensor, dims: range) -> torch.Tensor:
    """Sum over the periodic axes `dims` of u_{i-1} - 2 u_i + u_{i+1} (not divided by dx^2)."""
    return sum(torch.roll(u, 1, d) - 2 * u + torch.roll(u, -1, d) for d in dims)


@dataclass(frozen=True)
class Poisson1D:
    n: int

    @property
    def dx(self) -> float:
        return 1.0 / (self.n + 1)

    def matvec(self, u: torch.Tensor) -> torch.Tensor:
        padded = torch.nn.functional.pad(u, (1, 1))
        return (padded[..., :-2] - 2 * u + padded[..., 2:]) / self.dx ** 2

    def diagonal(self) -> float:
        return -2.0 / self.dx ** 2


@dataclass(frozen=True)
class HeatBTCS:
    n: int
    dims: int = 1
    nu: float = 0.001
    dt: float = 1.0
    length: float = 1.0

    @property
    def r(self) -> float:
        return self.nu * self.dt * (self.n / self.length) ** 2

    def matvec(self, u: torch.Tensor) -> torch.Tensor:
        return u - self.r * _laplacian(u, range(-self.dims, 0))

    def diagonal(self) -> float:
        return 1.0 + 2 * self.dims * self.r


@dataclass(frozen=True)
class BurgersOseen1D:
    n: int
    nu: float = 0.001
    dt: float = 0.01

    @property
    def dx(self) -> float:
        return 1.0 / self.n

    def matvec(self, u: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return u + self.dt * _upwind(u, w, -1, self.dx) - self.dt * self.nu / self.dx ** 2 * _laplacian(u, range(-1, 0))

    def diagonal(self, w: torch.Tensor) -> torch.Tensor:
        positive, negative = _winds(w, -1)
        return 1 + self.dt * (positive - negative) / self.dx + 2 * self.dt * self.nu / self.dx ** 2


def _winds(w: torch.Tensor, axis: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The positive winds at the lower faces and the negative ones at the upper faces along
    `axis` (face averages of w; Eq. 39 with the sign fix)."""
    return (torch.clamp((torch.roll(w, 1, axis) + w) / 2, min=0),
            torch.clamp((w + torch.roll(w, -1, axis)) / 2, max=0))


def _upwind(u: torch.Tensor, w: torch.Tensor, axis: int, dx: float) -> torch.Tensor:
    """Upwind convection of u along `axis` by the winds of w."""
    positive, negative = _winds(w, axis)
    return (positive * (u - torch.roll(u, 1, axis)) + negative * (torch.roll(u, -1, axis) - u)) / dx


@dataclass(frozen=True)
class BurgersOseen2D:
    n: int
    nu: float = 0.001
    dt: float = 0.01

    @property
    def dx(self) -> float:
        return 1.0 / self.n

    def matvec(self, u: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """u, w: (batch, 2, N, N); both components of u through the same A(w)."""
        convection = _upwind(u, w[:, :1], -2, self.dx) + _upwind(u, w[:, 1:], -1, self.dx)
        return u + self.dt * convection - self.dt * self.nu / self.dx ** 2 * _laplacian(u, range(-2, 0))

    def diagonal(self, w: torch.Tensor) -> torch.Tensor:
        d = 1 + 4 * self.dt * self.nu / self.dx ** 2
        for axis, component in ((-2, w[:, :1]), (-1, w[:, 1:])):
            positive, negative = _winds(component, axis)
            d = d + self.dt * (positive - negative) / self.dx
        return d.expand(-1, 2, -1, -1)
