"""`hfc bench --frames`: what a run pays per output frame, and the demo's 64-cell rows.

1. The cost of one output frame with no step in it: advance the host handle to the time it
   is at, then read its state back (two calls into Fortran), median of repeats.
2. `coupler.simulate.run` wall time (time in the host) of the demo's 64-cell rows: forced
   Burgers to t = 15 with 150 output frames, WENO5 and Godunov, and the committed 8x model
   (float32) through both backends; median of repeats, interleaved.
"""
from __future__ import annotations

import statistics
import tempfile
import timeit
from pathlib import Path

import numpy as np

from coupler.app.demo import FIRST_SEED, SAVE_EVERY, T_END, committed_model
from coupler.host import Host, HostConfig, TimeConfig
from coupler.learned import RuntimeConfig
from coupler.problems.forcing import random_forcing
from coupler.simulate import SimulationConfig, run


def frame_cost(repeats: int) -> float:
    """Microseconds per output frame with no step (advance_to its own time + get_state)."""
    host = Host(HostConfig("burgers", 64), "weno5", random_forcing(FIRST_SEED), TimeConfig(cfl=0.5))
    host.set_state(np.zeros(64), 1.0)
    seconds = timeit.repeat(lambda: (host.advance_to(1.0), host.get_state()), number=2000, repeat=repeats)
    return statistics.median(seconds) / 2000 * 1e6


def main(repeats: int = 7) -> int:
    print(f"hfc bench --frames: per-frame cost, median of {repeats}: {frame_cost(repeats):.2f} us per frame "
          f"(advance to the current time + read the state)")
    base = SimulationConfig().but(host=HostConfig("burgers", 64), t_end=T_END, save_every=SAVE_EVERY, ic="zero",
                                  seed=FIRST_SEED)
    rows = {"weno5": base.but(scheme="weno5"), "godunov": base.but(scheme="godunov")}
    source = committed_model()
    with tempfile.TemporaryDirectory() as tmp:
        if source is not None:
            from export.onnx_export import export

            model = str(export(source, Path(tmp) / "burgers_8x.onnx").path)
            for backend in ("fortran", "python"):
                rows[f"learned ({backend})"] = base.but(scheme="learned", model=model,
                                                        runtime=RuntimeConfig(backend=backend))
        walls: dict[str, list[float]] = {name: [] for name in rows}
        for config in rows.values():
            run(config)                                   # warm-up
        for _ in range(repeats):
            for name, config in rows.items():            # interleaved
                walls[name].append(run(config).wall_seconds)
    print(f"demo rows on 64 cells (forced Burgers, t <= {T_END:g}, {int(T_END / SAVE_EVERY)} frames), time in the "
          f"host, median of {repeats}:")
    print("| row | ms |\n|---|---|")
    for name, values in walls.items():
        print(f"| {name} | {statistics.median(values) * 1e3:.2f} |")
    return 0
