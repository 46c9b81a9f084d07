"""A Neural-IVP solution on disk: the network's parameters theta(t) at the output times in
netCDF (dimensions time and parameter; variables time(time) and theta(time, parameter),
float64), with the evaluator's metadata (coupler.ivp) and the run's provenance as global
attributes. Written atomically (coupler.io.atomic): the file appears whole or not at all."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np

from coupler import __version__
from coupler.errors import ConfigError
from coupler.io.atomic import AtomicFile, check_writable, printable


@dataclass(frozen=True)
class IVPTrajectory:
    times: np.ndarray            # (m,)
    thetas: np.ndarray           # (m, p)
    attributes: dict[str, str]

    def at(self, t: float) -> np.ndarray:
        """theta at an output time (exactly one of `times`)."""
        hits = np.flatnonzero(np.isclose(self.times, t, rtol=0.0, atol=1e-12 * max(1.0, abs(t))))
        if not hits.size:
            raise ConfigError(f"the trajectory holds theta at t = {', '.join(f'{v:g}' for v in self.times)}, "
                              f"not at {t:g}")
        return self.thetas[hits[0]]


def write_trajectory(path: str | Path, times, thetas, attributes: dict[str, str]) -> Path:
    path = check_writable(path)
    times, thetas = np.asarray(times, np.float64), np.asarray(thetas, np.float64)
    if thetas.ndim != 2 or thetas.shape[0] != times.shape[0]:
        raise ValueError(f"thetas must be (times, parameters), got {thetas.shape} for {times.shape[0]} times")
    with AtomicFile(path) as tmp:
        with netCDF4.Dataset(tmp, "w", format="NETCDF4") as ds:
            ds.createDimension("time", None)
            ds.createDimension("parameter", thetas.shape[1])
            t = ds.createVariable("time", "f8", ("time",))
            t.long_name = "time"
            theta = ds.createVariable("theta", "f8", ("time", "parameter"))
            theta.long_name = "Neural-IVP network parameters (the evaluator's input theta)"
            t[:] = times
            theta[:] = thetas
            ds.setncatts({**{k: str(v) for k, v in attributes.items()}, "title": "Neural-IVP trajectory theta(t)",
                          "code_version": __version__})
    return path


def read_trajectory(path: str | Path) -> IVPTrajectory:
    try:
        with netCDF4.Dataset(path) as ds:
            return IVPTrajectory(np.array(ds["time"][:], np.float64), np.array(ds["theta"][:], np.float64),
                                 {k: str(ds.getncattr(k)) for k in ds.ncattrs()})
    except (OSError, KeyError, IndexError) as exc:
        raise ConfigError(f"cannot read the Neural-IVP trajectory '{printable(path)}': {exc}; write it with "
                          "`hfc neural-ivp`") from None
