"""Polynomial-accuracy constraint layer (SI Appendix III) against known stencil tables."""
import numpy as np
import pytest
import torch

from training.constraints import (ConstrainedCoefficients, PolynomialConstraint, constraint_system,
                                  moment_matrix, standard_coefficients, stencil_offsets)

# Known tables: (offsets in dx from the evaluation point, derivative, method, coefficients)
TABLES = {
    "fv face value, 4 cells": (stencil_offsets(4), 0, "fv", np.array([-1, 7, 7, -1]) / 12),
    "fv face value, 6 cells": (stencil_offsets(6), 0, "fv", np.array([1, -8, 37, 37, -8, 1]) / 60),
    "fv face derivative, 4 cells": (stencil_offsets(4), 1, "fv", np.array([1, -15, 15, -1]) / 12),
    "fv3 left-biased value (WENO q0)": (np.array([-2.5, -1.5, -0.5]), 0, "fv", np.array([2, -7, 11]) / 6),
    "fd staggered derivative, 4 points": (stencil_offsets(4), 1, "fd", np.array([1 / 24, -9 / 8, 9 / 8, -1 / 24])),
    "fd centred derivative, 3 points": (np.array([-1.0, 0.0, 1.0]), 1, "fd", np.array([-0.5, 0.0, 0.5])),
    "fd centred second derivative": (np.array([-1.0, 0.0, 1.0]), 2, "fd", np.array([1.0, -2.0, 1.0])),
}


@pytest.mark.parametrize("name", TABLES)
def test_standard_stencils_match_tables(name):
    offsets, derivative, method, expected = TABLES[name]
    # a 4x4 to 6x6 Vandermonde solve with O(1) entries: round-off ~1e-15, 1e-12 leaves room
    np.testing.assert_allclose(standard_coefficients(offsets, derivative, method), expected, atol=1e-12)


@pytest.mark.parametrize("derivative,accuracy", [(0, 1), (1, 1), (2, 1), (3, 1), (0, 3), (1, 2)])
@pytest.mark.parametrize("method", ["fv", "fd"])
def test_every_constrained_stencil_solves_the_kept_rows(derivative, accuracy, method, rng):
    """alpha = fixed + B theta satisfies A alpha = b to 1e-10 for any theta, and B spans
    the whole null space (orthonormal, N - rows columns)."""
    constraint = PolynomialConstraint(tuple(stencil_offsets(6)), derivative, accuracy, method)
    a, b = constraint_system(constraint.offsets, derivative, constraint.rows, method)
    basis = constraint.basis()
    assert basis.shape == (6, 6 - constraint.rows)
    np.testing.assert_allclose(basis.T @ basis, np.eye(basis.shape[1]), atol=1e-12)   # SVD: ~1e-15
    for theta in rng.normal(0, 3, (20, basis.shape[1])):
        alpha = constraint.fixed() + basis @ theta
        # rows of A hold offsets^k up to 2.5^5 ~ 100 times |theta| ~ 10: round-off ~1e-12
        np.testing.assert_allclose(a @ alpha, b, atol=1e-10)


def test_torch_layer_matches_numpy_and_has_the_accuracy_it_promises(rng):
    """Exact on polynomials of degree < m + l: the first derivative (m = 1) of any linear
    function is recovered from its cell averages with arbitrary free parameters."""
    constraint = PolynomialConstraint(tuple(stencil_offsets(6)), 1, 1, "fv")
    layer = ConstrainedCoefficients(constraint, torch.float64)
    theta = torch.tensor(rng.normal(size=(5, layer.n_free)))
    alpha = layer(theta).numpy()
    # the same float64 products in another order: a few ulps of O(1) values
    np.testing.assert_allclose(alpha, constraint.fixed() + theta.numpy() @ constraint.basis().T, atol=1e-14)
    averages_of_line = moment_matrix(constraint.offsets, 2, "fv")           # rows: 1 and x
    for slope, intercept in [(2.0, -1.0), (-0.3, 4.0)]:
        values = intercept * averages_of_line[0] + slope * averages_of_line[1]
        np.testing.assert_allclose(alpha @ values, slope, atol=1e-12)   # exact in exact arithmetic


def test_impossible_accuracy_is_refused():
    with pytest.raises(ValueError, match="accuracy"):
        PolynomialConstraint(tuple(stencil_offsets(4)), 3, 2)
