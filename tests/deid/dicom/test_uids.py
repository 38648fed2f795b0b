"""Keyed UIDs: deterministic per key, unlinkable across keys, valid UIDs under 2.25."""

from __future__ import annotations

import re
import uuid

from hypothesis import given
from hypothesis import strategies as st

from anonlab.deid.dicom.uids import UID_PURPOSE, UIDMapper, keyed_uid
from anonlab.deid.keys import generate_key

UID_RE = re.compile(r"^2\.25\.(0|[1-9][0-9]*)$")
K1 = generate_key().derive(UID_PURPOSE)
K2 = generate_key().derive(UID_PURPOSE)


@given(st.from_regex(r"[12]\.[0-9]{1,3}(\.[1-9][0-9]{0,8}){1,8}", fullmatch=True))
def test_keyed_uid_is_valid_deterministic_and_keyed(uid):
    a = keyed_uid(K1, uid)
    assert UID_RE.match(a) and len(a) <= 64
    assert keyed_uid(K1, uid) == a
    assert keyed_uid(K2, uid) != a
    u = uuid.UUID(int=int(a.split(".")[2]))
    assert u.version == 8 and u.variant == uuid.RFC_4122


def test_mapper_strips_padding_and_caches():
    m = UIDMapper(K1)
    assert m("1.2.3\x00") == m("1.2.3") == keyed_uid(K1, "1.2.3")
    assert m("") == ""
    assert "K1" not in repr(m) and K1.hex() not in repr(m)
