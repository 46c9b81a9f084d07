"""Learned-discretization flux models (Bar-Sinai et al. 2019) under the halo contract.

A model takes cell averages with g halo cells per side, shape (batch, 1, n + 2g), and
returns the total flux at the n + 1 interior faces, shape (batch, 1, n + 1); face k lies
between cells k-1 and k. Convolutions are "valid" (no padding inside): boundary
conditions are the host's job, so one model serves periodic domains, MPI subdomains and
any grid length. Inside, coefficients alpha for each needed derivative are predicted
under the polynomial-accuracy constraint (training.constraints), applied to the 6 cells
around the face, and the equation's exact flux formula turns the face values into J.

Kinds:
- "network": a pseudo-linear CNN predicts the free parameters at every face.
- "constant": the free parameters are learned constants (optimized constant coefficients).
- "baseline": no free parameters: the standard full-order polynomial stencil.
With godunov=True the face value comes as separate left and right estimates combined by
the exact Godunov flux for the convective term (SI Eq. S-1).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from training.constraints import ConstrainedCoefficients, PolynomialConstraint, stencil_offsets
from training.equations import Equation, make_equation

KINDS = ("network", "constant", "baseline")


@dataclass(frozen=True)
class ModelConfig:
    equation: str = "burgers"
    kind: str = "network"
    godunov: bool = False
    dx: float = 2 * 3.141592653589793 / 64      # coarse grid spacing the model is trained for
    viscosity: float = 0.01                      # Burgers only
    stencil: int = 6                             # cells around each face
    accuracy: int = 1                            # polynomial accuracy order m
    channels: int = 32
    kernel: int = 5                              # hidden layers; the last layer's kernel is 6 (see below)
    layers: int = 3

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown model kind '{self.kind}' (expected one of {', '.join(KINDS)})")
        if self.stencil % 2 or self.stencil < 2:
            raise ValueError("the stencil must have an even number of cells (centred on the face)")
        if self.kernel % 2 == 0 or self.layers < 1:
            raise ValueError("hidden kernels must be odd and there must be at least one layer")

    def to_dict(self) -> dict:
        return asdict(self)


class FluxModel(nn.Module):
    """State with halo in, face fluxes out. See the module docstring."""

    def __init__(self, config: ModelConfig, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.config = config
        self.equation: Equation = make_equation(config.equation, config.viscosity)
        offsets = tuple(stencil_offsets(config.stencil))
        # one constrained coefficient set per face quantity: value(s) and derivatives
        quantities = ["left", "right"] if config.godunov else ["value"]
        quantities += [f"d{order}" for order in self.equation.derivatives[1:]]
        orders = [0] * (2 if config.godunov else 1) + list(self.equation.derivatives[1:])
        self.quantities = quantities
        self.orders = orders
        self.coefficients = nn.ModuleList(
            ConstrainedCoefficients(PolynomialConstraint(offsets, order, config.accuracy, "fv"), dtype)
            for order in orders)
        sizes = [c.n_free for c in self.coefficients]
        self.splits = sizes
        n_free = sum(sizes)

        if config.kind == "network":
            # Hidden layers on cells (odd kernel); the last layer has an even kernel of 6 so
            # its outputs sit on faces, symmetric about each face (cells k-7 .. k+6 for face k).
            layers: list[nn.Module] = []
            channels = 1
            for _ in range(config.layers - 1):
                layers += [nn.Conv1d(channels, config.channels, config.kernel), nn.ReLU()]
                channels = config.channels
            layers.append(nn.Conv1d(channels, n_free, 6))
            self.net = nn.Sequential(*layers).to(dtype)
            net_halo = (config.layers - 1) * (config.kernel // 2) + 3
        else:
            self.net = None
            net_halo = 0
        if config.kind == "constant":
            self.theta = nn.Parameter(torch.zeros(n_free, dtype=dtype))
        else:
            self.register_parameter("theta", None)
        self.halo = max(net_halo, config.stencil // 2)

    def free_parameters(self, u: torch.Tensor, n_faces: int) -> torch.Tensor:
        """(batch, n_faces, n_free) free parameters at each face."""
        if self.net is not None:
            g0 = self.halo - ((self.config.layers - 1) * (self.config.kernel // 2) + 3)
            x = u[..., g0:u.shape[-1] - g0] if g0 else u
            return self.net(x).transpose(1, 2)
        n_free = sum(self.splits)
        if self.theta is not None:
            return self.theta.expand(u.shape[0], n_faces, n_free)
        return u.new_zeros(u.shape[0], n_faces, n_free)

    def face_quantities(self, u: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each quantity (value or left/right, derivatives) at the n + 1 faces: (batch, n + 1)."""
        g, s = self.halo, self.config.stencil
        n_faces = u.shape[-1] - 2 * g + 1
        start = g - s // 2
        cells = u[:, 0, start:start + n_faces + s - 1].unfold(-1, s, 1)   # (batch, faces, s)
        theta = self.free_parameters(u, n_faces)
        out = {}
        for name, order, layer, part in zip(self.quantities, self.orders, self.coefficients,
                                            torch.split(theta, self.splits, dim=-1)):
            alpha = layer(part)                                            # (batch, faces, s) or (s,)
            out[name] = (alpha * cells).sum(-1) / _constant(self.config.dx ** order, cells)
        return out

    def stencil_coefficients(self) -> dict[str, list[float]]:
        """A constant model's stencil: per face quantity (value or left/right, then each
        derivative), the coefficients of the cells k - s/2 .. k + s/2 - 1 of face k (before
        the division by dx^order), in float64. What a host runs natively, without a network."""
        if self.config.kind != "constant":
            raise ValueError(f"a {self.config.kind} model has no constant stencil")
        out = {}
        with torch.no_grad():       # the module's own constraint buffers: what the trained model computes
            for name, layer, part in zip(self.quantities, self.coefficients, torch.split(self.theta.double(), self.splits)):
                out[name] = [float(a) for a in layer.fixed.double() + layer.basis.double() @ part]
        return out

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """u: (batch, 1, n + 2g) -> flux: (batch, 1, n + 1)."""
        q = self.face_quantities(u)
        face = {order: q[f"d{order}"] for order in self.equation.derivatives[1:]}
        if self.config.godunov:
            face[0] = 0.5 * (q["left"] + q["right"])
            flux = self.equation.godunov_flux(q["left"], q["right"], face)
        else:
            face[0] = q["value"]
            flux = self.equation.flux(face)
        return flux.unsqueeze(1)


def _constant(value: float, like: torch.Tensor) -> torch.Tensor:
    """A Python float as a tensor of `like`'s dtype. The ONNX exporter stores bare Python
    scalars as float32 even in a float64 graph; a typed tensor keeps float64 exact."""
    return torch.tensor(value, dtype=like.dtype, device=like.device)


def pad_periodic(u: torch.Tensor, g: int) -> torch.Tensor:
    """Periodic halo of width g on the last axis (training on periodic data wraps g cells)."""
    return torch.cat([u[..., -g:], u, u[..., :g]], dim=-1) if g else u


def periodic_time_derivative(model: FluxModel, u: torch.Tensor, source: torch.Tensor | None = None) -> torch.Tensor:
    """du/dt of periodic cell averages u (batch, n): -(F_{k+1} - F_k)/dx (+ source)."""
    flux = model(pad_periodic(u, model.halo).unsqueeze(1))[:, 0]
    dudt = -(flux[:, 1:] - flux[:, :-1]) / model.config.dx
    return dudt if source is None else dudt + source
