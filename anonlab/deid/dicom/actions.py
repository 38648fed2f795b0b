"""Values the profile's actions write: dummies valid for each VR, cleaned text and shifted dates.

``D`` (dummy) writes a fixed placeholder valid for the value representation, the same in every file, so it carries
no information. ``C`` (clean) keeps a value's meaning and removes what identifies: in text, the patient's own names
and identifiers found elsewhere in the file, dates, long digit runs, e-mail addresses and telephone-like numbers;
in dates under the modified-dates option, a shift by the patient's keyed offset. Cleaning free text by pattern is a
best effort: it cannot promise to catch an identifier it has never seen, which is why it is an option.
"""

from __future__ import annotations

import datetime as _dt
import re

__all__ = [
    "PLACEHOLDER",
    "DUMMY_DATE",
    "TEXT_VRS",
    "FREE_TEXT_VRS",
    "NUMERIC_VRS",
    "dummy_value",
    "empty_value",
    "shift_date",
    "shift_datetime",
    "Scrubber",
    "is_placeholder",
]

PLACEHOLDER = "ANONYMIZED"
DUMMY_DATE = "19000101"
DUMMY_TIME = "000000"
DUMMY_DATETIME = "19000101000000"

TEXT_VRS = frozenset({"AE", "CS", "LO", "LT", "SH", "ST", "UC", "UT", "PN", "UR"})
FREE_TEXT_VRS = frozenset({"LT", "ST", "UT", "UC"})
NUMERIC_VRS = frozenset(
    {"US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "DS", "IS", "AT", "OF", "OD", "OL", "OV"}
)
STRING_VRS = TEXT_VRS | frozenset({"DA", "DT", "TM", "AS", "DS", "IS", "UI"})

_DUMMY = {
    "DA": DUMMY_DATE,
    "TM": DUMMY_TIME,
    "DT": DUMMY_DATETIME,
    "AS": "000Y",
    "DS": "0",
    "IS": "0",
    "CS": PLACEHOLDER,
    "AE": PLACEHOLDER,
    "UR": "",
}

_PLACEHOLDER_RE = re.compile(
    r"^(?:[\s^=*xX#?._-]*|.*(?:anonym|removed|redacted|de-?ident|deident|dummy|unknown|n/?a\b).*)$",
    re.IGNORECASE,
)


def is_placeholder(text: str) -> bool:
    """True for values that say nothing: empty, all filler characters, or a recognisable placeholder word."""
    return bool(_PLACEHOLDER_RE.match(text))


def dummy_value(vr: str, old):
    """A fixed value valid for ``vr``, replacing ``old`` (binary values keep their length, filled with zeros)."""
    if vr in _DUMMY:
        return _DUMMY[vr]
    if vr in TEXT_VRS:
        return PLACEHOLDER
    if vr in ("US", "SS", "UL", "SL", "UV", "SV", "FL", "FD"):
        return 0
    if vr in ("OB", "OW", "OF", "OD", "OL", "OV", "UN"):
        n = len(old) if isinstance(old, (bytes, bytearray)) else 0
        return bytes(n + (n % 2))
    return None


def empty_value(vr: str):
    """The zero-length value for ``vr``."""
    return "" if vr in STRING_VRS else None


def _shift_one(value: str, days: int) -> str | None:
    if len(value) < 8 or not value[:8].isdigit():
        return None
    try:
        d = _dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return None
    try:
        d = d + _dt.timedelta(days=days)
    except OverflowError:
        return None
    return d.strftime("%Y%m%d") + value[8:]


def shift_date(value: str, days: int) -> str:
    """Shift a DA value (single, multi-valued or a range) by ``days``; unparseable parts become the dummy date."""
    parts = []
    for v in str(value).split("\\"):
        v = v.strip()
        if not v:
            parts.append(v)
            continue
        ends = v.split("-") if "-" in v else [v]
        out = [(_shift_one(e, days) or DUMMY_DATE) if e else e for e in ends]
        parts.append("-".join(out))
    return "\\".join(parts)


def shift_datetime(value: str, days: int) -> str:
    """Shift the date part of a DT value by ``days``, keeping the time and UTC offset."""
    parts = []
    for v in str(value).split("\\"):
        v = v.strip()
        if not v:
            parts.append(v)
            continue
        parts.append(_shift_one(v, days) or DUMMY_DATETIME)
    return "\\".join(parts)


_GENERIC = [
    r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b",  # 2001-02-03
    r"\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b",  # 03/02/2001
    r"\b(?:19|20)\d{6}\b",  # 20010203
    r"[\w.+-]+@[\w-]+\.[\w.-]+",  # e-mail
    r"\+?\d[\d ()-]{7,}\d",  # telephone-like
    r"\b\d{5,}\b",  # record numbers and other long digit runs
]
_GENERIC_RE = re.compile("|".join(f"(?:{p})" for p in _GENERIC))


class Scrubber:
    """Cleans free text of the identifiers of one file.

    terms : the file's own identifying strings (name parts, IDs, accession numbers, birth date); each is cut out
        wherever it appears, case-insensitively. Terms shorter than two characters are ignored.
    """

    __slots__ = ("_re",)

    def __init__(self, terms) -> None:
        words = sorted({t.strip() for t in terms if t and len(t.strip()) >= 2}, key=len, reverse=True)
        pattern = _GENERIC.copy()
        if words:
            pattern.insert(0, "|".join(re.escape(w) for w in words))
        self._re = re.compile("|".join(f"(?:{p})" for p in pattern), re.IGNORECASE) if words else _GENERIC_RE

    def __call__(self, text: str) -> str:
        return self._re.sub("", text).strip()
