"""Training pipeline: data determinism and splits, the loss on known cases, a tiny end-to-end
run that lowers the validation loss, and checkpoint/resume."""
import json

import netCDF4
import numpy as np
import pytest
import torch

from training.data import DataConfig, generate, load
from training.train import Trainer, load_model, preset

TINY = DataConfig("burgers", trajectories=6, snapshots=4, t_first=0.5, t_last=3.0, workers=1)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    generate(TINY, out, progress=False)
    return out


def test_data_is_deterministic_and_split_by_trajectory(tiny_data, tmp_path):
    generate(TINY, tmp_path, progress=False)
    seeds = {}
    for split in ("train", "validation", "test"):
        with netCDF4.Dataset(tiny_data / f"{split}.nc") as a, netCDF4.Dataset(tmp_path / f"{split}.nc") as b:
            np.testing.assert_array_equal(a["u_8x"][:], b["u_8x"][:])
            seeds[split] = set(np.asarray(a["trajectory_seed"][:]).tolist())
            assert a.equation == "burgers" and a["u"].shape[1] == 512 and a["u_8x"].shape[1] == 64
    assert not (seeds["train"] & seeds["validation"]) and not (seeds["train"] & seeds["test"])
    assert sum(len(s) for s in seeds.values()) == TINY.trajectories


def test_coarse_data_is_cell_averaged_and_target_is_the_flux_divergence(tiny_data):
    fine, coarse = load(tiny_data / "train.nc", 1), load(tiny_data / "train.nc", 8)
    # the same 8-term means (summed in another order): round-off of O(1) values
    np.testing.assert_allclose(coarse.u, fine.u.reshape(len(fine.u), 64, 8).mean(-1), atol=1e-14)
    np.testing.assert_array_equal(coarse.flux, fine.flux[:, ::8])
    # the coarse target is the average of the fine flux divergences (telescoping): exact in
    # exact arithmetic; the divergences are ~|flux| / dx ~ 1e2, so round-off ~1e-13 and 1e-10
    np.testing.assert_allclose(coarse.time_derivative(),
                               fine.time_derivative().reshape(len(fine.u), 64, 8).mean(-1), atol=1e-10)


def test_loss_on_known_cases(tiny_data, tmp_path):
    trainer = Trainer(preset("quick", "burgers", 8, steps=1, kind="constant"), tiny_data, tmp_path)
    u = trainer.train_set[0][:4]
    with torch.no_grad():
        from training.models import periodic_time_derivative
        exact = periodic_time_derivative(trainer.model, u)
        assert float(trainer.loss(u, exact)) == 0.0
        zero = torch.zeros_like(exact)
        expected = float(torch.mean(exact ** 2)) / trainer.scale
        # the same mean in float32 (the trainer's precision), reduced in another order
        assert float(trainer.loss(u, zero)) == pytest.approx(expected, rel=1e-6)
    # normalization: predicting du/dt = 0 on the whole training set scores exactly 1
    assert float(torch.mean(trainer.train_set[1] ** 2)) / trainer.scale == pytest.approx(1.0)   # default 1e-6


def test_tiny_training_lowers_the_loss_and_resumes_bitwise(tiny_data, tmp_path):
    config = preset("quick", "burgers", 8, steps=40, eval_every=20, batch_size=8)
    summary = Trainer(config, tiny_data, tmp_path / "full").run(progress=False)
    # 40 Adam steps from random weights halve the loss (measured: to ~0.2 of it); not
    # training at all, or training the wrong target, leaves it near 1
    assert summary["validation_loss_final"] < 0.5 * summary["validation_loss_initial"]
    # 20 steps, stop, resume to 40: same weights as the uninterrupted run
    Trainer(preset("quick", "burgers", 8, steps=20, eval_every=20, batch_size=8), tiny_data,
            tmp_path / "split").run(progress=False)
    Trainer(config, tiny_data, tmp_path / "split").run(resume=True, progress=False)
    a = torch.load(tmp_path / "full" / "model.pt", weights_only=True)
    b = torch.load(tmp_path / "split" / "model.pt", weights_only=True)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    log = (tmp_path / "full" / "log.csv").read_text().splitlines()
    assert log[0].startswith("step,") and len(log) == 4          # header, step 0, 20, 40
    meta = json.loads((tmp_path / "full" / "model.json").read_text())
    assert meta["model"]["dx"] == pytest.approx(2 * np.pi / 64) and meta["halo"] == 7
    model = load_model(tmp_path / "full")
    assert model(torch.zeros(1, 1, 64 + 14)).shape == (1, 1, 65)


# Snapshots 8 x 0.001 apart: the unrolled loss's reference continuation of snapshot i over
# 8 midpoint-loss steps must land on snapshot i + 1 of the stored trajectory.
UNROLL_DATA = DataConfig("burgers", trajectories=3, snapshots=4, t_first=0.5, t_last=0.524, workers=1)


@pytest.fixture(scope="module")
def unroll_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("unroll")
    generate(UNROLL_DATA, out, progress=False)
    return out


