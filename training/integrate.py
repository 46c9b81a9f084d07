"""Batched time integration of a flux model in torch (for evaluation): SSP-RK3 with a
fixed step, periodic halo, optional per-run forcing, many runs at once."""
from __future__ import annotations

import math

import numpy as np
import torch
from tqdm import tqdm

from coupler.problems.forcing import Forcing
from training.models import FluxModel, pad_periodic, periodic_time_derivative


class ForcingBatch:
    """Cell-averaged forcing of several realizations, f(t) -> (runs, n), tabulated once."""

    def __init__(self, forcings: list[Forcing], n: int, length: float, dtype=torch.float64):
        dx = length / n
        x = (np.arange(n) + 0.5) * dx
        k = 2 * np.pi * np.stack([f.wavenumber for f in forcings]).astype(float) / length     # (runs, modes)
        sinc = np.sinc(k * dx / (2 * np.pi))
        amp = np.stack([f.amplitude for f in forcings]) * sinc
        as_t = lambda a: torch.as_tensor(a, dtype=dtype)
        self.cos = as_t(amp[..., None] * np.cos(k[..., None] * x))                         # (runs, modes, n)
        self.sin = as_t(amp[..., None] * np.sin(k[..., None] * x))
        self.omega = as_t(np.stack([f.omega for f in forcings]))
        self.phase = as_t(np.stack([f.phase for f in forcings]))

    def __call__(self, t) -> torch.Tensor:
        """Forcing at time t: one float for all runs, or one time per run, shape (runs,)."""
        t = torch.as_tensor(t, dtype=self.omega.dtype).reshape(-1, 1)
        theta = self.omega * t + self.phase
        return (torch.einsum("rm,rmn->rn", torch.sin(theta), self.cos)
                + torch.einsum("rm,rmn->rn", torch.cos(theta), self.sin))


def integrate(model: FluxModel, u0: np.ndarray, times: np.ndarray, dt: float,
              forcing: ForcingBatch | None = None, progress: bool = False,
              dtype: torch.dtype = torch.float32, reuse: bool = False) -> np.ndarray:
    """States (runs, len(times), n) from u0 (runs, n); steps of at most dt, landing on
    every output time. A run that goes non-finite stays NaN from then on. With `reuse` the
    network runs once per step: stages 2 and 3 apply the stencil coefficients predicted
    from the step's first stage to their own states (one network call per step)."""
    model = model.to(dtype)
    u = torch.as_tensor(u0, dtype=dtype)
    out = np.full((u.shape[0], len(times), u.shape[1]), np.nan)
    out[:, 0] = u0
    t = float(times[0])

    def rhs(v, s, theta=None):
        src = None if forcing is None else forcing(s).to(dtype)
        return periodic_time_derivative(model, v, src, theta)

    def coefficients(v):            # the free parameters the network predicts for v (reuse), else None
        return model.free_parameters(pad_periodic(v, model.halo).unsqueeze(1), v.shape[-1] + 1) if reuse else None

    total = int(sum(math.ceil((b - a) / dt - 1e-9) for a, b in zip(times[:-1], times[1:])))
    with torch.inference_mode(), tqdm(total=total, disable=not progress, desc="integrate", unit="step") as bar:
        for i in range(1, len(times)):
            steps = max(1, math.ceil((times[i] - t) / dt - 1e-9))
            h = (times[i] - t) / steps
            for _ in range(steps):
                theta = coefficients(u)
                u1 = u + h * rhs(u, t, theta)
                u2 = 0.75 * u + 0.25 * (u1 + h * rhs(u1, t + h, theta))
                u = u / 3 + 2 / 3 * (u2 + h * rhs(u2, t + 0.5 * h, theta))
                t += h
                bar.update()
            t = float(times[i])
            out[:, i] = u.double().numpy()
    return out
