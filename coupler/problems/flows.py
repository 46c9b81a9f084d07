"""Divergence-free velocity fields for passive-scalar advection on a periodic 2D grid
(Zhuang et al. 2021, Sec. III B and C), each given by a stream function psi(x, y, t).

The host needs face velocities: u on the x-faces, v on the y-faces. They are the exact
averages of u = d psi/dy and v = -d psi/dx over each face, that is differences of psi at
the cell corners:

    u[j, i] = (psi(x_i, y_{j+1}) - psi(x_i, y_j)) / dy      x-face i (left of cell i), row j
    v[j, i] = -(psi(x_{i+1}, y_j) - psi(x_i, y_j)) / dx     y-face j (below cell j), column i

so the discrete divergence of every cell telescopes to zero (to round-off), whatever the
resolution, and averaging the faces of a fine grid onto a coarse one gives the coarse
faces. Arrays are indexed [y, x] (x varies fastest, as in the Fortran host and in
netCDF's c(time, y, x)): u has shape (ny, nx + 1), v (ny + 1, nx).

Sign convention: u = d psi/dy, v = -d psi/dx (the reference code's; pyqg's is the opposite).
With it the paper's deformational flow, Eq. 8, needs v = -sin^2(pi y) sin(2 pi x) cos(pi t / T):
the minus sign the printed equation lacks and the reference code has (without it the flow
is not divergence-free). See docs/zhuang2021_reference_notes.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from coupler.errors import ConfigError


@dataclass(frozen=True)
class Grid2D:
    """nx x ny cells on the periodic domain [0, lx) x [0, ly)."""

    nx: int
    ny: int
    lx: float = 1.0
    ly: float = 1.0

    def __post_init__(self) -> None:
        if min(self.nx, self.ny) < 1:
            raise ConfigError(f"a 2D grid needs at least one cell each way, got {self.nx} x {self.ny}")
        if not (math.isfinite(self.lx) and math.isfinite(self.ly) and self.lx > 0 and self.ly > 0):
            raise ConfigError(f"the domain lengths must be positive and finite, got {self.lx} x {self.ly}")

    @property
    def dx(self) -> float:
        return self.lx / self.nx

    @property
    def dy(self) -> float:
        return self.ly / self.ny

    def corners(self) -> tuple[np.ndarray, np.ndarray]:
        """x, y of the (ny + 1, nx + 1) cell corners (the periodic ends both included)."""
        return np.meshgrid(np.arange(self.nx + 1) * self.dx, np.arange(self.ny + 1) * self.dy)

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x, y of the (ny, nx) cell centres."""
        return np.meshgrid((np.arange(self.nx) + 0.5) * self.dx, (np.arange(self.ny) + 0.5) * self.dy)


