"""The ``anonlab`` command.

Each subcommand lives in its own module of this package (``anonlab/cli/assess.py`` for ``anonlab assess``) and
defines ``add_parser(subparsers)``, which registers it and sets ``func``. Modules are found by name, so adding a
subcommand touches nothing else. Subcommand modules import only :mod:`argparse` at load time and import the
library inside their ``run`` function, so ``anonlab --help`` and light subcommands start fast.

The CLI holds no logic: it parses, calls one library function, prints, and turns :class:`~anonlab.errors.AnonlabError`
into a one-line message and exit code 2. Library messages name Python parameters (``trust_domains=True``); the
message a user sees names the flags instead (``--trust-domains``), rewritten from each subcommand's own parser.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

__all__ = ["main", "build_parser"]

# The order subcommands are listed in --help; modules not named here come after, alphabetically.
ORDER = [
    "datasets",
    "schema",
    "keygen",
    "pseudonymize",
    "assess",
    "anonymize",
    "hierarchy",
    "dicom",
    "image",
    "video",
    "text",
    "audio",
    "geo",
    "nifti",
    "eeg",
    "budget",
    "dp",
    "synth",
    "evaluate",
    "compare",
    "run",
    "serve",
]

DESCRIPTION = """\
anonlab prepares sensitive data for release and measures what a release gives away.

  de-identify   keygen, pseudonymize (keyed HMAC pseudonyms), dicom (headers, burned-in text), image and video
                (metadata, faces), text (names, IDs, dates in free text), audio (voices), geo (coordinates),
                nifti and eeg
  measure risk  assess (k-anonymity, re-identification risk, l-diversity, t-closeness), geo risk
  generalise    anonymize (k-anonymity with l-diversity / t-closeness; suppression, MDAV, PRAM, noise,
                rank swapping), hierarchy (build ARX hierarchies)
  DP            budget, dp (differentially private statistics), synth (DP synthetic twins)
  evaluate      evaluate, compare (utility against re-identification risk)
  reproduce     run (a release again from its recipe), serve (a local web app)

Privacy in brief: pseudonymised or k-anonymous data is still personal data under most laws; only the DP paths
carry a formal guarantee, and only over domains that are public (see `anonlab schema --help`).
Commands that draw randomness take --seed (never written anywhere); outputs are never overwritten without --force.
Progress shows on a terminal (--quiet hides it); --json prints results as JSON for scripts."""


def _modules() -> list[str]:
    import anonlab.cli as pkg

    found = [m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")]
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(found, key=lambda n: (rank.get(n, len(ORDER)), n))


def build_parser() -> argparse.ArgumentParser:
    from anonlab import __version__

    parser = argparse.ArgumentParser(
        prog="anonlab", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"anonlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name in _modules():
        importlib.import_module(f"anonlab.cli.{name}").add_parser(sub)
    return parser


class _Terminated(BaseException):
    """SIGTERM turned into an exception, so that every ``finally`` runs (temporaries removed, workers stopped)."""


def _on_sigterm(signum, frame):
    raise _Terminated(signum)


def _os_error(exc: OSError) -> str:
    """One line for an operating-system error: the path and the cause (never a traceback)."""
    cause = exc.strerror or str(exc) or type(exc).__name__
    where = exc.filename
    if where is None:
        return cause
    if exc.filename2 is not None:
        return f"{where} -> {exc.filename2}: {cause}"
    return f"{where}: {cause}"


def _one(message) -> str:
    """A message on one line: a newline inside a column name or a path (both can hold one) is shown as \\n."""
    return str(message).replace("\r", "\\r").replace("\n", "\\n")


def _left_behind(folders: list[str]) -> str:
    """What an interrupted run left: nothing, or folders filled file by file and marked incomplete."""
    if not folders:
        return "no partial output was left"
    return (
        f"{', '.join(folders)}: incomplete (marked .anonlab-incomplete; do not release it, rerun with --force); "
        "no temporary file was left"
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``anonlab`` console script. Returns the exit code.

    Every failure a user can fix ends in one line ``anonlab CMD: error: ...`` and exit 2: anonlab's own errors,
    and operating-system errors (a file that cannot be read, a folder that cannot be written, a full disk), which
    are named by path and cause. SIGTERM and Ctrl-C stop the command in an orderly way: no partial output and no
    temporary file is left (exit 143 / 130).
    """
    import signal
    import threading

    from anonlab.errors import AnonlabError
    from anonlab.io import created_folders, incomplete_outputs

    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        # `anonlab` alone, or a command group (`anonlab dicom`) without its subcommand
        (getattr(args, "_parser", None) or parser).print_help(sys.stderr)
        return 2
    import warnings

    command = args.command + (f" {args.action}" if getattr(args, "action", None) else "")

    def _one_line(message, category, filename, lineno, file=None, line=None):
        # library warnings (PrivacyWarning and the like) become one line, never a source excerpt
        print(f"anonlab {args.command}: warning: {_one(message)}", file=sys.stderr)

    old_term = None
    if threading.current_thread() is threading.main_thread():
        old_term = signal.signal(signal.SIGTERM, _on_sigterm)
    created_folders(reset=True)
    incomplete_outputs(reset=True)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line
            # deprecations inside third-party libraries are for developers (Python hides them by default; a test
            # runner shows them): never a line in a user's stderr
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            code = func(args)
    except AnonlabError as exc:
        from anonlab.cli._common import flag_words

        message = flag_words(str(exc), getattr(args, "_parser", None))
        print(f"anonlab {args.command}: error: {_one(message)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"anonlab {args.command}: interrupted; {_left_behind(incomplete_outputs())}", file=sys.stderr)
        return 130
    except _Terminated:
        print(f"anonlab {args.command}: terminated; {_left_behind(incomplete_outputs())}", file=sys.stderr)
        return 143
    except BrokenPipeError:
        return 0
    except OSError as exc:
        # unreadable input (mode 000), unwritable folder, read-only file system, full disk
        print(f"anonlab {args.command}: error: {_one(_os_error(exc))}", file=sys.stderr)
        return 2
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
    for folder in created_folders(reset=True):
        note = f"anonlab {command}: created the missing output folder {folder}"
        print(note, file=sys.stderr if getattr(args, "json", None) else sys.stdout)
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
