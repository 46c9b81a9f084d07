"""The metadata schema of exported flux models (ONNX metadata_props), in one place: the
exporter writes it (ModelMetadata.to_props), both runtimes read it (from_props) and check a
host against it (check_host). The Fortran library reads the same keys into its typed record
(fortran/src/onnx/hfc_model_meta.f90); tests/test_schema.py holds the two key lists equal.

Keys every model carries (REQUIRED): the schema version, the equation, the number of space
dimensions, the halo width g, the grid spacing and the domain length it was trained for,
the viscosity (0 where the equation has none), the graph's input and output names
(comma-separated, in graph order), and the dtype. Beside them: what the inputs and
outputs mean, the number of cells, the resample factor, and provenance (training command,
dataset hash, validation loss, code and torch versions). A 2D model also carries `dy`, its
grid spacing along y (dx is along x; length is the domain along x).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from coupler.errors import ConfigError, HfcError

SCHEMA_VERSION = "1"
SCHEMA_VERSIONS = ("1",)
REQUIRED = ("hfc_schema_version", "equation", "space_dimensions", "halo", "dx", "length", "viscosity",
            "input_name", "output_name", "dtype")
DTYPES = ("float32", "float64")
# Courant number a learned model may run at unless its metadata `courant` says more (the
# classical explicit limit; models trained on the time derivative learned no step at all)
CLASSICAL_COURANT = 1.0
METHOD_NAMES = {"euler": "forward Euler", "ssprk3": "SSP-RK3", "midpoint": "midpoint"}


class ModelError(HfcError):
    """A model file that cannot be used: not ONNX, truncated, wrong signature or metadata."""


@dataclass(frozen=True)
class ModelMetadata:
    equation: str
    space_dimensions: int
    halo: int
    dx: float
    length: float
    viscosity: float
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    dtype: str
    schema_version: str = SCHEMA_VERSION
    extra: dict = field(default_factory=dict)   # meanings, cells, resample factor, provenance

    @classmethod
    def from_props(cls, props: dict, path: str | Path = "model") -> "ModelMetadata":
        """Parse and check metadata_props (a str -> str mapping)."""
        missing = [k for k in REQUIRED if k not in props]
        if missing:
            raise ModelError(f"'{path}' lacks the hfc metadata {', '.join(missing)}; export it with `hfc export`")
        if props["hfc_schema_version"] not in SCHEMA_VERSIONS:
            raise ModelError(f"'{path}': metadata schema version {props['hfc_schema_version']} "
                             f"is not supported (expected {', '.join(SCHEMA_VERSIONS)})")
        if props["dtype"] not in DTYPES:
            raise ModelError(f"'{path}': metadata dtype {props['dtype']} is not one of {', '.join(DTYPES)}")

        def number(key, kind):
            try:
                value = kind(props[key])
            except ValueError:
                raise ModelError(f"'{path}': metadata {key} = '{props[key]}' is not a {kind.__name__}") from None
            return value

        halo, dims = number("halo", int), number("space_dimensions", int)
        if halo < 0 or dims < 1:
            raise ModelError(f"'{path}': metadata halo = {halo} / space_dimensions = {dims} out of range")
        if dims == 2 and "dy" not in props:
            raise ModelError(f"'{path}' is a 2D model without the hfc metadata dy; export it with `hfc export`")
        for key in ("dx", "length", "viscosity") + (("dy",) if dims == 2 else ()):
            if not math.isfinite(number(key, float)):
                raise ModelError(f"'{path}': metadata {key} = {props[key]} is not finite")
        if "courant" in props and not (math.isfinite(number("courant", float)) and number("courant", float) > 0):
            raise ModelError(f"'{path}': metadata courant = {props['courant']} is not a positive finite number")
        return cls(props["equation"], dims, halo, number("dx", float), number("length", float),
                   number("viscosity", float), tuple(props["input_name"].split(",")),
                   tuple(props["output_name"].split(",")), props["dtype"], props["hfc_schema_version"],
                   {k: v for k, v in props.items() if k not in REQUIRED})

    def to_props(self) -> dict[str, str]:
        """metadata_props as the exporter writes them (the required keys first)."""
        return {"hfc_schema_version": self.schema_version, "equation": self.equation,
                "space_dimensions": str(self.space_dimensions), "halo": str(self.halo), "dx": repr(float(self.dx)),
                "length": repr(float(self.length)), "viscosity": repr(float(self.viscosity)),
                "input_name": ",".join(self.inputs), "output_name": ",".join(self.outputs), "dtype": self.dtype,
                **{k: str(v) for k, v in self.extra.items()}}

    def check_time(self, path, method: str, solver: str, dt: float | None, diffusivity: float,
                   velocity: float = 0.0, cfl: float | None = None) -> None:
        """Refuse time stepping the model was not trained for. A model trained through the
        host's IMEX step (metadata time_stepping = imex) runs only in that step, with its
        solver, time step, diffusivity and velocity (the iteration count may differ: K_max
        is the model's default, other K are the user's experiment); an explicit model does
        not run under IMEX, whose provider law lacks the viscosity its flux includes. A model
        trained through an explicit method (time_stepping = euler or ssprk3) runs only in it;
        the host's Courant number `cfl` (None: a fixed dt) may not exceed the model's
        `courant` (the classical limit CLASSICAL_COURANT for a model that declares none: a
        model runs beyond it only when trained to)."""
        declared = self.extra.get("time_stepping")
        if declared != "imex":
            if method == "imex":
                raise ConfigError(f"model '{path}' was trained for explicit time stepping; IMEX needs a flux trained "
                                  "through the implicit step (hfc prdp --case hybrid)")
            if declared is not None and method != declared:
                raise ConfigError(f"model '{path}' was trained through {METHOD_NAMES.get(declared, declared)} steps; "
                                  f"run it with --time-stepping {declared}")
            courant = float(self.extra.get("courant", CLASSICAL_COURANT))     # checked in from_props
            if cfl is not None and cfl > courant * (1 + 1e-12):
                raise ConfigError(f"model '{path}' was trained for Courant numbers up to {courant:g}; the host asks for "
                                  f"--cfl {cfl:g} (use --cfl {courant:g} or less)")
            return
        step, nu, name = float(self.extra["time_step"]), float(self.extra["diffusivity"]), self.extra["implicit_solver"]
        a = float(self.extra.get("velocity", velocity))
        if method != "imex" or solver != name or dt is None or not math.isclose(dt, step, rel_tol=1e-9) \
                or not math.isclose(diffusivity, nu, rel_tol=1e-12) or not math.isclose(velocity, a, rel_tol=1e-12):
            raise ConfigError(f"model '{path}' was trained in an IMEX Euler step with diffusivity {nu!r}, velocity "
                              f"{a!r} and a {name} solve at dt = {step!r}: run it with --time-stepping imex "
                              f"--implicit-solver {name} --dt {step!r} --viscosity {nu!r} --velocity {a!r}")

    def check_host(self, path, equation: str, dx: float, n: int, length: float, viscosity: float,
                   space_dimensions: int = 1, dy: float | None = None) -> None:
        """Refuse a host whose equation, dimensions, grid spacing or viscosity the model was
        not trained for (the Fortran library checks the same in hfc_model_meta)."""
        for name, expected, found in (("equation", self.equation, equation),
                                      ("space_dimensions", str(self.space_dimensions), str(space_dimensions))):
            if expected != found:
                raise ConfigError(f"model '{path}' metadata {name} = {expected}, the host has {found}")
        if not math.isclose(self.dx, dx, rel_tol=1e-9):
            raise ConfigError(f"model '{path}' metadata dx = {self.dx:.9g} (length {self.length:.6g} / "
                              f"{self.extra.get('cells', '?')} cells), the host has dx = {dx:.9g} ({length:.6g} / "
                              f"{n}); use a grid with the model's spacing")
        if dy is not None and not math.isclose(float(self.extra["dy"]), dy, rel_tol=1e-9):
            raise ConfigError(f"model '{path}' metadata dy = {float(self.extra['dy']):.9g}, the host has dy = {dy:.9g}; "
                              "use a grid with the model's spacing")
        if not math.isclose(self.viscosity, viscosity, rel_tol=1e-12, abs_tol=0.0) and not (
                self.viscosity == 0 and viscosity == 0):
            raise ConfigError(f"model '{path}' metadata viscosity = {self.viscosity!r}, the host has {viscosity:g}")
