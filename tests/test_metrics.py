"""Metric definitions on constructed inputs."""
import numpy as np
import pytest

from training.metrics import bootstrap_median, mean_absolute_error, valid_simulation_time

TIMES = np.arange(0.0, 10.5, 0.5)


def test_mean_absolute_error_window_and_divergence():
    ref = np.zeros((2, len(TIMES), 8))
    pred = ref.copy()
    pred[0, TIMES <= 3] = 0.1          # error 0.1 inside the window
    pred[0, TIMES > 3] = 5.0           # outside the window: ignored
    pred[1, -1, 0] = np.nan            # diverged late, but inside its window only if t_max covers it
    np.testing.assert_allclose(mean_absolute_error(pred, ref, TIMES, 3.0), [0.1, 0.0])
    assert np.isinf(mean_absolute_error(pred, ref, TIMES, 10.0)[1])


def test_valid_time_threshold_is_twentieth_percentile_of_zero_prediction():
    """Reference values 1..10 on 10 points: the 20th percentile of |reference| is 2.8.
    Errors of 3 on 3 of the 10 points (30% > 20%) from t = 4 on: valid time 4."""
    ref = np.tile(np.arange(1.0, 11.0), (len(TIMES), 1))
    pred = ref.copy()
    pred[TIMES >= 4, :3] += 3.0
    assert valid_simulation_time(pred, ref, TIMES) == 4.0
    pred2 = ref.copy()
    pred2[TIMES >= 4, :2] += 3.0       # 20% of the points exactly: not "more than 20%"
    assert valid_simulation_time(pred2, ref, TIMES) == TIMES[-1]


def test_valid_time_counts_nan_as_failure_and_handles_batches():
    ref = np.tile(np.linspace(-1, 1, 20), (2, len(TIMES), 1))
    pred = ref.copy()
    pred[1, TIMES >= 2.5] = np.nan
    np.testing.assert_array_equal(valid_simulation_time(pred, ref, TIMES), [TIMES[-1], 2.5])


def test_bootstrap_median_interval():
    values = np.random.Generator(np.random.PCG64(1)).exponential(10.0, 200)
    med, low, high = bootstrap_median(values)
    assert low < med < high
    assert med == pytest.approx(np.median(values))
    assert bootstrap_median(values) == (med, low, high)           # seeded: reproducible
    assert bootstrap_median(np.full(50, 3.0)) == (3.0, 3.0, 3.0)


def test_norm_errors_on_constructed_fields():
    from training.metrics import norm_errors

    reference = np.zeros((3, 4, 5))                       # (time, y, x)
    field = reference.copy()
    field[0] += 0.5                                       # a constant error
    field[1, ::2] = 1.0
    field[1, 1::2] = -1.0                                 # alternating signs
    field[2, 2, 3] = 2.0                                  # one cell of 20
    l1, l2 = norm_errors(field, reference)
    np.testing.assert_allclose(l1, [0.5, 1.0, 2.0 / 20], rtol=0, atol=1e-15)
    np.testing.assert_allclose(l2, [0.5, 1.0, 2.0 / np.sqrt(20)], rtol=0, atol=1e-15)


def test_entropy_is_one_initially_conserved_by_permutations_and_raised_by_mixing():
    from coupler.problems.flows import Grid2D
    from coupler.problems.tracers import blob
    from training.metrics import entropy

    c0 = blob(Grid2D(32, 32))
    assert entropy(c0, c0) == pytest.approx(1.0, abs=1e-15)
    shifted = np.roll(c0, (5, -7), axis=(0, 1))           # exact advection by whole cells
    assert entropy(shifted, c0) == pytest.approx(1.0, abs=1e-13)
    mixed = sum(np.roll(c0, (a, b), axis=(0, 1)) for a in (-1, 0, 1) for b in (-1, 0, 1)) / 9.0
    assert entropy(mixed, c0) > 1.01                      # a doubly stochastic average: Jensen (1.14)
    negative = c0 - 0.05 * (c0 < 0.01)                    # undershoots count as no tracer
    assert entropy(negative, c0) == entropy(np.where(c0 < 0.01, 0.0, c0), c0)
    series = entropy(np.stack([c0, shifted, mixed]), c0)
    assert series.shape == (3,) and series[2] > series[0]
