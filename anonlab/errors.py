"""The exceptions anonlab raises for problems a user can fix.

Library code raises these; the CLI turns each into a one-line message and the exit code it carries, so a user's
mistake never ends in a traceback. Messages name the file, column or row at fault and never contain secrets
(keys, original identifiers).
"""

__all__ = [
    "AnonlabError",
    "UsageError",
    "InputError",
    "SchemaError",
    "OutputExistsError",
    "OutputError",
    "PrivacyError",
    "BudgetExceededError",
    "PrivacyWarning",
    "MissingExtraError",
    "require_extra",
]


class AnonlabError(Exception):
    """Base class: a problem with what the user asked for or gave. Exit code 2."""

    exit_code = 2


class UsageError(AnonlabError):
    """Options that do not fit together, or a parameter out of range."""


class InputError(AnonlabError):
    """An input file that cannot be read as asked: missing, empty, ragged, badly encoded, wrongly typed."""


class SchemaError(AnonlabError):
    """A schema file that is malformed or does not match the data."""


class OutputExistsError(AnonlabError):
    """An output would overwrite an existing file and --force was not given."""


class OutputError(AnonlabError):
    """An output that cannot be written: folder not writable, read-only file system, disk full. Nothing is left
    behind (no partial file, no temporary)."""


class PrivacyError(AnonlabError):
    """A request that would break a privacy guarantee (for example a domain read from the data in a DP step)."""


class BudgetExceededError(PrivacyError):
    """A release that would spend more privacy budget than is left. Raised before any noise is drawn."""


class PrivacyWarning(UserWarning):
    """A library call that runs but weakens or leaves unrecorded a privacy guarantee (for example a DP fit with no
    ledger). The CLI prints it as one ``warning:`` line; a notebook shows it once per place."""


class MissingExtraError(AnonlabError):
    """A feature whose optional dependencies (an ``anonlab[EXTRA]``) are not installed. Exit code 2."""

    def __init__(self, extra: str, module: str, feature: str | None = None):
        self.extra, self.module = extra, module
        what = feature or "this"
        super().__init__(
            f"{what} needs the optional '{extra}' dependencies ({module} is not installed): "
            f"pip install 'anonlab[{extra}]' (or `make setup`, which installs every extra this machine supports)"
        )


def require_extra(extra: str, module: str, feature: str | None = None):
    """Import ``module`` and return it, or raise :class:`MissingExtraError` naming the extra that provides it.

    Used at the import points of optional parts: ``require_extra("synth", "jax")`` before NAPSU-MQ or DPVI,
    ``require_extra("sdv", "sdv")`` before the SDV baselines. A module that is installed but fails to import for
    another reason (a broken install) raises that error unchanged.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.split(".")[0]
        if exc.name is not None and exc.name.split(".")[0] != top:
            raise
        raise MissingExtraError(extra, module, feature) from None
