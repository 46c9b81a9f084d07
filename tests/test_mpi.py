"""MPI domain decomposition under `mpirun --oversubscribe`: the halo exchange (the 1D ring,
the 2D Cartesian grid with corners), decomposition-independent results (bit for bit against
the serial run, with grids that the rank counts do not divide), restarts across rank
counts, and a failing rank that stops the job promptly. Each case runs `mpirun ... hfc
simulate` as a user would."""
import re
import subprocess
import sys
import time
from pathlib import Path

import netCDF4
import numpy as np
import pytest

HFC = str(Path(sys.executable).parent / "hfc")
TIMEOUT = 180   # seconds: a hang fails the test instead of the suite


def mpirun(env, ranks, *args, check=True):
    command = ["mpirun", "-n", str(ranks), *map(str, args)] if ranks else list(map(str, args))
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=TIMEOUT)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def states(path, field="u"):
    with netCDF4.Dataset(path) as ds:
        return ds["time"][:].data, ds[field][:].data


@pytest.mark.parametrize("ranks, cases", [
    (2, [("10", 3), ("23", 7), ("10x7", 3)]),
    (3, [("10", 3), ("23", 7), ("13x9", 2)]),                     # 2D: a 3 x 1 process grid
    (4, [("10x7", 3), ("12x12", 3, "1x4"), ("12x12", 2, "4x1")]),  # 2 x 2 with uneven splits; one-way grids
    (6, [("13x9", 2), ("8x5", 1)]),                               # 3 x 2
])
def test_halo_exchange_with_rank_tagged_values(mpi_env, repo_root, ranks, cases):
    """Every halo cell, the corners of 2D blocks included, holds the tagged value of its
    periodic neighbour on the rank that owns it."""
    for case in cases:
        out = mpirun(mpi_env, ranks, sys.executable, repo_root / "tests/mpi/halo_exchange.py", *case).stdout
        assert "halo exchange ok" in out, (case, out)


ADVECTION2D = ["simulate", "--equation", "advection2d", "--nx", 38, "--ny", 27, "--save-every", 0.5, "--quiet"]


def test_advection2d_is_bit_identical_on_1_2_3_4_6_ranks(mpi_env, tmp_path):
    """38 x 27 cells (no rank count divides both): Van Leer with forward Euler on the
    deformational flow (time-dependent face velocities, transverse predictors that read the
    halo corners) on 1, 2, 3, 4 (2 x 2) and 6 (3 x 2) ranks; WENO5 with SSP-RK3 on a random
    flow on 1 x 4, 4 x 1 and 2 x 3 process grids; Van Leer in turbulence (velocity frames
    computed on rank 0 and broadcast) on 4 ranks. The files, mass diagnostic included, equal
    the serial run's bit for bit."""
    cases = [("vanleer", ["--scheme", "vanleer", "--t-end", 1.5], [(r, []) for r in (1, 2, 3, 4, 6)]),
             ("weno5", ["--scheme", "weno5", "--velocity", "random", "--seed", 5, "--t-end", 1.0],
              [(4, ["--procs", "1x4"]), (4, ["--procs", "4x1"]), (6, ["--procs", "2x3"])]),
             ("turbulence", ["--velocity", "turbulence", "--turbulence-resolution", 32,
                             "--t-end", 1.0], [(4, [])])]
    for name, extra, layouts in cases:
        args = [*ADVECTION2D, *extra]
        mpirun(mpi_env, 0, HFC, *args, "--output", tmp_path / f"{name}.nc")
        _, c0 = states(tmp_path / f"{name}.nc", "c")
        for ranks, procs in layouts:
            out = tmp_path / f"{name}{ranks}{''.join(procs)}.nc"
            mpirun(mpi_env, ranks, HFC, *args, *procs, "--output", out)
            np.testing.assert_array_equal(states(out, "c")[1], c0, err_msg=f"{name} on {ranks} ranks {procs}")
            with netCDF4.Dataset(out) as ds, netCDF4.Dataset(tmp_path / f"{name}.nc") as serial:
                assert ds.mpi_ranks == ranks
                np.testing.assert_array_equal(ds["mass"][:], serial["mass"][:])


def test_advection2d_restart_written_on_4_ranks_continues_on_1(mpi_env, tmp_path):
    common = [*ADVECTION2D, "--velocity", "random", "--seed", 2]
    mpirun(mpi_env, 0, HFC, *common, "--t-end", 2, "--output", tmp_path / "whole.nc")
    _, whole = states(tmp_path / "whole.nc", "c")
    mpirun(mpi_env, 4, HFC, *common, "--t-end", 1, "--restart-every", 1, "--output", tmp_path / "first.nc")
    mpirun(mpi_env, 0, HFC, *common, "--t-end", 2, "--restart-from", tmp_path / "first.restart.nc",
           "--output", tmp_path / "second.nc")
    np.testing.assert_array_equal(states(tmp_path / "second.nc", "c")[1], whole[2:])