class Flow:
    """A velocity field from a stream function; subclasses define psi and, when psi is
    periodic on one domain only, that domain (lx, ly)."""

    def domain(self) -> tuple[float, float] | None:
        return None

    def law(self) -> tuple[str, float]:
        """How the velocities vary in time, for the host (coupler.host.FLOW_LAWS): "steady";
        "cosine" with its period T (the velocities at t = 0 times cos(pi t / T)); or
        "frames" (the velocities at the times `frame_times()`, linear in between). Every
        flow says which: a default would freeze a time-dependent one silently."""
        raise NotImplementedError(f"{type(self).__name__} must say how its velocities vary in time (law())")

    def frame_times(self) -> np.ndarray:
        """The times the host takes the velocities at: t = 0 unless the law is "frames"."""
        return np.zeros(1)

    def psi(self, x: np.ndarray, y: np.ndarray, t: float) -> np.ndarray:
        """psi at the points (x, y) (arrays of one shape) at time t."""
        raise NotImplementedError

    def corner_psi(self, grid: Grid2D, t: float) -> np.ndarray:
        """psi at the (ny + 1, nx + 1) cell corners (a flow may evaluate it faster)."""
        return self.psi(*grid.corners(), t)

    def face_velocities(self, grid: Grid2D, t: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """(u, v): exact face averages, shapes (ny, nx + 1) and (ny + 1, nx)."""
        domain = self.domain()
        if domain is not None and (grid.lx, grid.ly) != domain:
            raise ConfigError(f"{type(self).__name__} is periodic on [0, {domain[0]:g}) x [0, {domain[1]:g}), "
                              f"the grid spans [0, {grid.lx:g}) x [0, {grid.ly:g})")
        p = self.corner_psi(grid, t)
        u = (p[1:, :] - p[:-1, :]) / grid.dy
        v = -(p[:, 1:] - p[:, :-1]) / grid.dx
        return u, v


@dataclass(frozen=True)
class ConstantFlow(Flow):
    """u = a, v = b everywhere: psi = a y - b x (faces set exactly, without round-off)."""

    a: float = 1.0
    b: float = 0.0

    def law(self):
        return "steady", 0.0

    def psi(self, x, y, t):
        return self.a * y - self.b * x

    def face_velocities(self, grid: Grid2D, t: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        return np.full((grid.ny, grid.nx + 1), float(self.a)), np.full((grid.ny + 1, grid.nx), float(self.b))


@dataclass(frozen=True)
class DeformationalFlow(Flow):
    """LeVeque's swirling flow on [0, 1]^2, the paper's Eq. 8 with period T (5 in the paper):
    psi = sin^2(pi x) sin^2(pi y) cos(pi t / T) / pi. It reverses at t = T / 2, so the exact
    solution at t = T is the initial state."""

    period: float = 5.0

    def domain(self):
        return (1.0, 1.0)

    def law(self):
        return "cosine", self.period

    def psi(self, x, y, t):
        return np.sin(np.pi * x) ** 2 * np.sin(np.pi * y) ** 2 * math.cos(math.pi * t / self.period) / math.pi


@dataclass(frozen=True)
class RandomFlow(Flow):
    """A periodic divergence-free field of superposed sinusoids (the paper's training flows,
    its ref. [55], as the reference code draws them): every wave vector (kx, ky) with
    |kx|, |ky| <= max_wavenumber except (0, 0), amplitude A = (|k| + 1)^power U(0, 1) and
    phase phi = 2 pi U(0, 1) from a PCG64 generator of `seed`;
    psi = -(1 / 2 pi) sum A cos(2 pi (kx x / lx + ky y / ly) + phi), scaled so that the
    largest speed at the cell centres of a 256 x 256 grid of the domain is 1 (a scale of the
    domain, not of the host's grid: every resolution sees the same field). Steady."""

    seed: int = 0
    lx: float = 1.0
    ly: float = 1.0
    max_wavenumber: int = 4
    power: float = -3.0

    def __post_init__(self) -> None:
        k = np.arange(-self.max_wavenumber, self.max_wavenumber + 1)
        kx, ky = (a.ravel() for a in np.meshgrid(k, k))
        keep = (kx != 0) | (ky != 0)
        rng = np.random.Generator(np.random.PCG64(self.seed))
        amplitude = (np.hypot(kx, ky) + 1.0) ** self.power * rng.uniform(size=kx.size)
        phase = 2.0 * np.pi * rng.uniform(size=kx.size)
        object.__setattr__(self, "_modes", (kx[keep], ky[keep], amplitude[keep], phase[keep]))
        u, v = self._velocities(*Grid2D(256, 256, self.lx, self.ly).centres())
        object.__setattr__(self, "_scale", 1.0 / float(np.max(np.hypot(u, v))))

    def domain(self):
        return (self.lx, self.ly)

    def law(self):
        return "steady", 0.0

    def _theta(self, x, y):
        kx, ky, _, phase = self._modes
        return 2.0 * np.pi * (kx * x[..., None] / self.lx + ky * y[..., None] / self.ly) + phase

    def psi(self, x, y, t):
        _, _, amplitude, _ = self._modes
        return -self._scale / (2.0 * np.pi) * np.sum(amplitude * np.cos(self._theta(x, y)), axis=-1)

    def point_velocities(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """u = d psi/dy and v = -d psi/dx at points (the analytic derivatives)."""
        u, v = self._velocities(x, y)
        return u * self._scale, v * self._scale

    def _velocities(self, x, y):
        kx, ky, amplitude, _ = self._modes
        s = np.sin(self._theta(x, y)) * amplitude
        return np.sum(s * ky / self.ly, axis=-1), -np.sum(s * kx / self.lx, axis=-1)


def divergence(grid: Grid2D, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The discrete divergence of face velocities, per cell (ny, nx)."""
    return (u[:, 1:] - u[:, :-1]) / grid.dx + (v[1:, :] - v[:-1, :]) / grid.dy


class CachedFlow(Flow):
    """Another flow whose face velocities are computed once per grid and time: the frames
    of a turbulence run, which every run on the same grid reuses (an evaluation's samples)."""

    def __init__(self, flow: Flow):
        self.flow = flow
        self._faces: dict[tuple[Grid2D, float], tuple[np.ndarray, np.ndarray]] = {}

    def domain(self):
        return self.flow.domain()

    def law(self):
        return self.flow.law()

    def frame_times(self) -> np.ndarray:
        return self.flow.frame_times()

    def psi(self, x, y, t):
        return self.flow.psi(x, y, t)

    def face_velocities(self, grid: Grid2D, t: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        key = (grid, float(t))
        if key not in self._faces:
            self._faces[key] = self.flow.face_velocities(grid, t)
        return self._faces[key]
