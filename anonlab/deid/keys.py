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

from anonlab.errors import InputError, OutputExistsError

__all__ = ["KEY_BYTES", "SecretKey", "generate_key", "write_key", "read_key", "derive_key"]

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
    """Write a new key to ``path`` with mode 0600. Never overwrites: an old key may be the only way to link data."""
    path = Path(path)
    key = key or generate_key()
    if path.exists():
        raise OutputExistsError(
            f"{path}: exists; a key file is never overwritten (losing a key loses linkage)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: refuse a file that appeared meanwhile; 0600 from the first byte.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise OutputExistsError(f"{path}: exists; a key file is never overwritten") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(key.material.hex() + "\n")
    os.chmod(path, 0o600)
    return path


def read_key(path: str | os.PathLike) -> SecretKey:
    """Read a key file written by :func:`write_key`. Errors never echo the file's content."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such key file (create one with `anonlab keygen {path}`)")
    try:
        text = path.read_text(encoding="ascii").strip()
        material = bytes.fromhex(text)
    except (UnicodeDecodeError, ValueError):
        raise InputError(f"{path}: not an anonlab key file (expected 64 hex characters)") from None
    if len(material) != KEY_BYTES:
        raise InputError(f"{path}: not an anonlab key file (expected 64 hex characters)")
    return SecretKey(material)