def test_a_process_grid_that_does_not_fit_is_refused_once(mpi_env, tmp_path):
    """--procs 3x2 on 4 ranks: every rank finds it alike, one line, no file, no MPI_Abort."""
    out = tmp_path / "x.nc"
    result = mpirun(mpi_env, 4, HFC, *ADVECTION2D, "--procs", "3x2", "--output", out, check=False)
    assert result.returncode != 0 and not out.exists()
    assert result.stderr.count("hfc simulate: error: a process grid of 3 x 2 ranks does not fit the 4 ranks") == 1, \
        result.stderr
    assert "Traceback" not in result.stderr and "MPI_ABORT" not in result.stderr


def test_weno5_is_bit_identical_on_1_2_3_4_ranks(mpi_env, tmp_path):
    """n = 100 cells: 50/50, 34/33/33, 25 x 4; forced Burgers, CFL steps (a global max)."""
    args = ["simulate", "--n", 100, "--t-end", 2, "--seed", 3, "--quiet"]
    mpirun(mpi_env, 0, HFC, *args, "--output", tmp_path / "serial.nc")
    t0, u0 = states(tmp_path / "serial.nc")
    for ranks in (1, 2, 3, 4):
        out = tmp_path / f"ranks{ranks}.nc"
        result = mpirun(mpi_env, ranks, HFC, *args, "--output", out)
        t, u = states(out)
        np.testing.assert_array_equal(t, t0)
        np.testing.assert_array_equal(u, u0)
        with netCDF4.Dataset(out) as ds, netCDF4.Dataset(tmp_path / "serial.nc") as serial:
            assert ds.mpi_ranks == ranks
            np.testing.assert_array_equal(ds["mass"][:], serial["mass"][:])   # the conservation diagnostic
        if ranks > 1:
            assert f"rank {ranks - 1}:" in result.stdout and "halo exchange" in result.stdout


@pytest.mark.parametrize("backend", ["python", "fortran", "fortran --reuse-coefficients"])
def test_learned_model_is_bit_identical_on_2_and_3_ranks(mpi_env, onnx64, tmp_path, backend):
    """A float64 model (one ONNX Runtime thread per rank): every face flux is the same
    arithmetic whatever the block length, with coefficient reuse too (each rank keeps its
    faces' stencils). n = 64 splits 22/21/21 on 3 ranks."""
    args = ["simulate", "--scheme", "learned", "--model", onnx64, "--backend", *backend.split(), "--n", 64,
            "--t-end", 1.5, "--seed", 8, "--quiet"]
    mpirun(mpi_env, 0, HFC, *args, "--output", tmp_path / "serial.nc")
    _, u0 = states(tmp_path / "serial.nc")
    for ranks in (2, 3):
        mpirun(mpi_env, ranks, HFC, *args, "--output", tmp_path / f"r{ranks}.nc")
        np.testing.assert_array_equal(states(tmp_path / f"r{ranks}.nc")[1], u0)
        with netCDF4.Dataset(tmp_path / f"r{ranks}.nc") as ds:
            assert ds.coefficient_reuse == ("reuse" in backend)


@pytest.mark.parametrize("solver", ["jacobi", "cg", "gmres"])
def test_imex_implicit_solve_is_bit_identical_on_2_and_3_ranks(mpi_env, tmp_path, solver):
    """IMEX Euler with the viscosity solved implicitly (Burgers, eta = 0.05, 10 iterations):
    the halo exchanged at every matrix-vector product, the inner products of CG and GMRES
    gathered and summed in global order, so 37 cells on 2 and 3 ranks equal the serial run."""
    args = ["simulate", "--n", 37, "--t-end", 0.5, "--seed", 2, "--viscosity", 0.05, "--time-stepping", "imex",
            "--implicit-solver", solver, "--implicit-iterations", 10, "--quiet",
            *(["--implicit-restart", 3] if solver == "gmres" else [])]
    mpirun(mpi_env, 0, HFC, *args, "--output", tmp_path / "serial.nc")
    u0 = states(tmp_path / "serial.nc")[1]
    for ranks in (2, 3):
        out = tmp_path / f"ranks{ranks}.nc"
        mpirun(mpi_env, ranks, HFC, *args, "--output", out)
        np.testing.assert_array_equal(states(out)[1], u0, err_msg=f"{solver} on {ranks} ranks")


def test_restart_written_on_2_ranks_continues_on_1_and_3(mpi_env, tmp_path):
    common = ["simulate", "--n", 100, "--seed", 4, "--save-every", 0.5, "--quiet"]
    mpirun(mpi_env, 0, HFC, *common, "--t-end", 3, "--output", tmp_path / "whole.nc")
    _, whole = states(tmp_path / "whole.nc")
    mpirun(mpi_env, 2, HFC, *common, "--t-end", 1.5, "--restart-every", 1.5, "--output", tmp_path / "first.nc")
    restart = tmp_path / "first.restart.nc"
    for ranks in (0, 1, 3):                      # serially, under `mpirun -n 1`, on 3 ranks
        out = tmp_path / f"second{ranks}.nc"
        mpirun(mpi_env, ranks, HFC, *common, "--t-end", 3, "--restart-from", restart, "--output", out)
        np.testing.assert_array_equal(states(out)[1], whole[3:])


