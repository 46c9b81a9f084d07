"""Polynomial-accuracy constraints on stencil coefficients (Bar-Sinai et al. 2019, SI
Appendix III).

A derivative of order l at a point x0 is estimated as sum_j alpha_j q_j from N stencil
values q_j: point values f(x0 + h_j) (finite differences, "fd") or cell averages of f
over [x0 + h_j - dx/2, x0 + h_j + dx/2] (finite volumes, "fv"). Exactness on all
polynomials of degree < m + l (error O(dx^m)) is the affine system

    sum_j alpha_j M[k, j] = l! delta_{k l},   k = 0 .. m + l - 1,

with M[k, j] = h_j^k (fd) or the cell average of x^k (fv). Its solutions are
alpha = alpha_fixed + B theta: alpha_fixed the standard full-order stencil (all N rows),
B an orthonormal basis of the null space of the kept rows, theta free. Offsets are in
units of dx; coefficients for derivative l are divided by dx^l by the caller.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

METHODS = ("fv", "fd")


def moment_matrix(offsets: np.ndarray, rows: int, method: str = "fv") -> np.ndarray:
    """M[k, j]: the k-th moment of stencil element j (point value or cell average of x^k)."""
    h = np.asarray(offsets, dtype=np.float64)
    k = np.arange(rows)[:, None]
    if method == "fd":
        return h[None, :] ** k
    if method == "fv":
        return ((h + 0.5)[None, :] ** (k + 1) - (h - 0.5)[None, :] ** (k + 1)) / (k + 1)
    raise ValueError(f"unknown method '{method}' (expected fv or fd)")


def constraint_system(offsets, derivative: int, rows: int, method: str = "fv") -> tuple[np.ndarray, np.ndarray]:
    """(A, b) with A alpha = b: exactness for monomials x^0 .. x^(rows-1)."""
    a = moment_matrix(offsets, rows, method)
    b = np.zeros(rows)
    if derivative < rows:
        b[derivative] = math.factorial(derivative)
    return a, b


def standard_coefficients(offsets, derivative: int, method: str = "fv") -> np.ndarray:
    """The unique full-order stencil: all N moment conditions (order N - derivative)."""
    a, b = constraint_system(offsets, derivative, len(offsets), method)
    return np.linalg.solve(a, b)


def stencil_offsets(size: int) -> np.ndarray:
    """Offsets of `size` cells centred on a face, in dx: -(size-1)/2 .. (size-1)/2."""
    return np.arange(size) - (size - 1) / 2.0


@dataclass(frozen=True)
class PolynomialConstraint:
    """Affine map theta -> alpha for one derivative on one stencil."""

    offsets: tuple[float, ...]
    derivative: int
    accuracy: int = 1
    method: str = "fv"

    def __post_init__(self) -> None:
        n = len(self.offsets)
        if self.accuracy < 0 or self.accuracy + self.derivative > n:
            raise ValueError(f"accuracy {self.accuracy} for derivative {self.derivative} needs at most "
                             f"{n} stencil points (m + l <= N)")

    @property
    def rows(self) -> int:
        return self.accuracy + self.derivative

    def fixed(self) -> np.ndarray:
        return standard_coefficients(self.offsets, self.derivative, self.method)

    def basis(self) -> np.ndarray:
        """(N, N - rows) orthonormal basis of the null space of the kept rows (by SVD)."""
        a, _ = constraint_system(self.offsets, self.derivative, self.rows, self.method)
        _, _, vt = np.linalg.svd(a)
        return vt[self.rows:].T.copy()

    @property
    def n_free(self) -> int:
        return len(self.offsets) - self.rows


class ConstrainedCoefficients(nn.Module):
    """torch layer: free parameters theta (..., K) -> coefficients alpha (..., N)."""

    def __init__(self, constraint: PolynomialConstraint, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.constraint = constraint
        self.register_buffer("fixed", torch.tensor(constraint.fixed(), dtype=dtype))
        self.register_buffer("basis", torch.tensor(constraint.basis(), dtype=dtype))

    @property
    def n_free(self) -> int:
        return self.basis.shape[1]

    def forward(self, theta: torch.Tensor) -> torch.Tensor:
        return self.fixed + theta @ self.basis.T
