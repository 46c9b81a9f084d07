"""The flux laws of the trainable equations in torch: J = c v^2 + sum_l a_l d^l v / dx^l
(Bar-Sinai et al. 2019, SI Eqs. (S-3)-(S-5)), from the equation registry
coupler.problems.equations (where the laws, parameters and domains live).

Each equation names the face quantities its flux needs (derivative orders of v at the
faces) and evaluates J from them, so a model only supplies those quantities. The
convective part c v^2 is split out for the Godunov variant, which replaces it by the
exact Godunov flux of left and right estimates.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from coupler.problems import equations as registry

EQUATIONS = ("burgers", "kdv", "ks", "advection")   # the registry's 1D laws


def godunov_convex_square(left: torch.Tensor, right: torch.Tensor, c: float) -> torch.Tensor:
    """Exact Godunov flux of f(v) = c v^2 (c > 0, convex, minimum at 0), SI Eq. (S-1)."""
    rarefaction = torch.maximum(torch.clamp(left, min=0) ** 2, torch.clamp(right, max=0) ** 2)
    shock = torch.maximum(left ** 2, right ** 2)
    return c * torch.where(left > right, shock, rarefaction)


@dataclass(frozen=True)
class Equation:
    """J = c v^2 + a v + sum_l a_l d^l v / dx^l over the derivative orders l >= 1 it needs
    (terms whose coefficient is 0 need no face quantity and are left out)."""

    name: str
    convective: float                 # c in c v^2
    linear: tuple[tuple[int, float], ...]   # (derivative order l, coefficient a_l)
    length: float                     # training domain
    velocity: float = 0.0             # a in a v (advection)

    @property
    def derivatives(self) -> tuple[int, ...]:
        """Derivative orders needed at faces, 0 (the value) first."""
        return (0,) + tuple(order for order, _ in self.linear)

    def flux(self, face: dict[int, torch.Tensor]) -> torch.Tensor:
        """J from face values face[l] = d^l v / dx^l."""
        return self.convective * face[0] ** 2 + self.linear_flux(face)

    def linear_flux(self, face: dict[int, torch.Tensor]) -> torch.Tensor:
        out = torch.zeros_like(face[0])
        if self.velocity:
            out = out + torch.tensor(self.velocity, dtype=out.dtype, device=out.device) * face[0]
        for order, coefficient in self.linear:
            # a typed tensor, not a bare float: keeps float64 ONNX exports exact (see models._constant)
            out = out + torch.tensor(coefficient, dtype=out.dtype, device=out.device) * face[order]
        return out

    def godunov_flux(self, left: torch.Tensor, right: torch.Tensor, face: dict[int, torch.Tensor]) -> torch.Tensor:
        """Convective part by the Godunov flux of (left, right) values, the rest as in flux()."""
        if self.velocity:
            raise ValueError("the Godunov variant is for the quadratic laws, not advection")
        return godunov_convex_square(left, right, self.convective) + self.linear_flux(face)


def make_equation(name: str, viscosity: float = 0.01) -> Equation:
    """The registry equation `name` (viscosity for Burgers only; advection: the registry's
    velocity 1 without viscosity, the explicit part of an IMEX step) as a torch flux law."""
    if name not in EQUATIONS:
        raise ValueError(f"unknown equation '{name}' (expected one of {', '.join(EQUATIONS)})")
    bound = registry.make_equation(name, viscosity if name == "burgers" else None)
    terms = tuple((order, b) for order, b in bound.terms if b != 0)
    return Equation(name, bound.quadratic, terms, bound.spec.length, bound.velocity)
