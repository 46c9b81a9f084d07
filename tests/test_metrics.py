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
