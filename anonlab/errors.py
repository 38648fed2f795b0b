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