def test_a_failing_rank_stops_every_rank_promptly(mpi_env, tmp_path):
    """Under abort, a non-finite flux on one rank's block stops all ranks at the same step
    (the library agrees on failure each stage), with the rank and the reason, and nothing
    is written."""
    provider = tmp_path / "holes.py"
    provider.write_text(
        "import numpy as np\n"
        "from mpi4py import MPI\n"
        "from coupler.host import Host, HostConfig, PythonFlux, TimeConfig, face_fluxes\n"
        "from coupler.errors import NonFiniteStateError\n"
        "comm = MPI.COMM_WORLD\n"
        "cfg = HostConfig('burgers', 60)\n"
        "def flux(u, t):\n"
        "    f = face_fluxes(cfg, 'weno5', u)\n"
        "    if comm.rank == comm.size - 1 and t > 0.2:\n"
        "        f[2] = np.nan\n"
        "    return f\n"
        "host = Host(cfg, PythonFlux(flux, 3), time=TimeConfig(dt=0.01), comm=comm)\n"
        "try:\n"
        "    host.advance(np.zeros(host.n_local), 0.0, 1.0)\n"
        "except NonFiniteStateError as exc:\n"
        "    print(f'rank {comm.rank} stopped: {exc}', flush=True)\n")
    start = time.perf_counter()
    result = mpirun(mpi_env, 3, sys.executable, provider)
    assert time.perf_counter() - start < 60
    # counted, not split into lines: the three ranks' outputs may interleave in mpirun's stdout
    stopped = re.findall(r"rank (\d) stopped: rank 2: python flux provider returned non-finite fluxes", result.stdout)
    assert sorted(stopped) == ["0", "1", "2"], result.stdout + result.stderr


def test_cli_failure_on_one_rank_exits_nonzero_without_output(mpi_env, late_poisoned, tmp_path):
    """The model fails mid-run (0.75 < t <= 1) at one face, so on one rank of two: every
    rank stops, the message names that one rank, no output is left, and the restart of
    t = 0.5 (written before) is kept."""
    out = tmp_path / "x.nc"
    start = time.perf_counter()
    result = mpirun(mpi_env, 2, HFC, "simulate", "--scheme", "learned", "--model", late_poisoned,
                    "--backend", "fortran", "--n", 64, "--t-end", 1.5, "--save-every", 0.5, "--restart-every", 0.5,
                    "--output", out, "--quiet", check=False)
    assert time.perf_counter() - start < 60
    failing = re.findall(r"rank (\d): learned provider returned non-finite fluxes", result.stderr)
    assert result.returncode != 0 and len(failing) == 1, result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
    with netCDF4.Dataset(tmp_path / "x.restart.nc") as ds:
        assert ds.time == 0.5


def test_pure_fortran_host_under_mpi_matches_the_serial_run(mpi_env, learned_host, onnx64, tmp_path):
    """examples/02 under mpirun: rank 0 reads the model and broadcasts it, the grid is
    decomposed, snapshots are gathered; the file equals the serial hfc run bit for bit."""
    from coupler.problems.forcing import random_forcing

    exe, _ = learned_host
    random_forcing(6).write_namelist(tmp_path / "forcing.nml")
    mpirun(mpi_env, 0, HFC, "simulate", "--scheme", "learned", "--model", onnx64, "--backend", "fortran", "--n", 64,
           "--t-end", 2, "--save-every", 0.5, "--seed", 6, "--output", tmp_path / "serial.nc", "--quiet")
    for ranks in (2, 3):
        (tmp_path / "host.nml").write_text(
            f"&host\n n = 64\n model_file = '{onnx64}'\n t_end = 2.0\n save_every = 0.5\n"
            f" forcing_file = '{tmp_path / 'forcing.nml'}'\n output_file = '{tmp_path / f'pure{ranks}.nc'}'\n/\n")
        result = mpirun(mpi_env, ranks, exe, tmp_path / "host.nml")
        assert f"ranks={ranks}" in result.stdout
        np.testing.assert_array_equal(states(tmp_path / f"pure{ranks}.nc")[1], states(tmp_path / "serial.nc")[1])


def test_fallback_count_does_not_depend_on_the_decomposition(mpi_env, poisoned64, tmp_path):
    """WENO5 fills the NaN holes of the float64 model on every rank; each face of the domain
    is counted once, so the counter and the state equal the serial run's."""
    args = ["simulate", "--scheme", "learned", "--model", poisoned64, "--backend", "fortran", "--n", 64,
            "--t-end", 1, "--on-nonfinite", "fallback", "--quiet"]
    mpirun(mpi_env, 0, HFC, *args, "--output", tmp_path / "serial.nc")
    mpirun(mpi_env, 3, HFC, *args, "--output", tmp_path / "three.nc")
    with netCDF4.Dataset(tmp_path / "serial.nc") as a, netCDF4.Dataset(tmp_path / "three.nc") as b:
        assert a.guard_fallback_faces > 0 and a.guard_fallback_faces == b.guard_fallback_faces
        np.testing.assert_array_equal(a["u"][:], b["u"][:])
