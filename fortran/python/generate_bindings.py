"""Generate the f90wrap/f2py sources of the Python extension (run by meson at build time).

Usage: generate_bindings.py OUTDIR KIND_MAP API_SOURCE

Writes into OUTDIR: f90wrap_hfc_api.f90 and fortran_bindings.py (f90wrap), then
_fortran_bindingsmodule.c and _fortran_bindings-f2pywrappers.f (f2py, f90wrap's
patched version).
"""
import os
import subprocess
import sys


def run(module: str, args: list[str], cwd: str) -> None:
    code = f"import sys; from {module} import main; sys.argv[0] = 'x'; sys.exit(main())"
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd,
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"{module} failed with status {result.returncode}")


def main() -> None:
    outdir, kind_map, api_src = (os.path.abspath(p) for p in sys.argv[1:4])
    run("f90wrap.scripts.main",
        [api_src, "-m", "fortran_bindings", "--f90-mod-name", "coupler._fortran_bindings",
         "-k", kind_map, "--return-decoded"], outdir)
    run("f90wrap.scripts.f2py_f90wrap",
        ["-m", "_fortran_bindings", "--f2cmap", kind_map, "--lower",
         "f90wrap_hfc_api.f90"], outdir)
    for name in ("_fortran_bindings-f2pywrappers.f",):
        path = os.path.join(outdir, name)
        if not os.path.exists(path):   # f2py may skip an empty wrapper file
            open(path, "w").close()


if __name__ == "__main__":
    main()
