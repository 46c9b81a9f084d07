"""Run under mpirun by tests/test_mpi.py: each rank tags its cells with its global index
plus 1000 x its rank, the library fills the halos, and every halo cell must hold the
tagged value of the periodic neighbour cell on the rank that owns it."""
import sys

import numpy as np
from mpi4py import MPI

from coupler.host import decompose, fill_halo

comm = MPI.COMM_WORLD
n, g = int(sys.argv[1]), int(sys.argv[2])
blocks = comm.allgather(decompose(comm, n, g))
owner = np.concatenate([np.full(nl, rank) for rank, (nl, _) in enumerate(blocks)])
tag = np.arange(n) + 1000.0 * owner                     # the value each global cell holds
nl, offset = blocks[comm.rank]
u = np.full(nl + 2 * g, np.nan)
u[g:g + nl] = tag[offset:offset + nl]
u = fill_halo(comm, n, g, u)
expected = tag[np.arange(offset - g, offset + nl + g) % n]
ok = np.array_equal(u, expected)
oks = comm.gather(ok, root=0)
if comm.rank == 0:
    print("halo exchange", "ok" if all(oks) else f"FAILED on ranks {[r for r, o in enumerate(oks) if not o]}")
