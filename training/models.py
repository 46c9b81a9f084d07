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

import copy
from dataclasses import asdict, dataclass

import torch
from torch import nn

from training.constraints import ConstrainedCoefficients, PolynomialConstraint, stencil_offsets
from training.equations import Equation, godunov_convex_square, make_equation

KINDS = ("network", "constant", "baseline")
# operations of each flux formula of the lean form (LeanFluxModel.flux): square q1 q1 + q2;
# negative-square also the sign; godunov: l l, r r, max, max(l, 0) and min(r, 0) squared,
# max, l > r, the select, the product by c, + q3
FORMULA_FLOPS = {"linear": 0, "square": 2, "negative-square": 3, "godunov": 12}


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

    def face_quantities(self, u: torch.Tensor, theta: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Each quantity (value or left/right, derivatives) at the n + 1 faces: (batch, n + 1).
        `theta`: free parameters to use instead of the network's for u (coefficient reuse)."""
        g, s = self.halo, self.config.stencil
        n_faces = u.shape[-1] - 2 * g + 1
        start = g - s // 2
        cells = u[:, 0, start:start + n_faces + s - 1].unfold(-1, s, 1)   # (batch, faces, s)
        theta = self.free_parameters(u, n_faces) if theta is None else theta
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

    def forward(self, u: torch.Tensor, theta: torch.Tensor | None = None) -> torch.Tensor:
        """u: (batch, 1, n + 2g) -> flux: (batch, 1, n + 1)."""
        q = self.face_quantities(u, theta)
        face = {order: q[f"d{order}"] for order in self.equation.derivatives[1:]}
        if self.config.godunov:
            face[0] = 0.5 * (q["left"] + q["right"])
            flux = self.equation.godunov_flux(q["left"], q["right"], face)
        else:
            face[0] = q["value"]
            flux = self.equation.flux(face)
        return flux.unsqueeze(1)


class LeanFluxModel(nn.Module):
    """A FluxModel as its smallest exact graph (what `hfc export` writes; export_form).

    Every fixed linear map after the network is folded into its last convolution: the
    constraint (alpha = fixed + B theta), 1/dx^order, the flux law's linear coefficients
    (-nu for Burgers) and sqrt|c| of the convective c v^2 (so c v^2 = sign(c) v'^2). All
    linear face terms then share one coefficient set: per face the last convolution emits
    the stencil of each value (v, or left and right for Godunov) and of the linear part L,
    which one-hot "gather" convolution's cells meet in one product and sum each. The flux
    is sign(c) v'^2 + L (Godunov: G(left', right') + L). A constant or baseline model is a
    single convolution with those stencils as weights, no gather. Same numbers as the
    FluxModel up to round-off (tested: 1e-13 in float64).

    With `stencils` (a network model) the graph also returns the last convolution's output,
    the per-face stencils (batch, groups * s, n + 1), whose values make the flux by
    `stencils_form`: what a host keeps to reuse the step's first-stage coefficients at its
    later stages (Fortran hfc_learned) without running the network again."""

    def __init__(self, model: FluxModel, stencils: bool = False):
        super().__init__()
        if stencils and model.net is None:
            raise ValueError(f"a {model.config.kind} model has no per-face stencils to return (its stencil is constant)")
        self.with_stencils = stencils
        cfg, law = model.config, model.equation
        s, dtype = cfg.stencil, model.coefficients[0].fixed.dtype
        self.halo, self.stencil = model.halo, s
        start = model.halo - s // 2          # cells of face k: u[start + k ...] of the halo'd input
        if cfg.godunov and not law.convective > 0:
            raise ValueError("the Godunov variant needs a convex convective term c v^2, c > 0")
        scale = abs(law.convective) ** 0.5
        # (factor, quantity index) terms of each group: the values, then the linear part
        values = [[(scale, i)] for i, name in enumerate(model.quantities) if name in ("value", "left", "right")]
        linear = [(coefficient / cfg.dx ** order, model.orders.index(order)) for order, coefficient in law.linear]
        if law.velocity:
            linear.append((law.velocity, model.quantities.index("value")))
        groups = (values if law.convective else []) + [linear]
        self.groups = len(groups)
        self.stencils_form = ("linear" if not law.convective else "godunov" if cfg.godunov
                              else "square" if law.convective > 0 else "negative-square")
        # each quantity's stencil as an affine map of the last layer's outputs: weight (s, K), bias (s,)
        last = model.net[-1] if model.net is not None else None
        maps = []
        for layer, rows in zip(model.coefficients, _split_rows(model.splits)):
            basis, fixed = layer.basis.double(), layer.fixed.double()
            if last is not None:
                weight = torch.einsum("nk,kcw->ncw", basis, last.weight.detach().double()[rows])
                bias = basis @ last.bias.detach().double()[rows] + fixed
            else:
                theta = model.theta.detach().double()[rows] if model.theta is not None else basis.new_zeros(basis.shape[1])
                weight, bias = None, fixed + basis @ theta
            maps.append((weight, bias))

        def combined(part: int) -> list[torch.Tensor]:       # each group's weight (part 0) or bias (part 1)
            zero = torch.zeros_like(maps[0][part])
            return [sum((f * maps[q][part] for f, q in g), zero) for g in groups]

        with torch.no_grad():
            if last is not None:
                self.hidden = copy.deepcopy(nn.Sequential(*list(model.net)[:-1]))
                self.crop = model.halo - ((cfg.layers - 1) * (cfg.kernel // 2) + 3)
                self.last = nn.Conv1d(last.in_channels, self.groups * s, last.kernel_size[0]).to(dtype)
                self.last.weight.copy_(torch.cat(combined(0)))
                self.last.bias.copy_(torch.cat(combined(1)))
                # one-hot kernels over the window k .. k + 2 g - s: no slice of u in the graph
                self.gather = nn.Conv1d(1, s, s + 2 * start, bias=False).to(dtype)
                self.gather.weight.copy_(torch.eye(s, s + 2 * start, dtype=dtype).roll(start, 1)[:, None, :])
            else:
                self.hidden = self.last = None
                self.gather = nn.Conv1d(1, self.groups, s + 2 * start, bias=False).to(dtype)   # the stencils themselves
                stencils = torch.stack(combined(1))
                self.gather.weight.copy_(nn.functional.pad(stencils, (start, start))[:, None])

    def forward(self, u: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """u: (batch, 1, n + 2g) -> flux: (batch, 1, n + 1) [, stencils (batch, groups * s, n + 1)]."""
        if self.last is None:
            cells = self.gather(u)
            return self.flux([cells[:, i:i + 1] for i in range(self.groups)])
        x = u[..., self.crop:u.shape[-1] - self.crop] if self.crop else u
        stencils = self.last(self.hidden(x))
        flux = self.flux(self.stencil_values(u, stencils))
        return (flux, stencils) if self.with_stencils else flux

    def flux(self, q: list[torch.Tensor]) -> torch.Tensor:
        """The flux from the stencils' values q (stencils_form: linear q1, square q1^2 + q2,
        negative-square -q1^2 + q2, godunov G(q1, q2) + q3)."""
        if self.stencils_form == "linear":
            return q[0]
        if self.stencils_form == "godunov":
            return godunov_convex_square(q[0], q[1], 1.0) + q[2]
        return (q[0] * q[0] if self.stencils_form == "square" else -(q[0] * q[0])) + q[1]

    def stencil_values(self, u: torch.Tensor, stencils: torch.Tensor) -> list[torch.Tensor]:
        """Each stencil of `stencils` (batch, groups * s, n + 1) applied to u's cells: the
        values q of stencils_form (a later stage reusing the first stage's stencils)."""
        cells, s = self.gather(u), self.stencil
        return [(stencils[:, i * s:(i + 1) * s] * cells).sum(1, keepdim=True) for i in range(self.groups)]

    def flops_per_cell(self) -> int:
        """Multiply-adds x 2 per cell (face) of the graph's arithmetic: convolutions (not the
        gather's one-hot copies), the stencil products and sums, the flux formula
        (FORMULA_FLOPS: arithmetic, comparisons and selections one each)."""
        convs = [m for m in (self.hidden or []) if isinstance(m, nn.Conv1d)] + ([self.last] if self.last else [])
        return (sum(2 * m.weight.numel() for m in convs) + 2 * self.groups * self.stencil
                + FORMULA_FLOPS[self.stencils_form])


def export_form(model: FluxModel, stencils: bool = False) -> LeanFluxModel:
    """The smallest exact graph of a trained 1D model (LeanFluxModel); `model` is unchanged.
    `stencils`: the graph returns the per-face stencils too (a network model)."""
    return LeanFluxModel(model, stencils).eval()


def _split_rows(sizes: list[int]) -> list[slice]:
    """Row ranges of consecutive blocks of the given sizes."""
    ends = [sum(sizes[:i + 1]) for i in range(len(sizes))]
    return [slice(end - size, end) for end, size in zip(ends, sizes)]


def _constant(value: float, like: torch.Tensor) -> torch.Tensor:
    """A Python float as a tensor of `like`'s dtype. The ONNX exporter stores bare Python
    scalars as float32 even in a float64 graph; a typed tensor keeps float64 exact."""
    return torch.tensor(value, dtype=like.dtype, device=like.device)


def pad_periodic(u: torch.Tensor, g: int) -> torch.Tensor:
    """Periodic halo of width g on the last axis (training on periodic data wraps g cells)."""
    return torch.cat([u[..., -g:], u, u[..., :g]], dim=-1) if g else u


def periodic_time_derivative(model: FluxModel, u: torch.Tensor, source: torch.Tensor | None = None,
                             theta: torch.Tensor | None = None) -> torch.Tensor:
    """du/dt of periodic cell averages u (batch, n): -(F_{k+1} - F_k)/dx (+ source); with
    `theta` the stencil coefficients' free parameters are those given (FluxModel.forward)."""
    flux = model(pad_periodic(u, model.halo).unsqueeze(1), theta)[:, 0]
    dudt = -(flux[:, 1:] - flux[:, :-1]) / model.config.dx
    return dudt if source is None else dudt + source
