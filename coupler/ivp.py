"""Neural-IVP solutions in a finite-volume host (Finzi et al. 2023 via `hfc neural-ivp`): an
evaluator is an ONNX model u(x, theta) (inputs x (points, dims) and theta (parameters,),
output u (points, components), float64) and a trajectory file holds theta(t)
(coupler.io.trajectory). The Fortran library (hfc_ivp_evaluator) reads the evaluator's
metadata and integrates it over the cells of a grid by Gauss-Legendre quadrature: cell
averages an FV host starts from or compares with."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from coupler.errors import HfcError
from coupler.schema import ModelError
from coupler.fortran_bindings import hfc_api as _api
from coupler.host import _check
from coupler.learned import read_model_bytes

KIND = "neural-ivp-evaluator"          # the metadata model_kind of an evaluator (hfc_ivp_evaluator's HFC_IVP_KIND)
INPUTS, OUTPUTS = ("x", "theta"), ("u",)
# metadata an evaluator carries: what hfc_ivp_evaluator reads, then where its solution lives
KEYS = ("model_kind", "space_dimensions", "parameters", "components", "domain_low", "domain_high", "boundary_factor",
        "ansatz", "pde")


class IVPEvaluator:
    """A Neural-IVP evaluator loaded into the Fortran library (ONNX Runtime's C API)."""

    def __init__(self, path: str | Path, threads: int = 1, library: str = ""):
        self.path = Path(path)
        self.id = 0
        data = read_model_bytes(self.path)
        try:
            ident, dims, parameters, components, stat, errmsg = _api.api_ivp_load(
                np.frombuffer(data, dtype=np.int8), library, threads)
            _check(stat, errmsg)
        except HfcError as exc:
            raise ModelError(f"'{self.path}': {exc}") from None
        self.id, self.dims, self.parameters, self.components = int(ident), int(dims), int(parameters), int(components)
        self.metadata, i = {}, 1
        while True:                                         # every entry (an error past the last)
            key, value, stat, _ = _api.api_onnx_entry(self.id, i)
            if stat:
                break
            self.metadata[key.strip()] = value.rstrip()
            i += 1

    def cell_averages(self, theta: np.ndarray, lower: tuple[float, ...], widths: tuple[float, ...],
                      cells: tuple[int, ...], order: int = 4) -> np.ndarray:
        """The average of u(., theta) over every cell of the grid of `cells` (x first) of
        `widths` from the corner `lower`: an array of the host's state shape ((n,) in 1D,
        (ny, nx) in 2D), with a trailing axis of the components when there are several."""
        nx, ny = (tuple(cells) + (1,))[:2]
        averages = np.zeros((self.components, nx, ny), order="F")
        pad = lambda v: np.asarray(tuple(v) + (0.0,) * (2 - len(v)), np.float64)            # noqa: E731
        _check(*_api.api_ivp_cell_averages(self.id, np.asarray(theta, np.float64), pad(lower), pad(widths),
                                           int(order), averages))
        out = np.moveaxis(averages, 0, -1).transpose(1, 0, 2)                                 # (ny, nx, k)
        out = out[0] if len(cells) == 1 else out
        return out[..., 0] if self.components == 1 else out

    def close(self) -> None:
        if getattr(self, "id", 0):
            _api.api_onnx_free(self.id)
            self.id = 0

    def __del__(self):
        self.close()
