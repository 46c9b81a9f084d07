"""The `hfc` command line. User mistakes give one line on stderr and a non-zero exit."""
from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from pathlib import Path

from coupler import __version__
from coupler.errors import AgreedError, HfcError, InterruptedRun, Terminated
from coupler.io.atomic import AtomicFile
from coupler.parallel import world_comm

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


def _lengths(text: str) -> tuple[float, ...]:
    """One domain length, or two (LX,LY) for a 2D grid."""
    parse = _float(0.0)
    values = tuple(parse(v) for v in text.split(","))
    if len(values) > 2:
        raise argparse.ArgumentTypeError(f"expected L or LX,LY, got '{text}'")
    return values


def _procs(text: str) -> tuple[int, int]:
    """PXxPY: the MPI ranks along x and y of a 2D run."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"expected PXxPY with positive rank counts, e.g. 3x2, got '{text}'")
    return int(parts[0]), int(parts[1])


def _stencil(text: str) -> tuple[int, int]:
    """NxT: the cells across and the rows along a face of a 2D learned stencil; N alone (a 1D
    stencil) gives (N, 0)."""
    parts = text.lower().split("x")
    if len(parts) not in (1, 2) or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"expected N (1D) or NxT (2D: cells across x rows along a face), e.g. 6 "
                                         f"or 2x3, got '{text}'")
    return int(parts[0]), int(parts[1]) if len(parts) == 2 else 0


def _add_simulate(sub) -> None:
    from coupler.limits import DEFAULT_MAX_STEPS
    from coupler.problems.advection2d import FLOWS, TRACERS
    from coupler.problems.equations import EQUATIONS, SCHEMES
    from coupler.problems.initial_conditions import INITIAL_CONDITIONS

    p = sub.add_parser("simulate", help="run the Fortran host with a classical or learned scheme and write netCDF",
                       description="Integrate a 1D periodic conservation law, or 2D passive-scalar advection "
                                   "(--equation advection2d), with the Fortran host and write u(time, x) or "
                                   "c(time, y, x) to a CF netCDF file.")
    p.add_argument("--equation", choices=list(EQUATIONS), default="burgers")
    p.add_argument("--scheme", choices=[*SCHEMES, "learned"], default=None,
                   help="flux scheme (default weno5 for Burgers and advection, polynomial for KdV and KS, "
                        "vanleer for advection2d; advection2d has upwind, vanleer, weno5)")
    p.add_argument("--model", default=None, help="exported model (.onnx) for --scheme learned")
    p.add_argument("--device", default="cpu",
                   help="cpu, cuda:N, or cuda = the GPU of the node-local MPI rank (learned; default cpu)")
    p.add_argument("--threads", type=_positive_int, default=1, help="ONNX Runtime threads (learned; default 1)")
    p.add_argument("--procs", type=_procs, default=(0, 0), metavar="PXxPY",
                   help="advection2d under mpirun: the ranks along x and y (default: MPI_Dims_create's choice)")
    p.add_argument("--backend", choices=["python", "fortran"], default="python",
                   help="who runs the model: onnxruntime called back from the Fortran loop (python, default) "
                        "or libhfc's binding over the ONNX Runtime C API (fortran)")
    p.add_argument("--reuse-coefficients", action="store_true",
                   help="1D learned, --backend fortran: run the network once per time step and apply its stencils "
                        "natively at the later Runge-Kutta stages (faster, slightly less accurate: hfc bench --front)")
    p.add_argument("--on-nonfinite", choices=["abort", "fallback"], default="abort",
                   help="non-finite fluxes: stop with an error (abort, default) or use the equation's classical "
                        "scheme (WENO5; KdV/KS: polynomial; advection2d: vanleer) at the affected faces and count "
                        "them (fallback); a non-finite state always stops the run")
    p.add_argument("--restart-every", type=_float(0.0), default=None,
                   help="write a restart every DT time units (a multiple of --save-every)")
    p.add_argument("--restart-file", default=None, help="restart file to write (default: OUTPUT.restart.nc)")
    p.add_argument("--restart-from", default=None, help="continue the run from this restart file")
    p.add_argument("--n", type=_positive_int, default=None, help="number of cells (1D equations)")
    p.add_argument("--nx", type=_positive_int, default=None, help="cells along x (advection2d)")
    p.add_argument("--ny", type=_positive_int, default=None, help="cells along y (advection2d; default --nx)")
    p.add_argument("--length", type=_lengths, default=None,
                   help="domain length, or LX,LY in 2D (default: the equation's, 2 pi Burgers and advection, "
                        "32 KdV, 64 KS, 1 advection2d, 2 pi with --velocity turbulence)")
    p.add_argument("--t-end", type=_float(0.0), default=None,
                   help="end time (required, except for the deformational flow: its period)")
    step = p.add_mutually_exclusive_group()
    step.add_argument("--cfl", type=_float(0.0), default=None,
                      help="Courant number (default 0.5; in 2D the peak over faces and time)")
    step.add_argument("--dt", type=_float(0.0), default=None, help="fixed time step")
    p.add_argument("--max-steps", type=_positive_int, default=DEFAULT_MAX_STEPS,
                   help=f"refuse a run estimated to need more time steps (default {DEFAULT_MAX_STEPS:.0e})")
    p.add_argument("--time-stepping", "--method", dest="method", choices=["ssprk3", "euler", "imex"], default=None,
                   help="SSP-RK3, forward Euler, or IMEX Euler (1D: the viscosity solved implicitly) (default "
                        "ssprk3; advection2d: euler, the paper's, except ssprk3 for weno5)")
    p.add_argument("--implicit-solver", choices=["jacobi", "sd", "cg", "gmres"], default=None,
                   help="the linear solver of the IMEX step (default jacobi)")
    p.add_argument("--implicit-iterations", type=_positive_int, default=None,
                   help="its iteration count K (GMRES: restarts; default: a learned model's, else 25)")
    p.add_argument("--implicit-restart", type=_positive_int, default=None,
                   help="GMRES's restart length (default 10)")
    p.add_argument("--viscosity", type=_float(0.0, strict=False), default=None,
                   help="eta (Burgers default 0.01, advection 0)")
    p.add_argument("--velocity", default=None,
                   help=f"1D advection: the velocity (default 1); advection2d: the field, one of "
                        f"{', '.join(FLOWS)} (default deformational)")
    p.add_argument("--velocity-x", type=_float(), default=None, help="u of --velocity constant (default 1)")
    p.add_argument("--velocity-y", type=_float(), default=None, help="v of --velocity constant (default 0)")
    p.add_argument("--period", type=_float(0.0), default=None,
                   help="period T of --velocity deformational (default 5, the paper's)")
    p.add_argument("--turbulence-resolution", dest="resolution", type=_positive_int, default=None,
                   help="--velocity turbulence: the spectral solver's grid (default 256, the paper's; its step "
                        "0.001 x 256 / N; the 4 s spin-up takes about a minute at 256)")
    p.add_argument("--frame-every", type=_float(0.0), default=None,
                   help="--velocity turbulence: interval of the velocity frames, linear in time between them "
                        "(default 0.05)")
    p.add_argument("--seed", type=int, default=0,
                   help="realization of the forcing (Burgers), of the random initial condition, or of the random "
                        "velocity field and tracers (advection2d) (default 0)")
    p.add_argument("--no-forcing", action="store_true", help="Burgers without forcing")
    p.add_argument("--ic", choices=list(INITIAL_CONDITIONS), default=None,
                   help="initial condition (default zero for Burgers, sine for advection, random for KdV and KS)")
    p.add_argument("--tracer", choices=list(TRACERS), default=None,
                   help="advection2d's initial tracer (default blob, the paper's Eq. 9; turbulence: blobs, its "
                        "ten random blobs)")
    p.add_argument("--save-every", type=_float(0.0), default=None, help="output interval (default t_end/100)")
    p.add_argument("--output", required=True, help="netCDF file to write")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_simulate)


def _problem(args: argparse.Namespace):
    """The ProblemConfig of the command line, and the default time-stepping method: the
    arguments of one dimension given for the other are refused."""
    from coupler.host import HostConfig
    from coupler.problems.advection2d import FLOWS, FlowConfig
    from coupler.problems.equations import EQUATIONS
    from coupler.simulate import ProblemConfig

    spec = EQUATIONS[args.equation]
    length = args.length[0] if args.length is not None and len(args.length) == 1 else args.length
    if spec.ndim == 1:
        wrong = [name for name, value in (("--nx", args.nx), ("--ny", args.ny), ("--tracer", args.tracer))
                 if value is not None]
        if wrong or (args.length is not None and len(args.length) > 1):
            raise HfcError(f"{', '.join(wrong) or 'LX,LY'} belong to advection2d; {args.equation} takes --n, "
                           "--length L and --ic")
        if args.n is None:
            raise HfcError(f"{args.equation} needs --n (the number of cells)")
        try:
            velocity = None if args.velocity is None else float(args.velocity)
        except ValueError:
            raise HfcError(f"--velocity of {args.equation} is a number, got '{args.velocity}'") from None
        host = HostConfig(args.equation, args.n, length, args.viscosity, velocity)
        return ProblemConfig(host, ic=args.ic, seed=args.seed, forcing=not args.no_forcing), "ssprk3"
    wrong = [name for name, value in (("--n", args.n), ("--ic", args.ic), ("--viscosity", args.viscosity))
             if value is not None]
    if wrong:
        raise HfcError(f"{', '.join(wrong)} belong to the 1D equations; advection2d takes --nx, --ny, --velocity "
                       "and --tracer")
    if args.nx is None:
        raise HfcError("advection2d needs --nx (and --ny, default --nx)")
    kind = args.velocity or "deformational"
    if kind not in FLOWS:
        raise HfcError(f"--velocity of advection2d is one of {', '.join(FLOWS)}, got '{kind}'")
    flow = FlowConfig(kind, **_flow_options(args, kind))
    host = HostConfig(args.equation, (args.nx, args.ny or args.nx), length if length is not None else flow.default_length)
    method = "ssprk3" if args.scheme == "weno5" else "euler"
    return ProblemConfig(host, ic=args.tracer, seed=args.seed, flow=flow), method


FLOW_OPTIONS = {"constant": ("velocity_x", "velocity_y"), "deformational": ("period",),
                "turbulence": ("resolution", "frame_every")}        # argparse names (dest)


def _flow_options(args: argparse.Namespace, kind: str) -> dict:
    """The FlowConfig fields the command line gives for a velocity field of `kind`; an option
    of another field is refused (it would be silently ignored)."""
    from coupler.problems.advection2d import FlowConfig

    flag = {"resolution": "--turbulence-resolution"}
    wrong = [flag.get(name, f"--{name.replace('_', '-')}") for other, names in FLOW_OPTIONS.items() if other != kind
             for name in names if getattr(args, name) is not None]
    if wrong:
        raise HfcError(f"{', '.join(wrong)} belong to another velocity field than --velocity {kind}")
    given = {name: getattr(args, name) for name in FLOW_OPTIONS.get(kind, ()) if getattr(args, name) is not None}
    if "velocity_x" in given or "velocity_y" in given:
        default = FlowConfig().velocity
        given["velocity"] = (given.pop("velocity_x", default[0]), given.pop("velocity_y", default[1]))
    return given


def _simulate(args: argparse.Namespace) -> int:
    from coupler.host import ImplicitConfig, TimeConfig
    from coupler.learned import RuntimeConfig
    from coupler.problems.equations import EQUATIONS
    from coupler.simulate import NumericsConfig, OutputConfig, RestartConfig, SimulationConfig, run

    problem, method = _problem(args)
    given = [a is not None for a in (args.implicit_solver, args.implicit_iterations, args.implicit_restart)]
    if any(given) and args.method != "imex":
        raise HfcError("--implicit-solver, --implicit-iterations and --implicit-restart belong to --time-stepping imex")
    if args.implicit_restart is not None and args.implicit_solver != "gmres":
        raise HfcError("--implicit-restart is the restart length of --implicit-solver gmres")
    schemes = EQUATIONS[args.equation].schemes
    scheme = args.scheme or ("vanleer" if "vanleer" in schemes else "weno5" if "weno5" in schemes else "polynomial")
    t_end = args.t_end
    if t_end is None:
        if problem.flow is None or problem.flow.kind != "deformational":
            raise HfcError("--t-end is required (only the deformational flow has a default: its period)")
        t_end = problem.flow.period
    config = SimulationConfig(
        problem=problem,
        numerics=NumericsConfig(scheme, args.model,
                                TimeConfig(cfl=args.cfl if args.cfl is not None else 0.5, dt=args.dt,
                                           method=args.method or method,
                                           implicit=ImplicitConfig(args.implicit_solver or "jacobi",
                                                                   args.implicit_iterations,
                                                                   args.implicit_restart or 10)),
                                args.on_nonfinite, args.max_steps),
        runtime=RuntimeConfig(args.device, args.threads, args.backend, args.procs, args.reuse_coefficients),
        output=OutputConfig(t_end, args.save_every,
                            RestartConfig(args.restart_every, args.restart_file, args.restart_from)))
    command = " ".join(["hfc", *sys.argv[1:]])
    comm = world_comm()
    result = run(config, args.output, progress=not args.quiet, extra_attributes={"history": command}, comm=comm)
    if comm is not None:
        report_ranks(comm, result)
        if comm.Get_rank() != 0:
            return 0
    print(f"wrote {args.output}: {len(result.times)} snapshots, {result.nsteps} steps, "
          f"{result.wall_seconds:.3f} s in the host ({result.ns_per_cell_stage:.1f} ns per cell-stage)"
          + (f", {result.fallback_faces} faces from the fallback scheme" if args.on_nonfinite == "fallback" else ""))
    return 0


def _add_bench(sub) -> None:
    p = sub.add_parser("bench", help="ns per cell per RK stage of each classical scheme (or the learned provider)")
    p.add_argument("--n", type=_positive_int, default=4096)
    p.add_argument("--steps", type=_positive_int, default=200)
    p.add_argument("--repeats", type=_positive_int, default=7)
    p.add_argument("--learned", action="store_true",
                   help="benchmark the learned provider instead: Python callback vs Fortran binding, "
                        "overhead per call, batches, GFLOP/s, accuracy for cost")
    p.add_argument("--mpi", action="store_true",
                   help="strong scaling 1 -> 2 MPI ranks at n = 2^16 (WENO5 and learned), halo exchange share")
    p.add_argument("--frames", action="store_true",
                   help="the cost of one output frame, and the demo's 64-cell rows (time in the host)")
    p.add_argument("--advection2d", action="store_true",
                   help="the 2D host: ns per cell-step of upwind, Van Leer, WENO5 at 256^2 and 1024^2, and strong "
                        "scaling 1 -> 2 ranks at 1024^2")
    p.add_argument("--front", action="store_true",
                   help="the accuracy-for-cost front: every trained 8x Burgers model (with and without "
                        "coefficient reuse) vs WENO5 at several resolutions, on 64 and 4096 cells, their stability "
                        "range, and the KS and KdV models vs the polynomial stencil; tables and a PNG")
    p.add_argument("--out", default=None, help="--front: folder of front.md, front.json, front.png (default "
                   "results/burgers-front)")
    p.set_defaults(func=_bench)


def _bench(args: argparse.Namespace) -> int:
    if args.out is not None and not args.front:
        raise HfcError("--out belongs to hfc bench --front")
    if args.front:
        from coupler.app.bench_front import main
        return main(Path(args.out or "results/burgers-front"))
    if args.advection2d:
        from coupler.app.bench_2d import main
        return main(args.repeats)
    if args.frames:
        from coupler.app.bench_frames import main
        return main(args.repeats)
    if args.mpi:
        from coupler.app.bench_mpi import main
        return main(min(args.repeats, 3))
    if args.learned:
        from coupler.app.bench_learned import main
        return main(args.repeats)
    from coupler.app.bench import main
    return main(args.n, args.steps, args.repeats)


def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="the main job: forced Burgers, coarse and fine, classical schemes")
    p.add_argument("--output-dir", default="results/demo")
    p.add_argument("--seeds", type=_positive_int, default=10, help="number of unseen forcings (default 10)")
    p.set_defaults(func=lambda a: __import__("coupler.app.demo", fromlist=["main"]).main(Path(a.output_dir), a.seeds))


def _factors(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"resample factors must be positive, got '{text}'")
    return values


def _add_data(sub) -> None:
    p = sub.add_parser("data", help="generate coarse-grained reference snapshots (netCDF)")
    p.add_argument("--equation", choices=["burgers", "kdv", "ks", "advection2d"], default="burgers")
    p.add_argument("--out", required=True, help="folder for train.nc, validation.nc, test.nc (advection2d: train.nc)")
    p.add_argument("--trajectories", type=_positive_int, default=None, help="default 800 (advection2d: 24; turbulence 20)")
    p.add_argument("--snapshots", type=_positive_int, default=None, help="per trajectory (default 10)")
    p.add_argument("--t-first", type=_float(0.0), default=None, help="first snapshot time (default: 1 Burgers, 0.5 KdV, 5 KS)")
    p.add_argument("--t-last", type=_float(0.0), default=None, help="last snapshot time (default: 50 Burgers, 10 KdV, 50 KS)")
    p.add_argument("--case", choices=["random", "square", "turbulence"], default=None,
                   help="advection2d: random flows with cosine bells (the deformational model's; default), the "
                        "square wave in a constant flow (the paper's first test), or ten blobs in decaying "
                        "turbulence (its Sec. III C: 20 trajectories, 32^2, 8x)")
    p.add_argument("--grid", type=_positive_int, default=None, help="advection2d: coarse cells a side (64; "
                   "turbulence 32)")
    p.add_argument("--factor", type=_positive_int, default=None, help="advection2d: fine / coarse resolution (4; "
                   "turbulence 8)")
    p.add_argument("--steps", type=_positive_int, default=None, help="advection2d: coarse steps per trajectory (128)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_data)


ONLY_2D = {"data": ("case", "grid", "factor", "steps"),
           "train": ("accuracy", "window"),
           "evaluate": ("backend", "case")}
ONLY_1D = {"data": ("snapshots", "t_first", "t_last"),
           "train": ("factor", "preset", "kind", "godunov", "unroll", "unroll_dt", "integrator", "courant", "init"),
           "evaluate": ("runs", "factors", "domain", "t_max", "baselines")}


def _refuse_foreign(args: argparse.Namespace, command: str) -> None:
    """Options of the other kind of equation (1D spectral data or 2D advection) are refused,
    not ignored."""
    two_d = args.equation == "advection2d"
    foreign = [name for name in (ONLY_1D if two_d else ONLY_2D)[command] if getattr(args, name) not in (None, False)]
    if foreign:
        flags = ", ".join("--" + name.replace("_", "-") for name in foreign)
        raise HfcError(f"{flags} {'do' if len(foreign) > 1 else 'does'} not apply to hfc {command} --equation "
                       f"{args.equation}")


def _data(args: argparse.Namespace) -> int:
    from coupler.io.atomic import check_path

    _refuse_foreign(args, "data")
    if args.equation == "advection2d":
        from training.advection_data import AdvectionDataConfig, generate as generate_2d

        given = {k: v for k, v in (("coarse", args.grid), ("factor", args.factor), ("steps", args.steps),
                                   ("trajectories", args.trajectories)) if v is not None}
        try:
            config = AdvectionDataConfig.for_case(args.case or "random", seed=args.seed, **given)
        except ValueError as exc:
            raise HfcError(str(exc)) from None
        out = check_path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        print(f"wrote {generate_2d(config, out / 'train.nc', progress=not args.quiet)}")
        return 0
    from training.data import DataConfig, generate

    extra = {k: v for k, v in (("t_first", args.t_first), ("t_last", args.t_last)) if v is not None}
    try:
        config = DataConfig(args.equation, args.trajectories or 800, args.snapshots or 10, seed=args.seed, **extra)
    except ValueError as exc:
        raise HfcError(str(exc)) from None
    paths = generate(config, check_path(args.out), progress=not args.quiet)
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a learned flux model on `hfc data` output")
    p.add_argument("--equation", choices=["burgers", "kdv", "ks", "advection2d"], default="burgers")
    p.add_argument("--factor", type=_positive_int, default=None, help="resample factor (default 8)")
    p.add_argument("--data", required=True, help="folder written by hfc data")
    p.add_argument("--out", required=True, help="folder for model.pt, model.json, log.csv, checkpoint.pt")
    p.add_argument("--preset", choices=["paper", "quick"], default=None, help="default quick")
    p.add_argument("--kind", choices=["network", "constant"], default=None, help="default network")
    p.add_argument("--godunov", action="store_true", help="Godunov flux for the convective term")
    p.add_argument("--steps", type=_positive_int, default=None)
    p.add_argument("--batch-size", type=_positive_int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--threads", type=_positive_int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--unroll", type=int, default=None, metavar="K",
                   help="unrolled loss over K steps instead of the time derivative (Burgers; paper: 8)")
    p.add_argument("--unroll-dt", type=_float(0.0), default=None, help="step of the unrolled loss (default 0.001, "
                   "the paper's)")
    p.add_argument("--integrator", choices=["euler", "midpoint", "ssprk3"], default=None,
                   help="time stepper of the unrolled loss (default midpoint, the paper's); euler or ssprk3 with "
                   "--courant train for that host method, recorded in the exported model, whose host refuses another")
    p.add_argument("--courant", type=_float(0.0), default=None, help="unrolled steps at this Courant number of each "
                   "sample (the host's stable-step rule) instead of --unroll-dt; above the classical limit trains "
                   "longer steps. Recorded in the exported model, the largest Courant number the host allows")
    p.add_argument("--layers", type=_positive_int, default=None, help="convolutions (1D: 3; advection2d: 4, paper 10)")
    p.add_argument("--channels", type=_positive_int, default=None, help="filters (1D: 32; advection2d: 32, paper 128)")
    p.add_argument("--kernel", type=_positive_int, default=None, help="odd kernel size of the hidden layers "
                   "(1D: 5; advection2d: 3)")
    p.add_argument("--stencil", type=_stencil, default=None, metavar="NxT",
                   help="cells around a face: 1D an even N (6); advection2d NxT, cells across x rows along a face "
                   "(2x3)")
    p.add_argument("--accuracy", type=_positive_int, default=None, help="advection2d: polynomial order (1, the paper's)")
    p.add_argument("--window", type=_positive_int, default=None, help="advection2d: unrolled Euler steps (10)")
    p.add_argument("--learning-rate", type=_float(0.0), default=None, help="Adam's rate (1D: the preset's, 3e-3; "
                   "advection2d: 1e-3)")
    p.add_argument("--init", default=None, metavar="DIR", help="start from the weights of the trained model in DIR "
                   "(the same kind and shape; e.g. a time-derivative model fine-tuned through --integrator)")
    p.add_argument("--resume", action="store_true", help="continue from checkpoint.pt in --out")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    _refuse_foreign(args, "train")
    if args.equation == "advection2d":
        return _train_2d(args)
    from training.train import Trainer, preset

    overrides = {"kind": args.kind or "network", "godunov": args.godunov, "seed": args.seed, "dtype": args.dtype,
                 "threads": args.threads or 0, "unroll": args.unroll or 0,
                 "unroll_dt": 1e-3 if args.unroll_dt is None else args.unroll_dt,
                 "integrator": args.integrator or "midpoint", "courant": args.courant or 0.0, "init": args.init or ""}
    if args.steps:
        overrides["steps"] = args.steps
        overrides["decay_step"] = args.steps // 2
    if args.batch_size:
        overrides["batch_size"] = args.batch_size
    overrides.update({k: getattr(args, k) for k in ("layers", "channels", "kernel", "learning_rate")
                      if getattr(args, k) is not None})
    if args.stencil is not None:
        if args.stencil[1]:
            raise HfcError(f"a 1D stencil is one number of cells (e.g. --stencil 6), not {args.stencil[0]}x{args.stencil[1]}")
        overrides["stencil"] = args.stencil[0]
    data = Path(args.data)
    if not (data / "train.nc").is_file() or not (data / "validation.nc").is_file():
        raise HfcError(f"{data} has no train.nc / validation.nc; create them with `hfc data --out {data}`")
    try:
        trainer = Trainer(preset(args.preset or "quick", args.equation, args.factor or 8, **overrides), data,
                          args.out, progress=not args.quiet)
    except ValueError as exc:
        raise HfcError(str(exc)) from None
    summary = trainer.run(resume=args.resume, progress=not args.quiet)
    print(f"wrote {args.out}/model.pt: validation loss {summary['validation_loss_initial']:.4f} -> "
          f"{summary['validation_loss_final']:.4f} after {summary['steps']} steps")
    return 0


def _train_2d(args: argparse.Namespace) -> int:
    from training.advection_train import AdvectionTrainConfig, AdvectionTrainer

    given = {k: getattr(args, k) for k in ("layers", "channels", "kernel", "accuracy", "window", "learning_rate",
                                           "steps", "batch_size", "threads") if getattr(args, k) is not None}
    if args.stencil is not None:
        if not args.stencil[1]:
            raise HfcError(f"a 2D stencil is NxT (cells across x rows along a face, e.g. 2x3), not {args.stencil[0]}")
        given["normal"], given["tangent"] = args.stencil
    data = Path(args.data) / "train.nc"
    if not data.is_file():
        raise HfcError(f"{args.data} has no train.nc; create it with `hfc data --equation advection2d --out {args.data}`")
    try:
        trainer = AdvectionTrainer(AdvectionTrainConfig(seed=args.seed, dtype=args.dtype, **given), data, args.out)
    except ValueError as exc:
        raise HfcError(str(exc)) from None
    summary = trainer.run(resume=args.resume, progress=not args.quiet)
    print(f"wrote {args.out}/model.pt: validation MAE {summary['validation_loss_initial']:.3e} -> "
          f"{summary['validation_loss_final']:.3e} after {summary['steps']} steps")
    return 0


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="score learned and baseline schemes against the reference")
    p.add_argument("--equation", choices=["burgers", "kdv", "ks", "advection2d"], default="burgers")
    p.add_argument("--models", default=None,
                   help="folder of trained models laid out as <name>/<factor>x/model.json (advection2d: "
                        "<name>/<cells>/model.json, trained for that grid: 64 deformational, 32 square and "
                        "turbulence)")
    p.add_argument("--out", required=True, help="folder for table.md, metrics.json and plots")
    p.add_argument("--runs", type=_positive_int, default=None, help="default 100")
    p.add_argument("--factors", type=_factors, default=None, help="default 2,4,8,16,32")
    p.add_argument("--domain", type=_positive_int, default=None, help="domain length multiplier (10: generalization)")
    p.add_argument("--t-max", type=_float(0.0), default=None, help="default 100")
    p.add_argument("--baselines", action="store_true", help="also the standard polynomial stencil (torch)")
    p.add_argument("--backend", choices=["python", "fortran"], default=None,
                   help="advection2d: who runs the learned models (default fortran)")
    p.add_argument("--case", choices=["deformational", "square", "turbulence"], default=None,
                   help="advection2d: the deformational flow at 64^2 (default), the square wave at 32 cells, or "
                        "blobs in decaying turbulence at 32^2 with the accuracy-for-cost front")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    _refuse_foreign(args, "evaluate")
    if args.equation == "advection2d":
        return _evaluate_2d(args)
    from training.evaluate import EvalConfig, evaluate
    from training.models import FluxModel, ModelConfig
    from training.train import load_model

    config = EvalConfig(args.equation, args.runs or 100, 100.0 if args.t_max is None else args.t_max,
                        factors=args.factors or (2, 4, 8, 16, 32), domain=args.domain or 1)
    models: dict = {}
    if args.models:
        folder = Path(args.models)
        if not folder.is_dir():
            raise HfcError(f"models folder '{folder}' does not exist (expected <name>/<factor>x/model.json in it)")
        for path in sorted(folder.glob("*/*x/model.json")):
            factor = int(path.parent.name[:-1]) if path.parent.name[:-1].isdigit() else None
            if factor in config.factors:
                models.setdefault(path.parent.parent.name, {})[factor] = load_model(path.parent)
        if not models:
            raise HfcError(f"no trained model for factors {', '.join(map(str, config.factors))} in '{folder}' "
                           "(expected <name>/<factor>x/model.json, as `hfc train --out` writes)")
    if args.baselines or args.equation != "burgers":
        from training.equations import make_equation
        length = make_equation(args.equation).length
        models["polynomial"] = {f: FluxModel(ModelConfig(args.equation, "baseline", dx=length * config.domain / (config.n_fine // f)))
                                for f in config.factors}
    evaluate(config, models, args.out, progress=not args.quiet)
    print((Path(args.out) / "table.md").read_text())
    return 0


def _evaluate_2d(args: argparse.Namespace) -> int:
    """The deformational-flow test at 64^2, the square wave at 32 cells or the turbulence test
    at 32^2: the baselines and every trained model in --models (<name>/<cells>/model.json),
    exported to float32 ONNX into the output folder on the way."""
    from coupler.io.atomic import check_path
    from export.onnx_export import export
    from training.advection_evaluate import Row, baselines, deformational, square, turbulence

    case = args.case or "deformational"
    cells = 64 if case == "deformational" else 32
    out = check_path(args.out)
    found = []
    if args.models:
        folder = Path(args.models)
        if not folder.is_dir():
            raise HfcError(f"models folder '{folder}' does not exist (expected <name>/{cells}/model.json in it)")
        found = sorted(folder.glob(f"*/{cells}/model.json"))
        if not found:
            raise HfcError(f"no trained 2D model in '{folder}' (expected <name>/{cells}/model.json, as "
                           "`hfc train --equation advection2d --out` writes)")
    out.mkdir(parents=True, exist_ok=True)
    models = {path.parent.parent.name: export(path.parent, out / f"{path.parent.parent.name}_{cells}.onnx").path
              for path in found}
    command = f"hfc evaluate --equation advection2d --out {args.out}" + \
        (f" --models {args.models}" if args.models else "") + (f" --case {case}" if args.case else "")
    if case == "square":
        square(models, out, backend=args.backend or "fortran", command=command)
    elif case == "turbulence":
        turbulence(models, out, backend=args.backend or "fortran", command=command, progress=not args.quiet)
    else:
        rows = [Row(f"{name} 64", "learned", 64, model=path) for name, path in models.items()]
        deformational(rows + baselines(64), out, args.backend or "fortran", command)
    print((Path(args.out) / "table.md").read_text())
    return 0


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="export a trained model to ONNX, verified against torch, with a model card")
    p.add_argument("--model", required=True, help="folder of a trained model (model.json, model.pt)")
    p.add_argument("--out", required=True, help="ONNX file to write (the model card goes beside it)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from export.onnx_export import ExportConfig, ExportError, export

    model = Path(args.model)
    if not (model / "model.json").is_file() or not (model / "model.pt").is_file():
        raise HfcError(f"{model} holds no trained model (model.json, model.pt); train one with `hfc train`")
    from coupler.io.atomic import check_path, check_writable
    out = check_path(args.out)
    if out.suffix != ".onnx":
        raise HfcError(f"the output file should end in .onnx, got '{out}'")
    check_writable(out)
    try:
        report = export(model, out, ExportConfig(args.dtype))
    except ExportError as exc:
        raise HfcError(str(exc)) from None
    print(f"wrote {report.path} ({report.metadata['dtype']}, halo {report.metadata['halo']}, sha256 "
          f"{report.sha256[:12]}); ONNX Runtime vs torch max relative difference {report.max_relative_error:.2g}; "
          f"model card {report.path.with_suffix('.md')}")
    return 0


def _add_prdp(sub) -> None:
    p = sub.add_parser("prdp", help="the PRDP paper's experiments: converged vs progressively refined physics")
    p.add_argument("--case", required=True, choices=["poisson", "heat1d", "heat2d", "burgers1d", "hybrid"],
                   help="poisson: the inverse problem (5 rows); heat1d, heat2d, burgers1d: the neural emulators; "
                        "hybrid: a learned flux trained through the host's IMEX step, exported and run by the host")
    p.add_argument("--out", required=True, help="folder for results.json, table.md and figure.png")
    p.add_argument("--seeds", type=_positive_int, default=5, help="training seeds per emulator set-up (default 5)")
    p.add_argument("--no-sweep", action="store_true", help="skip the exhaustive fixed-K sweep of an emulator")
    p.add_argument("--smoothing", type=_positive_int, help="override the controller's smoothing span")
    p.add_argument("--resume", action="store_true",
                   help="emulators: take the trainings already finished in OUT/runs/ (same set-up) instead of "
                        "training them again")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_prdp)


def _prdp(args: argparse.Namespace) -> int:
    from coupler.io.atomic import check_path
    from training.prdp_results import run

    unused = {"poisson": ("seeds", "no_sweep", "smoothing", "resume"), "hybrid": ("no_sweep", "smoothing", "resume")}
    default = {"seeds": 5, "no_sweep": False, "smoothing": None, "resume": False}
    for name in unused.get(args.case, ()):
        if getattr(args, name) != default[name]:
            raise HfcError(f"--{name.replace('_', '-')} does not apply to --case {args.case}")

    command = f"hfc prdp --case {args.case} --out {args.out}" + ("" if args.case == "poisson" else (
        f" --seeds {args.seeds}" + (" --no-sweep" if args.no_sweep and args.case != "hybrid" else "") +
        (f" --smoothing {args.smoothing}" if args.smoothing else "")))
    out = check_path(args.out)
    if args.case == "hybrid":
        from coupler.app import prdp_hybrid
        out.mkdir(parents=True, exist_ok=True)
        print(prdp_hybrid.run(out, command, args.seeds, progress=not args.quiet))
        return 0
    print(run(args.case, out, command, args.seeds, not args.no_sweep, args.smoothing, progress=not args.quiet,
              resume=args.resume))
    return 0


def _add_neural_ivp(sub) -> None:
    p = sub.add_parser("neural-ivp", help="the Neural-IVP paper's experiments: Neural-IVP against EDNN, the solution "
                                          "exported for hosts")
    p.add_argument("--pde", required=True, choices=["advection", "heat", "wave", "fokker-planck"],
                   help="advection, heat: 2D with exact solutions (advection also runs the solution in the Fortran "
                        "FV host); wave: 3D outgoing spherical wave, with finite differences; fokker-planck: d = 8")
    p.add_argument("--out", required=True, help="folder for table.md, results.json, figure.png, evaluator.onnx and "
                                                "trajectory.nc")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_neural_ivp)


def _neural_ivp(args: argparse.Namespace) -> int:
    from coupler.app import neural_ivp
    from coupler.io.atomic import check_path

    out = check_path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(neural_ivp.run(args.pde, out, f"hfc neural-ivp --pde {args.pde} --out {args.out}", progress=not args.quiet))
    return 0


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="where the Fortran libraries, modules, pkg-config and CMake files are")
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
    try:
        from coupler.host import onnx_runtime

        library, version = onnx_runtime()
        print(f"{'onnxruntime':10s} {version} {library} (used by the Fortran path; override with HFC_ONNXRUNTIME_LIB)")
    except HfcError as exc:
        print(f"{'onnxruntime':10s} not available to the Fortran path: {exc}")
    print(f"\nbuild a Fortran program against libhfc:\n"
          f"  export PKG_CONFIG_PATH={paths['pkgconfig']}\n"
          f"  gfortran prog.f90 $(pkg-config --cflags --libs hfc)          # serial\n"
          f"  mpifort prog.f90 $(pkg-config --cflags --libs hfc-mpi)       # with the MPI decompositions\n"
          f"or with CMake: cmake -DCMAKE_PREFIX_PATH={paths['lib'].parent} ... and find_package(hfc CONFIG)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hfc", description="Hybrid flux coupler: Fortran finite-volume host with pluggable fluxes.")
    parser.add_argument("--version", action="version", version=f"hfc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_simulate(sub)
    _add_bench(sub)
    _add_demo(sub)
    _add_data(sub)
    _add_train(sub)
    _add_evaluate(sub)
    _add_export(sub)
    _add_prdp(sub)
    _add_neural_ivp(sub)
    _add_info(sub)
    return parser


def report_ranks(comm, result) -> None:
    """Per-rank timers, printed by rank 0: time in the host and in the halo exchange."""
    rows = comm.gather((result.wall_seconds, result.halo_seconds), root=0)
    if comm.Get_rank() == 0:
        for rank, (wall, halo) in enumerate(rows):
            print(f"rank {rank}: {wall:.3f} s in the host, {halo:.3f} s ({halo / max(wall, 1e-300):.0%}) "
                  "in halo exchange")


def _terminated_in(pid: int):
    """The SIGTERM handler of process `pid`: unwind it with Terminated. A forked worker
    (process pools of data and evaluate) inherits the handler; it exits at once instead,
    quietly, and its parent reports."""
    def handler(signum, frame) -> None:
        if os.getpid() != pid:
            os._exit(128 + signum)
        raise Terminated(signum)
    return handler


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # SIGTERM (batch schedulers) unwinds like SIGINT, so temporary files are removed on the
    # way out; inside the Fortran time loop both stop the host at the end of the step.
    signal.signal(signal.SIGTERM, _terminated_in(os.getpid()))
    from coupler.host import stop_on_signals
    stop_on_signals((signal.SIGINT, signal.SIGTERM))
    try:
        return args.func(args)
    except (KeyboardInterrupt, Terminated, InterruptedRun) as exc:
        AtomicFile.abort_pending()     # a temporary the signal caught between creation and its `with`
        signum = signal.SIGINT if isinstance(exc, KeyboardInterrupt) else exc.signum
        comm = world_comm()
        if comm is None or comm.Get_rank() == 0:
            kept = " (restarts already written are kept)" if args.command == "simulate" else ""
            print(f"hfc {args.command}: stopped by {signal.Signals(signum).name}; temporary files removed{kept}",
                  file=sys.stderr)
        return 128 + signum
    except AgreedError as exc:   # the ranks agreed on it (the Fortran library, the configuration check)
        comm = world_comm()
        if comm is None or comm.Get_rank() == 0:
            print(f"hfc {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except (HfcError, OSError) as exc:   # user errors and I/O failures: one line, no traceback
        comm = world_comm()
        if comm is not None:   # possibly this rank alone: say which, and stop every rank now
            print(f"hfc {args.command}: error on rank {comm.Get_rank()}: {exc}", file=sys.stderr, flush=True)
            comm.Abort(EXIT_FAILURE)
        print(f"hfc {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except BaseException as exc:
        comm = world_comm()
        if comm is not None and not isinstance(exc, SystemExit):
            # anything else under MPI: never leave the other ranks waiting in a collective
            print(f"hfc {args.command}: unexpected error on rank {comm.Get_rank()}: {exc!r}", file=sys.stderr,
                  flush=True)
            comm.Abort(EXIT_FAILURE)
        raise


if __name__ == "__main__":
    sys.exit(main())
