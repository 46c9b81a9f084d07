"""Iterative linear solvers with a fixed iteration count K, differentiable two ways (the
PRDP paper, "Progressively Refined Differentiable Physics", appendices B and C): its Jacobi
(Alg. 1), steepest descent (Alg. 2), conjugate gradients and restarted GMRES(m) (Alg. 3:
an iteration is one whole m-dimensional Krylov space and its least-squares solve).

Operators are matrix-free: `matvec(u, *params)`, linear in u, batched over the first axis
(a state of any shape after it: 1D, 2D and 3D fields alike), with `params` the tensors the
matrix depends on (none for a constant matrix). Jacobi also needs the matrix's diagonal.

- **unrolled**: autograd through the K iterations (every iterate kept).
- **implicit** (Christianson 1998; the paper's Eq. 10-13): the primal solve without a
  graph; backward solves A^T lambda = u_bar with the same solver and K, then b_bar = lambda
  and params_bar = -lambda^T d(A u)/d(params) (the VJP of the matrix-free matvec at the
  primal solution). A^T v comes from the VJP of the matvec, so any linear matvec works.

Every solver starts from u = 0, as the paper's algorithms. No early exit: K is the
refinement level PRDP controls (`iterations_to` finds the K that reaches a tolerance).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

METHODS = ("jacobi", "sd", "cg", "gmres")
Matvec = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class SolverConfig:
    """The solver, its iteration count K, GMRES's restart length m, and how gradients pass."""

    method: str = "jacobi"
    iterations: int = 10
    restart: int = 10
    differentiation: str = "unrolled"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown solver '{self.method}' (expected one of {', '.join(METHODS)})")
        if self.differentiation not in ("unrolled", "implicit"):
            raise ValueError(f"differentiation is 'unrolled' or 'implicit', got '{self.differentiation}'")
        if self.iterations < 0 or self.restart < 1:
            raise ValueError("iterations must be >= 0 and the restart length >= 1")


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-sample inner products, shaped to broadcast against a batch of states."""
    return (a * b).flatten(1).sum(1).reshape(-1, *([1] * (a.dim() - 1)))


def _safe(x: torch.Tensor) -> torch.Tensor:
    """x where it is non-zero, else 1 (a converged sample's 0 / 0 becomes 0 / 1)."""
    return torch.where(x == 0, torch.ones_like(x), x)


def jacobi(A: Callable[[torch.Tensor], torch.Tensor], diagonal: torch.Tensor, b: torch.Tensor, k: int) -> torch.Tensor:
    """Alg. 1: u <- D^-1 (b - (L + U) u) = u + D^-1 (b - A u)."""
    u = torch.zeros_like(b)
    for _ in range(k):
        u = u + (b - A(u)) / diagonal
    return u


def steepest_descent(A: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor, k: int) -> torch.Tensor:
    """Alg. 2: the residual direction with the optimal step r.r / r.Ar (A symmetric positive definite)."""
    u, r = torch.zeros_like(b), b.clone()
    for _ in range(k):
        ar = A(r)
        alpha = _dot(r, r) / _safe(_dot(r, ar))
        u, r = u + alpha * r, r - alpha * ar
    return u


def conjugate_gradients(A: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor, k: int) -> torch.Tensor:
    """Conjugate gradients (Hestenes-Stiefel; A symmetric positive definite)."""
    u, r = torch.zeros_like(b), b.clone()
    p, rr = r, _dot(r, r)
    for _ in range(k):
        ap = A(p)
        alpha = rr / _safe(_dot(p, ap))
        u, r = u + alpha * p, r - alpha * ap
        rr_next = _dot(r, r)
        p, rr = r + rr_next / _safe(rr) * p, rr_next
    return u


def gmres(A: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor, k: int, m: int) -> torch.Tensor:
    """Alg. 3: k restarts, each building an m-dimensional Krylov basis (Arnoldi, modified
    Gram-Schmidt) and minimising ||beta e1 - H y|| (H upper Hessenberg, (m + 1) x m)."""
    u = torch.zeros_like(b)
    for _ in range(k):
        r = b - A(u)
        beta = _dot(r, r).sqrt()
        basis = [r / _safe(beta)]
        columns = []
        for j in range(m):
            w = A(basis[j])
            entries = []
            for i in range(j + 1):
                hij = _dot(basis[i], w)
                w = w - hij * basis[i]
                entries.append(hij.flatten())
            norm = _dot(w, w).sqrt()
            entries.append(norm.flatten())
            basis.append(w / _safe(norm))
            columns.append(torch.nn.functional.pad(torch.stack(entries, 1), (0, m - j - 1)))
        h = torch.stack(columns, 2)                                          # (batch, m + 1, m)
        rhs = torch.nn.functional.pad(beta.flatten()[:, None], (0, m))       # beta e1
        y = (torch.linalg.pinv(h) @ rhs[..., None])[..., 0]                  # least squares, rank-safe
        u = u + sum(y[:, j].reshape(-1, *([1] * (b.dim() - 1))) * basis[j] for j in range(m))
    return u


def _iterate(config: SolverConfig, A: Callable[[torch.Tensor], torch.Tensor], diagonal: torch.Tensor | None,
             b: torch.Tensor) -> torch.Tensor:
    k = config.iterations
    if config.method == "jacobi":
        if diagonal is None:
            raise ValueError("the Jacobi method needs the matrix's diagonal")
        return jacobi(A, diagonal, b, k)
    if config.method == "sd":
        return steepest_descent(A, b, k)
    if config.method == "cg":
        return conjugate_gradients(A, b, k)
    return gmres(A, b, k, config.restart)


def transpose(matvec: Matvec, params: tuple[torch.Tensor, ...], like: torch.Tensor) -> Callable:
    """v -> A^T v of a matrix-free linear matvec, from its vector-Jacobian product."""
    def at(v: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            x = torch.zeros_like(like, requires_grad=True)
            return torch.autograd.grad(matvec(x, *params), x, v)[0]
    return at


class _ImplicitSolve(torch.autograd.Function):
    @staticmethod
    def forward(ctx, b, config, matvec, diagonal, *params):
        with torch.no_grad():
            u = _iterate(config, lambda x: matvec(x, *params), diagonal, b)
        ctx.config, ctx.matvec, ctx.diagonal = config, matvec, diagonal
        ctx.save_for_backward(u, *params)
        return u

    @staticmethod
    def backward(ctx, u_bar):
        u, *params = ctx.saved_tensors
        detached = tuple(p.detach() for p in params)
        lam = _iterate(ctx.config, transpose(ctx.matvec, detached, u), ctx.diagonal, u_bar)     # A^T lambda = u_bar
        grads = [None] * len(params)
        wanted = [i for i, need in enumerate(ctx.needs_input_grad[4:]) if need]
        if wanted:
            with torch.enable_grad():
                leaves = [p.detach().requires_grad_(i in wanted) for i, p in enumerate(params)]
                found = torch.autograd.grad(ctx.matvec(u, *leaves), [leaves[i] for i in wanted], lam,
                                            allow_unused=True)
            for i, g in zip(wanted, found):
                grads[i] = None if g is None else -g
        return (lam, None, None, None, *grads)


def solve(matvec: Matvec, b: torch.Tensor, config: SolverConfig, params: tuple[torch.Tensor, ...] = (),
          diagonal: torch.Tensor | float | None = None) -> torch.Tensor:
    """K iterations of the configured solver on A(params) u = b, batched over b's first axis;
    differentiable in b and in params, unrolled or implicitly (Jacobi: the diagonal of A, a
    number or a tensor that broadcasts against b; the implicit mode treats it as constant,
    its gradient flows through the matvec)."""
    if config.differentiation == "unrolled":
        return _iterate(config, lambda x: matvec(x, *params), diagonal, b)
    if isinstance(diagonal, torch.Tensor):
        diagonal = diagonal.detach()
    return _ImplicitSolve.apply(b, config, matvec, diagonal, *params)


def relative_residual(matvec: Matvec, u: torch.Tensor, b: torch.Tensor, params: tuple = ()) -> torch.Tensor:
    """||A u - b|| / ||b|| per sample (the paper's xi)."""
    r = matvec(u, *params) - b
    return (_dot(r, r) / _safe(_dot(b, b))).sqrt().flatten()


def iterations_to(matvec: Matvec, b: torch.Tensor, config: SolverConfig, tolerance: float, params: tuple = (),
                  diagonal: torch.Tensor | None = None, limit: int = 100000) -> int:
    """The smallest K whose solution has every sample's relative residual below
    `tolerance` (the paper's K_epsilon; epsilon = 1e-5 there), found by doubling then bisection."""
    def ok(k: int) -> bool:
        with torch.no_grad():
            u = _iterate(SolverConfig(config.method, k, config.restart), lambda x: matvec(x, *params), diagonal, b)
            return bool(torch.all(relative_residual(matvec, u, b, params) < tolerance))

    high = 1
    while not ok(high):
        if high >= limit:
            raise ValueError(f"{config.method} does not reach {tolerance:g} within {limit} iterations")
        high *= 2
    low = high // 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if ok(mid) else (mid, high)
    return high
