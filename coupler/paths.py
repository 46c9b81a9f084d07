"""Where the installed Fortran libraries, their .mod files, pkg-config and CMake files live
(inside the Python package; `make install PREFIX=...` puts the same tree elsewhere)."""
from __future__ import annotations

from pathlib import Path


def fortran_paths() -> dict[str, Path]:
    root = Path(__file__).resolve().parent / "fortran"
    return {"lib": root / "lib", "include": root / "include", "pkgconfig": root / "lib" / "pkgconfig",
            "cmake": root / "lib" / "cmake" / "hfc"}
