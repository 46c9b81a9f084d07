"""Finite-difference reference for the Neural-IVP wave experiment (Finzi et al. 2023,
appendix B.1: "finite differences evaluated on a 100 x 100 x 100 grid with RK45 set to a
1e-4 tolerance"): the 3D wave equation as the first-order system (phi, psi), the
second-order 7-point Laplacian on the interior nodes of a uniform grid of [-1, 1]^3 with
phi = 0 on the faces, integrated by scipy's RK45 at rtol 1e-4."""
from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp


def grid_nodes(n: int) -> np.ndarray:
    """The n interior nodes per axis of [-1, 1] (spacing 2 / (n + 1))."""
    return -1.0 + 2.0 * np.arange(1, n + 1) / (n + 1)


def _laplacian(phi: np.ndarray, h: float) -> np.ndarray:
    padded = np.pad(phi, 1)                       # the Dirichlet faces: phi = 0
    total = -6.0 * phi
    for axis in range(3):
        total += np.take(padded, range(2, phi.shape[axis] + 2), axis)[tuple(
            slice(1, -1) if a != axis else slice(None) for a in range(3))]
        total += np.take(padded, range(0, phi.shape[axis]), axis)[tuple(
            slice(1, -1) if a != axis else slice(None) for a in range(3))]
    return total / h ** 2


def wave_finite_differences(phi0: np.ndarray, psi0: np.ndarray, times: tuple[float, ...], rtol: float = 1e-4
                            ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(phi, psi) on the n^3 interior nodes at each of `times` (> 0), from (phi0, psi0) there."""
    n = phi0.shape[0]
    h = 2.0 / (n + 1)
    size = phi0.size

    def rhs(_t, y):
        phi, psi = y[:size].reshape(phi0.shape), y[size:]
        return np.concatenate([psi, _laplacian(phi, h).ravel()])

    solution = solve_ivp(rhs, (0.0, max(times)), np.concatenate([phi0.ravel(), psi0.ravel()]), method="RK45",
                         rtol=rtol, t_eval=sorted(times))
    if not solution.success:
        raise RuntimeError(f"the finite-difference reference failed: {solution.message}")
    return [(y[:size].reshape(phi0.shape), y[size:].reshape(phi0.shape)) for y in solution.y.T]
