"""Restart files: the state of a run at one of its output times, so a run can be continued
bit for bit (N steps + restart + N steps = 2N steps).

A restart is a small netCDF file: the interior state u(x) in float64, the time, the steps
taken so far, the guard counter, the identity of the run (everything that must not change
across a restart: equation, grid, viscosity, scheme, forcing seed, time-step rule, model
hash) and a SHA-256 checksum of the state and time. It is written under a temporary name,
fsynced and renamed into place, and never from a non-finite state.
"""
from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np

from coupler import __version__
from coupler.errors import ConfigError, HfcError
from coupler.io.atomic import AtomicFile, check_writable

FORMAT_VERSION = "1"


class RestartError(HfcError):
    """A restart file that cannot be used: unreadable, corrupt, or from another run."""


@dataclass(frozen=True)
class Restart:
    t: float
    u: np.ndarray
    nsteps: int
    fallback_faces: int
    identity: dict          # str -> str: what a continuation must share with the run that wrote it

    @property
    def checksum(self) -> str:
        return checksum(self.u, self.t)


def checksum(u: np.ndarray, t: float) -> str:
    """SHA-256 of the state (little-endian float64) and the time."""
    return hashlib.sha256(np.ascontiguousarray(u, dtype="<f8").tobytes() + struct.pack("<d", t)).hexdigest()


def write_restart(path: str | Path, restart: Restart, dims: tuple[str, ...] = ("x",)) -> Path:
    """Write atomically (coupler.io.atomic). Refuses a non-finite state. The state is stored
    with the grid's dimensions `dims` (slowest first)."""
    if not (np.all(np.isfinite(restart.u)) and math.isfinite(restart.t)):
        raise RestartError(f"refusing to write restart '{path}' from a non-finite state at t = {restart.t}")
    with AtomicFile(check_writable(path)) as tmp:
        with netCDF4.Dataset(tmp, "w", format="NETCDF4") as ds:
            ds.title = "hfc restart"
            ds.hfc_restart_version = FORMAT_VERSION
            ds.code_version = __version__
            ds.time = restart.t
            ds.steps = np.int64(restart.nsteps)
            ds.guard_fallback_faces = np.int64(restart.fallback_faces)
            ds.checksum_sha256 = restart.checksum
            for key, value in restart.identity.items():
                setattr(ds, f"run_{key}", str(value))
            for name, size in zip(dims, np.shape(restart.u)):
                ds.createDimension(name, size)
            u = ds.createVariable("u", "f8", dims)
            u.long_name = "cell average of the solution at the restart time"
            u[:] = restart.u
    return Path(path)


def read_restart(path: str | Path) -> Restart:
    """Read and verify a restart file (format, checksum)."""
    path = Path(path)
    if not path.is_file():
        raise RestartError(f"restart file '{path}' does not exist")
    try:
        with netCDF4.Dataset(path) as ds:
            if getattr(ds, "hfc_restart_version", None) != FORMAT_VERSION:
                raise RestartError(f"'{path}' is not an hfc restart file (format {FORMAT_VERSION})")
            attrs = {key: ds.getncattr(key) for key in ds.ncattrs()}
            u = np.array(ds["u"][:], dtype=np.float64)
    except (OSError, KeyError) as exc:
        raise RestartError(f"cannot read restart file '{path}': {exc}") from None
    try:
        restart = Restart(float(attrs["time"]), u, int(attrs["steps"]), int(attrs["guard_fallback_faces"]),
                          {k[4:]: v for k, v in attrs.items() if k.startswith("run_")})
    except (KeyError, ValueError) as exc:
        raise RestartError(f"restart file '{path}' is incomplete or damaged: {exc!r}") from None
    if restart.nsteps < 0 or restart.fallback_faces < 0:
        raise RestartError(f"restart file '{path}' is damaged: negative counters (steps {restart.nsteps}, "
                           f"fallback faces {restart.fallback_faces})")
    if restart.checksum != attrs.get("checksum_sha256"):
        raise RestartError(f"restart file '{path}' fails its checksum: the state was corrupted or edited")
    return restart


def check_identity(path: str | Path, restart: Restart, identity: dict) -> None:
    """Refuse to continue a different run: every identity entry must match."""
    differ = [f"{key} = {restart.identity.get(key)!r} in the restart, {str(value)!r} here"
              for key, value in identity.items() if restart.identity.get(key) != str(value)]
    if differ:
        raise ConfigError(f"restart file '{path}' is from a different run: " + "; ".join(differ))
