"""Run under mpirun by tests/test_mpi.py: each rank tags its cells with their global index
plus 1e6 x its rank, the library fills the halos, and every halo cell (corners included in
2D) must hold the tagged value of the periodic neighbour cell on the rank that owns it.

Arguments: the cells per dimension (one number in 1D, NXxNY in 2D), the halo width, and in
2D optionally the process grid PXxPY."""
import sys

import numpy as np
from mpi4py import MPI

from coupler.host import decompose, fill_halo

comm = MPI.COMM_WORLD
cells = tuple(int(v) for v in sys.argv[1].split("x"))              # x first
g = int(sys.argv[2])
procs = tuple(int(v) for v in sys.argv[3].split("x")) if len(sys.argv) > 3 else (0, 0)
blocks = comm.allgather(decompose(comm, cells, g, procs))
shape = cells[::-1]                                                  # arrays [y, x]
owner = np.empty(shape)
for rank, (n, offset) in enumerate(blocks):
    owner[tuple(slice(o, o + k) for o, k in zip(offset[::-1], n[::-1]))] = rank
tag = np.arange(np.prod(shape)).reshape(shape) + 1e6 * owner        # the value each global cell holds
n, offset = blocks[comm.rank]
u = np.full(tuple(k + 2 * g for k in n[::-1]), np.nan)
interior = tuple(slice(g, g + k) for k in n[::-1])
u[interior] = tag[tuple(slice(o, o + k) for o, k in zip(offset[::-1], n[::-1]))]
u = fill_halo(comm, cells, g, u, procs)
expected = tag[np.ix_(*[np.arange(o - g, o + k + g) % m for o, k, m in zip(offset[::-1], n[::-1], shape)])]
ok = np.array_equal(u, expected)
covered = comm.allreduce(int(np.prod(n)))
oks = comm.gather(ok and covered == np.prod(shape), root=0)
if comm.rank == 0:
    print("halo exchange", "ok" if all(oks) else f"FAILED on ranks {[r for r, o in enumerate(oks) if not o]}")
