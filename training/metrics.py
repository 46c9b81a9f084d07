"""Accuracy metrics of Bar-Sinai et al. (2019): mean absolute error over a time window and
"valid simulation time", with bootstrap confidence intervals of the median."""
from __future__ import annotations

import numpy as np


def mean_absolute_error(prediction: np.ndarray, reference: np.ndarray, times: np.ndarray,
                        t_max: float) -> np.ndarray:
    """Mean |prediction - reference| over space and the saved times t <= t_max, per run.

    Arrays are (runs, time, x) (or (time, x)); a run that went non-finite gets inf.
    """
    keep = np.asarray(times) <= t_max + 1e-12
    err = np.abs(prediction[..., keep, :] - reference[..., keep, :])
    out = err.mean(axis=(-2, -1))
    return np.where(np.isfinite(out), out, np.inf)


def valid_simulation_time(prediction: np.ndarray, reference: np.ndarray, times: np.ndarray,
                          quantile: float = 0.2, fraction: float = 0.2) -> np.ndarray:
    """First saved time at which |prediction - reference| exceeds, on more than `fraction`
    of the points, the `quantile` of the error of predicting all zeros (|reference| over
    that run's space-time points); the last time if it never does. Per run."""
    prediction = np.asarray(prediction, dtype=float)
    reference = np.asarray(reference, dtype=float)
    squeeze = prediction.ndim == 2
    if squeeze:
        prediction, reference = prediction[None], reference[None]
    threshold = np.quantile(np.abs(reference), quantile, axis=(-2, -1))          # (runs,)
    err = np.abs(prediction - reference)
    bad = ~(err <= threshold[:, None, None])                                       # NaN counts as bad
    failed = bad.mean(axis=-1) > fraction                                          # (runs, time)
    first = np.where(failed.any(axis=1), failed.argmax(axis=1), len(times) - 1)
    result = np.asarray(times)[first]
    return result[0] if squeeze else result


def bootstrap_median(values: np.ndarray, level: float = 0.95, resamples: int = 10_000,
                     seed: int = 0) -> tuple[float, float, float]:
    """Median and its percentile-bootstrap confidence interval."""
    values = np.asarray(values, dtype=float)
    rng = np.random.Generator(np.random.PCG64(seed))
    medians = np.median(values[rng.integers(0, len(values), (resamples, len(values)))], axis=1)
    low, high = np.quantile(medians, [(1 - level) / 2, (1 + level) / 2])
    return float(np.median(values)), float(low), float(high)
