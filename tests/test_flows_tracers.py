"""The 2D velocity fields and tracers of the passive-scalar tests (coupler.problems.flows,
coupler.problems.tracers), checked against mathematics: zero discrete divergence, face
averages converging to point values at second order, the deformational flow's reversal,
periodicity, normalisation, analytic masses, exact coarse-graining, determinism."""
import math

import numpy as np
import pytest

from coupler.errors import ConfigError
from coupler.problems.flows import ConstantFlow, DeformationalFlow, Grid2D, RandomFlow, divergence
from coupler.problems.tracers import blob, blobs, square


def coarse_grain(a: np.ndarray, factor: int) -> np.ndarray:
    ny, nx = a.shape
    return a.reshape(ny // factor, factor, nx // factor, factor).mean(axis=(1, 3))


@pytest.mark.parametrize("flow, grid", [
    (DeformationalFlow(), Grid2D(40, 24)),                          # non-square cells
    (RandomFlow(seed=3, lx=1.0, ly=0.75), Grid2D(48, 32, 1.0, 0.75)),
    (RandomFlow(seed=4, lx=2 * math.pi, ly=2 * math.pi), Grid2D(33, 17, 2 * math.pi, 2 * math.pi)),
    (ConstantFlow(0.7, -0.4), Grid2D(8, 5)),
])
def test_face_velocities_have_zero_discrete_divergence(flow, grid):
    """Exact edge averages of a stream function telescope: what is left is round-off of
    corner differences, a few ulps of |psi| / (dx dy); 1e-12 of max|u| / dx leaves room."""
    u, v = flow.face_velocities(grid, 0.7)
    assert u.shape == (grid.ny, grid.nx + 1) and v.shape == (grid.ny + 1, grid.nx)
    scale = max(np.max(np.abs(u)), np.max(np.abs(v))) / min(grid.dx, grid.dy)
    assert scale > 0 and np.max(np.abs(divergence(grid, u, v))) <= 1e-12 * scale
    np.testing.assert_allclose(u[:, 0], u[:, -1], rtol=0, atol=1e-13)   # periodic: first face = last
    np.testing.assert_allclose(v[0, :], v[-1, :], rtol=0, atol=1e-13)


def test_deformational_faces_converge_to_the_paper_formula_at_second_order():
    """Face averages vs the point values of Eq. 8 at the face midpoints (the reference
    code's sampling): the difference is O(dy^2), observed order in [1.9, 2.1]."""
    t, errors = 0.8, []
    for n in (32, 64):
        grid = Grid2D(n, n)
        u, v = DeformationalFlow().face_velocities(grid, t)
        faces = np.arange(n + 1) * grid.dx          # x of the x-faces (and y of the y-faces)
        mids = (np.arange(n) + 0.5) * grid.dy        # the faces' midpoints along them
        exact_u = np.sin(np.pi * faces[None, :]) ** 2 * np.sin(2 * np.pi * mids[:, None]) * math.cos(math.pi * t / 5)
        exact_v = -(np.sin(np.pi * faces[:, None]) ** 2 * np.sin(2 * np.pi * mids[None, :])
                    * math.cos(math.pi * t / 5))
        errors.append(max(np.max(np.abs(u - exact_u)), np.max(np.abs(v - exact_v))))
    assert 1.9 <= math.log2(errors[0] / errors[1]) <= 2.1, errors


def test_deformational_flow_reverses_and_vanishes_at_half_period():
    grid = Grid2D(16, 16)
    flow = DeformationalFlow()
    u, v = flow.face_velocities(grid, 1.0)
    u_later, v_later = flow.face_velocities(grid, 1.0 + flow.period)
    # cos(pi (t + T) / T) = -cos(pi t / T); psi differences over dy: round-off ~ eps / dy
    np.testing.assert_allclose(u_later, -u, rtol=0, atol=8 * np.finfo(float).eps / grid.dy)
    np.testing.assert_allclose(v_later, -v, rtol=0, atol=8 * np.finfo(float).eps / grid.dx)
    u_half, _ = flow.face_velocities(grid, flow.period / 2)
    assert np.max(np.abs(u_half)) < 8 * np.finfo(float).eps / grid.dy   # cos(pi / 2) ~ 6e-17
    with pytest.raises(ConfigError, match="periodic on"):
        flow.face_velocities(Grid2D(8, 8, 2.0, 1.0))


def test_random_flow_is_normalised_deterministic_and_steady():
    flow = RandomFlow(seed=11)
    x, y = Grid2D(256, 256).centres()
    u, v = flow.point_velocities(x, y)
    assert np.max(np.hypot(u, v)) == pytest.approx(1.0, abs=1e-12)       # the stated normalisation
    grid = Grid2D(24, 20)
    a = flow.face_velocities(grid, 0.0)
    np.testing.assert_array_equal(a[0], RandomFlow(seed=11).face_velocities(grid, 5.0)[0])   # same seed, any t
    assert not np.array_equal(a[0], RandomFlow(seed=12).face_velocities(grid, 0.0)[0])
    # coarse faces are the averages of the fine faces along them (exact edge averages)
    fine_u, _ = flow.face_velocities(Grid2D(96, 80), 0.0)
    np.testing.assert_allclose(fine_u[:, ::4].reshape(20, 4, 25).mean(axis=1), a[0], rtol=0, atol=1e-13)


def test_blob_has_the_analytic_mass_and_its_range():
    """Mass of the cosine bell of radius R: pi R^2 / 2 - 2 R^2 / pi. Quadrature of the
    C^1 bell with 8 x 8 points per cell (the rim's cells dominate the error): measured
    3.5e-11 for the mass and 1.2e-7 per cell against a 4x finer grid; bounds 1e-9, 1e-6."""
    grid = Grid2D(64, 64)
    c = blob(grid)
    mass = c.sum() * grid.dx * grid.dy
    assert mass == pytest.approx(math.pi * 0.25 ** 2 / 2 - 2 * 0.25 ** 2 / math.pi, abs=1e-9)
    assert 0.0 <= c.min() and c.max() <= 1.0 and c.max() > 0.99
    # the cell averages of a finer grid coarse-grain to these, to the quadrature's accuracy
    np.testing.assert_allclose(coarse_grain(blob(Grid2D(256, 256)), 4), c, rtol=0, atol=1e-6)


def test_random_blobs_coarse_grain_exactly_and_are_deterministic():
    grid = Grid2D(32, 24, 2 * math.pi, 2 * math.pi)
    c = blobs(grid, seed=5)
    fine = blobs(Grid2D(256, 192, 2 * math.pi, 2 * math.pi), seed=5)
    np.testing.assert_allclose(coarse_grain(fine, 8), c, rtol=0, atol=1e-14)   # exact averages: round-off
    np.testing.assert_array_equal(c, blobs(grid, seed=5))
    assert not np.array_equal(c, blobs(grid, seed=6))
    assert 0.0 < c.min() and c.max() <= 1.0 + 1e-12
    # the mass of 10 periodised Gaussians of width w on the torus is 10 pi w^2 (the images
    # beyond the 3 x 3 hold less than exp(-(2 pi / 0.5)^2)), over the normalisation
    mass = c.sum() * grid.dx * grid.dy
    assert mass == pytest.approx(10 * math.pi * 0.5 ** 2 / _blob_scale(5), rel=1e-12)
    with pytest.raises(ConfigError, match="at least 5 a side"):       # too small for 3 x 3 images
        blobs(Grid2D(8, 8), seed=1)


def _blob_scale(seed: int) -> float:
    """The normalisation of blobs(seed) recomputed independently: the largest value of the
    periodised sum at the 256^2 cell centres, point by point."""
    rng = np.random.Generator(np.random.PCG64(seed))
    length = 2 * math.pi
    cx, cy = rng.uniform(0.0, length, 10), rng.uniform(0.0, length, 10)
    x, y = Grid2D(256, 256, length, length).centres()
    total = np.zeros_like(x)
    for k in range(10):
        for mx in (-1, 0, 1):
            for my in (-1, 0, 1):
                total += np.exp(-((x - cx[k] - mx * length) ** 2 + (y - cy[k] - my * length) ** 2) / 0.5 ** 2)
    return float(total.max())


def test_square_wave_is_exact_and_wraps():
    c = square(32, 32.0, 0.6, 4.0, 8.0)                       # cell-aligned: exactly 8 cells of 0.6
    assert np.count_nonzero(c) == 8 and np.all(c[4:12] == 0.6)
    c = square(32, 32.0, 0.5, 30.5, 3.0)                      # wraps: 1.5 at the end, 1.5 at the start
    np.testing.assert_allclose(c[[30, 31, 0, 1]], [0.25, 0.5, 0.5, 0.25], rtol=0, atol=1e-15)
    assert c.sum() * 1.0 == pytest.approx(0.5 * 3.0, abs=1e-14)
    with pytest.raises(ConfigError):
        square(32, 32.0, 0.5, 0.0, 0.0)


def test_a_cached_flow_is_the_flow_computed_once_per_grid_and_time():
    from coupler.problems.flows import CachedFlow

    flow, grid = RandomFlow(seed=4), Grid2D(12, 8)
    cached = CachedFlow(flow)
    first = cached.face_velocities(grid, 0.0)
    for a, b in zip(first, flow.face_velocities(grid, 0.0)):
        assert np.array_equal(a, b)
    assert cached.face_velocities(Grid2D(12, 8), 0.0) is first          # equal grids share the entry
    assert cached.face_velocities(Grid2D(6, 4), 0.0)[0].shape == (4, 7)
    assert (cached.law(), cached.domain()) == (flow.law(), flow.domain())
