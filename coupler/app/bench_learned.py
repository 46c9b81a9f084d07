"""`hfc bench --learned`: the cost of learned face fluxes in the Fortran host, one core.

Side by side in one process, medians of repeats, with the committed Burgers 8x network
(float32, ONNX Runtime with one intra-op thread):

1. ns per cell per RK stage of the full host step at n = 64, 512, 4096, for the Python
   callback (the Fortran loop calls onnxruntime in Python) and the Fortran binding (the
   loop calls ONNX Runtime's C API), beside WENO5. Grids keep the model's dx, so n cells
   span n dx (no forcing, smooth initial state: the cost does not depend on the data).
2. The fixed cost per call: the Fortran binding's own time per call (everything but ONNX
   Runtime's Run, timed inside the C shim), and the Python callback's extra time per call
   (host time difference between the two paths, per call, plus the binding's own cost).
3. Batches of ensemble members per call (n = 512): ns per cell.
4. The exported lean graph against the trained module exported unfolded: ns per cell.
5. Achieved GFLOP/s of the network inside Run (FLOPs counted from the ONNX graph's Conv
   weights) against a measured single-core float32 matrix-multiply peak (torch, 1 thread).
6. Accuracy for cost: wall time of the learned run on 64 cells vs the WENO5 run of equal
   error, interpolated (log-log) between WENO5 resolutions, forced Burgers, t <= 15.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from coupler.app.demo import REFERENCE_N, coarse_grain, committed_model
from coupler.errors import HfcError
from coupler.host import Host, HostConfig, TimeConfig, free_provider, make_provider, onnx_bench
from coupler.learned import FortranLearnedFlux, LearnedFlux, RuntimeConfig
from coupler.simulate import SimulationConfig, run
from coupler.problems.forcing import Forcing

SIZES = (64, 512, 4096)
BATCHES = (1, 8, 32)
TARGET_NATIVE_US, TARGET_CALLBACK_US, TARGET_PEAK_SHARE = 5.0, 30.0, 0.5


def median_time(function, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def matmul_peak(repeats: int = 7, size: int = 1024) -> float:
    """Single-core float32 matrix-multiply GFLOP/s (torch with one thread)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    seconds = median_time(lambda: a @ b, repeats)
    torch.set_num_threads(threads)
    return 2 * size**3 / seconds / 1e9


