"""The learned advection flux of Zhuang et al. (2021) under the 2D halo contract.

Inputs (ONNX axis order, the last axis fastest; Fortran reverses them, DESIGN.md):
- `c`     (batch, 1, ny + 2g, nx + 2g): cell averages of a block with g halo cells per side;
- `u`     (batch, 1, ny + 2g, nx + 2g): the x-face velocity on the left face of every cell
  of that block, `v` the same shape: the y-face velocity below every cell (the host's
  layout of face fields, HFC_AT_LOWER_FACES in hfc_provider.f90: no copy);
- `c_range` (batch, 2): the minimum and maximum of c over the whole domain (every rank's
  block), for the paper's normalisation of the input to [0, 1] (Sec. II D (3)); a host
  computes it over all ranks, so the fluxes of a block do not depend on the decomposition.
Outputs: `flux_x` (batch, 1, ny, nx + 1) and `flux_y` (batch, 1, ny + 1, nx): u c_face and
v c_face at the faces of the interior cells, face i of a row between interior cells i-1 and i.

Inside: a CNN of `layers` convolutions (kernel x kernel, ReLU between, "valid": no padding)
on the normalised concentration and the two face velocities of each cell predicts, at every face, the
free parameters of a FaceStencil2D (training.constraints: the polynomial-accuracy constraint,
first order by default as the paper, around the paper's centred two-cell scheme); its last
layer sits on faces (kernel x 2 for x-faces, 2 x kernel for y-faces, centred on the face).
The coefficients act on the raw concentrations, so the scheme is semi-linear:
H(a c + b) = a H(c) + b for a > 0 (the normalisation sees the same field).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from training.constraints import ConstrainedCoefficients, FaceStencil2D

INPUTS = ("c", "u", "v", "c_range")
OUTPUTS = ("flux_x", "flux_y")


@dataclass(frozen=True)
class AdvectionModelConfig:
    dx: float                      # the coarse grid the model is trained for
    dy: float
    layers: int = 4                # convolutions, the last one on faces (paper: 10)
    channels: int = 32             # filters of the hidden convolutions (paper: 128)
    kernel: int = 3
    normal: int = 2                # stencil cells across a face (even)
    tangent: int = 3               # stencil rows along a face (odd)
    accuracy: int = 1              # polynomial accuracy order (paper: 1)

    def __post_init__(self) -> None:
        if self.layers < 1 or self.channels < 1 or self.kernel < 1 or self.kernel % 2 == 0:
            raise ValueError("a model needs at least one convolution, at least one channel and an odd kernel")
        if not (self.dx > 0 and self.dy > 0):
            raise ValueError("dx and dy must be positive")
        self.stencil()                                        # checks the stencil

    def stencil(self) -> FaceStencil2D:
        return FaceStencil2D(self.normal, self.tangent, self.accuracy)

    @property
    def net_halo(self) -> int:
        """Halo cells the CNN needs: (layers - 1) hidden convolutions of radius r, then one
        cell across the face (the face layer spans the two cells) and r along it."""
        r = self.kernel // 2
        return r * (self.layers - 1) + max(1, r)

    @property
    def halo(self) -> int:
        return max(self.net_halo, self.normal // 2, self.tangent // 2)

    def to_dict(self) -> dict:
        return asdict(self)

    def flops_per_cell(self, folded: bool = False) -> int:
        """Floating-point operations of one evaluation per cell (a multiply-add counts 2): the
        hidden convolutions, the two face layers, the constraint's affine map (none when
        folded into the face layers, which then give all N coefficients) and the stencil
        sums at one x-face and one y-face per cell, and the two fluxes."""
        n, free = self.normal * self.tangent, self.stencil().n_free
        channels, macs = 3, 0
        for _ in range(self.layers - 1):
            macs += channels * self.channels * self.kernel ** 2
            channels = self.channels
        outputs = n if folded else free
        macs += 2 * (channels * outputs * 2 * self.kernel + (0 if folded else free * n) + n)
        return 2 * macs + 2


class AdvectionFluxModel(nn.Module):
    """(c, u, v, c_range) -> (flux_x, flux_y); see the module docstring."""

    def __init__(self, config: AdvectionModelConfig, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.config = config
        self.halo = config.halo
        stencil = config.stencil()
        self.coefficients = ConstrainedCoefficients(stencil, dtype)
        h, k = stencil.offsets()
        self.offsets = [(int(a - 0.5), int(b)) for a, b in zip(h, k)]   # (cells across - 1/2, rows along)
        hidden: list[nn.Module] = []
        channels = 3
        for _ in range(config.layers - 1):
            hidden += [nn.Conv2d(channels, config.channels, config.kernel), nn.ReLU()]
            channels = config.channels
        self.hidden = nn.Sequential(*hidden).to(dtype)
        n_free = stencil.n_free
        self.face_x = nn.Conv2d(channels, n_free, (config.kernel, 2)).to(dtype)
        self.face_y = nn.Conv2d(channels, n_free, (2, config.kernel)).to(dtype)
        self.gather_x = self.gather_y = None       # the export form's one-hot convolutions (export_form)

    def features(self, c: torch.Tensor, u: torch.Tensor, v: torch.Tensor, c_range: torch.Tensor) -> torch.Tensor:
        """(batch, 3, ...) of the block's cells the CNN reads: normalised c, u, v."""
        bounds = c_range[:, :, None, None]
        low, high = bounds[:, :1], bounds[:, 1:]
        span = torch.clamp(high - low, min=torch.finfo(c.dtype).tiny)
        crop = self.halo - self.config.net_halo
        return _crop(torch.cat([(c - low) / span, u, v], 1), crop, crop, crop, crop)

    def face_values(self, c: torch.Tensor, alpha: torch.Tensor, along_x: bool) -> torch.Tensor:
        """sum_j alpha_j c_j at the interior faces normal to x (along_x) or to y: the stencil's
        cells as one stacked tensor (slices, or in the export form one one-hot convolution),
        one product, one sum."""
        g, n, t = self.halo, self.config.normal // 2, self.config.tangent // 2
        gather = self.gather_x if along_x else self.gather_y
        if gather is not None:        # export form: the same cells, exactly (c * 1 + 0 * others)
            cells = gather(_crop(c, g - t, g - t, g - n, g - n) if along_x else _crop(c, g - n, g - n, g - t, g - t))
        elif along_x:     # face i of a row lies between cells i - 1 and i: nx + 1 faces
            cells = torch.cat([_crop(c, g + along, g - along, g + across, g - across - 1)
                               for across, along in self.offsets], 1)
        else:
            cells = torch.cat([_crop(c, g + across, g - across - 1, g + along, g - along)
                               for across, along in self.offsets], 1)
        return torch.sum(alpha * cells, 1, keepdim=True)

    def forward(self, c: torch.Tensor, u: torch.Tensor, v: torch.Tensor,
                c_range: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g, r = self.halo, self.config.kernel // 2
        hidden = self.hidden(self.features(c, u, v, c_range))
        gh = self.config.net_halo - r * (self.config.layers - 1)   # halo left in the hidden map: max(1, r)
        # x-faces: r rows beyond the interior, 1 cell either side; y-faces the transpose
        hx = _crop(hidden, gh - r, gh - r, gh - 1, gh - 1)
        hy = _crop(hidden, gh - 1, gh - 1, gh - r, gh - r)
        if self.coefficients is None:           # export_form: the face layers give alpha
            alpha_x, alpha_y = self.face_x(hx), self.face_y(hy)
        else:
            alpha_x = self.coefficients(self.face_x(hx).movedim(1, -1)).movedim(-1, 1)
            alpha_y = self.coefficients(self.face_y(hy).movedim(1, -1)).movedim(-1, 1)
        flux_x = _crop(u, g, g, g, g - 1) * self.face_values(c, alpha_x, True)
        flux_y = _crop(v, g, g - 1, g, g) * self.face_values(c, alpha_y, False)
        return flux_x, flux_y


def _crop(x: torch.Tensor, top: int, bottom: int, left: int, right: int) -> torch.Tensor:
    """x without `top` / `bottom` rows and `left` / `right` columns of its last two axes
    (static bounds: no shape arithmetic in an exported graph)."""
    return x[..., top:-bottom or None, left:-right or None]


def export_form(model: AdvectionFluxModel) -> AdvectionFluxModel:
    """The same model as the shortest graph (a new module; the argument is unchanged):
    - the constraint's affine map alpha = fixed + B theta folded into the face layers
      (W' = B W, b' = B b + fixed; exact up to round-off): one matrix product per face fewer;
    - the stencil's cells gathered by one convolution per face with one-hot kernels (the
      same numbers exactly for finite c) instead of a slice per cell: ONNX Runtime's Slice
      costs several microseconds per node on a 32^2 block, more than a small model's FLOPs."""
    import copy

    folded = copy.deepcopy(model)
    basis, fixed = model.coefficients.basis, model.coefficients.fixed          # (N, K), (N,)
    for name in ("face_x", "face_y"):
        conv = getattr(model, name)
        merged = nn.Conv2d(conv.in_channels, basis.shape[0], conv.kernel_size).to(conv.weight.dtype)
        with torch.no_grad():
            merged.weight.copy_(torch.einsum("nk,kcij->ncij", basis, conv.weight))
            merged.bias.copy_(basis @ conv.bias + fixed)
        setattr(folded, name, merged)
    folded.coefficients = None
    n, t = model.config.normal, model.config.tangent
    for name, kernel in (("gather_x", (t, n)), ("gather_y", (n, t))):
        gather = nn.Conv2d(1, len(model.offsets), kernel).to(model.face_x.weight.dtype)
        with torch.no_grad():
            gather.weight.zero_()
            gather.bias.zero_()
            for j, (across, along) in enumerate(model.offsets):
                at = (along + t // 2, across + n // 2)          # (row, column) of the x-face kernel
                gather.weight[(j, 0) + (at if name == "gather_x" else at[::-1])] = 1.0
        setattr(folded, name, gather)
    return folded


# ---- periodic domains (training and evaluation on whole periodic fields) ----

def pad_cells(c: torch.Tensor, g: int) -> torch.Tensor:
    """Periodic halo of g cells on the last two axes of (..., ny, nx)."""
    return _pad(_pad(c, g, -1), g, -2)


def _pad(x: torch.Tensor, g: int, axis: int) -> torch.Tensor:
    n = x.shape[axis]
    return torch.cat([x.narrow(axis, n - g, g), x, x.narrow(axis, 0, g)], axis) if g else x


def periodic_tendency(model: AdvectionFluxModel, c: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """dc/dt = -div(flux) of periodic cell averages c (batch, ny, nx) with periodic face
    velocities u, v (batch, ny, nx) on the left / lower face of each cell; the range is the
    field's own (the paper's per-sample normalisation)."""
    g = model.halo
    c_range = torch.stack([c.amin((-2, -1)), c.amax((-2, -1))], -1)
    fx, fy = model(*(pad_cells(x, g).unsqueeze(1) for x in (c, u, v)), c_range)
    fx, fy = fx[:, 0], fy[:, 0]
    return -(fx[..., 1:] - fx[..., :-1]) / model.config.dx - (fy[..., 1:, :] - fy[..., :-1, :]) / model.config.dy


def euler_unroll(model: AdvectionFluxModel, c: torch.Tensor, u: torch.Tensor, v: torch.Tensor, dt: float,
                 steps: int) -> torch.Tensor:
    """(batch, steps, ny, nx): the states after 1..steps forward-Euler steps. Velocities
    (batch, ny, nx) are steady; (batch, steps, ny, nx) give those of each step's start."""
    states = []
    for k in range(steps):
        uk, vk = (u[:, k], v[:, k]) if u.dim() == 4 else (u, v)
        c = c + dt * periodic_tendency(model, c, uk, vk)
        states.append(c)
    return torch.stack(states, 1)
