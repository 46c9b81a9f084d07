"""Exceptions of the coupler. Every message says what is wrong and what to do."""


class HfcError(Exception):
    """Base class: an error a user can act on (the CLI prints it without a traceback)."""


class ConfigError(HfcError, ValueError):
    """An invalid configuration or argument."""


class AgreedError(HfcError):
    """An error every MPI rank raises alike (the ranks agreed on it): reported once, and no
    rank needs to stop the others."""


class AgreedConfigError(ConfigError, AgreedError):
    """An invalid configuration every MPI rank finds alike (e.g. a process grid that does
    not fit the ranks): reported once."""


class FortranError(AgreedError):
    """The Fortran library returned a non-zero status (under MPI the ranks agree on it)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class NonFiniteStateError(FortranError):
    """The state or the fluxes stopped being finite (status HFC_ERR_NONFINITE)."""


class ProviderError(FortranError):
    """A flux provider (e.g. a Python callback) failed (status HFC_ERR_PROVIDER)."""


class InterruptedRun(FortranError):
    """The host stopped between steps because a signal asked it to (HFC_ERR_INTERRUPTED)."""

    @property
    def signum(self) -> int:
        """The signal, from the library's message 'stopped by signal N ...' (SIGINT if unsaid)."""
        import re
        found = re.search(r"signal (\d+)", str(self))
        return int(found.group(1)) if found else 2


class Terminated(BaseException):
    """SIGTERM (or another stop signal) arrived: unwinds like KeyboardInterrupt, so every
    temporary file is removed on the way out (the CLI turns it into exit status 128 + signum)."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum
