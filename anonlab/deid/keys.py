"""Secret keys for keyed pseudonymisation.

A key is 32 bytes from the operating system's CSPRNG (:func:`secrets.token_bytes`), stored as 64 hex characters in
a file readable only by its owner. Whoever holds the key can recompute every pseudonym from a list of candidate
identifiers, so the key is as sensitive as the identifiers themselves: it never appears in any output, log, report
or error message. Each use derives its own sub-key (:func:`derive_key`) so that, for example, a pseudonym never
reveals a date offset.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from anonlab.errors import InputError

__all__ = [
    "KEY_BYTES",
    "SecretKey",
    "generate_key",
    "write_key",
    "read_key",
    "key_file_exposed",
    "derive_key",
]

KEY_BYTES = 32


@dataclass(frozen=True)
class SecretKey:
    """A pseudonymisation key. Its ``repr`` never shows the bytes."""

    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.material) != KEY_BYTES:
            raise ValueError("a key must be 32 bytes")

    def __repr__(self) -> str:
        return "SecretKey(<hidden>)"

    __str__ = __repr__

    def derive(self, purpose: str) -> bytes:
        """A 32-byte sub-key for ``purpose`` (HMAC-SHA256 of the purpose label under the key)."""
        return derive_key(self, purpose)


def derive_key(key: SecretKey, purpose: str) -> bytes:
    """Domain separation: an independent-looking key per purpose (``"pseudonym"``, ``"date-shift"``, ``"dicom-uid"``)."""
    return hmac.new(key.material, f"anonlab/v1/{purpose}".encode(), hashlib.sha256).digest()


def generate_key() -> SecretKey:
    """32 fresh bytes from the OS CSPRNG."""
    return SecretKey(secrets.token_bytes(KEY_BYTES))


def write_key(path: str | os.PathLike, key: SecretKey | None = None) -> Path:
    """Write a new key to ``path`` with mode 0600. Never overwrites: an old key may be the only way to link data.

    The key is written to an anonymous temporary (:class:`anonlab.io.Temporary`, mode 0600 from the first byte)
    and linked into place only when complete: a kill or a full disk never leaves a partial key, and the link
    fails rather than replace a file that appeared meanwhile. Raises :class:`OutputExistsError` or
    :class:`~anonlab.errors.OutputError` (folder not writable, read-only file system, disk full).
    """
    from anonlab.io import write_new_secret

    key = key or generate_key()
    return write_new_secret(path, key.material.hex() + "\n", "key file", "losing a key loses linkage")


def key_file_exposed(path: str | os.PathLike) -> int | None:
    """The permission bits of ``path`` if users other than its owner may read or write it (mode & 0o077), else
    None."""
    mode = os.stat(path).st_mode & 0o777
    return mode if mode & 0o077 else None


def read_key(path: str | os.PathLike, *, strict: bool = False) -> SecretKey:
    """Read a key file written by :func:`write_key`. Errors never echo the file's content.

    A key file that others can read or write (mode & 0o077, for example 0644) gives a
    :class:`~anonlab.errors.PrivacyWarning`: anyone who can read it can re-identify every release made with it.
    ``strict`` refuses such a file instead (:class:`InputError`).
    """
    import warnings

    from anonlab.errors import PrivacyWarning

    path = Path(path)
    if path.exists() and not path.is_file():
        raise InputError(f"{path}: not a regular file (a folder, FIFO, device or socket), not a key file")
    if not path.is_file():
        raise InputError(f"{path}: no such key file (create one with `anonlab keygen {path}`)")
    try:
        exposed = key_file_exposed(path)
        text = path.read_text(encoding="ascii").strip()
        material = bytes.fromhex(text)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the key file: {exc.strerror or type(exc).__name__}") from None
    except (UnicodeDecodeError, ValueError):
        raise InputError(f"{path}: not an anonlab key file (expected 64 hex characters)") from None
    if len(material) != KEY_BYTES:
        raise InputError(f"{path}: not an anonlab key file (expected 64 hex characters)")
    if exposed is not None:
        what = (
            f"{path}: the key file is readable or writable by others (mode {exposed:04o}); `chmod 600 {path}`"
        )
        if strict:
            raise InputError(f"{what} (refused: strict_key=True)")
        warnings.warn(
            f"{what}: anyone who can read it can re-identify the release", PrivacyWarning, stacklevel=2
        )
    return SecretKey(material)
