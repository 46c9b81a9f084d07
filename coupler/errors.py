"""Exceptions of the coupler. Every message says what is wrong and what to do."""


class HfcError(Exception):
    """Base class: an error a user can act on (the CLI prints it without a traceback)."""


class ConfigError(HfcError, ValueError):
    """An invalid configuration or argument."""


class FortranError(HfcError):
    """The Fortran library returned a non-zero status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class NonFiniteStateError(FortranError):
    """The state or the fluxes stopped being finite (status HFC_ERR_NONFINITE)."""


class ProviderError(FortranError):
    """A flux provider (e.g. a Python callback) failed (status HFC_ERR_PROVIDER)."""
