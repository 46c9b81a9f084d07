"""The one way this project writes a file: under a temporary name in the target's folder,
fsynced, then renamed into place, so a failed or interrupted writer leaves no half-written
file behind and never clobbers an earlier good one.

    with AtomicFile("run.nc") as tmp:      # tmp: a Path to write to
        write_everything(tmp)              # on an exception the temporary is removed
    write_text(path, text); write_bytes(path, data); save_figure(figure, path)

A stop signal unwinds the program with an exception (SIGINT, and SIGTERM under `hfc`), and
it may strike anywhere, even between creating a temporary and entering its `with`: so the
temporaries not yet committed or removed are listed (AtomicFile.pending), and the command
line removes what is left with AtomicFile.abort_pending() on its way out.
"""
from __future__ import annotations

import os
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path

from coupler.errors import ConfigError


def printable(path: str | Path) -> str:
    """A path for a message, even when it is not valid UTF-8 (the bytes as escapes)."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def check_path(path: str | Path) -> Path:
    """A usable file name: not empty, valid UTF-8 (netCDF and ONNX Runtime need text names)."""
    text = str(path)
    if not text.strip():
        raise ConfigError("a file name is empty")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"file name '{printable(path)}' is not valid UTF-8; rename it") from None
    return Path(path)


def check_writable(path: str | Path) -> Path:
    """Fail early, before any work, if `path` cannot be created: the folder must exist and a
    file must really be creatable in it (probed: permission bits do not bind root, and a
    read-only or virtual file system refuses only at the write)."""
    path = check_path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ConfigError(f"output '{printable(path)}' is a directory; give a file name such as "
                          f"{printable(path / 'run.nc')}")
    if not folder.is_dir():
        raise ConfigError(f"output folder '{printable(folder)}' does not exist; create it first")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"cannot create files in output folder '{printable(folder)}': "
                          f"{exc.strerror or exc}") from None
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"output file '{printable(path)}' exists and is not writable")
    return path


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two names are one file: the same inode when both exist (links, bind mounts),
    else the same absolute path after resolving links."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def check_not_reading(output: tuple[str, str | Path], inputs: dict[str, str | Path | None]) -> None:
    """Refuse an output (label, path) that is one of the files the run reads (label ->
    path, None: not used), before any work: a run never writes over its own input."""
    label, path = output
    for name, source in inputs.items():
        if source is not None and same_file(path, source):
            raise ConfigError(f"{label} '{printable(path)}' is the same file as {name} '{printable(source)}'; "
                              "a run never writes over a file it reads or writes twice: choose another name")


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextmanager
def _stop_signals_held():
    """Hold SIGINT and SIGTERM back (they arrive when this ends): a file must not be made
    without its name being known to the program."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


class AtomicFile:
    """A file written under a temporary name beside `path`; commit() fsyncs it and renames it
    into place with the permissions a plain `open` would have given it, abort() removes it.
    As a context manager it commits on success and aborts on any exception."""

    pending: set[Path] = set()   # this process's temporaries not yet committed or removed

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with _stop_signals_held():
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent or ".")
            os.close(fd)
            self.tmp = Path(tmp)
            AtomicFile.pending.add(self.tmp)

    @classmethod
    def abort_pending(cls) -> None:
        """Remove every temporary still pending (after a stop signal, wherever it struck)."""
        for tmp in list(cls.pending):
            tmp.unlink(missing_ok=True)
            cls.pending.discard(tmp)

    def commit(self) -> Path:
        with open(self.tmp, "rb") as fh:
            os.fsync(fh.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(self.tmp, 0o666 & ~mask)     # mkstemp creates 0600
        os.replace(self.tmp, self.path)
        AtomicFile.pending.discard(self.tmp)
        return self.path

    def abort(self) -> None:
        self.tmp.unlink(missing_ok=True)
        AtomicFile.pending.discard(self.tmp)

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
