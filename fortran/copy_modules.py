"""Copy the library's .mod files from meson's private target folders to OUTDIR.

Usage: copy_modules.py SEARCH_DIR OUTDIR MODULE...
"""
import pathlib
import shutil
import sys

search, outdir, names = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3:]
for name in names:
    found = sorted(p for p in search.glob(f"*.p/{name}.mod"))
    if not found:
        raise SystemExit(f"copy_modules: {name}.mod not found under {search}")
    shutil.copyfile(found[0], outdir / f"{name}.mod")
