"""Keyed deterministic UIDs under the 2.25 root.

A new UID is HMAC-SHA256(sub-key, original UID), cut to 128 bits and shaped as an RFC 9562 version-8 UUID, written
as ``2.25.<decimal>`` (PS3.5 B.2: a UID derived from a UUID). The same original UID and key give the same new UID
in every file, every run and every worker, so studies, series, frames of reference and references inside sequences
stay consistent across a batch, and across batches that share a key. Without the key, a new UID reveals nothing
about the original (HMAC is a pseudorandom function); another key gives unrelated UIDs.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["UID_PURPOSE", "UIDMapper", "keyed_uid"]

UID_PURPOSE = "dicom-uid"
_CACHE_LIMIT = 200_000


def keyed_uid(subkey: bytes, uid: str) -> str:
    """The keyed UID for ``uid`` (stripped of padding) under ``subkey``."""
    digest = hmac.new(subkey, uid.encode("ascii", "replace"), hashlib.sha256).digest()
    n = int.from_bytes(digest[:16], "big")
    # version 8 (custom) and the RFC variant bits, so the integer is a valid UUID
    n = (n & ~(0xF << 76)) | (0x8 << 76)
    n = (n & ~(0x3 << 62)) | (0x2 << 62)
    return f"2.25.{n}"


class UIDMapper:
    """Maps original UIDs to keyed ones, with a bounded per-process cache.

    subkey : the sub-key derived for DICOM UIDs (``SecretKey.derive("dicom-uid")``); never stored in outputs.
    """

    __slots__ = ("_subkey", "_cache")

    def __init__(self, subkey: bytes) -> None:
        self._subkey = subkey
        self._cache: dict[str, str] = {}

    def __repr__(self) -> str:
        return "UIDMapper(<keyed>)"

    def __call__(self, uid: str) -> str:
        uid = uid.strip(" \x00")
        if not uid:
            return uid
        new = self._cache.get(uid)
        if new is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            new = self._cache[uid] = keyed_uid(self._subkey, uid)
        return new
