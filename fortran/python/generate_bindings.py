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


def keep_sigint_handler(module_c: str) -> None:
    """f90wrap makes SIGINT longjmp out of every Fortran call ("Interrupt occured"): that
    abandons the Fortran state mid-step and, with a Python callback on the stack, the
    interpreter's too. Keep the handler in place instead; the host stops at the end of the
    step when asked (fortran/src/core/hfc_signal.c) and Python raises KeyboardInterrupt."""
    with open(module_c) as fh:
        text = fh.read()
    trap = "PyOS_setsig(SIGINT, f90wrap_abort_int_handler)"
    if trap not in text:
        raise SystemExit(f"{module_c}: f90wrap's SIGINT trap not found; check keep_sigint_handler")
    with open(module_c, "w") as fh:
        fh.write(text.replace(trap, "PyOS_getsig(SIGINT)"))


def main() -> None:
    outdir, kind_map, api_src = (os.path.abspath(p) for p in sys.argv[1:4])
    run("f90wrap.scripts.main",
        [api_src, "-m", "fortran_bindings", "--f90-mod-name", "coupler._fortran_bindings",
         "-k", kind_map, "--return-decoded"], outdir)
    run("f90wrap.scripts.f2py_f90wrap",
        ["-m", "_fortran_bindings", "--f2cmap", kind_map, "--lower",
         "f90wrap_hfc_api.f90"], outdir)
    keep_sigint_handler(os.path.join(outdir, "_fortran_bindingsmodule.c"))
    for name in ("_fortran_bindings-f2pywrappers.f",):
        path = os.path.join(outdir, name)
        if not os.path.exists(path):   # f2py may skip an empty wrapper file
            open(path, "w").close()


if __name__ == "__main__":
    main()
