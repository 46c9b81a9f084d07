"""`hfc bench`: ns per cell per SSP-RK3 stage of each classical scheme, one core.

Each figure is the median over repeats of one Fortran call that takes `steps` fixed
steps of forced Burgers (the full host step: halo fill, reconstruction, Riemann and
viscous flux, flux divergence, forcing, RK update, finiteness check), divided by
3 * steps * n. The unforced column leaves out the 20-mode forcing.
"""
from __future__ import annotations

import os
import platform
import statistics
import time

import numpy as np

from coupler.host import Host, HostConfig, TimeConfig
from coupler.problems.equations import EQUATIONS
from coupler.problems.forcing import Forcing, random_forcing

TARGET_WENO5_NS = 17.0   # plain -O3 Fortran WENO5 on these machines (TOOLCHAIN.md)


def time_scheme(scheme: str, n: int, steps: int, repeats: int, forcing: Forcing) -> float:
    """Median ns per cell per RK stage over `repeats` runs of `steps` fixed steps."""
    config = HostConfig("burgers", n)
    x = config.cell_centres()
    u0 = 0.5 + np.sin(x) + 0.3 * np.sin(3 * x + 1.0)     # smooth, with a shock forming
    dt = 0.5 * min(config.dx / np.max(np.abs(u0)), config.dx**2 / (2 * config.viscosity))
    host = Host(config, scheme, forcing, TimeConfig(dt=dt))
    host.advance(u0, 0.0, dt)                              # warm-up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        _, taken = host.advance(u0, 0.0, steps * dt)
        samples.append((time.perf_counter() - start) / (3 * taken * n) * 1e9)
    return statistics.median(samples)


def main(n: int = 4096, steps: int = 200, repeats: int = 7) -> int:
    print(f"hfc bench: forced Burgers, n = {n}, {steps} steps x {repeats} repeats, one core "
          f"({platform.processor() or platform.machine()}, {os.cpu_count()} cpus visible)")
    print("| scheme | ns/cell-stage (forced) | ns/cell-stage (unforced) |")
    print("|---|---|---|")
    forcing = random_forcing(0)
    results = {}
    for scheme in EQUATIONS["burgers"].schemes:
        forced = time_scheme(scheme, n, steps, repeats, forcing)
        unforced = time_scheme(scheme, n, steps, repeats, Forcing())
        results[scheme] = forced
        print(f"| {scheme} | {forced:.1f} | {unforced:.1f} |", flush=True)
    ratio = results["weno5"] / TARGET_WENO5_NS
    print(f"WENO5 (forced) is {ratio:.2f}x the {TARGET_WENO5_NS:g} ns reference "
          f"(target: within 1.5x) -> {'met' if ratio <= 1.5 else 'NOT met'}")
    return 0
