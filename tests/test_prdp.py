"""The PRDP controller (Algorithm 4) on validation histories whose decisions can be worked
out by hand, and its state round trip."""
import json

import pytest

from training.prdp import PRDPConfig, PRDPController

NO_SMOOTHING = PRDPConfig(smoothing=1)        # weight 1: the smoothed history is the history


def run(controller, values):
    return [controller.update(v) for v in values]


def test_steady_progress_keeps_the_coarse_physics():
    """Falling 10% per interval: r = 0.9^2 = 0.81 < tau_step at every step: never refine
    (the PR savings: coarse physics while it still helps)."""
    c = PRDPController(NO_SMOOTHING)
    assert not any(run(c, [0.9 ** k for k in range(12)])) and c.iterations == 1


def test_a_plateau_below_the_last_checkpoint_refines_and_a_flat_one_stops():
    """Start at 1.0, fall to a plateau at 0.5: two intervals later (delta = 3) r = 1 > 0.95,
    the first plateau (no checkpoint yet) refines to K = 2 and checkpoints 0.5. A second
    plateau at 0.48 (r_c = 0.96 > tau_stop, < 1): K_max reached, no more refinement; a later
    plateau at 0.4 (r_c = 0.8) refines again."""
    c = PRDPController(NO_SMOOTHING)
    decisions = run(c, [1.0, 0.7, 0.5, 0.5, 0.5])
    assert decisions == [False, False, False, False, True] and c.iterations == 2 and c.checkpoint == 0.5
    assert not any(run(c, [0.49, 0.48, 0.48, 0.48])) and c.iterations == 2
    assert run(c, [0.4, 0.4, 0.4])[-1] and c.iterations == 3


def test_a_divergent_level_refines():
    """A metric that rises above the last plateau (r_c > 1 while r > tau_step: the paper's
    K < K_min regime) refines by Delta K at once; the checkpoint moves to the worse value."""
    c = PRDPController(PRDPConfig(smoothing=1, k0=4, delta_k=2))
    assert run(c, [1.0, 0.5, 0.5, 0.5, 0.8, 0.8]) == [False, False, False, True, True, False]
    assert c.iterations == 8 and c.checkpoint == 0.8


def test_the_first_plateau_refines_even_when_it_barely_moved():
    """Coarse physics that hardly changes the metric (0.999 of the start): the first plateau
    has no checkpoint to be adequate against, so it refines."""
    c = PRDPController(NO_SMOOTHING)
    assert run(c, [1.0, 0.9995, 0.999]) == [False, False, True] and c.iterations == 2


def test_a_blown_up_rollout_refines_at_once_and_smoothing_restarts():
    """A NaN or infinite metric refines by Delta K; the EMA starts again at the next finite
    value (no NaN carried forward), which then plateaus and refines as usual."""
    c = PRDPController(PRDPConfig(smoothing=3))
    assert run(c, [1.0, float("nan"), float("inf")]) == [False, True, True] and c.iterations == 3
    assert run(c, [0.5])[0] is False and c.smoothed[-1] == 0.5
    assert run(c, [0.5, 0.5]) == [False, True] and c.iterations == 4


def test_the_iteration_cap_and_the_config_checks():
    c = PRDPController(PRDPConfig(smoothing=1, k_limit=2))
    run(c, [1.0, 0.5, 0.5, 0.2, 0.2, 0.2, 0.05, 0.05, 0.05])
    assert c.iterations == 2
    with pytest.raises(ValueError):
        PRDPConfig(grace=1)
    with pytest.raises(ValueError):
        PRDPConfig(tau_stop=1.5)


def test_smoothing_is_an_ema_of_span_delta_e():
    c = PRDPController(PRDPConfig(smoothing=6))
    run(c, [1.0, 0.0])
    assert c.smoothed == [1.0, pytest.approx(1 - 2 / 7)]


def test_state_round_trips_through_json_and_decides_the_same():
    values = [1.0] + [0.5] * 12 + [0.2] * 12
    whole = PRDPController()
    run(whole, values)
    half = PRDPController()
    run(half, values[:9])
    resumed = PRDPController.from_state_dict(json.loads(json.dumps(half.state_dict())))
    run(resumed, values[9:])
    assert resumed.state_dict() == whole.state_dict()
    assert [d["refined"] for d in whole.decisions].count(True) >= 1
