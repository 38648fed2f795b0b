"""Secret seed files: the seed of a reproducible DP release, kept in a file of its own and out of every artifact.

A seeded DP release is private only while its seed stays secret: whoever knows the seed can recompute the noise
and subtract it. So a seed is never written into a release, a model, a sidecar, a report or a recipe; a recipe
*names* its seed file, which stays beside the data (mode 0600, like a key file). The file holds one line, the
seed as a decimal integer (lines starting with ``#`` are comments)::

    # anonlab seed file: keep it secret
    287331956461720944937455617260181340419

:func:`write_seed_file` makes one with a fresh 128-bit seed from the operating system (never over an existing file);
:func:`read_seed_file` reads it back. ``anonlab synth --seed-file FILE`` and :func:`anonlab.run_recipe` use them.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from anonlab.errors import InputError

__all__ = ["read_seed_file", "write_seed_file"]

_HEAD = "# anonlab seed file: whoever knows this number can subtract the DP noise of the releases it seeded\n"


def write_seed_file(path: str | os.PathLike, seed: int | None = None) -> Path:
    """Write ``seed`` (default: 128 random bits from the operating system) to a new file ``path``, mode 0600 from
    its first byte, whole or not at all. Never overwrites (:class:`~anonlab.errors.OutputExistsError`): an old seed may be the only way
    to reproduce a release."""
    path = Path(path)
    value = secrets.randbits(128) if seed is None else seed
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"seed must be a whole number >= 0, got {value!r}")
    from anonlab.io import write_new_secret

    return write_new_secret(
        path, f"{_HEAD}{value}\n", "seed file", "it may be the only way to reproduce a release"
    )


def read_seed_file(path: str | os.PathLike) -> int:
    """The seed held in ``path``: its one non-comment line, a whole number >= 0. A missing, unreadable or
    malformed file is an :class:`~anonlab.errors.InputError` that names the file but never shows its content."""
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise InputError(f"{path}: no such seed file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the seed file ({type(exc).__name__})") from None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if len(lines) != 1 or not lines[0].isdigit():
        raise InputError(f"{path}: not a seed file (one line holding a whole number >= 0 is expected)")
    return int(lines[0])
