"""Run under mpirun by tests/hostile/test_namelists.py: the ranks create one host with a
configuration that differs on the last rank (argv[1]: 'n', 'scheme' or 'cfl'); the library
(hfc_host_create) must refuse on every rank, with the same message, and no rank may hang.
Each rank prints one line: 'refused: <message>' or 'created'."""
import sys

from mpi4py import MPI

from coupler.errors import ConfigError
from coupler.host import Host, HostConfig, TimeConfig

comm = MPI.COMM_WORLD
last = comm.rank == comm.size - 1
what = sys.argv[1]
n = 33 if last and what == "n" else 32
scheme = "godunov" if last and what == "scheme" else "weno5"
cfl = 0.4 if last and what == "cfl" else 0.5
try:
    Host(HostConfig("burgers", n), scheme, time=TimeConfig(cfl=cfl), comm=comm)
    print(f"rank {comm.rank} created", flush=True)
except ConfigError as error:
    print(f"rank {comm.rank} refused: {error}", flush=True)
