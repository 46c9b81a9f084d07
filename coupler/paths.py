"""Where the installed Fortran library, its .mod files and hfc.pc live."""
from __future__ import annotations

from pathlib import Path


def fortran_paths() -> dict[str, Path]:
    root = Path(__file__).resolve().parent / "fortran"
    return {"lib": root / "lib", "include": root / "include", "pkgconfig": root / "lib" / "pkgconfig"}
