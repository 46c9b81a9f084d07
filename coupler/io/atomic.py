"""The one way this project writes a file: under a temporary name in the target's folder,
fsynced, then renamed into place, so a failed or interrupted writer leaves no half-written
file behind and never clobbers an earlier good one.

    with AtomicFile("run.nc") as tmp:      # tmp: a Path to write to
        write_everything(tmp)              # on an exception the temporary is removed
    write_text(path, text); write_bytes(path, data); save_figure(figure, path)
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from coupler.errors import ConfigError


def check_writable(path: str | Path) -> Path:
    """Fail early, before any work, if `path` cannot be created."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ConfigError(f"output '{path}' is a directory; give a file name such as {path / 'run.nc'}")
    if not folder.is_dir():
        raise ConfigError(f"output folder '{folder}' does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"output folder '{folder}' is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"output file '{path}' exists and is not writable")
    return path


class AtomicFile:
    """A file written under a temporary name beside `path`; commit() fsyncs it and renames it
    into place with the permissions a plain `open` would have given it, abort() removes it.
    As a context manager it commits on success and aborts on any exception."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent or ".")
        os.close(fd)
        self.tmp = Path(tmp)

    def commit(self) -> Path:
        with open(self.tmp, "rb") as fh:
            os.fsync(fh.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(self.tmp, 0o666 & ~mask)     # mkstemp creates 0600
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> Path:
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def write_bytes(path: str | Path, data: bytes) -> Path:
    with AtomicFile(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode())


def save_figure(figure, path: str | Path, **options) -> Path:
    """A matplotlib figure to `path` (the format from its suffix)."""
    with AtomicFile(path) as tmp:
        figure.savefig(tmp, format=Path(path).suffix.lstrip(".") or "png", **options)
    return Path(path)
