"""Write the inputs of advection2d_host: the paper's deformational-flow case (Zhuang et al.
2021, Eq. 8-9) on an nx x ny grid of [0, 1]^2, as `hfc simulate --equation advection2d`
sets it up: c0(y, x), the cosine blob's cell averages, and u(y, x), v(y, x), the face
velocities at t = 0 (the x-face left of / the y-face below each cell, exact edge averages
of the stream function). The host applies the flow's law cos(pi t / period) itself.

    python inputs.py [--nx 64] [--ny NX] [--output inputs.nc]
"""
import argparse

import netCDF4

from coupler.problems.advection2d import FlowConfig, tracer
from coupler.problems.flows import Grid2D


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nx", type=int, default=64)
    parser.add_argument("--ny", type=int, default=None)
    parser.add_argument("--output", default="inputs.nc")
    args = parser.parse_args()
    grid = Grid2D(args.nx, args.ny or args.nx)
    u, v = FlowConfig("deformational").make(grid, seed=0).face_velocities(grid)
    with netCDF4.Dataset(args.output, "w") as ds:
        ds.createDimension("y", grid.ny)
        ds.createDimension("x", grid.nx)
        for name, values, meaning in (("c0", tracer("blob", grid, 0), "initial cell averages (Eq. 9)"),
                                      ("u", u[:, :-1], "x-face velocity left of each cell at t = 0"),
                                      ("v", v[:-1, :], "y-face velocity below each cell at t = 0")):
            var = ds.createVariable(name, "f8", ("y", "x"))
            var[:] = values
            var.long_name = meaning
        ds.source = "examples/04_fortran_advection2d/inputs.py"
    print(f"wrote {args.output}: {grid.nx} x {grid.ny}")


if __name__ == "__main__":
    main()
