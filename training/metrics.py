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


def norm_errors(field: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """L1 = mean |field - reference| and L2 = sqrt(mean (field - reference)^2) over the cells
    (the last two axes, [y, x]): Zhuang et al. (2021)'s norms of the deformational test,
    against a reference or the initial state. Leading axes (time, runs) are kept."""
    error = np.asarray(field, dtype=float) - np.asarray(reference, dtype=float)
    return np.mean(np.abs(error), axis=(-2, -1)), np.sqrt(np.mean(error ** 2, axis=(-2, -1)))


def entropy(field: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """The entropy of Zhuang et al. (2021), Eq. 10: S = -beta sum_i C_i log C_i over the cells
    (the last two axes), C scaled by the initial field's maximum so that the initial state
    falls in [0, 1] (a scale, so no tracer stays 0), negative values set to zero and
    0 log 0 = 0 (the paper's text; its reference code uses log(C + 1e-3) instead), beta such
    that the initial entropy is 1. Conserved by a permutation of the cells (exact
    advection), increased by mixing (-x log x is concave). Leading axes are kept."""
    initial = np.asarray(initial, dtype=float)
    scale = float(np.max(initial))
    if not scale > 0:
        raise ValueError("the entropy needs an initial field with a positive maximum")

    def raw(c: np.ndarray) -> np.ndarray:
        c = np.clip(np.asarray(c, dtype=float) / scale, 0.0, None)
        terms = np.where(c > 0, c * np.log(np.where(c > 0, c, 1.0)), 0.0)
        return -np.sum(terms, axis=(-2, -1))

    return raw(field) / raw(initial)
