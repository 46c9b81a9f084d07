"""The registry of conservation laws v_t + J_x = S: for each equation its exact flux law,
the derivatives the flux needs, its parameters and defaults, the host's classical schemes
for it, and the time-step rule.

Every flux is J = c v^2 + a v + sum_l b_l d^l v / dx^l (Bar-Sinai et al. 2019, SI Eqs.
S-3 to S-5):

| name | c | a | terms (l, b_l) | domain |
| --- | --- | --- | --- | --- |
| burgers | 1/2 | 0 | (1, -eta) | [0, 2 pi) |
| advection | 0 | velocity | (1, -eta) | [0, 2 pi) |
| kdv | 3 | 0 | (2, 1) | [0, 32) |
| ks | 1/2 | 0 | (1, 1), (3, 1) | [0, 64) |

and one law in two dimensions, c_t + (u c)_x + (v c)_y = 0 with given face velocities
(Zhuang et al. 2021; coupler.problems.flows): advection2d on [0, 1)^2, no flux law here,
its time-step rule the flow's (coupler.host.flow_stable_dt).

The Fortran library has the same table (fortran/src/physics/hfc_equation.f90);
tests/test_equations.py holds the two equal, the time-step rule bit for bit.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np

from coupler.errors import ConfigError


@dataclass(frozen=True)
class EquationSpec:
    """One registry entry: the flux law with its parameters unbound, and the defaults."""

    name: str
    quadratic: float                              # c
    linear: str | None                            # the parameter that is a (advection: "velocity")
    terms: tuple[tuple[int, float | str], ...]    # (l, b_l): a number, or "-viscosity"
    parameters: dict                              # parameter -> default value
    length: float                                 # default domain (the paper's)
    schemes: tuple[str, ...]                      # the host's classical schemes for it
    fallback: str                                 # the guard's classical scheme
    initial_condition: str                        # default initial condition
    forcing: bool                                 # the paper's random forcing by default
    ndim: int = 1                                 # space dimensions


EQUATIONS = {spec.name: spec for spec in (
    EquationSpec("burgers", 0.5, None, ((1, "-viscosity"),), {"viscosity": 0.01}, 2 * math.pi,
                 ("godunov", "fv3", "weno5", "polynomial"), "weno5", "zero", True),
    EquationSpec("advection", 0.0, "velocity", ((1, "-viscosity"),), {"viscosity": 0.0, "velocity": 1.0},
                 2 * math.pi, ("godunov", "fv3", "weno5", "polynomial"), "weno5", "sine", False),
    EquationSpec("kdv", 3.0, None, ((2, 1.0),), {}, 32.0, ("polynomial",), "polynomial", "random", False),
    EquationSpec("ks", 0.5, None, ((1, 1.0), (3, 1.0)), {}, 64.0, ("polynomial",), "polynomial", "random", False),
    EquationSpec("advection2d", 0.0, None, (), {}, 1.0, ("upwind", "vanleer", "weno5"), "vanleer", "blob", False, 2),
)}
PARAMETERS = ("viscosity", "velocity")
SCHEMES = tuple(dict.fromkeys(s for spec in EQUATIONS.values() for s in spec.schemes))   # every classical scheme


@dataclass(frozen=True)
class Equation:
    """A registry equation with its parameters bound: J = c v^2 + a v + sum_l b_l d^l v."""

    name: str
    quadratic: float
    velocity: float
    viscosity: float
    terms: tuple[tuple[int, float], ...]   # every term of the law, also those whose b_l is 0

    @property
    def spec(self) -> EquationSpec:
        return EQUATIONS[self.name]

    @property
    def derivatives(self) -> tuple[int, ...]:
        """Derivative orders the flux needs at the faces, 0 (the value) first."""
        return (0,) + tuple(order for order, _ in self.terms)

    def max_wave_speed(self, v) -> float:
        """|J'(v)| = |2 c v + a|, largest over the cells v (the Fortran expression)."""
        if self.quadratic == 0.0:
            return abs(self.velocity)
        if self.velocity == 0.0:
            return 2.0 * abs(self.quadratic) * float(np.max(np.abs(v)))
        return float(np.max(np.abs(2.0 * self.quadratic * np.asarray(v) + self.velocity)))

    def stable_dt(self, dx: float, s: float, cfl: float) -> float:
        """cfl x the smallest of dx / s (s the largest wave speed) and, per term of PDE order
        p = l + 1: dx^2 / (2 |b|) for p = 2 (explicit diffusion), 1.5 dx^p / (2^p |b|) for
        p >= 3 (SSP-RK3's stability radius ~1.5 against the centred eigenvalue |b| (2/dx)^p).
        Inf-free: sys.float_info.max when no limit applies. The same arithmetic as the
        Fortran rule (hfc_equation.f90), so the same bits: a square as one product, higher
        powers by the C library's pow (Python's ** and gfortran's x**real(p))."""
        dt = sys.float_info.max
        if s > 0:
            dt = min(dt, cfl * dx / s)
        for order, coefficient in self.terms:
            b = abs(coefficient)
            if b == 0:
                continue
            p = order + 1
            if p == 2:
                dt = min(dt, cfl * (dx * dx) / (2.0 * b))      # gfortran's dx**2 is dx*dx, not pow
            else:
                dt = min(dt, cfl * (1.5 * dx ** p / (2.0 ** p * b)))
        return dt


def make_equation(name: str, viscosity: float | None = None, velocity: float | None = None) -> Equation:
    """The registry equation `name` with its parameters (None: the registry default).
    Giving a non-zero value for a parameter the equation does not have is an error."""
    spec = EQUATIONS.get(name)
    if spec is None:
        raise ConfigError(f"unknown equation '{name}' (expected one of {', '.join(EQUATIONS)})")
    given = {"viscosity": viscosity, "velocity": velocity}
    values = {}
    for parameter in PARAMETERS:
        value = given[parameter]
        if parameter in spec.parameters:
            values[parameter] = float(spec.parameters[parameter] if value is None else value)
        elif value not in (None, 0, 0.0):
            raise ConfigError(f"{name} has no {parameter} parameter (its flux is fixed); leave it out")
        else:
            values[parameter] = 0.0
    if not (math.isfinite(values["viscosity"]) and values["viscosity"] >= 0):
        raise ConfigError(f"the viscosity must be finite and >= 0, got {values['viscosity']}")
    if not math.isfinite(values["velocity"]):
        raise ConfigError(f"the velocity must be finite, got {values['velocity']}")
    terms = tuple((order, -values["viscosity"] if coefficient == "-viscosity" else float(coefficient))
                  for order, coefficient in spec.terms)
    return Equation(name, spec.quadratic, values["velocity"] if spec.linear else 0.0, values["viscosity"], terms)
