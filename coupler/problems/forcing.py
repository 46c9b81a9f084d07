"""The random forcing of Bar-Sinai et al. (2019), SI Appendix II, Eq. (S-6).

    f(x, t) = sum_m A_m sin(omega_m t + 2 pi l_m x / L + phi_m)

Parameters are drawn from a seed with numpy's PCG64 generator and are data: the same
arrays go to the Fortran host (as arrays, or through a namelist file), so Python and
Fortran see the identical forcing. Finite-volume codes apply its exact cell averages:
the average of sin(k x + c) over a cell of width dx is sin(k x_c + c) sinc(k dx / 2),
so averaging a fine-grid forcing onto a coarse grid gives exactly the coarse forcing.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coupler.io.atomic import write_text


@dataclass(frozen=True)
class ForcingConfig:
    """Ranges of the random parameters (defaults: the paper's Burgers column)."""

    n_modes: int = 20
    amplitude: tuple[float, float] = (-0.5, 0.5)
    omega: tuple[float, float] = (-0.4, 0.4)
    phase: tuple[float, float] = (0.0, 2.0 * math.pi)
    wavenumbers: tuple[int, ...] = (3, 4, 5, 6)


@dataclass(frozen=True)
class Forcing:
    """One realization: per-mode amplitude A, frequency omega, phase phi, integer l."""

    amplitude: np.ndarray = field(default_factory=lambda: np.zeros(0))
    omega: np.ndarray = field(default_factory=lambda: np.zeros(0))
    phase: np.ndarray = field(default_factory=lambda: np.zeros(0))
    wavenumber: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))

    def __post_init__(self) -> None:
        sizes = {len(self.amplitude), len(self.omega), len(self.phase), len(self.wavenumber)}
        if len(sizes) != 1:
            raise ValueError("forcing parameter arrays differ in length")

    @property
    def n_modes(self) -> int:
        return len(self.amplitude)

    def with_omega(self, omega: np.ndarray) -> "Forcing":
        """The same modes with other frequencies."""
        return Forcing(self.amplitude, np.asarray(omega, dtype=float), self.phase, self.wavenumber)

    def cell_averages(self, n: int, length: float, t: float) -> np.ndarray:
        """Exact cell averages of f(., t) on n uniform cells of [0, length)."""
        dx = length / n
        x = (np.arange(n) + 0.5) * dx
        k = 2.0 * np.pi * np.asarray(self.wavenumber, dtype=float) / length
        sinc = np.sinc(k * dx / (2.0 * np.pi))          # numpy's sinc is sin(pi z)/(pi z)
        theta = self.omega[:, None] * t + k[:, None] * x[None, :] + self.phase[:, None]
        return np.sum(self.amplitude[:, None] * sinc[:, None] * np.sin(theta), axis=0)

    def write_namelist(self, path: str | Path) -> None:
        """Write the Fortran namelist &hfc_forcing read by hfc_forcing_read.

        Floats are written with repr(), which round-trips: Fortran reads back the same bits.
        """
        def floats(a: np.ndarray) -> str:
            return ", ".join(repr(float(v)) for v in a) or "0.0"

        lines = [
            "&hfc_forcing",
            f"  n_modes = {self.n_modes},",
            f"  amplitude = {floats(self.amplitude)},",
            f"  omega = {floats(self.omega)},",
            f"  phase = {floats(self.phase)},",
            f"  wavenumber = {', '.join(str(int(v)) for v in self.wavenumber) or '0'}",
            "/",
        ]
        write_text(path, "\n".join(lines) + "\n")

    @classmethod
    def read_namelist(cls, path: str | Path) -> "Forcing":
        """Read a file written by write_namelist."""
        text = Path(path).read_text()

        def values(name: str) -> list[str]:
            match = re.search(rf"\b{name}\s*=\s*([^=/]*?)(?:,\s*\w+\s*=|/)", text, re.S)
            if not match:
                raise ValueError(f"{path}: no '{name}' in the &hfc_forcing namelist")
            return [v for v in re.split(r"[,\s]+", match.group(1).strip()) if v]

        n = int(values("n_modes")[0])
        return cls(amplitude=np.array(values("amplitude")[:n], dtype=float),
                   omega=np.array(values("omega")[:n], dtype=float),
                   phase=np.array(values("phase")[:n], dtype=float),
                   wavenumber=np.array(values("wavenumber")[:n], dtype=np.int32))


def random_forcing(seed: int, config: ForcingConfig = ForcingConfig()) -> Forcing:
    """Draw one forcing: A, omega, phi uniform on their ranges, l uniform on the set.

    The draws are made in this order (A, omega, phi, l), each as one vector of n_modes,
    from numpy.random.Generator(PCG64(seed)); changing the order changes the realization.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    n = config.n_modes
    amplitude = rng.uniform(*config.amplitude, size=n)
    omega = rng.uniform(*config.omega, size=n)
    phase = rng.uniform(*config.phase, size=n)
    wavenumber = rng.choice(np.asarray(config.wavenumbers, dtype=np.int32), size=n)
    return Forcing(amplitude, omega, phase, wavenumber.astype(np.int32))
