"""Initial conditions as exact cell averages on n uniform cells of [0, L)."""
from __future__ import annotations

import numpy as np
from scipy.special import erf

INITIAL_CONDITIONS = ("zero", "sine", "gaussian")


def cell_edges(n: int, length: float) -> np.ndarray:
    return np.linspace(0.0, length, n + 1)


def initial_condition(kind: str, n: int, length: float) -> np.ndarray:
    """Cell averages of the named profile (analytic integrals, exact to round-off).

    zero: 0.  sine: sin(2 pi x / L).  gaussian: exp(-100 (x / L - 1/2)^2).
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
    raise ValueError(f"unknown initial condition '{kind}' (expected one of {', '.join(INITIAL_CONDITIONS)})")
