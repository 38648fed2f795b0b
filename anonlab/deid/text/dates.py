"""Dates in free text: finding them, and shifting each by a subject's secret offset in the shape it was written.

A date is found only in shapes that can be read back unambiguously and written again in the same shape, so that a
shifted note reads like the original: ISO ``2021-03-12`` (a time after it is kept), ``12.3.2021``, ``12/03/2021``
(day first or month first: ``date_order``), ``12 March 2021``, ``March 12th, 2021``, ``Mar 2021``. A shift moves
the day; a month-and-year date is moved as its 15th day. The offset is the one
:meth:`anonlab.deid.pseudonym.Pseudonymizer.offset_days` gives the subject, so a note and the subject's rows shifted
by ``anonlab pseudonymize --shift-dates`` under the same key stay aligned: intervals between a visit in the table
and a date in the note survive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from presidio_analyzer import EntityRecognizer

__all__ = ["DateSpan", "find_dates", "shift_date", "ShiftableDateRecognizer", "DATE_ORDERS"]

DATE_ORDERS = ("dmy", "mdy")
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MON = r"(?P<mon>(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)\.?|" + "|".join(_MONTHS) + r")"
_SUF = r"(?P<suf>st|nd|rd|th)?"
_PATTERNS = [
    (
        "iso",
        re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\b"),
    ),
    ("numeric", re.compile(r"\b(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})\b")),
    ("day-month", re.compile(rf"\b(?P<d>\d{{1,2}}){_SUF} (?:of )?{_MON},? (?P<y>\d{{4}})\b", re.IGNORECASE)),
    ("month-day", re.compile(rf"\b{_MON} (?P<d>\d{{1,2}}){_SUF},? (?P<y>\d{{4}})\b", re.IGNORECASE)),
    ("month-year", re.compile(rf"\b{_MON} (?P<y>\d{{4}})\b", re.IGNORECASE)),
]


@dataclass(frozen=True)
class DateSpan:
    """One date found in a text: where it is, what it reads as, and the shape it was written in."""

    start: int
    end: int
    value: date
    shape: str
    match: re.Match


def _month(name: str) -> int:
    key = name.lower().rstrip(".")[:3]
    return [m[:3] for m in _MONTHS].index(key) + 1


def _read(shape: str, m: re.Match, date_order: str) -> date | None:
    try:
        if shape == "iso":
            return date(int(m["y"]), int(m["m"]), int(m["d"]))
        if shape == "numeric":
            a, b = int(m["a"]), int(m["b"])
            day, month = (a, b) if (m["sep"] == "." or date_order == "dmy") else (b, a)
            return date(int(m["y"]), month, day)
        day = 15 if shape == "month-year" else int(m["d"])
        return date(int(m["y"]), _month(m["mon"]), day)
    except ValueError:
        return None


def find_dates(text: str, date_order: str = "dmy") -> list[DateSpan]:
    """Every readable date in ``text``, leftmost-longest, never overlapping. ``date_order``: how ``01/02/2020``
    reads (``"dmy"``: 1 February; ``"mdy"``: 2 January); dotted dates are always day first."""
    taken: list[tuple[int, int]] = []
    found = []
    for shape, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            value = _read(shape, m, date_order)
            if value is not None and 1800 <= value.year <= 2200:
                taken.append((m.start(), m.end()))
                found.append(DateSpan(m.start(), m.end(), value, shape, m))
    return sorted(found, key=lambda s: s.start)


def _like(old: str, new: int, padded: bool) -> str:
    """``new`` written as ``old`` was: zero-padded to its width when ``padded`` (``03``), else plainly. All-numeric
    dates keep their width; a day beside a month name is padded only when it was (``March 12th`` -> ``June 8th``,
    ``March 05th`` -> ``March 08th``)."""
    return str(new).zfill(len(old)) if padded else str(new)


def _padded(m: re.Match) -> bool:
    """Whether the date zero-pads its day and month: one of them is written with a leading zero."""
    return any(
        (v := m.group(g)) is not None and len(v) > 1 and v.startswith("0")
        for g in ("a", "b", "d")
        if g in m.re.groupindex
    )


def _month_like(old: str, month: int) -> str:
    full = _MONTHS[month - 1]
    bare = old.rstrip(".")
    word = (
        full
        if len(bare) > 4 or bare.lower() in _MONTHS
        else ("sept" if bare.lower() == "sept" and month == 9 else full[:3])
    )
    word = word + ("." if old.endswith(".") and len(word) <= 4 else "")
    if old.isupper():
        return word.upper()
    if old[:1].isupper():
        return word.capitalize()
    return word


def _suffix(day: int, old: str) -> str:
    if not old:
        return ""
    s = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return s.upper() if old.isupper() else s


def shift_date(span: DateSpan, days: int, date_order: str = "dmy") -> str:
    """The text of ``span`` moved by ``days``, in the shape it was written (digit widths, month-name style,
    ordinal suffix, separators and any time of day are kept)."""
    m, new = span.match, span.value + timedelta(days=days)
    values: dict[str, str] = {"y": str(new.year)}
    if span.shape == "iso":
        values |= {"m": f"{new.month:02d}", "d": f"{new.day:02d}"}
    elif span.shape == "numeric":
        first, second = (
            (new.day, new.month) if (m["sep"] == "." or date_order == "dmy") else (new.month, new.day)
        )
        # numbers keep their width (12.3.2021 -> 08.6.2020): a form's column width is part of its shape
        values |= {"a": _like(m["a"], first, True), "b": _like(m["b"], second, True)}
    else:
        values["mon"] = _month_like(m["mon"], new.month)
        if span.shape != "month-year":
            values |= {"d": _like(m["d"], new.day, _padded(m)), "suf": _suffix(new.day, m["suf"] or "")}
    text, base = m.group(0), m.start()
    for name in sorted(values, key=lambda g: m.start(g), reverse=True):
        if m.start(name) < 0:
            continue
        s, e = m.start(name) - base, m.end(name) - base
        text = text[:s] + values[name] + text[e:]
    return text


class ShiftableDateRecognizer(EntityRecognizer):
    """Presidio recognizer for the dates :func:`find_dates` reads (entity ``DATE``). Only readable dates are
    reported, so every detection can be shifted; a year alone or "last Tuesday" is not a date here."""

    def __init__(self, supported_language: str = "en", date_order: str = "dmy", score: float = 0.85):
        self.date_order, self.score = date_order, score
        super().__init__(
            supported_entities=["DATE"], supported_language=supported_language, name="ShiftableDateRecognizer"
        )

    def load(self) -> None:
        pass

    def analyze(self, text, entities, nlp_artifacts=None):
        if "DATE" not in entities:
            return []
        from anonlab.deid.text.names import result

        return [result(self, "DATE", s.start, s.end, self.score) for s in find_dates(text, self.date_order)]
