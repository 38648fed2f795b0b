"""Options and printing shared by subcommands. Imports nothing heavy."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps description paragraphs as written and shows a default where there is one to show.

    ``(default: X)`` is added only when an option has a real default that its help text does not already state:
    never for required options, switches (``store_true``), ``None`` ("not given") or help that says "default".
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "default" in text.lower()
            or action.required
            or not action.option_strings
            or default is None
            or default is argparse.SUPPRESS
            or isinstance(default, bool)
            or default == []
        ):
            return text
        return f"{text} (default: %(default)s)"


def add_command(sub, name: str, help: str, description: str, func=None) -> argparse.ArgumentParser:
    """Register a subcommand with the common formatter; ``func(args) -> int`` runs it."""
    p = sub.add_parser(name, help=help, description=description, formatter_class=HelpFormatter)
    if func is not None:
        p.set_defaults(func=func)
    p.set_defaults(_parser=p)
    return p


def add_group(sub, name: str, help: str, description: str):
    """Register a command group (``anonlab dicom ...``); returns (parser, its subparsers)."""
    p = add_command(sub, name, help, description)
    return p, p.add_subparsers(dest="action", metavar="ACTION", title="actions")


def columns(text: str) -> list[str]:
    """Parse a comma-separated list of column names (``--quasi age,sex,zip``)."""
    cols = [c.strip() for c in text.split(",") if c.strip()]
    if not cols:
        raise argparse.ArgumentTypeError("give at least one column name")
    return cols


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return v


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return v


def add_seed(
    p: argparse.ArgumentParser,
    what: str,
    same: str = "the same seed and inputs give the same output",
    secret: str = "it is never written to outputs, reports or logs",
) -> None:
    """``--seed``: only on a command that draws randomness (``what`` says which); ``same`` says what a rerun with
    the same seed repeats, ``secret`` why it must stay secret."""
    p.add_argument(
        "--seed", type=int, default=None, help=f"seed for {what}; {same}. Keep it secret: {secret}"
    )


#: what a seed of DP noise means: whoever knows it can subtract the noise
DP_SECRET = (
    "whoever knows or guesses it can recompute the noise and subtract it; it is never written anywhere"
)


def add_force(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help="overwrite existing outputs (refused otherwise)")


def add_strict_key(p: argparse.ArgumentParser) -> None:
    """``--strict-key``: refuse a key file that others can read (otherwise a warning)."""
    p.add_argument(
        "--strict-key",
        action="store_true",
        help="refuse a key file that users other than its owner can read or write (mode & 077); without it "
        "such a key only gets a warning. Whoever can read the key can re-identify the release",
    )


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the result as JSON (for scripts)")


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str, allow_nan=False)
    sys.stdout.write("\n")


def warn(command: str, message: str) -> None:
    print(f"anonlab {command}: warning: {message}", file=sys.stderr)


def _flag_for(action: argparse.Action, value: str | None) -> str:
    """How a user writes ``dest=value`` on the command line for this action."""
    longs = [o for o in action.option_strings if o.startswith("--")] or list(action.option_strings)
    flag = longs[0]
    if value in (None, "", "True") or isinstance(action, argparse._StoreTrueAction):
        if value == "False":
            return f"no {flag}"
        return flag
    if value in ("None", "False"):
        negated = [o for o in action.option_strings if o.startswith("--no-")]
        return negated[0] if negated else f"no {flag}"
    return f"{flag} {value}"


def flag_words(message: str, parser: argparse.ArgumentParser | None) -> str:
    """Rewrite the library's parameter names in ``message`` as the command's flags.

    Library errors speak Python (``trust_domains=True``, ``epsilon=0``, ``k=``) because the library is used from
    notebooks too; on the command line the same message should name the flag the user typed
    (``--trust-domains``, ``--epsilon 0``, ``--k``). Every optional argument of ``parser`` whose ``dest`` appears as
    ``dest=`` (optionally followed by a value) is rewritten; anything else is left as written.
    """
    if parser is None:
        return message
    actions: dict[str, argparse.Action] = {}
    for action in parser._actions:
        if action.option_strings and action.dest not in (argparse.SUPPRESS, "help"):
            actions.setdefault(action.dest, action)
    if not actions:
        return message
    names = "|".join(sorted((re.escape(d) for d in actions), key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w.-])({names})=(True|False|None|'[^']*'|\"[^\"]*\"|[^\s,;:)\]]+)?")

    def sub(m: re.Match) -> str:
        value = m.group(2)
        if value and value[0] in "'\"" and value[-1] == value[0]:
            value = value[1:-1]
        return _flag_for(actions[m.group(1)], value)

    return pattern.sub(sub, message)


def add_quiet(p: argparse.ArgumentParser) -> None:
    """``--quiet``: the one progress switch. Progress bars show on a terminal by default, never when standard error
    is not a terminal (a pipe, a log file, CI), and never with ``--quiet``."""
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bars or phase lines on standard error (they are shown only on a terminal anyway)",
    )


class _DeprecatedProgress(argparse.Action):
    """An old progress switch, kept for one release so that scripts do not break: it says so on standard error and
    means what it meant (``--no-progress`` is ``--quiet``; ``--progress`` asks for what is now the default)."""

    def __init__(self, option_strings, dest, quiet: bool, **kwargs):
        self.quiet = quiet
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    def __call__(self, parser, namespace, values, option_string=None):
        instead = "use --quiet" if self.quiet else "progress shows on a terminal by default; --quiet hides it"
        print(
            f"{parser.prog}: warning: {option_string} is deprecated and will be removed in the next release "
            f"({instead})",
            file=sys.stderr,
        )
        if self.quiet:
            namespace.quiet = True


def add_deprecated_progress(p: argparse.ArgumentParser, flag: str) -> None:
    """Accept an old progress switch, hidden from --help: ``--no-progress`` (= ``--quiet``) or ``--progress``
    (the default now; accepted and ignored). Both print a deprecation warning."""
    p.add_argument(
        flag, dest="_deprecated_progress", action=_DeprecatedProgress, quiet=flag == "--no-progress"
    )


def show_progress(args: argparse.Namespace) -> bool:
    """Whether this run shows progress: not ``--quiet``, and standard error is a terminal."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def add_json_out(p: argparse.ArgumentParser, what: str = "the figures") -> None:
    """``--json-out FILE``: write ``what`` as JSON to FILE (``--json`` prints JSON to standard output instead)."""
    p.add_argument("--json-out", metavar="FILE", default=None, help=f"also write {what} as JSON to FILE")


def add_scheduler(p: argparse.ArgumentParser) -> None:
    """``--scheduler``: run the data-heavy steps on Dask (``anonlab[dask]``); default ``ANONLAB_SCHEDULER``."""
    import os

    p.add_argument(
        "--scheduler",
        metavar="WHERE",
        default=os.environ.get("ANONLAB_SCHEDULER") or None,
        help="run on a Dask cluster: local:N (N worker processes here), a scheduler address (tcp://host:8786) "
        "or a scheduler file (.json, as dask-jobqueue writes on Slurm); the input may be a folder of Parquet "
        "parts or a glob of CSV files. Default: $ANONLAB_SCHEDULER, else in-process (needs anonlab[dask])",
    )
