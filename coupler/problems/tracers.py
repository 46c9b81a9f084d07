"""Initial concentrations of the passive-scalar tests of Zhuang et al. (2021), as cell
averages, arrays [y, x] (coupler.problems.flows.Grid2D):

- blob: the cosine bell of the deformational-flow test, Eq. 9,
  C = (1 + cos(pi r)) / 2 with r = min(1, |x - centre| / radius) (the paper: centre
  (1/4, 1/4), radius 1/4). It is C^1 with a jump of the second derivative on the rim, so
  its cell averages come from Gauss-Legendre quadrature (QUADRATURE points per cell and
  direction): the tests bound the error.
- blobs: the ensemble of the turbulence test, `count` Gaussians exp(-|x - x_k|^2 / w^2) of
  width w = 0.5 at uniformly random centres (a PCG64 generator of `seed`), each summed with
  its 3 x 3 periodic images and the whole divided by its largest value at the cell centres
  of a 256 x 256 grid of the domain (a scale of the domain, so every resolution sees the
  same field; on grids finer than 256^2 a cell average may exceed 1 by ~1e-5). Separable,
  so the cell averages are exact (differences of erf), and the averages of a fine grid
  coarse-grain to those of a coarse one. The 3 x 3 images make the field periodic when
  the domain is at least 10 widths a side (what is left beyond them: below exp(-100)).
- square: the 1D square wave of the paper's first test, height h on [start, start + width),
  exact cell averages (the overlap of each cell with the wave).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

from coupler.errors import ConfigError
from coupler.problems.flows import Grid2D

QUADRATURE = 8     # Gauss-Legendre points per cell and direction for the blob


def blob(grid: Grid2D, centre: tuple[float, float] = (0.25, 0.25), radius: float = 0.25) -> np.ndarray:
    """Cell averages of the cosine bell, Eq. 9, on the periodic domain: the images of the
    bell beyond an edge enter from the opposite one (a radius of at most half the domain,
    so the bell does not overlap itself)."""
    if not 0 < radius <= min(grid.lx, grid.ly) / 2:
        raise ConfigError(f"the blob radius must lie in (0, {min(grid.lx, grid.ly) / 2:g}], got {radius}")
    nodes, weights = np.polynomial.legendre.leggauss(QUADRATURE)
    x = (np.arange(grid.nx)[:, None] + 0.5 * (nodes + 1.0)) * grid.dx        # (nx, q)
    y = (np.arange(grid.ny)[:, None] + 0.5 * (nodes + 1.0)) * grid.dy        # (ny, q)
    total = np.zeros((grid.ny, grid.nx))
    for mx in (-1, 0, 1):
        cx = centre[0] + mx * grid.lx
        if cx + radius <= 0 or cx - radius >= grid.lx:
            continue
        for my in (-1, 0, 1):
            cy = centre[1] + my * grid.ly
            if cy + radius <= 0 or cy - radius >= grid.ly:
                continue
            # the cells the bell reaches (0 exactly beyond its rim): a large grid costs its box only
            ix = slice(max(0, math.floor((cx - radius) / grid.dx)), min(grid.nx, math.ceil((cx + radius) / grid.dx)))
            iy = slice(max(0, math.floor((cy - radius) / grid.dy)), min(grid.ny, math.ceil((cy + radius) / grid.dy)))
            r = np.minimum(1.0, np.hypot(x[None, ix, None, :] - cx, y[iy, None, :, None] - cy) / radius)
            values = 0.5 * (1.0 + np.cos(np.pi * r))                           # (ny, nx, qy, qx) of the box
            total[iy, ix] += np.einsum("abij,i,j->ab", values, weights, weights) / 4.0
    return total


def _periodic_gaussians(x: np.ndarray, centres: np.ndarray, width: float, length: float, averages: bool) -> np.ndarray:
    """Sum over the images m in {-1, 0, 1} of exp(-((x - c - m L) / w)^2), one row per
    centre c: at the points x, or (averages) averaged over the cells between the edges x."""
    total = 0.0
    for image in (-1.0, 0.0, 1.0):
        z = (x[None, :] - centres[:, None] - image * length) / width
        total = total + (np.diff(erf(z), axis=1) if averages else np.exp(-z ** 2))
    return total * (0.5 * math.sqrt(math.pi) * width) / np.diff(x)[None, :] if averages else total


def blobs(grid: Grid2D, seed: int, count: int = 10, width: float = 0.5,
          shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Cell averages of the normalised sum of `count` periodic Gaussian blobs, their centres
    translated by `shift` (the scale is that of the untranslated field)."""
    if count < 1 or not width > 0:
        raise ConfigError(f"blobs need a positive count and width, got {count} and {width}")
    if min(grid.lx, grid.ly) < 10 * width:
        raise ConfigError(f"blobs of width {width:g} need a domain of at least {10 * width:g} a side (periodic "
                          f"images), got {grid.lx:g} x {grid.ly:g}")
    rng = np.random.Generator(np.random.PCG64(seed))
    cx = rng.uniform(0.0, grid.lx, count)
    cy = rng.uniform(0.0, grid.ly, count)
    centres = ((cx + shift[0]) % grid.lx, (cy + shift[1]) % grid.ly)

    def field(g: Grid2D, averages: bool, centres=(cx, cy)) -> np.ndarray:
        if averages:     # over the cells between the edges
            x, y = np.arange(g.nx + 1) * g.dx, np.arange(g.ny + 1) * g.dy
        else:            # at the cell centres
            x, y = (np.arange(g.nx) + 0.5) * g.dx, (np.arange(g.ny) + 0.5) * g.dy
        gx = _periodic_gaussians(x, centres[0], width, g.lx, averages)
        gy = _periodic_gaussians(y, centres[1], width, g.ly, averages)
        return np.einsum("ky,kx->yx", gy, gx)

    scale = float(np.max(field(Grid2D(256, 256, grid.lx, grid.ly), averages=False)))
    return field(grid, averages=True, centres=centres) / scale


def square(n: int, length: float, height: float, start: float, width: float) -> np.ndarray:
    """Cell averages of height on [start, start + width) on n cells of [0, length), periodic."""
    if not (0 < width <= length):
        raise ConfigError(f"the square wave's width must lie in (0, length], got {width}")
    edges = np.arange(n + 1) * (length / n)
    start = start % length
    overlap = np.zeros(n)
    for shift in (0.0, -length):     # the part beyond the right end wraps to the left
        a, b = start + shift, start + width + shift
        overlap += np.clip(np.minimum(edges[1:], b) - np.maximum(edges[:-1], a), 0.0, None)
    return height * overlap / (length / n)