def conv_flops_per_cell(path: Path) -> float:
    """2 x (weights of every Conv) : multiply-adds per output position, summed over layers."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(path).graph
    weights = {t.name: numpy_helper.to_array(t).size for t in graph.initializer}
    return float(sum(2 * weights.get(node.input[1], 0) for node in graph.node if node.op_type == "Conv"))


def states(n: int, halo: int, batch: int = 1) -> np.ndarray:
    x = np.linspace(0, 2 * np.pi, n + 2 * halo, endpoint=False)
    return np.array([0.5 + np.sin(x + b) + 0.3 * np.sin(3 * x + 1.0) for b in range(batch)])


def native_calls(provider: int, model: FortranLearnedFlux, u: np.ndarray, reps: int) -> tuple[float, float]:
    """Seconds per call and seconds inside Run per call of the Fortran learned provider
    `provider` (of `model`), u (batch, cells)."""
    seconds, run_seconds = onnx_bench(provider, model.id, u, reps)
    return seconds / reps, run_seconds / reps


def host_seconds(config: HostConfig, provider, steps: int, repeats: int) -> float:
    """Median seconds of `steps` fixed SSP-RK3 steps of the host."""
    u0 = 0.5 + np.sin(2 * np.pi * config.cell_centres() / config.length)
    dt = 0.4 * config.dx / 1.5
    host = Host(config, provider, Forcing(), TimeConfig(dt=dt))
    host.advance(u0, 0.0, dt)
    return median_time(lambda: host.advance(u0, 0.0, steps * dt), repeats)


def accuracy_for_cost(onnx_path: Path, seeds: int) -> list[str]:
    """Learned on 64 cells vs WENO5 on 64..256 cells against WENO5 on 512 cells."""
    base = SimulationConfig().but(host=HostConfig("burgers", REFERENCE_N), scheme="weno5", t_end=15.0, save_every=0.1)
    rows: dict[str, list[tuple[float, float]]] = {}
    for seed in range(1000, 1000 + seeds):
        reference = run(base.but(seed=seed))
        configs = {f"weno5 {n}": base.but(host=HostConfig("burgers", n), seed=seed) for n in (64, 128, 256)}
        for backend in ("python", "fortran"):
            configs[f"learned 64 ({backend})"] = base.but(host=HostConfig("burgers", 64), seed=seed,
                                                         scheme="learned", model=str(onnx_path),
                                                         runtime=RuntimeConfig(backend=backend))
        for name, config in configs.items():
            result = run(config)
            error = float(np.mean(np.abs(result.states - coarse_grain(reference.states, config.host.n))))
            rows.setdefault(name, []).append((error, result.wall_seconds))
    summary = {name: (np.mean([e for e, _ in v]), np.median([w for _, w in v])) for name, v in rows.items()}
    lines = ["| run | MAE (t <= 15) | wall time (s) |", "|---|---|---|"]
    lines += [f"| {name} | {e:.4f} | {w:.4f} |" for name, (e, w) in summary.items()]
    weno = sorted((summary[f"weno5 {n}"] for n in (64, 128, 256)), key=lambda r: -r[0])   # error falls with n
    for backend in ("python", "fortran"):
        error, wall = summary[f"learned 64 ({backend})"]
        for (e1, w1), (e2, w2) in zip(weno, weno[1:]):
            if e2 <= error <= e1:
                s = np.log(error / e1) / np.log(e2 / e1)
                equal = float(np.exp(np.log(w1) + s * np.log(w2 / w1)))
                lines.append(f"\nLearned ({backend}) MAE {error:.4f}: WENO5 of equal error takes {equal:.4f} s "
                             f"(interpolated); the learned run takes {wall:.4f} s, {wall / equal:.1f}x the time.")
                break
        else:
            lines.append(f"\nLearned ({backend}) MAE {error:.4f} lies outside the WENO5 errors measured; no interpolation.")
    return lines


def lean_vs_unfolded(source: Path, onnx_path: Path, repeats: int) -> list[str]:
    """ONNX Runtime (Python, one thread) on the exported lean graph and on the trained module
    exported as it is (the constraint layer, 1/dx, the flux formula as separate nodes),
    interleaved: us per call and ns per cell at 64, 512, 4096 cells."""
    import onnx
    import onnxruntime as ort
    import torch

    from export.onnx_export import torch_to_onnx
    from training.train import load_model

    model = load_model(source)
    g = model.halo
    shapes = {"u": {0: torch.export.Dim("batch"), 2: torch.export.Dim("cells", min=2 * g + 2)}}
    graphs = {"unfolded": torch_to_onnx(model, (torch.zeros(2, 1, 64 + 2 * g),), ("u",), ("flux",), shapes),
              "lean": onnx.load(onnx_path)}
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    sessions = {k: ort.InferenceSession(p.SerializeToString(), options, providers=["CPUExecutionProvider"])
                for k, p in graphs.items()}
    lines = ["| cells | unfolded graph (%d nodes): us/call, ns/cell | lean graph (%d nodes): us/call, ns/cell | "
             "lean / unfolded |" % tuple(len(p.graph.node) for p in graphs.values()), "|---|---|---|---|"]
    for n in SIZES:
        u = states(n, g)[:, None].astype(np.float32)
        reps = max(50, 200_000 // n)
        samples = {k: [] for k in sessions}
        for _ in range(repeats):
            for k, session in sessions.items():
                samples[k].append(median_time(lambda: [session.run(None, {"u": u}) for _ in range(reps)], 1) / reps)
        t = {k: statistics.median(v) for k, v in samples.items()}
        lines.append(f"| {n} | {t['unfolded'] * 1e6:.1f}, {t['unfolded'] / n * 1e9:.0f} | {t['lean'] * 1e6:.1f}, "
                     f"{t['lean'] / n * 1e9:.0f} | {t['lean'] / t['unfolded']:.2f} |")
    return lines


def main(repeats: int = 7, seeds: int = 3) -> int:
    from export.onnx_export import export

    source = committed_model()
    if source is None:
        raise HfcError("models/burgers/network/8x not found; run `hfc bench --learned` from the repository root")
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = Path(tmp) / "burgers_8x.onnx"
        export(source, onnx_path)
        native = FortranLearnedFlux(onnx_path, RuntimeConfig(backend="fortran"))
        pid, _ = make_provider(HostConfig("burgers"), native.provider())
        python = LearnedFlux(onnx_path)
        dx, g = float(native.metadata["dx"]), native.halo
        print(f"hfc bench --learned: Burgers 8x network (float32, halo {g}), ONNX Runtime 1 thread, "
              f"medians of {repeats} repeats")

        print("\n| n | WENO5 ns/cell-stage | learned, Python callback | learned, Fortran binding "
              "| binding's own cost per call (us) | Python callback's extra cost per call (us) |")
        print("|---|---|---|---|---|---|")
        overheads = {}
        for n in SIZES:
            config = HostConfig("burgers", n, length=n * dx)
            steps = max(20, 200_000 // n)
            per = 3 * steps * n / 1e9
            weno = host_seconds(config, "weno5", steps, repeats) / per
            t_py = host_seconds(config, python.provider(), steps, repeats)
            t_f = host_seconds(config, native.provider(), steps, repeats)
            calls = max(200, 400_000 // n)
            call, inside = native_calls(pid, native, states(n, g), calls)
            own = (call - inside) * 1e6
            extra = (t_py - t_f) / (3 * steps) * 1e6 + own
            overheads[n] = (own, extra)
            print(f"| {n} | {weno:.1f} | {t_py / per:.1f} | {t_f / per:.1f} | {own:.2f} | {extra:.1f} |", flush=True)

        print("\n| cells per member | members per call | Fortran binding ns/cell | Python (onnxruntime) ns/cell |")
        print("|---|---|---|---|")
        n = 512
        for batch in BATCHES:
            u = states(n, g, batch)
            reps = max(20, 100_000 // (n * batch))
            call, _ = native_calls(pid, native, u, reps)
            py = median_time(lambda: [python(u) for _ in range(reps)], repeats) / reps
            print(f"| {n} | {batch} | {call / (n * batch) * 1e9:.0f} | {py / (n * batch) * 1e9:.0f} |", flush=True)

        print("\nThe exported (lean) graph against the trained module exported unfolded, ONNX Runtime "
              "(Python, 1 thread), interleaved:")
        print("\n".join(lean_vs_unfolded(source, onnx_path, repeats)), flush=True)

        peak = matmul_peak(repeats)
        flops = conv_flops_per_cell(onnx_path)
        print(f"\nNetwork: {flops:.0f} FLOP per cell (Conv weights x 2); single-core float32 matmul peak "
              f"{peak:.1f} GFLOP/s (torch, 1 thread, 1024^3)")
        print("| cells per call | GFLOP/s inside Run | share of peak |")
        print("|---|---|---|")
        shares = {}
        for n, batch in ((4096, 1), (512, 32), (4096, 8)):
            _, inside = native_calls(pid, native, states(n, g, batch), max(20, 200_000 // (n * batch)))
            achieved = flops * n * batch / inside / 1e9
            shares[n * batch] = achieved / peak
            print(f"| {n} x {batch} | {achieved:.1f} | {achieved / peak:.0%} |", flush=True)

        print(f"\nAccuracy for cost ({seeds} unseen forcings, host wall time, reference WENO5 on {REFERENCE_N} cells):")
        print("\n".join(accuracy_for_cost(onnx_path, seeds)))
        free_provider(pid)
        native.close()

    own = max(o for o, _ in overheads.values())
    extra = max(e for _, e in overheads.values())
    print(f"\nTargets: binding's own cost per call {own:.2f} us (target < {TARGET_NATIVE_US:g}) -> "
          f"{'met' if own < TARGET_NATIVE_US else 'NOT met'}; Python callback extra {extra:.1f} us "
          f"(target < {TARGET_CALLBACK_US:g}) -> {'met' if extra < TARGET_CALLBACK_US else 'NOT met'}; "
          f"network at >= 4096 cells {min(shares.values()):.0%} of peak (target >= {TARGET_PEAK_SHARE:.0%}) -> "
          f"{'met' if min(shares.values()) >= TARGET_PEAK_SHARE else 'NOT met'}")
    return 0
