"""Python runtime of the hybrid flux coupler: the Fortran host, its I/O and the hfc CLI."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hfc")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
