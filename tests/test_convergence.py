"""Observed orders of accuracy on smooth linear advection: sin(pi x) on [0, 2), a = 1.

Errors are max-norm differences of cell averages from the exact cell averages at t = 0.5.
The fixed time step shrinks like dx^(5/3), so the third-order time error (dt^3 ~ dx^5)
stays below the fifth-order space error and cannot mask it.
"""
import numpy as np
import pytest

from coupler.host import Host, HostConfig, TimeConfig
from coupler.problems.initial_conditions import initial_condition

LENGTH, T_END = 2.0, 0.5


def error(scheme: str, n: int) -> float:
    config = HostConfig("advection", n, LENGTH, viscosity=0.0, velocity=1.0)
    dx = config.dx
    dt = 0.4 * dx * (dx / (LENGTH / 20)) ** (2 / 3)
    dt = T_END / np.ceil(T_END / dt)                 # whole number of steps
    u0 = initial_condition("sine", n, LENGTH)
    u, _ = Host(config, scheme, time=TimeConfig(dt=dt)).advance(u0, 0.0, T_END)
    # exact: the initial profile shifted by a t; cell averages of sin(pi (x - t))
    edges = np.linspace(0, LENGTH, n + 1) - T_END
    exact = (np.cos(np.pi * edges[:-1]) - np.cos(np.pi * edges[1:])) / (np.pi * dx)
    return float(np.max(np.abs(u - exact)))


@pytest.mark.parametrize("scheme,grids,minimum", [
    ("weno5", (40, 80, 160), 4.7),
    ("fv3", (40, 80, 160), 2.8),
    ("godunov", (80, 160, 320), 0.9),
])
def test_observed_order(scheme, grids, minimum):
    errors = [error(scheme, n) for n in grids]
    orders = [np.log2(errors[i] / errors[i + 1]) for i in range(len(errors) - 1)]
    print(f"{scheme}: errors {errors}, orders {orders}")
    assert errors[0] > errors[1] > errors[2]
    assert orders[-1] >= minimum, f"{scheme} order {orders[-1]:.2f} between n={grids[-2]} and n={grids[-1]}"
