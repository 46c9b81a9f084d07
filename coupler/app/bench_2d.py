"""`hfc bench --advection2d`: the 2D host's cost per cell and step, one core, and its strong
scaling from 1 to 2 MPI ranks.

1. ns per cell per time step of each 2D scheme with its time stepper (upwind and Van Leer
   with forward Euler, the paper's; WENO5 with SSP-RK3, three stages a step) at 256^2 and
   1024^2: the full host step (halo fill, face velocities, fluxes, finiteness checks,
   divergence, update), a steady random flow at peak Courant number 0.5, median of
   repeats, schemes interleaved within each repeat.
2. Van Leer at 1024^2, `hfc simulate` serially and under `mpirun -n 2` (a 2 x 1 process
   grid), fixed steps; the time inside the host (the slowest rank), median of repeats;
   parallel efficiency T(1) / (2 T(2)).
"""
from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from coupler.app.bench_mpi import run_case
from coupler.errors import HfcError
from coupler.host import Host, HostConfig, TimeConfig, flow_stable_dt
from coupler.problems.flows import RandomFlow

SCHEMES = {"upwind": "euler", "vanleer": "euler", "weno5": "ssprk3"}
TARGET_VANLEER_NS = 7.0        # a MUSCL / van Leer kernel on these machines (TOOLCHAIN.md)
TARGET_EFFICIENCY = 0.85


def cell_step_costs(n: int, repeats: int, cells_per_sample: float = 2e7) -> dict[str, float]:
    """Median ns per cell per step of each scheme on n x n cells."""
    config = HostConfig("advection2d", (n, n))
    flow = RandomFlow(seed=0)
    dt = flow_stable_dt(config, flow, 0.5)
    c0 = np.random.default_rng(0).uniform(size=config.shape)
    steps = max(2, round(cells_per_sample / n**2))
    hosts = {scheme: Host(config, scheme, time=TimeConfig(dt=dt, method=method), flow=flow)
             for scheme, method in SCHEMES.items()}
    samples = {scheme: [] for scheme in SCHEMES}
    for scheme, host in hosts.items():
        host.advance(c0, 0.0, dt)                              # warm-up: work arrays, caches
    for _ in range(repeats):
        for scheme, host in hosts.items():
            start = time.perf_counter()
            _, taken = host.advance(c0, 0.0, steps * dt)
            samples[scheme].append((time.perf_counter() - start) / (taken * n * n) * 1e9)
    for host in hosts.values():
        host.close()
    return {scheme: statistics.median(values) for scheme, values in samples.items()}


def strong_scaling(repeats: int, n: int = 1024, steps: int = 100) -> tuple[float, float, float]:
    """(host seconds on 1 rank, on 2 ranks, halo share on 2 ranks) of Van Leer on n^2."""
    if shutil.which("mpirun") is None:
        raise HfcError("mpirun not found; run `make setup`")
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    dt = 0.4 / n                         # Courant numbers 0.24 and 0.12 along x and y
    with tempfile.TemporaryDirectory() as tmp:
        args = ["simulate", "--equation", "advection2d", "--scheme", "vanleer", "--nx", str(n), "--velocity",
                "constant", "--velocity-x", "0.6", "--velocity-y", "0.3", "--dt", repr(dt), "--t-end",
                repr(steps * dt), "--save-every", repr(steps * dt), "--output", str(Path(tmp) / "out.nc"), "--quiet"]
        one, two = [], []
        for _ in range(repeats):                       # interleaved
            one.append(run_case(1, args, env)[0])
            two.append(run_case(2, args, env))
    t2 = statistics.median(w for w, _ in two)
    return statistics.median(one), t2, statistics.median(h / w for w, h in two)


def main(repeats: int = 5) -> int:
    print(f"hfc bench --advection2d: ns per cell per step, one core, median of {repeats} (interleaved)")
    print("| cells | upwind (Euler) | Van Leer (Euler) | WENO5 (SSP-RK3, 3 stages) |")
    print("|---|---|---|---|")
    vanleer = {}
    for n in (256, 1024):
        cost = cell_step_costs(n, repeats)
        vanleer[n] = cost["vanleer"]
        print(f"| {n}^2 | {cost['upwind']:.1f} | {cost['vanleer']:.1f} | {cost['weno5']:.1f} |", flush=True)
    print(f"Van Leer target <= {TARGET_VANLEER_NS:g} ns per cell-step: "
          + ", ".join(f"{n}^2 {'met' if v <= TARGET_VANLEER_NS else 'NOT met'}" for n, v in vanleer.items()))
    one, two, halo = strong_scaling(min(repeats, 3))
    efficiency = one / (2 * two)
    print("\nStrong scaling, Van Leer at 1024^2, 100 steps, time in the host (slowest rank), median of "
          f"{min(repeats, 3)}")
    print("| 1 rank (s) | 2 ranks (s) | speed-up | efficiency | halo exchange share |")
    print("|---|---|---|---|---|")
    print(f"| {one:.3f} | {two:.3f} | {one / two:.2f} | {efficiency:.0%} | {halo:.1%} |")
    print(f"(target: efficiency >= {TARGET_EFFICIENCY:.0%}) -> {'met' if efficiency >= TARGET_EFFICIENCY else 'NOT met'}")
    return 0
