"""netCDF4 output following the CF conventions, written atomically.

The file is built under a temporary name in the target folder and renamed into place
only when complete (after fsync), so a failed or interrupted run leaves no half-written
file behind and never clobbers an earlier good one.
"""
from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import netCDF4
import numpy as np

from coupler import __version__
from coupler.errors import ConfigError
from coupler.host import HostConfig
from training.forcing import Forcing


def publish(tmp: str | Path, path: str | Path) -> Path:
    """Rename a finished temporary file into place, with the permissions a plain `open`
    would have given it (mkstemp creates 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    os.replace(tmp, path)
    return Path(path)


def check_writable(path: str | Path) -> Path:
    """Fail early, before any work, if `path` cannot be created."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ConfigError(f"output '{path}' is a directory; give a file name such as {path / 'run.nc'}")
    if not folder.is_dir():
        raise ConfigError(f"output folder '{folder}' does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"output folder '{folder}' is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"output file '{path}' exists and is not writable")
    return path


class StateWriter:
    """Writes u(time, x) snapshots; use as a context manager."""

    def __init__(self, path: str | Path, config: HostConfig, attributes: dict,
                 forcing: Forcing | None = None):
        self.path = check_writable(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        try:
            self._ds = netCDF4.Dataset(self._tmp, "w", format="NETCDF4")
            self._define(config, attributes, forcing)
        except BaseException:
            self.abort()
            raise

    def _define(self, config: HostConfig, attributes: dict, forcing: Forcing | None) -> None:
        """Dimensions, coordinates, variables and global attributes."""
        ds = self._ds
        ds.Conventions = "CF-1.8"
        ds.title = f"{config.equation} on a periodic grid of {config.n} cells"
        ds.source = f"hfc {__version__} (hybrid flux coupler, Fortran host)"
        ds.equation = config.equation
        ds.n = np.int32(config.n)
        ds.length = config.length
        ds.viscosity = config.viscosity
        ds.velocity = config.velocity
        ds.code_version = __version__
        ds.netcdf4_python_version = netCDF4.__version__
        for key, value in attributes.items():
            setattr(ds, key, value)

        ds.createDimension("time", None)
        ds.createDimension("x", config.n)
        x = ds.createVariable("x", "f8", ("x",))
        x.standard_name = "projection_x_coordinate"
        x.long_name = "cell centre"
        x.units = "1"
        x.axis = "X"
        x[:] = config.cell_centres()
        t = ds.createVariable("time", "f8", ("time",))
        t.long_name = "time"
        t.units = "1"
        t.axis = "T"
        u = ds.createVariable("u", "f8", ("time", "x"), zlib=True, complevel=1)
        u.long_name = "cell average of the solution"
        u.units = "1"
        mass = ds.createVariable("mass", "f8", ("time",))
        mass.long_name = ("integral of u over the domain: dx times the correctly rounded sum (math.fsum) of "
                          "the cell averages, so the same bits for any MPI decomposition or summation order")
        mass.units = "1"
        self._t, self._u, self._mass, self._dx = t, u, mass, config.dx
        if forcing is not None and forcing.n_modes:
            ds.createDimension("mode", forcing.n_modes)
            for name, values, kind, meaning in (
                    ("forcing_amplitude", forcing.amplitude, "f8", "A_m"),
                    ("forcing_omega", forcing.omega, "f8", "omega_m"),
                    ("forcing_phase", forcing.phase, "f8", "phi_m"),
                    ("forcing_wavenumber", forcing.wavenumber, "i4", "l_m")):
                var = ds.createVariable(name, kind, ("mode",))
                var.long_name = f"forcing parameter {meaning} of sum_m A_m sin(omega_m t + 2 pi l_m x / L + phi_m)"
                var[:] = values

    def append(self, t: float, u: np.ndarray) -> None:
        i = len(self._t)
        self._t[i] = t
        self._u[i, :] = u
        self._mass[i] = self._dx * math.fsum(u)

    def set_attributes(self, **attributes) -> None:
        for key, value in attributes.items():
            setattr(self._ds, key, value)

    def close(self) -> Path:
        """Finish the file: flush, fsync, rename into place."""
        self._ds.sync()
        self._ds.close()
        with open(self._tmp, "rb") as fh:
            os.fsync(fh.fileno())
        return publish(self._tmp, self.path)

    def abort(self) -> None:
        """Drop the unfinished file."""
        try:
            self._ds.close()
        except Exception:   # already closed or broken: the file is removed regardless
            pass
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> "StateWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
