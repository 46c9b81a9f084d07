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
    future, forcing = unrolled_targets(coarse, fine, UnrollConfig(8, 1e-3), workers=1, progress=False)
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
    u, future, forcing = trainer.train_set
    with torch.no_grad():
        exact = rollout(trainer.model, u, forcing, 1e-3)
        assert float(trainer.loss(u, exact, forcing)) == 0.0
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
