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

FaceStencil2D is the 2D analogue for the value on a face of a 2D finite-volume grid
(Zhuang et al. 2021): the face average of c on the face between two cells, from a
`normal` x `tangent` block of cell averages around it (see its docstring).
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


@dataclass(frozen=True)
class FaceStencil2D:
    """Interpolation of the face average of c on a face of a 2D grid from cell averages.

    The stencil is `normal` cells across the face (even, centred on it: offsets -normal/2 +
    1/2 .. normal/2 - 1/2 in cell widths) times `tangent` rows along it (odd, centred on the
    face's row), element j = (normal index) * tangent + (tangent index). Accuracy m: exact for
    every polynomial x^a y^b with a + b < m, where the target is the average of c over the
    face (a point across it, the face's own extent along it) and each element gives the
    cell average; so the moment of element (h, k) is M_fv(h)[a] M_fv(k)[b] and the target
    delta_a0 M_fv(0)[b]. The fixed part (what the free parameters perturb) is the paper's
    choice, a centred scheme on the face's row: for m <= 2 equal weights on the two cells
    either side (Zhuang et al. Sec. II D), beyond that the standard centred FV stencil of
    the smallest even width that reaches m.
    """

    normal: int = 2
    tangent: int = 3
    accuracy: int = 1

    def __post_init__(self) -> None:
        if self.normal < 2 or self.normal % 2 or self.tangent < 1 or self.tangent % 2 == 0:
            raise ValueError(f"a face stencil has an even number of cells across the face and an odd number "
                             f"along it, got {self.normal} x {self.tangent}")
        if not 1 <= self.accuracy <= self.normal:
            raise ValueError(f"accuracy {self.accuracy} needs 1 <= m <= {self.normal} (the cells across the face)")

    def offsets(self) -> tuple[np.ndarray, np.ndarray]:
        """(h, k) of every element in cell widths from the face centre, across and along."""
        h = stencil_offsets(self.normal)
        k = np.arange(self.tangent) - (self.tangent - 1) // 2
        return np.repeat(h, self.tangent), np.tile(k, self.normal).astype(np.float64)

    def system(self) -> tuple[np.ndarray, np.ndarray]:
        """(A, b): one row per monomial x^a y^b with a + b < accuracy."""
        h, k = self.offsets()
        powers = [(a, b) for a in range(self.accuracy) for b in range(self.accuracy - a)]
        mh, mk = moment_matrix(h, self.accuracy, "fv"), moment_matrix(k, self.accuracy, "fv")
        centre = moment_matrix(np.zeros(1), self.accuracy, "fv")[:, 0]
        a = np.array([mh[p] * mk[q] for p, q in powers])
        b = np.array([float(p == 0) * centre[q] for p, q in powers])
        return a, b

    def fixed(self) -> np.ndarray:
        width = max(2, self.accuracy + self.accuracy % 2)
        row = standard_coefficients(stencil_offsets(width), 0, "fv")
        alpha = np.zeros((self.normal, self.tangent))
        first = (self.normal - width) // 2
        alpha[first:first + width, (self.tangent - 1) // 2] = row
        return alpha.ravel()

    def basis(self) -> np.ndarray:
        """Orthonormal null space of the system; its rank, not its row count, decides the size
        (few rows along the face make some monomials' rows dependent, e.g. y^3 on y)."""
        a, _ = self.system()
        _, sigma, vt = np.linalg.svd(a)
        rank = int((sigma > 1e-10 * sigma[0]).sum())
        return vt[rank:].T.copy()

    @property
    def n_free(self) -> int:
        return self.basis().shape[1]


class ConstrainedCoefficients(nn.Module):
    """torch layer: free parameters theta (..., K) -> coefficients alpha (..., N), for a
    PolynomialConstraint or a FaceStencil2D (anything with fixed() and basis())."""

    def __init__(self, constraint: PolynomialConstraint | FaceStencil2D, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.constraint = constraint
        self.register_buffer("fixed", torch.tensor(constraint.fixed(), dtype=dtype))
        self.register_buffer("basis", torch.tensor(constraint.basis(), dtype=dtype))

    @property
    def n_free(self) -> int:
        return self.basis.shape[1]

    def forward(self, theta: torch.Tensor) -> torch.Tensor:
        return self.fixed + theta @ self.basis.T
