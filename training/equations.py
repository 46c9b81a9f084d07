"""The 1D conservation laws v_t + J_x = F of Bar-Sinai et al. (2019), SI Eqs. (S-3)-(S-5).

Each equation names the face quantities its flux needs (derivative orders of v at the
faces) and evaluates J from them, so a model only supplies those quantities. The
convective part c v^2 is split out for the Godunov variant, which replaces it by the
exact Godunov flux of left and right estimates.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

EQUATIONS = ("burgers", "kdv", "ks")


def godunov_convex_square(left: torch.Tensor, right: torch.Tensor, c: float) -> torch.Tensor:
    """Exact Godunov flux of f(v) = c v^2 (c > 0, convex, minimum at 0), SI Eq. (S-1)."""
    rarefaction = torch.maximum(torch.clamp(left, min=0) ** 2, torch.clamp(right, max=0) ** 2)
    shock = torch.maximum(left ** 2, right ** 2)
    return c * torch.where(left > right, shock, rarefaction)


@dataclass(frozen=True)
class Equation:
    """J = c v^2 + sum_l a_l d^l v / dx^l over the derivative orders l >= 1 it needs."""

    name: str
    convective: float                 # c in c v^2
    linear: tuple[tuple[int, float], ...]   # (derivative order l, coefficient a_l)
    length: float                     # training domain

    @property
    def derivatives(self) -> tuple[int, ...]:
        """Derivative orders needed at faces, 0 (the value) first."""
        return (0,) + tuple(order for order, _ in self.linear)

    def flux(self, face: dict[int, torch.Tensor]) -> torch.Tensor:
        """J from face values face[l] = d^l v / dx^l."""
        return self.convective * face[0] ** 2 + self.linear_flux(face)

    def linear_flux(self, face: dict[int, torch.Tensor]) -> torch.Tensor:
        out = torch.zeros_like(face[0])
        for order, coefficient in self.linear:
            # a typed tensor, not a bare float: keeps float64 ONNX exports exact (see models._constant)
            out = out + torch.tensor(coefficient, dtype=out.dtype, device=out.device) * face[order]
        return out

    def godunov_flux(self, left: torch.Tensor, right: torch.Tensor, face: dict[int, torch.Tensor]) -> torch.Tensor:
        """Convective part by the Godunov flux of (left, right) values, the rest as in flux()."""
        return godunov_convex_square(left, right, self.convective) + self.linear_flux(face)


def make_equation(name: str, viscosity: float = 0.01) -> Equation:
    if name == "burgers":     # J = v^2/2 - eta v_x
        return Equation("burgers", 0.5, ((1, -viscosity),), 2 * math.pi)
    if name == "kdv":         # J = 3 v^2 + v_xx
        return Equation("kdv", 3.0, ((2, 1.0),), 32.0)
    if name == "ks":          # J = v^2/2 + v_x + v_xxx
        return Equation("ks", 0.5, ((1, 1.0), (3, 1.0)), 64.0)
    raise ValueError(f"unknown equation '{name}' (expected one of {', '.join(EQUATIONS)})")