def test_unrolled_targets_continue_the_reference(unroll_data):
    from training.unroll import UnrollConfig, unrolled_targets

    fine, coarse = load(unroll_data / "train.nc", 1), load(unroll_data / "train.nc", 8)
    future, forcing, steps = unrolled_targets(coarse, fine, UnrollConfig(8, 1e-3), workers=1, progress=False)
    assert np.all(steps == 1e-3)
    assert future.shape == (len(coarse.u), 8, 64) and forcing.shape == (len(coarse.u), 16, 64)
    later = np.flatnonzero(np.isclose(coarse.time, 0.5))          # first snapshot of each trajectory
    # The stored run reached t + 0.008 in CFL steps, the continuation in 8 exact-hit calls:
    # the same solution up to SSP-RK3 local errors, O(dt^4) ~ 1e-9 with dt ~ 5e-3.
    np.testing.assert_allclose(future[later, -1], coarse.u[later + 1], atol=1e-7)
    assert np.max(np.abs(future[later, -1] - coarse.u[later])) > 1e-4     # and it did move


def test_unrolled_loss_known_cases_and_training(unroll_data, tmp_path):
    from training.unroll import rollout

    config = preset("quick", "burgers", 8, steps=30, eval_every=15, batch_size=4, kind="constant",
                    godunov=True, unroll=8)
    trainer = Trainer(config, unroll_data, tmp_path)
    u, future, forcing, steps = trainer.train_set
    with torch.no_grad():
        exact = rollout(trainer.model, u, forcing, 1e-3)
        assert float(trainer.loss(u, exact, forcing, steps)) == 0.0
    # normalization: predicting "no change" over the training set scores exactly 1
    # (float32 sums over the whole set, reduced in another order: 1e-6)
    assert float(torch.mean((u[:, None] - future) ** 2)) / trainer.scale == pytest.approx(1.0, rel=1e-6)
    summary = trainer.run(progress=False)
    assert summary["validation_loss_final"] < summary["validation_loss_initial"]
    assert summary["train"]["unroll"] == 8 and summary["train"]["unroll_dt"] == 1e-3


def test_unrolled_loss_is_refused_for_spectral_equations():
    from training.data import Snapshots
    from training.unroll import UnrollConfig, reference_continuation

    snaps = Snapshots(np.zeros((1, 8)), np.zeros((1, 8)), np.zeros(1), np.zeros(1), 1.0, "kdv")
    with pytest.raises(ValueError, match="Burgers only"):
        reference_continuation(snaps, UnrollConfig())


@pytest.mark.parametrize("integrator", ["euler", "ssprk3"])
def test_the_unrolled_loss_steps_as_the_host_does(repo_root, tmp_path, integrator):
    """The training rollout of a host method (training.unroll.rollout) is the host's own
    step: the committed constant model (float64) from a sine wave under a random forcing,
    20 steps of a fixed dt in torch (the forcing tabulated at the method's stage times) and
    in the Fortran host (native stencil, hfc_stepper) agree to 1e-12 of the state
    (round-off; a wrong stage weight or stage time would differ by O(dt^2) ~ 1e-4)."""
    from coupler.host import Host, HostConfig, TimeConfig
    from coupler.learned import FortranLearnedFlux
    from coupler.problems.forcing import random_forcing
    from export.onnx_export import ExportConfig, export
    from training.integrate import ForcingBatch
    from training.unroll import STAGES, rollout

    folder = repo_root / "models/burgers/constant-godunov/8x"
    model = load_model(folder, torch.float64)
    n, dt, steps = 64, 0.02, 20
    u0 = np.sin(2 * np.pi * (np.arange(n) + 0.5) / n) + 0.3
    table = ForcingBatch([random_forcing(3)], n, n * model.config.dx)
    forcing = torch.stack([table((j + c) * dt)[0] for j in range(steps) for c in STAGES[integrator]])[None]
    with torch.no_grad():
        ours = rollout(model, torch.as_tensor(u0[None]), forcing, dt, integrator)[0, -1].numpy()
    native = FortranLearnedFlux(export(folder, tmp_path / "c.onnx", ExportConfig("float64")).path)
    host = Host(HostConfig("burgers", n, n * model.config.dx), native.provider(), random_forcing(3),
                TimeConfig(dt=dt, method=integrator))
    theirs, taken = host.advance(u0, 0.0, steps * dt)
    assert taken == steps and np.max(np.abs(ours - theirs)) <= 1e-12 * np.max(np.abs(theirs))
    native.close()


