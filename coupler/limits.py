"""What a run will cost, estimated before it starts, and refused when it cannot end or fit:
the number of time steps (against a step budget), the snapshots kept in memory (against
the memory available) and the output file (against the free disk space).

Absurd but finite arguments (t_end = 1e308, dt = 1e-300, viscosity = 1e300, length =
1e-300, an output every 1e-9) are caught here with the estimate in the message, instead of
running for years or failing at an allocation of 48 GiB.
"""
from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np

from coupler.errors import ConfigError

DEFAULT_MAX_STEPS = 100_000_000   # ~1e8 steps: hours for a few thousand cells; --max-steps raises it
MAX_FRAMES = 100_000_000          # beyond this the list of output times alone is a problem


def memory_available() -> float:
    """Bytes of memory available to a new allocation (MemAvailable of /proc/meminfo, else
    the physical memory)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    import os
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.3g} GiB"


def check_size(n: int, t_end: float, save_interval: float, output: str | Path | None) -> None:
    """Before anything of the grid's size is allocated: the snapshots (float64, kept in
    memory on every rank, which gathers the whole states) must fit in the memory available,
    and the output file on its disk."""
    frames = t_end / save_interval + 2
    if not frames <= MAX_FRAMES:
        raise ConfigError(f"this run would save about {frames:.3g} snapshots, more than {MAX_FRAMES}: "
                          "choose a longer output interval (--save-every)")
    nbytes = 8.0 * n * frames
    available = memory_available()
    if nbytes > 0.8 * available:
        raise ConfigError(f"the snapshots of this run need about {_gib(nbytes)} of memory, {_gib(available)} "
                          "are available: choose a longer output interval (--save-every) or fewer cells")
    if output is not None:
        folder = Path(output).parent if str(Path(output).parent) else Path(".")
        free = shutil.disk_usage(folder).free
        if nbytes > free:
            raise ConfigError(f"the output of this run needs about {_gib(nbytes)}, the disk of '{folder}' has "
                              f"{_gib(free)} free: choose a longer output interval (--save-every) or another place")


def check_steps(step: float, t_end: float, max_steps: int) -> None:
    """The steps to t_end at the first step (the fixed dt or the CFL step of the initial
    state: a lower bound when the waves speed up later) within the step budget `max_steps`."""
    steps = t_end / step if step > 0 else math.inf
    if not steps <= max_steps:
        about = f"about {steps:.3g}" if math.isfinite(steps) else "more than 1e308"
        raise ConfigError(f"this run needs {about} time steps (end time {t_end:g} / step {step:.3g}), "
                          f"more than the limit of {max_steps} (--max-steps): check the end time, dt, viscosity "
                          "and length, or raise the limit if you mean it")


def check_range(name: str, value: int, low: int, high: int, why: str) -> None:
    """An integer argument within [low, high] (booleans are not integers)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ConfigError(f"{name} must be an integer in [{low}, {high}] ({why}), got {value!r}")

