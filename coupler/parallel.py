"""MPI set-up for the Python runtime (mpi4py): the world communicator when launched by
mpirun, and the collectives the simulation driver needs around the Fortran host."""
from __future__ import annotations

import hashlib
import os

import numpy as np


def world_comm():
    """MPI_COMM_WORLD when launched by mpirun/mpiexec on more than one rank, else None
    (mpi4py is imported only then, so serial runs never initialise MPI)."""
    if int(os.environ.get("OMPI_COMM_WORLD_SIZE", os.environ.get("PMI_SIZE", "1"))) <= 1:
        return None
    from mpi4py import MPI

    return MPI.COMM_WORLD


def gather(comm, local: np.ndarray, blocks: list[tuple[slice, ...]], shape: tuple[int, ...]) -> np.ndarray:
    """The whole state of `shape` on every rank, from the ranks' blocks: rank r's `local`
    array is whole[blocks[r]] (a tuple of slices, one per axis)."""
    if comm is None:
        return local
    sizes = [int(np.prod([s.stop - s.start for s in block])) for block in blocks]
    flat = np.empty(sum(sizes))
    comm.Allgatherv(np.ascontiguousarray(local).ravel(), [flat, (sizes, np.cumsum([0] + sizes[:-1]).tolist())])
    whole = np.empty(shape)
    start = 0
    for block, size in zip(blocks, sizes):
        whole[block] = flat[start:start + size].reshape(tuple(s.stop - s.start for s in block))
        start += size
    return whole


def made_on_root(comm, make):
    """make() on rank 0 alone, its result broadcast to every rank (collective); without a
    communicator, make(). A failure on rank 0 reaches every rank, so none waits in the
    broadcast: rank 0 re-raises it, the others raise AgreedError naming it."""
    if comm is None:
        return make()
    from coupler.errors import AgreedError

    if comm.Get_rank() == 0:
        try:
            value = make()
        except BaseException as exc:
            comm.bcast((False, str(exc) or type(exc).__name__), root=0)
            raise
        comm.bcast((True, value), root=0)
        return value
    ok, value = comm.bcast(None, root=0)
    if not ok:
        raise AgreedError(f"rank 0 failed: {value}")
    return value


def allsum(comm, value: int) -> int:
    """Sum of an integer counter over the ranks (collective)."""
    return int(value) if comm is None else int(comm.allreduce(int(value)))


def check_same_on_all_ranks(comm, value: str, what: str) -> None:
    """Refuse, on every rank alike, a value (a configuration's text) that differs between
    the ranks, e.g. an MPMD launch with other arguments on one rank (collective: call it
    before any collective whose pattern depends on the value)."""
    if comm is None:
        return
    from coupler.errors import AgreedError

    digests = comm.allgather(hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest())
    odd = [rank for rank, digest in enumerate(digests) if digest != digests[0]]
    if odd:
        raise AgreedError(f"the ranks were started with different {what} (rank {', '.join(map(str, odd))} "
                          "differs from rank 0): start every rank with the same arguments")
