"""The PRDP refinement controller (the PRDP paper, Sec. 3 and Algorithm 4): start training
through coarse physics (K0 solver iterations), add Delta K iterations when the smoothed
validation metric plateaus, and stop refining once a refinement no longer improves on
the previous plateau (the level reached is K_max).

Each call of `update` takes the validation metric after one training interval (an epoch
or a fixed number of steps):
- smooth the history with an exponential moving average of span Delta e (weight
  2 / (Delta e + 1), the usual convention for a span);
- r = L~[-1] / L~[-delta]; r > tau_step is a plateau. Then r_c = L~[-1] / c against the
  checkpoint c (the last plateau; at first the initial metric): r_c < tau_stop (the level
  improved on the last plateau by more than 1 - tau_stop) or r_c > 1 (the initially
  divergent regime) refines and moves the checkpoint; otherwise the level is adequate.
  Algorithm 4 leaves c's first value open: here the first plateau always refines (there is
  no earlier plateau to compare with). Comparing it with the initial metric instead stalls
  problems whose coarse physics barely moves the metric (the 1-parameter Poisson problem
  at K0 = 25: r_c = 0.99 > tau_stop at every interval, K never leaves K0 for 75 steps).
- A non-finite metric (a rollout that blew up: the physics is too coarse for the model
  trained through it) is the divergent regime at its worst: refine at once; the smoothing
  starts afresh from the next finite value.
The controller is a plain object: its whole state is `state_dict()`, saved in training
checkpoints and restored by `from_state_dict`, so that a resumed run decides the same.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class PRDPConfig:
    """The paper's defaults (Algorithm 4): tau_step 0.95, tau_stop 0.9, delta 3, Delta e 6;
    K0 and Delta K per experiment (1 and 1 in Listing 1), `k_limit` a cap (K_epsilon)."""

    k0: int = 1
    delta_k: int = 1
    tau_step: float = 0.95
    tau_stop: float = 0.9
    grace: int = 3            # delta
    smoothing: int = 6        # Delta e
    k_limit: int = 10 ** 6

    def __post_init__(self) -> None:
        if min(self.k0, self.delta_k, self.smoothing) < 1 or self.grace < 2 or self.k_limit < self.k0:
            raise ValueError("K0, Delta K and the smoothing span must be >= 1, the grace delta >= 2, "
                             "and the iteration cap at least K0")
        if not (0 < self.tau_stop <= 1 and 0 < self.tau_step <= 1):
            raise ValueError("tau_step and tau_stop must lie in (0, 1]")


@dataclass
class PRDPController:
    config: PRDPConfig = field(default_factory=PRDPConfig)
    iterations: int = 0                     # the current K (set to K0 on creation)
    history: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    checkpoint: float | None = None
    decisions: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.iterations = self.iterations or self.config.k0

    def update(self, validation: float) -> bool:
        """Record the metric after one interval; True when K was refined (by Delta K)."""
        cfg = self.config
        weight = 2.0 / (cfg.smoothing + 1)
        value = float(validation)
        self.history.append(value)
        if not math.isfinite(value):
            self.smoothed.append(math.inf)
            refine = self.iterations < cfg.k_limit
            self.iterations = min(self.iterations + cfg.delta_k, cfg.k_limit)
            self.decisions.append({"interval": len(self.history), "validation": value, "smoothed": math.inf,
                                   "r": None, "r_c": None, "refined": refine, "iterations": self.iterations})
            return refine
        fresh = not self.smoothed or not math.isfinite(self.smoothed[-1])
        self.smoothed.append(value if fresh else weight * value + (1 - weight) * self.smoothed[-1])
        latest = self.smoothed[-1]
        ratio = latest / self.smoothed[-cfg.grace] if len(self.smoothed) >= cfg.grace else None
        to_checkpoint = latest / self.checkpoint if self.checkpoint else None
        refine = False
        if ratio is not None and ratio > cfg.tau_step:
            if (to_checkpoint is None or to_checkpoint < cfg.tau_stop or to_checkpoint > 1.0) \
                    and self.iterations < cfg.k_limit:
                self.checkpoint = latest
                self.iterations = min(self.iterations + cfg.delta_k, cfg.k_limit)
                refine = True
        self.decisions.append({"interval": len(self.history), "validation": float(validation), "smoothed": latest,
                               "r": ratio, "r_c": to_checkpoint, "refined": refine, "iterations": self.iterations})
        return refine

    def state_dict(self) -> dict:
        return {"config": asdict(self.config), "iterations": self.iterations, "history": list(self.history),
                "smoothed": list(self.smoothed), "checkpoint": self.checkpoint,
                "decisions": [dict(d) for d in self.decisions]}

    @classmethod
    def from_state_dict(cls, state: dict) -> "PRDPController":
        return cls(PRDPConfig(**state["config"]), state["iterations"], list(state["history"]),
                   list(state["smoothed"]), state["checkpoint"], [dict(d) for d in state["decisions"]])
