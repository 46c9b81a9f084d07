"""Initial conditions as exact cell averages on n uniform cells of [0, L)."""
from __future__ import annotations

import numpy as np
from scipy.special import erf

from coupler.problems.forcing import ForcingConfig, random_forcing

INITIAL_CONDITIONS = ("zero", "sine", "gaussian", "random")
# The random initial condition of KdV and KS (Bar-Sinai et al. 2019, SI Appendix II): ten
# modes A sin(2 pi l x / L + phi), A in [-0.5, 0.5], phi in [0, 2 pi), l in {1, 2, 3}, drawn
# as the forcing is (its frequencies are ignored: t = 0).
RANDOM_MODES = ForcingConfig(n_modes=10, wavenumbers=(1, 2, 3))


def cell_edges(n: int, length: float) -> np.ndarray:
    return np.linspace(0.0, length, n + 1)


def initial_condition(kind: str, n: int, length: float, seed: int = 0) -> np.ndarray:
    """Cell averages of the named profile (analytic integrals, exact to round-off).

    zero: 0.  sine: sin(2 pi x / L).  gaussian: exp(-100 (x / L - 1/2)^2).
    random: the KdV/KS random profile of `seed` (RANDOM_MODES).
    """
    edges = cell_edges(n, length)
    a, b = edges[:-1], edges[1:]
    dx = length / n
    if kind == "zero":
        return np.zeros(n)
    if kind == "sine":
        k = 2.0 * np.pi / length
        return (np.cos(k * a) - np.cos(k * b)) / (k * dx)
    if kind == "gaussian":
        # integral of exp(-c^2 (x/L - 1/2)^2) dx = L sqrt(pi) / (2c) [erf(c (x/L - 1/2))]
        c = 10.0
        integral = length * np.sqrt(np.pi) / (2.0 * c) * (erf(c * (b / length - 0.5))
                                                          - erf(c * (a / length - 0.5)))
        return integral / dx
    if kind == "random":
        modes = random_forcing(seed, RANDOM_MODES)
        return modes.with_omega(np.zeros(modes.n_modes)).cell_averages(n, length, 0.0)
    raise ValueError(f"unknown initial condition '{kind}' (expected one of {', '.join(INITIAL_CONDITIONS)})")