def test_courant_steps_are_the_host_rule_and_starting_weights_must_fit(unroll_data, tmp_path):
    """With --courant each sample's unrolled step is the host's stable step at its own
    max |u| (coupler.problems.equations.Equation.stable_dt, one rule); --init copies a
    trained model's weights and refuses one of another shape, naming the difference."""
    from training.unroll import UnrollConfig

    coarse = load(unroll_data / "train.nc", 8)
    steps = UnrollConfig(2, integrator="euler", courant=0.5).step_sizes(coarse)
    # Burgers J = u^2/2 - 0.01 u_x: wave speed max|u|, explicit diffusion dx^2 / (2 x 0.01)
    expected = [0.5 * min(coarse.dx / float(np.abs(u).max()), coarse.dx ** 2 / 0.02) for u in coarse.u]
    assert np.allclose(steps, expected, rtol=1e-12, atol=0)
    assert len(set(steps.tolist())) > 1
    source = Trainer(preset("quick", "burgers", 8, steps=1, batch_size=4, layers=2, channels=4), unroll_data,
                     tmp_path / "a")
    source.run(progress=False)
    tuned = Trainer(preset("quick", "burgers", 8, steps=1, batch_size=4, layers=2, channels=4, unroll=2,
                           integrator="euler", courant=0.5, init=str(tmp_path / "a")), unroll_data, tmp_path / "b",
                    progress=False)
    assert all(torch.equal(a, b) for a, b in zip(tuned.model.state_dict().values(),
                                                 source.model.state_dict().values()))
    with pytest.raises(ValueError, match="channels 4 vs 8"):
        Trainer(preset("quick", "burgers", 8, steps=1, layers=2, channels=8, init=str(tmp_path / "a")), unroll_data,
                tmp_path / "c", progress=False)
    with pytest.raises(ValueError, match="host method"):
        preset("quick", "burgers", 8, unroll=2, integrator="midpoint", courant=0.5)
    with pytest.raises(ValueError, match="give --courant"):
        preset("quick", "burgers", 8, unroll=2, integrator="euler")


def test_samples_that_blow_up_are_left_out_of_the_unrolled_loss(unroll_data, tmp_path):
    """One sample whose rollout is not finite (here: a NaN state) does not poison the batch,
    nor does one that diverged to a huge finite error: the loss is the mean over the others
    (to float32 rounding of the two reduction orders) and their share is reported."""
    trainer = Trainer(preset("quick", "burgers", 8, steps=1, batch_size=4, kind="constant", godunov=True, unroll=2),
                      unroll_data, tmp_path, progress=False)
    u, future, forcing, steps = (x[:4].clone() for x in trainer.train_set)
    u[1, 3] = float("nan")
    loss, diverged = trainer.batch_loss(u, future, forcing, steps)
    keep = torch.tensor([0, 2, 3])
    assert diverged == 0.25 and torch.isfinite(loss)
    assert float(loss.detach()) == pytest.approx(float(trainer.loss(u[keep], future[keep], forcing[keep],
                                                                     steps[keep]).detach()), rel=1e-6)
    loss.backward()
    assert torch.isfinite(trainer.model.theta.grad).all()
    u[1, 3] = 1e6                       # finite, but the rollout's error is beyond DIVERGED
    loss, diverged = trainer.batch_loss(u, future, forcing, steps)
    assert diverged == 0.25 and float(loss.detach()) == pytest.approx(
        float(trainer.loss(u[keep], future[keep], forcing[keep], steps[keep]).detach()), rel=1e-6)


def test_coefficient_reuse_of_a_godunov_network_in_the_host_is_the_torch_scheme(tiny_data, tmp_path):
    """The Godunov form of the exported stencils (G(q1, q2) + q3, applied natively by the
    host at stages 2 and 3): a Godunov network (one training step on the tiny data, exported
    in float64) in the Fortran host with coefficient reuse and training.integrate's reuse
    scheme (torch) agree to 1e-11 over 40 forced SSP-RK3 steps."""
    from coupler.host import Host, HostConfig, TimeConfig
    from coupler.learned import FortranLearnedFlux, RuntimeConfig
    from coupler.problems.forcing import random_forcing
    from export.onnx_export import ExportConfig, export
    from training.integrate import ForcingBatch, integrate

    Trainer(preset("quick", "burgers", 8, steps=1, batch_size=4, godunov=True), tiny_data, tmp_path / "g",
            progress=False).run(progress=False)
    report = export(tmp_path / "g", tmp_path / "g.onnx", ExportConfig("float64"))
    assert report.metadata["stencils_form"] == "godunov"
    native = FortranLearnedFlux(report.path, RuntimeConfig(backend="fortran", reuse_coefficients=True))
    host_config, forcing, dt = HostConfig("burgers", 64), random_forcing(2), 0.02
    u0 = 0.5 * np.sin(host_config.cell_centres()) + 0.1
    theirs, steps = Host(host_config, native.provider(), forcing, TimeConfig(dt=dt)).advance(u0, 0.0, 0.8)
    ours = integrate(load_model(tmp_path / "g", torch.float64), u0[None], np.array([0.0, 0.8]), dt,
                     ForcingBatch([forcing], 64, host_config.length), dtype=torch.float64, reuse=True)[0, -1]
    assert steps == 40 and np.abs(theirs - u0).max() > 1e-3
    np.testing.assert_allclose(theirs, ours, rtol=0, atol=1e-11)
    native.close()
