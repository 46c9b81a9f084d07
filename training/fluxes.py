"""NumPy reference of the classical finite-volume fluxes, independent of the Fortran host.

Arrays follow the halo contract: u has shape (..., n + 2g) (g halo cells per side,
leading axes are a batch), fluxes have shape (..., n + 1); face k lies between interior
cells k-1 and k. The last axis is the fastest, as in ONNX tensors.
"""
from __future__ import annotations

import numpy as np

HALO = {"godunov": 1, "fv3": 2, "weno5": 3}
WENO_EPS = 1e-6


def godunov_burgers(ul: np.ndarray, ur: np.ndarray) -> np.ndarray:
    """Exact Godunov flux of f(u) = u^2/2: min of f over [ul, ur] if ul <= ur, else max."""
    rarefaction = np.where(ul > 0, 0.5 * ul**2, np.where(ur < 0, 0.5 * ur**2, 0.0))
    shock = 0.5 * np.maximum(ul**2, ur**2)
    return np.where(ul <= ur, rarefaction, shock)


def upwind_linear(ul: np.ndarray, ur: np.ndarray, velocity: float) -> np.ndarray:
    return velocity * (ul if velocity >= 0 else ur)


def fv3_value(a, b, c):
    """Third-order FV value at the right face of cell b."""
    return (-a + 5.0 * b + 2.0 * c) / 6.0


def weno5_value(a, b, c, d, e):
    """WENO5-JS (eps = 1e-6, p = 2) value at the right face of cell c."""
    beta0 = 13 / 12 * (a - 2 * b + c) ** 2 + 0.25 * (a - 4 * b + 3 * c) ** 2
    beta1 = 13 / 12 * (b - 2 * c + d) ** 2 + 0.25 * (b - d) ** 2
    beta2 = 13 / 12 * (c - 2 * d + e) ** 2 + 0.25 * (3 * c - 4 * d + e) ** 2
    alpha = [w / (WENO_EPS + beta) ** 2 for w, beta in ((0.1, beta0), (0.6, beta1), (0.3, beta2))]
    q = [(2 * a - 7 * b + 11 * c) / 6, (-b + 5 * c + 2 * d) / 6, (2 * c + 5 * d - e) / 6]
    return sum(w * v for w, v in zip(alpha, q)) / sum(alpha)


def reconstruct(u: np.ndarray, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """Left and right face states (..., n + 1) from halo-padded cell averages."""
    g = HALO[scheme]
    n = u.shape[-1] - 2 * g

    def cells(offset: int) -> np.ndarray:
        """u[k - 1 + offset] for faces k = 1..n+1 (offset 0: the cell left of the face)."""
        start = g - 1 + offset
        return u[..., start:start + n + 1]

    if scheme == "godunov":
        return cells(0), cells(1)
    if scheme == "fv3":
        return fv3_value(cells(-1), cells(0), cells(1)), fv3_value(cells(2), cells(1), cells(0))
    return (weno5_value(cells(-2), cells(-1), cells(0), cells(1), cells(2)),
            weno5_value(cells(3), cells(2), cells(1), cells(0), cells(-1)))


def face_fluxes(u: np.ndarray, equation: str, scheme: str, dx: float,
                viscosity: float = 0.0, velocity: float = 1.0) -> np.ndarray:
    """Total face flux: exact Riemann flux of the reconstructed states, minus eta du/dx."""
    g = HALO[scheme]
    n = u.shape[-1] - 2 * g
    ul, ur = reconstruct(u, scheme)
    if equation == "burgers":
        flux = godunov_burgers(ul, ur)
    elif equation == "advection":
        flux = upwind_linear(ul, ur, velocity)
    else:
        raise ValueError(f"unknown equation '{equation}'")
    if viscosity > 0:
        flux = flux - viscosity / dx * (u[..., g:g + n + 1] - u[..., g - 1:g + n])
    return flux


def pad_periodic(u: np.ndarray, g: int) -> np.ndarray:
    """Periodic halo of width g on the last axis."""
    if g == 0:
        return u.copy()
    return np.concatenate([u[..., -g:], u, u[..., :g]], axis=-1)
