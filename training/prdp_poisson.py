"""The PRDP paper's Poisson inverse problem (Sec. 2.2 and 4.1, appendix F.1): find the
amplitudes theta of the load p(x) = sum_i theta_i sin(2 i pi x) from the deflection u of
u'' = -p on (0, 1), u(0) = u(1) = 0 (N = 30 interior points), by gradient descent on
L = 1/2 mean((u_K(theta) - u_r)^2), u_K from K solver iterations (differentiated unrolled or
implicitly), u_r the direct solution at theta_r. The factor 1/2 is the convention of the
paper's loss (optax's l2_loss): with it the paper's step counts follow (the 1P run reaches
1e-5 in 125 steps at rate 275; the 3P rate 3500 is stable), without it rate 3500 diverges.

Once with K fixed at K_epsilon (relative residual 1e-5), once with K from the PRDP
controller watching the relative parameter error (the inverse problem's validation metric:
theta_r is known): the training loss through u_K cannot serve, it vanishes at the theta
that compensates the unconverged solve, so it never shows the plateau PRDP waits for. The PR
saving is 1 - (PRDP's cumulative solver iterations) / (K_epsilon's) until each run first
brings the relative parameter error below `target`: 2e-5, not the paper's 1e-5, because our
K_epsilon (the first K with relative residual below 1e-5, in float64) leaves the converged
run's parameter error at a floor of 1.00e-5 (1P Jacobi) and 1.06e-5 (3P Jacobi): the
baseline could never count as solved at 1e-5. (The paper's K_epsilon is 600 where ours is
557, which puts its floor below 1e-5.)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch

from training.linear_solvers import SolverConfig, iterations_to, solve
from training.operators import Poisson1D
from training.prdp import PRDPConfig, PRDPController


@dataclass(frozen=True)
class PoissonInverseConfig:
    """One of the paper's set-ups (F.1); `presets()` holds them."""

    theta_ref: tuple[float, ...] = (2.0,)
    theta_init: tuple[float, ...] = (5.0,)
    steps: int = 170
    learning_rate: float = 275.0
    solver: str = "jacobi"
    differentiation: str = "unrolled"
    prdp: PRDPConfig = PRDPConfig(k0=25, delta_k=10, tau_step=0.92, tau_stop=0.98, grace=2, smoothing=1)
    n: int = 30
    tolerance: float = 1e-5          # the solver's epsilon for K_epsilon
    target: float = 2e-5             # relative parameter error that counts as solved (see below)

    @property
    def label(self) -> str:
        return f"{len(self.theta_ref)}P {self.solver} {self.differentiation}"


def presets() -> list[PoissonInverseConfig]:
    """The paper's rows: 1 parameter with Jacobi (unrolled); 3 parameters with Jacobi and
    steepest descent, each unrolled and implicit (F.1: 750 / 800 steps, rate 3500,
    tau_step = tau_stop = 0.99, delta 2, Delta K 2, K0 1). The paper gives no smoothing
    window for this problem: none (span 1)."""
    three = PoissonInverseConfig(theta_ref=(0.62, 1.86, 5.1), theta_init=(3.0, 3.0, 3.0), steps=750,
                                 learning_rate=3500.0,
                                 prdp=PRDPConfig(k0=1, delta_k=2, tau_step=0.99, tau_stop=0.99, grace=2, smoothing=1))
    rows = [PoissonInverseConfig()]
    for solver, steps in (("jacobi", 750), ("sd", 800)):
        rows += [replace(three, solver=solver, steps=steps, differentiation=d) for d in ("unrolled", "implicit")]
    return rows


class _Problem:
    """The grid, the dense matrix (for the reference and the validation solves) and u_r."""

    def __init__(self, config: PoissonInverseConfig):
        self.op = Poisson1D(config.n)
        self.x = torch.arange(1, config.n + 1, dtype=torch.float64) * self.op.dx
        self.theta_ref = torch.tensor(config.theta_ref, dtype=torch.float64)
        self.matrix = torch.stack([self.op.matvec(e[None])[0] for e in torch.eye(config.n, dtype=torch.float64)], 1)
        self.reference = self.direct(self.theta_ref)

    def load(self, theta: torch.Tensor) -> torch.Tensor:
        """b = -p(x; theta) at the interior points, as a batch of one."""
        modes = torch.stack([torch.sin(2 * (i + 1) * torch.pi * self.x) for i in range(theta.shape[-1])])
        return -(theta @ modes)[None]

    def direct(self, theta: torch.Tensor) -> torch.Tensor:
        return torch.linalg.solve(self.matrix, self.load(theta)[0])[None]


def optimise(config: PoissonInverseConfig, fixed_k: int | None) -> dict:
    """Gradient descent from theta_init; K fixed (`fixed_k`) or from the PRDP controller.
    Per step: the relative parameter error, the loss and the K used."""
    problem = _Problem(config)
    theta = torch.tensor(config.theta_init, dtype=torch.float64, requires_grad=True)
    controller = PRDPController(config.prdp) if fixed_k is None else None
    errors, losses, ks = [], [], []
    for _ in range(config.steps):
        k = fixed_k if controller is None else controller.iterations
        solver = SolverConfig(config.solver, k, differentiation=config.differentiation)
        u = solve(problem.op.matvec, problem.load(theta), solver, diagonal=problem.op.diagonal())
        loss = 0.5 * torch.mean((u - problem.reference) ** 2)
        grad, = torch.autograd.grad(loss, theta)
        with torch.no_grad():
            theta -= config.learning_rate * grad
            errors.append(float((theta - problem.theta_ref).norm() / problem.theta_ref.norm()))
            losses.append(float(loss))
            ks.append(k)
            if controller is not None:
                controller.update(errors[-1])
    return {"parameter_error": errors, "loss": losses, "iterations": ks,
            "controller": controller.state_dict() if controller else None}


def k_epsilon(config: PoissonInverseConfig) -> int:
    """K_epsilon of the solver on the reference load (relative residual below `tolerance`)."""
    problem = _Problem(config)
    return iterations_to(problem.op.matvec, problem.load(problem.theta_ref), SolverConfig(config.solver),
                         config.tolerance, diagonal=problem.op.diagonal())


def cost_to_target(run: dict, target: float) -> tuple[int | None, int | None]:
    """(outer steps, cumulative solver iterations) until the parameter error first falls
    below target; (None, None) if it never does."""
    total = 0
    for step, (error, k) in enumerate(zip(run["parameter_error"], run["iterations"]), 1):
        total += k
        if error < target:
            return step, total
    return None, None


def experiment(config: PoissonInverseConfig) -> dict:
    """Both runs and the PR saving of one row."""
    k_eps = k_epsilon(config)
    converged, prdp = optimise(config, k_eps), optimise(config, None)
    (steps_c, cost_c), (steps_p, cost_p) = (cost_to_target(r, config.target) for r in (converged, prdp))
    saving = 1 - cost_p / cost_c if cost_c and cost_p else None
    return {"label": config.label, "config": asdict(config), "k_epsilon": k_eps,
            "converged": {**converged, "steps_to_target": steps_c, "iterations_to_target": cost_c},
            "prdp": {**prdp, "steps_to_target": steps_p, "iterations_to_target": cost_p}, "pr_saving": saving}
