"""Converged pseudo-spectral reference solutions of KdV and Kuramoto-Sivashinsky.

Both equations (Bar-Sinai et al. 2019, SI Appendix II) are conservation laws
v_t + J_x = 0 on a periodic domain [0, L):

    KdV: J = 3 v^2 + v_xx           (v_t = -6 v v_x - v_xxx),        L = 32
    KS:  J = v^2/2 + v_x + v_xxx    (v_t = -v v_x - v_xx - v_xxxx),  L = 64

States are nodal values on x_j = j L / n, j = 0..n-1. These nodes are exactly the faces
of the finite-volume cells [x_j, x_{j+1}] of the host, so `face_flux` gives the exact
face fluxes and `cell_averages` the exact cell averages of the trigonometric interpolant.

Time stepping is ETDRK4 of Kassam & Trefethen (2005, SIAM J. Sci. Comput. 26, 1214):
the stiff linear part is integrated exactly, and the phi-functions are evaluated as means
over a circle of radius 1 around h*lambda in the complex plane, which avoids the
cancellation of the direct formulas for small |h*lambda|. With dealias=True the quadratic
term is computed alias-free on a zero-padded grid of 3n/2 points (the 3/2 rule, the
padding form of the 2/3 rule): it removes the same aliases but keeps all n/2 modes,
where 2/3 truncation would discard the top third of the spectrum (KdV, n = 256 vs 512
at t = 2: 1.7e-6 with the 2/3 cut, 2e-10 with padding). Fourier transforms run along
the last axis, so a batch of trajectories advances together.

Resolution of derived quantities: at n = 256 the nodal values are converged to ~1e-8
for the stiffest KdV initial conditions (|v| ~ 4.4), but v_xx at the nodes only to ~1e-5,
so time_derivative_of_cell_averages is good to ~2e-4 absolute (~1e-5 relative) there;
n = 512 brings that to ~1e-10. KS at n = 256 is resolved to round-off.

Nyquist convention (n even): odd-order derivative symbols are zero at the Nyquist mode
(the real interpolant carries that mode as cos(k_N x), whose odd derivatives vanish at
the nodes), even-order symbols keep (i k_N)^l.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from tqdm import tqdm

from coupler.problems.equations import EQUATIONS as REGISTRY, make_equation
from coupler.problems.forcing import random_forcing
from coupler.problems.initial_conditions import RANDOM_MODES

EQUATIONS = ("kdv", "ks")
DEFAULT_LENGTH = {name: REGISTRY[name].length for name in EQUATIONS}
# Converged defaults for n = 256 on the training domains; see SpectralConfig.
DEFAULT_DT = {"kdv": 2.5e-4, "ks": 5e-3}
# J = c v^2 + sum_l a_l d^l v / dx^l: (c, ((l, a_l), ...)), from the equation registry.
FLUX_TERMS = {name: (make_equation(name).quadratic, make_equation(name).terms) for name in EQUATIONS}
CONTOUR_POINTS = 64       # M, points on the contour for the phi-functions


@dataclass(frozen=True)
class SpectralConfig:
    """Equation, grid and step of a spectral run.

    length defaults to DEFAULT_LENGTH[equation] and dt to DEFAULT_DT[equation]:
    KdV dt = 2.5e-4, KS dt = 5e-3. With n = 256 and the paper's random initial conditions
    they are converged well below 1e-6 max-abs; measured over seeds 1 and 3 (the largest
    peaks of seeds 0-7): dt vs dt/2 differ by 1.1e-8 (KdV, t <= 2) and 2e-9 (KS, t <= 5),
    n = 256 vs 512 by 1.7e-8 (KdV) and 3e-15 (KS). Both fields hold floats after
    construction.
    """

    equation: str
    n: int = 256
    length: float | None = None
    dt: float | None = None
    dealias: bool = True      # alias-free quadratic term (3/2-rule padding)

    def __post_init__(self) -> None:
        if self.equation not in EQUATIONS:
            raise ValueError(f"unknown equation '{self.equation}' (expected one of {', '.join(EQUATIONS)})")
        if int(self.n) != self.n or self.n < 8:
            raise ValueError(f"n must be an integer >= 8, got {self.n}")
        length = DEFAULT_LENGTH[self.equation] if self.length is None else float(self.length)
        dt = DEFAULT_DT[self.equation] if self.dt is None else float(self.dt)
        if not (math.isfinite(length) and length > 0):
            raise ValueError(f"length must be positive and finite, got {self.length}")
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"dt must be positive and finite, got {self.dt}")
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "length", length)
        object.__setattr__(self, "dt", dt)


@dataclass(frozen=True)
class EtdCoefficients:
    """ETDRK4 multipliers for one step h (Kassam & Trefethen 2005, Eq. 2.5)."""

    e: np.ndarray        # exp(h lambda)
    e2: np.ndarray       # exp(h lambda / 2)
    q: np.ndarray        # (exp(h lambda / 2) - 1) / lambda
    f1: np.ndarray
    f2: np.ndarray
    f3: np.ndarray


def nodes(n: int, length: float) -> np.ndarray:
    """Nodes x_j = j L / n (the finite-volume faces)."""
    return np.arange(n) * (length / n)


def wavenumbers(n: int, length: float) -> np.ndarray:
    """Angular wavenumbers of numpy's rfft of n samples on [0, length)."""
    return 2.0 * np.pi / length * np.arange(n // 2 + 1)


def derivative_symbol(n: int, length: float, order: int) -> np.ndarray:
    """(i k)^order for the rfft modes, zero at the Nyquist mode when order is odd."""
    symbol = (1j * wavenumbers(n, length)) ** order
    if order % 2 == 1 and n % 2 == 0:
        symbol[-1] = 0.0
    return symbol


def product_size(n: int, dealias: bool) -> int:
    """Grid size for the quadratic product: an even size >= 3n/2 when dealiased, else n.

    On >= 3n/2 points the square of the n/2 resolved modes has no aliases on them
    (Orszag's 3/2 rule, the zero-padding form of the 2/3 rule that keeps all n/2 modes).
    """
    return 2 * math.ceil(3 * n / 4) if dealias else n


def linear_symbol(equation: str, n: int, length: float) -> np.ndarray:
    """lambda(k) of the linear part: v_t = -d/dx sum_l a_l d^l v gives -sum_l a_l (i k)^(l+1)."""
    _, linear = FLUX_TERMS[equation]
    out = np.zeros(n // 2 + 1, dtype=complex)
    for order, coefficient in linear:
        out -= coefficient * derivative_symbol(n, length, order + 1)
    return out


def nonlinear_symbol(equation: str, n: int, length: float) -> np.ndarray:
    """Multiplier of FFT(v^2) in the nonlinear part -c (v^2)_x (zero at Nyquist: odd order)."""
    convective, _ = FLUX_TERMS[equation]
    return -convective * derivative_symbol(n, length, 1)


def phi_contour(z: np.ndarray, points: int = CONTOUR_POINTS) -> tuple[np.ndarray, ...]:
    """ETDRK4 weight functions of z = h lambda, as means over the circle |r - z| = 1.

    Returns the means of (e^{r/2}-1)/r, (-4-r+e^r(4-3r+r^2))/r^3, (2+r+e^r(r-2))/r^3 and
    (-4-3r-r^2+e^r(4-r))/r^3; times h they are Q, f1, f2, f3 of Kassam & Trefethen.
    The integrands are entire, so the trapezoid rule on the circle converges geometrically
    and stays accurate where the direct formulas cancel (z near 0, e.g. the mean mode).
    """
    roots = np.exp(2j * np.pi * (np.arange(points) + 0.5) / points)
    r = z[:, None] + roots[None, :]
    er = np.exp(r)
    q = np.mean((np.exp(r / 2) - 1.0) / r, axis=1)
    f1 = np.mean((-4.0 - r + er * (4.0 - 3.0 * r + r * r)) / r**3, axis=1)
    f2 = np.mean((2.0 + r + er * (r - 2.0)) / r**3, axis=1)
    f3 = np.mean((-4.0 - 3.0 * r - r * r + er * (4.0 - r)) / r**3, axis=1)
    return q, f1, f2, f3


@lru_cache(maxsize=64)
def etd_coefficients(equation: str, n: int, length: float, h: float) -> EtdCoefficients:
    """ETDRK4 multipliers for step h, cached per (equation, grid, step)."""
    z = h * linear_symbol(equation, n, length)
    q, f1, f2, f3 = (h * c for c in phi_contour(z))
    arrays = [np.exp(z), np.exp(z / 2), q, f1, f2, f3]
    for a in arrays:
        a.setflags(write=False)
    return EtdCoefficients(*arrays)


def quadratic_term(vh: np.ndarray, symbol: np.ndarray, n: int, m: int) -> np.ndarray:
    """Fourier coefficients of -c (v^2)_x from the rfft vh of v, squaring on m >= n points.

    For m > n the spectrum is zero-padded; an even n's Nyquist coefficient is halved,
    since on the finer grid it is an ordinary mode that counts twice (k and -k).
    The product's own Nyquist entry is discarded by symbol (zero there).
    """
    if m == n:
        v = np.fft.irfft(vh, n, axis=-1)
        return symbol * np.fft.rfft(v * v, axis=-1)
    padded = np.zeros(vh.shape[:-1] + (m // 2 + 1,), dtype=complex)
    padded[..., : n // 2 + 1] = vh
    if n % 2 == 0:
        padded[..., n // 2] *= 0.5
    v = np.fft.irfft(padded, m, axis=-1) * (m / n)
    return symbol * np.fft.rfft(v * v, axis=-1)[..., : n // 2 + 1] * (n / m)


def etdrk4_step(vh: np.ndarray, c: EtdCoefficients, symbol: np.ndarray, n: int, m: int) -> np.ndarray:
    """One ETDRK4 step (Cox & Matthews 2002 in the form of Kassam & Trefethen 2005)."""
    nv = quadratic_term(vh, symbol, n, m)
    a = c.e2 * vh + c.q * nv
    na = quadratic_term(a, symbol, n, m)
    b = c.e2 * vh + c.q * na
    nb = quadratic_term(b, symbol, n, m)
    cc = c.e2 * a + c.q * (2.0 * nb - nv)
    nc = quadratic_term(cc, symbol, n, m)
    return c.e * vh + c.f1 * nv + 2.0 * c.f2 * (na + nb) + c.f3 * nc


def step_size(span: float, dt: float) -> tuple[int, float]:
    """Split an output interval into the fewest equal steps no longer than dt.

    The step is rounded to 12 significant digits so that intervals differing by
    round-off share cached coefficients (a relative change of 1e-12 in h is negligible).
    """
    steps = max(1, math.ceil(span / dt - 1e-9))
    return steps, float(f"{span / steps:.12e}")


def check_times(times: np.ndarray) -> np.ndarray:
    """Output times as float64, or ValueError unless 1-D, finite, from 0, strictly increasing."""
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or times.size == 0:
        raise ValueError("times must be a non-empty 1-D array")
    if not np.all(np.isfinite(times)):
        raise ValueError("times must be finite")
    if times[0] != 0.0:
        raise ValueError(f"times must start at 0, got times[0] = {times[0]}")
    if np.any(np.diff(times) <= 0):
        raise ValueError("times must be strictly increasing")
    return times


def solve(config: SpectralConfig, v0: np.ndarray, times: np.ndarray, progress: bool = False) -> np.ndarray:
    """Nodal states at the output times from nodal v0 of shape (batch, n) or (n,).

    Returns (batch, len(times), n), or (len(times), n) for 1-D v0; times[0] = 0 gives v0.
    Each output interval is split into equal steps no longer than config.dt, so every
    output time is hit exactly. Raises ValueError on bad shapes, times or a non-finite state.
    """
    times = check_times(times)
    v0 = np.asarray(v0, dtype=np.float64)
    if v0.ndim not in (1, 2) or v0.shape[-1] != config.n:
        raise ValueError(f"v0 must have shape (n,) or (batch, n) with n = {config.n}, got {v0.shape}")
    if not np.all(np.isfinite(v0)):
        raise ValueError("v0 is not finite")
    single = v0.ndim == 1
    v0 = np.atleast_2d(v0)
    n, length = config.n, config.length
    symbol = nonlinear_symbol(config.equation, n, length)
    m = product_size(n, config.dealias)
    plan = [step_size(float(b - a), config.dt) for a, b in zip(times[:-1], times[1:])]
    out = np.empty((v0.shape[0], len(times), n))
    out[:, 0] = v0
    vh = np.fft.rfft(v0, axis=-1)
    total = sum(steps for steps, _ in plan)
    # A diverging run overflows; that is reported below as a ValueError, not as warnings.
    with np.errstate(over="ignore", invalid="ignore"), \
            tqdm(total=total, disable=not progress, desc=f"spectral {config.equation}") as bar:
        for i, (steps, h) in enumerate(plan, start=1):
            coefficients = etd_coefficients(config.equation, n, length, h)
            for _ in range(steps):
                vh = etdrk4_step(vh, coefficients, symbol, n, m)
            bar.update(steps)
            out[:, i] = np.fft.irfft(vh, n, axis=-1)
            if not np.all(np.isfinite(out[:, i])):
                raise ValueError(f"non-finite state at t = {times[i]} "
                                 f"({config.equation}, n = {n}, dt = {config.dt})")
    return out[0] if single else out


def random_initial_condition(seed: int, n: int, length: float) -> np.ndarray:
    """Nodal v0 = sum_m A_m sin(2 pi l_m x / L + phi_m): the random profile of
    coupler.problems.initial_conditions (RANDOM_MODES; its cell averages are the host's
    `random` initial condition). Ten modes, A in [-0.5, 0.5], phi in [0, 2 pi), l in
    {1, 2, 3} (SI Appendix II); the frequencies drawn by random_forcing are ignored (t = 0).
    """
    f = random_forcing(seed, RANDOM_MODES)
    k = 2.0 * np.pi * f.wavenumber.astype(float) / length
    theta = k[:, None] * nodes(n, length)[None, :] + f.phase[:, None]
    return np.sum(f.amplitude[:, None] * np.sin(theta), axis=0)


def derivative(v: np.ndarray, length: float, order: int) -> np.ndarray:
    """Spectral derivative d^order v / dx^order at the nodes, along the last axis."""
    n = v.shape[-1]
    return np.fft.irfft(derivative_symbol(n, length, order) * np.fft.rfft(v, axis=-1), n, axis=-1)


def cell_averages(v: np.ndarray, length: float) -> np.ndarray:
    """Exact averages of the trigonometric interpolant of nodal v (..., n) over [x_j, x_{j+1}].

    Mode k is multiplied by exp(i k dx / 2) sinc(k dx / 2); the Nyquist mode (a cosine
    whose cell averages vanish) gets the real part of that factor, 0.
    """
    v = np.asarray(v, dtype=np.float64)
    n = v.shape[-1]
    half = wavenumbers(n, length) * (length / n) / 2.0
    factor = np.exp(1j * half) * np.sinc(half / np.pi)
    if n % 2 == 0:
        factor[-1] = factor[-1].real
    return np.fft.irfft(factor * np.fft.rfft(v, axis=-1), n, axis=-1)


def face_flux(equation: str, v: np.ndarray, length: float) -> np.ndarray:
    """Exact flux J at the nodes (the FV faces) from spectral derivatives of nodal v (..., n)."""
    if equation not in FLUX_TERMS:
        raise ValueError(f"unknown equation '{equation}' (expected one of {', '.join(EQUATIONS)})")
    v = np.asarray(v, dtype=np.float64)
    convective, linear = FLUX_TERMS[equation]
    flux = convective * v * v
    for order, coefficient in linear:
        flux = flux + coefficient * derivative(v, length, order)
    return flux


def time_derivative_of_cell_averages(equation: str, v: np.ndarray, length: float) -> np.ndarray:
    """-(J(x_{j+1}) - J(x_j)) / dx: the exact d/dt of the average over cell j (telescoping)."""
    flux = face_flux(equation, v, length)
    dx = length / flux.shape[-1]
    return -(np.roll(flux, -1, axis=-1) - flux) / dx
