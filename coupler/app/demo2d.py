"""The 2D part of `hfc demo`: the deformational flow of Zhuang et al. (2021) (LeVeque's
swirl, Eq. 8, T = 5, on [0, 1]^2, the cosine blob of Eq. 9, peak Courant number 0.5) in the
Fortran host at 64^2: Van Leer with forward Euler (the paper's baseline) against WENO5
with SSP-RK3 (a stronger baseline the paper did not use), with upwind and Van Leer at 128^2
for scale. The flow reverses at T / 2, so the exact solution at T is the initial blob: the
table gives the paper's L1 and L2 errors there and its entropy (Eq. 10); the figure shows
the blob at t = 0, T / 2 and T. With the committed learned model (models/advection2d/), its
row comes first (forward Euler at 64^2, through the Fortran binding). Then Van Leer again on
4 MPI ranks (2 x 2), which must equal the serial file bit for bit.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np

from coupler.app.demo import learned_model
from coupler.errors import HfcError
from training.advection_evaluate import PERIOD, SAVE_EVERY, Row, baselines, deformational

MODEL_2D = "models/advection2d/deformational/L4C32/64"


def main(output_dir: Path) -> bool:
    """Run the rows, write the table, the figure and the netCDF files; True when the 4-rank
    run equals the serial one (or mpirun is absent)."""
    print(f"hfc demo, 2D: the deformational flow (Zhuang et al. 2021, Eq. 8-9, T = {PERIOD:g}), peak Courant 0.5")
    rows = baselines(64)[:4]
    model = learned_model(output_dir, relative=MODEL_2D)
    if model is not None:
        rows.insert(0, Row("learned 64", "learned", 64, model=model))
    deformational(rows, output_dir, command=f"hfc demo --output-dir {output_dir}", suffix="2d")
    print((output_dir / "table2d.md").read_text().split("\n\n")[1])
    print(f"wrote {output_dir}/table2d.md, {output_dir}/deformational.png")
    return mpi_check(output_dir, output_dir / "deformational_vanleer_64.nc")


def mpi_check(output_dir: Path, serial: Path) -> bool:
    """Van Leer at 64^2 on 4 ranks (a 2 x 2 process grid) against the serial file."""
    if shutil.which("mpirun") is None:
        print("hfc demo: mpirun not found; skipping the 4-rank 2D run")
        return True
    hfc = str(Path(sys.executable).parent / "hfc")
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMPI_MCA_mpi_yield_when_idle": "1"}
    out = output_dir / "mpi_check_2d_4ranks.nc"
    done = subprocess.run(["mpirun", "-n", "4", hfc, "simulate", "--equation", "advection2d", "--scheme", "vanleer",
                           "--time-stepping", "euler", "--cfl", "0.5", "--nx", "64", "--velocity", "deformational",
                           "--period", repr(PERIOD), "--t-end", repr(PERIOD), "--procs", "2x2", "--save-every",
                           repr(SAVE_EVERY), "--output", str(out), "--quiet"],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise HfcError(f"the 4-rank 2D run failed: {done.stderr.strip()}")
    with netCDF4.Dataset(serial) as a, netCDF4.Dataset(out) as b:
        equal = bool(np.array_equal(a["c"][:], b["c"][:]))
    out.unlink()
    print("4 MPI ranks (2 x 2) vs serial, vanleer on 64^2: " + ("bit for bit identical" if equal else "DIFFERENT"))
    return equal
