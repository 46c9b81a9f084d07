"""The `hfc` command line. User mistakes give one line on stderr and a non-zero exit."""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from coupler import __version__
from coupler.errors import HfcError

EXIT_USAGE = 2
EXIT_FAILURE = 1


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error instead of usage text."""

    def error(self, message: str) -> None:   # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _float(low: float | None = None, strict: bool = True):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got '{text}'")
        if low is not None and (value <= low if strict else value < low):
            raise argparse.ArgumentTypeError(f"expected a number {'>' if strict else '>='} {low:g}, got {value:g}")
        return value
    return parse


def _add_simulate(sub) -> None:
    p = sub.add_parser("simulate", help="run the Fortran host with a classical scheme and write netCDF",
                       description="Integrate a 1D periodic conservation law with the Fortran host "
                                   "and write u(time, x) to a CF netCDF file.")
    p.add_argument("--equation", choices=["burgers", "advection"], default="burgers")
    p.add_argument("--scheme", choices=["godunov", "fv3", "weno5"], default="weno5")
    p.add_argument("--n", type=_positive_int, required=True, help="number of cells")
    p.add_argument("--length", type=_float(0.0), default=2 * math.pi, help="domain length (default 2 pi)")
    p.add_argument("--t-end", type=_float(0.0), required=True, help="end time")
    step = p.add_mutually_exclusive_group()
    step.add_argument("--cfl", type=_float(0.0), default=None, help="Courant number (default 0.5)")
    step.add_argument("--dt", type=_float(0.0), default=None, help="fixed time step")
    p.add_argument("--viscosity", type=_float(0.0, strict=False), default=None,
                   help="eta (default 0.01 for Burgers, 0 for advection)")
    p.add_argument("--velocity", type=_float(), default=1.0, help="advection velocity (default 1)")
    p.add_argument("--seed", type=int, default=0, help="forcing realization (Burgers; default 0)")
    p.add_argument("--no-forcing", action="store_true", help="Burgers without forcing")
    p.add_argument("--ic", choices=["zero", "sine", "gaussian"], default=None,
                   help="initial condition (default zero for Burgers, sine for advection)")
    p.add_argument("--save-every", type=_float(0.0), default=None, help="output interval (default t_end/100)")
    p.add_argument("--output", required=True, help="netCDF file to write")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    from coupler.host import HostConfig, TimeConfig
    from coupler.simulate import SimulationConfig, run

    burgers = args.equation == "burgers"
    viscosity = args.viscosity if args.viscosity is not None else (0.01 if burgers else 0.0)
    config = SimulationConfig(
        host=HostConfig(args.equation, args.n, args.length, viscosity, args.velocity),
        scheme=args.scheme,
        time=TimeConfig(cfl=args.cfl if args.cfl is not None else 0.5, dt=args.dt),
        t_end=args.t_end, save_every=args.save_every,
        ic=args.ic or ("zero" if burgers else "sine"),
        seed=args.seed, forcing=not args.no_forcing)
    command = " ".join(["hfc", *sys.argv[1:]])
    result = run(config, args.output, progress=not args.quiet, extra_attributes={"history": command})
    print(f"wrote {args.output}: {len(result.times)} snapshots, {result.nsteps} steps, "
          f"{result.wall_seconds:.3f} s in the host ({result.ns_per_cell_stage:.1f} ns per cell-stage)")
    return 0


def _add_bench(sub) -> None:
    p = sub.add_parser("bench", help="ns per cell per RK stage of each classical scheme")
    p.add_argument("--n", type=_positive_int, default=4096)
    p.add_argument("--steps", type=_positive_int, default=200)
    p.add_argument("--repeats", type=_positive_int, default=7)
    p.set_defaults(func=lambda a: __import__("coupler.bench", fromlist=["main"]).main(a.n, a.steps, a.repeats))


def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="the main job: forced Burgers, coarse and fine, classical schemes")
    p.add_argument("--output-dir", default="results/demo")
    p.add_argument("--seeds", type=_positive_int, default=10, help="number of unseen forcings (default 10)")
    p.set_defaults(func=lambda a: __import__("coupler.demo", fromlist=["main"]).main(Path(a.output_dir), a.seeds))


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="where the Fortran library, modules and pkg-config file are")
    p.add_argument("--pkg-config-path", action="store_true", help="print only the folder of hfc.pc")
    p.set_defaults(func=_info)


def _info(args: argparse.Namespace) -> int:
    from coupler.paths import fortran_paths

    paths = fortran_paths()
    if args.pkg_config_path:
        print(paths["pkgconfig"])
        return 0
    print(f"hfc {__version__}")
    for key, value in paths.items():
        print(f"{key:10s} {value}")
    print(f"\nbuild a Fortran program against libhfc:\n"
          f"  export PKG_CONFIG_PATH={paths['pkgconfig']}\n"
          f"  gfortran prog.f90 $(pkg-config --cflags --libs hfc)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hfc", description="Hybrid flux coupler: Fortran finite-volume host with pluggable fluxes.")
    parser.add_argument("--version", action="version", version=f"hfc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_simulate(sub)
    _add_bench(sub)
    _add_demo(sub)
    _add_info(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except HfcError as exc:
        print(f"hfc {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(f"hfc {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
