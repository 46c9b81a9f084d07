"""MPI set-up for the Python runtime (mpi4py): the world communicator when launched by
mpirun, and the collectives the simulation driver needs around the Fortran host."""
from __future__ import annotations

import os

import numpy as np


def world_comm():
    """MPI_COMM_WORLD when launched by mpirun/mpiexec on more than one rank, else None
    (mpi4py is imported only then, so serial runs never initialise MPI)."""
    if int(os.environ.get("OMPI_COMM_WORLD_SIZE", os.environ.get("PMI_SIZE", "1"))) <= 1:
        return None
    from mpi4py import MPI

    return MPI.COMM_WORLD


def gather(comm, local: np.ndarray, blocks: list[tuple[int, int]]) -> np.ndarray:
    """The whole state from the ranks' blocks (offset, cells), in global cell order, on every rank."""
    if comm is None:
        return local
    whole = np.empty(sum(n for _, n in blocks))
    comm.Allgatherv(np.ascontiguousarray(local), [whole, ([n for _, n in blocks], [o for o, _ in blocks])])
    return whole


def allsum(comm, value: int) -> int:
    """Sum of an integer counter over the ranks (collective)."""
    return int(value) if comm is None else int(comm.allreduce(int(value)))
