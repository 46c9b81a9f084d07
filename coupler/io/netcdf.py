"""netCDF4 output following the CF conventions, written atomically (coupler.io.atomic).

A StateWriter writes snapshots field(time, *dims) of a grid described by its coordinates
(1D: x; a 2D grid adds y), optional diagnostic series name(time), and a conservation
diagnostic `mass(time)`: the cell volume
times the correctly rounded sum (math.fsum) of the field, the same bits for any MPI
decomposition or summation order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np

from coupler import __version__
from coupler.io.atomic import AtomicFile, check_writable
from coupler.problems.forcing import Forcing


@dataclass(frozen=True)
class Coordinate:
    """One axis of the output grid: cell centres, with their CF description."""

    name: str
    values: np.ndarray
    long_name: str = "cell centre"
    standard_name: str = "projection_x_coordinate"
    axis: str = "X"
    units: str = "1"


class StateWriter:
    """Writes snapshots of `field` on the grid `coordinates` (slowest axis first); use as a
    context manager. The file appears under `path` only when closed after success."""

    def __init__(self, path: str | Path, coordinates: list[Coordinate], cell_volume: float, attributes: dict,
                 forcing: Forcing | None = None, field: str = "u",
                 field_long_name: str = "cell average of the solution", series: dict[str, str] | None = None):
        self.path = check_writable(path)
        self._file = AtomicFile(self.path)
        self._volume = cell_volume
        self._field = field
        self._series_names = dict(series or {})      # name -> long name of a diagnostic series(time)
        try:
            self._ds = netCDF4.Dataset(self._file.tmp, "w", format="NETCDF4")
            self._define(coordinates, attributes, forcing, field_long_name)
        except BaseException:
            self.abort()
            raise

    def _define(self, coordinates: list[Coordinate], attributes: dict, forcing: Forcing | None,
                field_long_name: str) -> None:
        """Dimensions, coordinates, variables and global attributes."""
        ds = self._ds
        ds.Conventions = "CF-1.8"
        ds.source = f"hfc {__version__} (hybrid flux coupler, Fortran host)"
        ds.code_version = __version__
        ds.netcdf4_python_version = netCDF4.__version__
        for key, value in attributes.items():
            setattr(ds, key, value)

        ds.createDimension("time", None)
        for c in coordinates:
            ds.createDimension(c.name, len(c.values))
            var = ds.createVariable(c.name, "f8", (c.name,))
            var.standard_name, var.long_name, var.units, var.axis = c.standard_name, c.long_name, c.units, c.axis
            var[:] = c.values
        t = ds.createVariable("time", "f8", ("time",))
        t.long_name = "time"
        t.units = "1"
        t.axis = "T"
        u = ds.createVariable(self._field, "f8", ("time", *(c.name for c in coordinates)), zlib=True, complevel=1)
        u.long_name = field_long_name
        u.units = "1"
        mass = ds.createVariable("mass", "f8", ("time",))
        mass.long_name = (f"integral of {self._field} over the domain: the cell volume times the correctly rounded "
                          "sum (math.fsum) of the cell averages, so the same bits for any MPI decomposition or "
                          "summation order")
        mass.units = "1"
        self._t, self._u, self._mass = t, u, mass
        self._series = {}
        for name, long_name in self._series_names.items():
            var = ds.createVariable(name, "f8", ("time",), fill_value=np.nan)
            var.long_name, var.units = long_name, "1"
            self._series[name] = var
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

    def append(self, t: float, u: np.ndarray, **series: float) -> None:
        """One snapshot, with a value for every diagnostic series of the writer."""
        if set(series) != set(self._series):
            raise ValueError(f"append needs the series {sorted(self._series)}, got {sorted(series)}")
        i = len(self._t)
        self._t[i] = t
        self._u[i, ...] = u
        self._mass[i] = self._volume * math.fsum(np.ravel(u))
        for name, value in series.items():
            self._series[name][i] = value

    def set_attributes(self, **attributes) -> None:
        for key, value in attributes.items():
            setattr(self._ds, key, value)

    def close(self) -> Path:
        """Finish the file: flush, fsync, rename into place."""
        self._ds.sync()
        self._ds.close()
        return self._file.commit()

    def abort(self) -> None:
        """Drop the unfinished file."""
        try:
            self._ds.close()
        except Exception:   # already closed or broken: the file is removed regardless
            pass
        self._file.abort()

    def __enter__(self) -> "StateWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
