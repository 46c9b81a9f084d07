"""Print the path of the ONNX Runtime shared library of the onnxruntime wheel, or nothing.

Run by meson at configure time; finds the package without importing it."""
import importlib.util
import pathlib

spec = importlib.util.find_spec("onnxruntime")
if spec is not None and spec.submodule_search_locations:
    capi = pathlib.Path(list(spec.submodule_search_locations)[0]) / "capi"
    found = sorted(capi.glob("libonnxruntime.so.1*"))
    print(found[-1] if found else "")
