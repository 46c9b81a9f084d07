"""`hfc bench --front` (coupler.app.bench_front): the equal-error interpolation against
mathematics, and one small front measured in the host (WENO5 at two resolutions and the
committed constant model, natively), whose table states the ratios."""
import numpy as np
import pytest

from coupler.app import bench_front


def test_equal_error_time_is_exact_on_a_power_law():
    """WENO5-like points on error = 3 w^(-1/2): log-log interpolation is exact (1e-12) inside
    the measured range and refuses to extrapolate outside it."""
    points = [(3 * w ** -0.5, w) for w in (0.01, 0.04, 0.16)]
    for w in (0.013, 0.04, 0.1):
        assert bench_front.equal_error_time(points, 3 * w ** -0.5) == pytest.approx(w, rel=1e-12)
    assert bench_front.equal_error_time(points, 3 * 0.005 ** -0.5) is None
    assert bench_front.equal_error_time(points, 3 * 0.2 ** -0.5) is None


def test_a_small_front_in_the_host(repo_root, tmp_path):
    """One forcing, the 64-cell domain: WENO5's error falls with resolution, the native
    constant stencil's row carries its FLOPs and a WENO5 ratio only when its error lies
    between WENO5's, and the table names every scheme."""
    from coupler.learned import FortranLearnedFlux, RuntimeConfig
    from export.onnx_export import export

    report = export(repo_root / "models/burgers/constant-godunov/8x", tmp_path / "c.onnx")
    model = FortranLearnedFlux(report.path, RuntimeConfig(backend="fortran"))
    domain = bench_front.Domain("test", 1, 64, (64, 128), 256, 1)
    entries = {f"WENO5 {n}": ("weno5", n, "ssprk3", 0.5, None) for n in domain.weno}
    entries["constant"] = (model.provider(), 64, "ssprk3", 0.5, int(report.metadata["flops_per_cell"]))
    rows = {r.label: r for r in bench_front.measure(domain, entries, progress=False)}
    assert rows["WENO5 128"].mae < rows["WENO5 64"].mae
    constant = rows["constant"]
    assert constant.flops_per_cell == 2 * 3 * 6 + 12 and np.isfinite(constant.mae) and constant.seconds > 0
    inside = rows["WENO5 128"].mae <= constant.mae <= rows["WENO5 64"].mae
    assert constant.speedup > 0 and (constant.bound == "") == inside
    if constant.mae > rows["WENO5 64"].mae:      # less accurate than WENO5's coarsest: at most its time
        assert constant.bound == "<=" and constant.speedup == rows["WENO5 64"].seconds / constant.seconds
    text = "\n".join(bench_front.table(bench_front.heading(domain), list(rows.values())))
    assert all(label in text for label in rows) and "WENO5 x" in text
    model.close()


def test_a_small_ks_front_against_the_polynomial_stencil(monkeypatch, tmp_path):
    """KS, one unseen initial condition, the 8x model: the polynomial stencil's error falls
    with resolution (it is the classical line), the model runs with and without coefficient
    reuse in the host, and both rows carry a ratio to the polynomial's time."""
    monkeypatch.setattr(bench_front, "PDE_FACTORS", (8,))
    monkeypatch.setattr(bench_front, "PDE_RUNS", 1)
    title, rows, window = bench_front.pde_front("ks", tmp_path, progress=False)
    rows = {r.label: r for r in rows}
    assert title.startswith("KS") and window == "t <= 3"
    assert rows["polynomial 256"].mae < rows["polynomial 32"].mae and rows["polynomial 32"].classical
    for label in ("network 8x", "network 8x +reuse"):
        assert np.isfinite(rows[label].mae) and rows[label].speedup > 0 and rows[label].cells == 32
    assert rows["network 8x +reuse"].mae != rows["network 8x"].mae      # reuse ran: another scheme


def test_the_confirmation_times_the_best_row_and_its_bracket(monkeypatch):
    """confirm() picks the row with the largest ratio inside WENO5's range (not a bound),
    the two WENO5 runs whose errors enclose it, times those three again and reports the
    ratio of medians: with a fake clock (every run of a scheme takes the same time) it is
    the interpolated ratio exactly."""
    seconds = {"a": 2.0, "b": 8.0, "m": 1.0, "n": 9.0}
    monkeypatch.setattr(bench_front, "run", lambda provider, *args: (None, seconds[provider], 1))
    rows = [bench_front.Row("WENO5 a", 64, "ssprk3", 0.5, 4e-3, 2.0, 1.0, classical=True),
            bench_front.Row("WENO5 b", 128, "ssprk3", 0.5, 1e-3, 8.0, 1.0, classical=True),
            bench_front.Row("model", 64, "ssprk3", 0.5, 2e-3, 1.0, 1.0),
            bench_front.Row("slow", 64, "ssprk3", 0.5, 3e-3, 9.0, 1.0)]
    rows = bench_front.with_ratios(rows)
    entries = {"WENO5 a": ("a", 64, "ssprk3", 0.5, None), "WENO5 b": ("b", 128, "ssprk3", 0.5, None),
               "model": ("m", 64, "ssprk3", 0.5, 1), "slow": ("n", 64, "ssprk3", 0.5, 1)}
    line = bench_front.confirm(bench_front.DOMAINS[0], rows, entries)[-1]
    # WENO5's time at 2e-3 on the log-log line through (4e-3, 2 s) and (1e-3, 8 s): 4 s
    assert "model 1," in line and "WENO5 x = 4.00 (per repeat 4.00-4.00)" in line
