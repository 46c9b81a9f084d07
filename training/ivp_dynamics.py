"""The Neural-IVP parameter ODE (Finzi et al. 2023, Eq. 2-5, Sec. 4.2, Algorithm 1):
M(theta) dtheta/dt = F(theta), with the Monte Carlo estimates over samples x_1..x_n

    M v = (1/n) J^T (J v),   F = (1/n) J^T f,   J_ik = d u(x_i, theta) / d theta_k,
    f_i = L[u](x_i, theta) (the PDE's right-hand side applied to the network),

never forming J: J v is one forward-mode product (torch.func.jvp), J^T w one reverse-mode
product (torch.func.vjp), so a product with M costs a small multiple of one evaluation of
the network on the n samples: linear in the number of parameters p.

(M + mu I) dtheta = F is solved by conjugate gradients preconditioned with the randomized
Nystrom approximation of M (Frangella, Tropp & Udell 2021): from Y = M Omega for a random
orthonormal Omega of rank l (stabilised by a small shift), M ~ U diag(lam) U^T, and

    P^-1 = (lam_l + mu) U (diag(lam) + mu I)^-1 U^T + (I - U U^T),

which flattens the l largest eigenvalues of M + mu I onto lam_l + mu.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import torch
from torch.func import functional_call, jvp, vjp, vmap

from training.ivp_ansatz import unflatten

Field = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]     # (theta, x (n, dim)) -> u (n k,)


def field(module: torch.nn.Module) -> Field:
    """u(theta, x): the module evaluated with the flat parameter vector theta, flattened
    sample-major (n k values for k components: the rows of J are (sample, component))."""
    def u(theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return functional_call(module, unflatten(module, theta), (x,)).reshape(-1)
    return u


def jacobian_vector(u: Field, theta: torch.Tensor, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """J v (n,): the change of u at the samples along the parameter direction v."""
    return jvp(lambda t: u(t, x), (theta,), (v,))[1]


def vector_jacobian(u: Field, theta: torch.Tensor, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """J^T w (p,)."""
    return vjp(lambda t: u(t, x), theta)[1](w)[0]


@dataclass
class LinearSystem:
    """M and F at (theta, samples x) for the right-hand side values f (n,)."""

    u: Field
    theta: torch.Tensor
    x: torch.Tensor

    def __post_init__(self) -> None:
        self._pullback = vjp(lambda t: self.u(t, self.x), self.theta)[1]   # one reverse pass, reused

    @property
    def n(self) -> int:
        return self.x.shape[0]

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        """M v = (1/n) J^T (J v)."""
        return self._pullback(jacobian_vector(self.u, self.theta, self.x, v))[0] / self.n

    def rhs(self, f: torch.Tensor) -> torch.Tensor:
        """F = (1/n) J^T f."""
        return self._pullback(f)[0] / self.n


@dataclass
class NystromPreconditioner:
    """P^-1 of a rank-l Nystrom approximation U diag(lam) U^T of M, for M + mu I."""

    basis: torch.Tensor           # U (p, l), orthonormal columns
    eigenvalues: torch.Tensor     # lam (l,), descending
    mu: float

    @classmethod
    def build(cls, matvec: Callable[[torch.Tensor], torch.Tensor], p: int, rank: int, mu: float,
              generator: torch.Generator, dtype: torch.dtype = torch.float64) -> "NystromPreconditioner":
        """Frangella et al.'s Algorithm 2.1: `rank` products with M (batched)."""
        omega, _ = torch.linalg.qr(torch.randn(p, rank, generator=generator, dtype=dtype))
        y = vmap(matvec, in_dims=1, out_dims=1)(omega)
        shift = torch.finfo(dtype).eps * torch.linalg.norm(y)
        y = y + shift * omega
        c = torch.linalg.cholesky(omega.T @ y)
        b = torch.linalg.solve_triangular(c, y.T, upper=False).T                  # Y C^-T
        u, s, _ = torch.linalg.svd(b, full_matrices=False)
        return cls(u, torch.clamp(s ** 2 - shift, min=0.0), mu)

    def apply(self, v: torch.Tensor) -> torch.Tensor:
        coefficients = self.basis.T @ v
        scaled = (self.eigenvalues[-1] + self.mu) / (self.eigenvalues + self.mu) * coefficients
        return self.basis @ scaled + v - self.basis @ coefficients


@dataclass(frozen=True)
class CGResult:
    solution: torch.Tensor
    iterations: int
    residual: float               # ||b - A x|| / ||b|| at the end
    converged: bool
    top_eigenvalue: float | None = None   # Nystrom's estimate of M's largest eigenvalue (preconditioned solves)


def conjugate_gradients(matvec: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor, tolerance: float = 1e-8,
                        max_iterations: int = 1000,
                        preconditioner: Callable[[torch.Tensor], torch.Tensor] | None = None) -> CGResult:
    """Preconditioned CG on A x = b (A symmetric positive definite) from x = 0, stopping when
    the relative residual falls below `tolerance` (the paper: 1e-8, at most 1000 iterations)."""
    precondition = preconditioner or (lambda r: r)
    x = torch.zeros_like(b)
    r = b.clone()
    z = precondition(r)
    p = z
    rz = torch.dot(r, z)
    norm_b = torch.linalg.norm(b)
    if norm_b == 0:
        return CGResult(x, 0, 0.0, True)
    for iteration in range(1, max_iterations + 1):
        ap = matvec(p)
        alpha = rz / torch.dot(p, ap)
        x = x + alpha * p
        r = r - alpha * ap
        residual = float(torch.linalg.norm(r) / norm_b)
        if residual < tolerance:
            return CGResult(x, iteration, residual, True)
        z = precondition(r)
        rz_next = torch.dot(r, z)
        p = z + rz_next / rz * p
        rz = rz_next
    return CGResult(x, max_iterations, residual, False)


def solve_dynamics(system: LinearSystem, f: torch.Tensor, mu: float = 1e-6, rank: int = 200,
                   tolerance: float = 1e-8, max_iterations: int = 1000,
                   generator: torch.Generator | None = None) -> CGResult:
    """dtheta/dt from (M + mu I) dtheta = F by Nystrom-preconditioned CG (rank 0: plain CG)."""
    shifted = lambda v: system.matvec(v) + mu * v                                # noqa: E731
    if not rank:
        return conjugate_gradients(shifted, system.rhs(f), tolerance, max_iterations)
    p = system.theta.numel()
    generator = generator or torch.Generator().manual_seed(0)
    nystrom = NystromPreconditioner.build(system.matvec, p, min(rank, p), mu, generator, system.theta.dtype)
    result = conjugate_gradients(shifted, system.rhs(f), tolerance, max_iterations, nystrom.apply)
    return replace(result, top_eigenvalue=float(nystrom.eigenvalues[0]))
