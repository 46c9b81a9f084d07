"""Decaying 2D turbulence for the paper's turbulent-flow test (Zhuang et al. 2021, Sec. III C):
a pseudo-spectral solver of the vorticity equation on [0, 2 pi)^2, in place of pyqg (which
does not install here), from the McWilliams (1984) random initial condition.

    d omega/dt + u d omega/dx + v d omega/dy = 0,   omega = -laplacian(psi),
    u = d psi/dy, v = -d psi/dx (the sign convention of coupler.problems.flows)

- Initial condition (as pyqg's McWilliams example): |psi_hat| ~ kappa^-1 (1 + (kappa/6)^4)^-1/2
  times complex normal numbers from a PCG64 generator of `seed`, zero mean, scaled to
  mean(u^2 + v^2) = 1.
- Time stepping: SSP-RK3 with the fixed step dt (the paper: 0.001 at 256^2), products in
  physical space, then pyqg's exponential small-scale filter, exp(-23.6 (kappa dx - 0.65 pi)^4)
  beyond kappa dx = 0.65 pi, which takes the enstrophy that cascades to the grid scale.
- The first `spinup` time units (the paper: 4) are discarded; then snapshots of psi_hat
  every `save_every`. TurbulentFlow turns them into a Flow: psi anywhere from its Fourier
  series (exact interpolation), linearly between snapshots in time, so the face velocities
  on any host grid are exact edge averages (coupler.problems.flows) from one run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from coupler.errors import ConfigError
from coupler.problems.flows import Flow

LENGTH = 2.0 * math.pi
FILTER_START, FILTER_STRENGTH = 0.65 * math.pi, 23.6     # pyqg's defaults (cphi, filterfac)


@dataclass(frozen=True)
class TurbulenceConfig:
    """The run: spectral resolution n (even), step dt, spin-up discarded, seed."""

    n: int = 256
    dt: float = 0.001
    spinup: float = 4.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n < 8 or self.n % 2:
            raise ConfigError(f"the turbulence grid needs an even n >= 8, got {self.n}")
        if not (self.dt > 0 and math.isfinite(self.dt)) or not (self.spinup >= 0 and math.isfinite(self.spinup)):
            raise ConfigError(f"dt must be positive and spinup >= 0, got {self.dt} and {self.spinup}")


class Spectral:
    """Wavenumbers of the rfft2 layout (ky, kx) on n x n points of [0, 2 pi)^2."""

    def __init__(self, n: int):
        self.n = n
        self.kx = np.fft.rfftfreq(n, 1.0 / n)[None, :]
        self.ky = np.fft.fftfreq(n, 1.0 / n)[:, None]
        self.k2 = self.kx ** 2 + self.ky ** 2
        self.inverse_k2 = np.divide(1.0, self.k2, out=np.zeros_like(self.k2), where=self.k2 > 0)
        # derivatives: i k, without the Nyquist modes (their derivative of a real field is 0)
        self.dx = 1j * np.where(self.kx == n // 2, 0.0, self.kx)
        self.dy = 1j * np.where(np.abs(self.ky) == n // 2, 0.0, self.ky)
        kappa_dx = np.sqrt(self.k2) * (LENGTH / n)
        self.filter = np.where(kappa_dx > FILTER_START, np.exp(-FILTER_STRENGTH * (kappa_dx - FILTER_START) ** 4), 1.0)

    def velocities(self, psi_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """u = d psi/dy, v = -d psi/dx on the n x n points, arrays [y, x]."""
        return (np.fft.irfft2(self.dy * psi_hat, s=(self.n, self.n)),
                np.fft.irfft2(-self.dx * psi_hat, s=(self.n, self.n)))

    def tendency(self, omega_hat: np.ndarray) -> np.ndarray:
        u, v = self.velocities(omega_hat * self.inverse_k2)
        wx = np.fft.irfft2(self.dx * omega_hat, s=(self.n, self.n))
        wy = np.fft.irfft2(self.dy * omega_hat, s=(self.n, self.n))
        return -np.fft.rfft2(u * wx + v * wy)


def mcwilliams_psi_hat(n: int, seed: int) -> np.ndarray:
    """The McWilliams (1984) initial stream function (spectral), mean(u^2 + v^2) = 1."""
    s = Spectral(n)
    kappa = np.sqrt(s.k2)
    shape = np.divide(1.0, kappa * np.sqrt(1.0 + (kappa / 6.0) ** 4), out=np.zeros_like(kappa), where=kappa > 0)
    rng = np.random.Generator(np.random.PCG64(seed))
    psi = np.fft.irfft2((rng.normal(size=s.k2.shape) + 1j * rng.normal(size=s.k2.shape)) * shape, s=(n, n))
    psi_hat = np.fft.rfft2(psi - psi.mean())          # a real field: its spectrum is Hermitian
    u, v = s.velocities(psi_hat)
    return psi_hat / math.sqrt(float(np.mean(u ** 2 + v ** 2)))


@dataclass(frozen=True, eq=False)
class TurbulentFlow(Flow):
    """Snapshots psi_hat(times[k]) of a turbulence run as a velocity field (time 0 = the end
    of the spin-up)."""

    times: np.ndarray
    psi_hats: np.ndarray       # (snapshots, n, n // 2 + 1)

    def domain(self):
        return (LENGTH, LENGTH)

    def law(self):
        return "frames", 0.0

    def frame_times(self) -> np.ndarray:
        return self.times

    def _psi_hat(self, t: float) -> np.ndarray:
        times = self.times
        if not times[0] - 1e-12 <= t <= times[-1] + 1e-12:
            raise ConfigError(f"the turbulence run covers t in [{times[0]:g}, {times[-1]:g}], asked for {t:g}")
        if len(times) == 1:
            return self.psi_hats[0]
        k = int(np.clip(np.searchsorted(times, t, "right") - 1, 0, len(times) - 2))
        w = (t - times[k]) / (times[k + 1] - times[k])
        return (1.0 - w) * self.psi_hats[k] + w * self.psi_hats[k + 1]

    def _modes(self, psi_hat: np.ndarray):
        """The series psi = sum Re(c e^{i (kx x + ky y)}) / n^2 of an rfft2 spectrum without its
        Nyquist modes: kx 0 .. n/2 - 1 (weight 2 for the conjugate half), ky -n/2 + 1 .. n/2 - 1."""
        n = psi_hat.shape[0]
        kx = np.arange(n // 2)
        ky = np.fft.fftfreq(n, 1.0 / n)
        keep = np.abs(ky) < n // 2
        return kx, ky[keep], psi_hat[keep][:, : n // 2] * np.where(kx == 0, 1.0, 2.0) / n ** 2

    def psi(self, x, y, t):
        """psi at any points, from the Fourier series (a sum over every mode per point)."""
        kx, ky, c = self._modes(self._psi_hat(t))
        x, y = np.asarray(x, float), np.asarray(y, float)
        phase = np.exp(1j * x[..., None, None] * kx) * np.exp(1j * y[..., None, None] * ky[:, None])
        return np.real(np.sum(phase * c, axis=(-2, -1)))

    def corner_psi(self, grid, t):
        """psi at the cell corners, separably: (ny + 1, n - 1) @ (n - 1, n/2) @ (n/2, nx + 1)."""
        kx, ky, c = self._modes(self._psi_hat(t))
        x, y = np.arange(grid.nx + 1) * grid.dx, np.arange(grid.ny + 1) * grid.dy
        return np.real(np.exp(1j * np.outer(y, ky)) @ c @ np.exp(1j * np.outer(kx, x)))


def decaying_turbulence(config: TurbulenceConfig, t_end: float, save_every: float,
                        progress: bool = False) -> TurbulentFlow:
    """Run the spin-up, then to t_end, keeping psi_hat every save_every (a whole number of
    steps; the snapshots are at k save_every, from 0 up to the first at or after t_end)."""
    if not (t_end >= 0 and save_every > 0 and math.isfinite(t_end)):
        raise ConfigError(f"t_end must be >= 0 and save_every > 0, got {t_end} and {save_every}")
    every = round(save_every / config.dt)
    if every < 1 or abs(every * config.dt - save_every) > 1e-9 * save_every:
        raise ConfigError(f"the snapshot interval {save_every:g} must be a whole number of solver steps "
                          f"({config.dt:g})")
    count = max(1, math.ceil(t_end / save_every - 1e-9))
    count += count * save_every < t_end            # the last snapshot at or after t_end
    s = Spectral(config.n)
    omega = mcwilliams_psi_hat(config.n, config.seed) * s.k2
    spin = round(config.spinup / config.dt)
    total = spin + count * every
    snapshots = []
    steps = range(total + 1)
    if progress:
        from tqdm import tqdm
        steps = tqdm(steps, desc="turbulence", unit="step")
    for step in steps:
        if step >= spin and (step - spin) % every == 0:
            snapshots.append(omega * s.inverse_k2)
        if step < total:
            omega = _ssprk3(s, omega, config.dt)
    return TurbulentFlow(save_every * np.arange(len(snapshots)), np.array(snapshots))


def _ssprk3(s: Spectral, omega: np.ndarray, dt: float) -> np.ndarray:
    one = omega + dt * s.tendency(omega)
    two = 0.75 * omega + 0.25 * (one + dt * s.tendency(one))
    return s.filter * (omega / 3.0 + 2.0 / 3.0 * (two + dt * s.tendency(two)))


def energy_and_enstrophy(psi_hat: np.ndarray) -> tuple[float, float]:
    """Mean kinetic energy (u^2 + v^2) / 2 and mean enstrophy omega^2 / 2 of a snapshot."""
    s = Spectral(psi_hat.shape[0])
    u, v = s.velocities(psi_hat)
    omega = np.fft.irfft2(psi_hat * s.k2, s=(s.n, s.n))
    return float(np.mean(u ** 2 + v ** 2) / 2), float(np.mean(omega ** 2) / 2)


def energy_spectrum(psi_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shell-summed kinetic energy E(k) for integer shells k = 1 .. n/2 - 1 (Parseval-scaled:
    sum E(k) ~ mean energy)."""
    s = Spectral(psi_hat.shape[0])
    density = 0.5 * s.k2 * np.abs(psi_hat) ** 2 * np.where(s.kx == 0, 1.0, 2.0) / s.n ** 4
    shells = np.rint(np.sqrt(s.k2)).astype(int)
    k = np.arange(1, s.n // 2)
    return k, np.bincount(shells.ravel(), density.ravel(), minlength=s.n)[1:s.n // 2]

