"""Reading a generalised (k-anonymous) release back into values, so that the same metrics apply to it.

k-anonymity tools publish cells such as ``30-39`` or ``[30, 40)`` (an interval), ``{Divorced,Separated}`` (a set
of categories), ``0213*`` (a masked code) or ``*`` (suppressed). Utility metrics need values, so each such cell is
replaced by a value drawn **uniformly within the cell**: a whole number in the interval, one member of the set,
one real category matching the mask, or, for ``*``, any value of the real column's range or category list. This
is the "uniform within the generalisation" reading of the literature; it is what a user of the release would have
to assume, and the report says the utility of a generalised release was measured this way.

A cell that is already a value of the real column (``<=50K`` is a category of Adult, not a range) is kept. Labels
that cannot be read (a named group from a hierarchy file, such as ``Married``) are kept as they are and counted.
Parsing is done once per distinct label; the draws are vectorised per label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["DecodeResult", "decode_generalised", "looks_generalised"]

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_DASH = re.compile(rf"^\s*({_NUM})\s*-\s*({_NUM})\s*$")
_BRACKET = re.compile(rf"^\s*([\[(])\s*({_NUM})\s*[,;]\s*({_NUM})\s*([\])])\s*$")
_SET = re.compile(r"^\s*\{(.*)\}\s*$")
_SUPPRESSED = {"*", "**", "***"}
_MISSING_LABELS = {"NA", "nan", "NaN", ""}


@dataclass(frozen=True)
class DecodeResult:
    """What decoding did, per column: ``decoded[col]`` cells drawn within a generalised cell, ``suppressed[col]``
    of those were ``*``, ``unreadable[col]`` labels kept as they were (examples in ``unreadable_labels``)."""

    decoded: dict[str, int] = field(default_factory=dict)
    suppressed: dict[str, int] = field(default_factory=dict)
    unreadable: dict[str, int] = field(default_factory=dict)
    unreadable_labels: dict[str, list[str]] = field(default_factory=dict)

    rows: int = 0

    @property
    def generalised(self) -> bool:
        """Whether the release is a generalised one: some cell was drawn within a generalisation, or most of a
        column's rows hold labels the real column lacks (a hierarchy's group names). Some unknown values (a
        category of the public domain that the training records happen to lack, drawn by a synthesizer) do not
        make a release generalised."""
        return any(self.decoded.values()) or any(
            n > 0.5 * max(self.rows, 1) for n in self.unreadable.values()
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "generalised": self.generalised,
            "decoded_cells": {k: v for k, v in self.decoded.items() if v},
            "suppressed_cells": {k: v for k, v in self.suppressed.items() if v},
            "unreadable_cells": {k: v for k, v in self.unreadable.items() if v},
            "unreadable_labels": {k: v for k, v in self.unreadable_labels.items() if v},
            "method": "values drawn uniformly within each generalised cell",
        }


def _interval(label: str) -> tuple[float, float, bool, bool] | None:
    """``(lo, hi, lo_closed, hi_closed)`` for an interval label, else None."""
    m = _DASH.match(label)
    if m:
        lo, hi = float(m.group(1)), float(m.group(2))
        return (lo, hi, True, True) if lo <= hi else None
    m = _BRACKET.match(label)
    if m:
        lo, hi = float(m.group(2)), float(m.group(3))
        return (lo, hi, m.group(1) == "[", m.group(4) == "]") if lo <= hi else None
    return None


def looks_generalised(values: pd.Series, real: pd.Series) -> bool:
    """Whether a release column holds labels (intervals, sets, masks) that the real column does not."""
    import pandas as pd

    uniq = pd.Series(values.dropna().astype(str).unique())
    known = set(real.dropna().astype(str).unique())
    cand = uniq[~uniq.isin(known)]
    return bool(
        len(cand)
        and cand.map(
            lambda s: s in _SUPPRESSED or bool(_SET.match(s)) or "*" in s or _interval(s) is not None
        ).any()
    )


def _numeric_column(
    rel: pd.Series, real: pd.Series, rng: np.random.Generator, integer: bool
) -> tuple[pd.Series, int, int, list[str], int]:
    import numpy as np
    import pandas as pd

    conv = pd.to_numeric(rel, errors="coerce")
    labels = rel.astype(object).where(conv.isna() & rel.notna())
    out = conv.astype(float).to_numpy(copy=True)
    r = pd.to_numeric(real, errors="coerce").dropna()
    rlo, rhi = (float(r.min()), float(r.max())) if len(r) else (0.0, 1.0)
    decoded = suppressed = 0
    bad: list[str] = []
    lab = labels.dropna().astype(str)
    for text, idx in lab.groupby(lab).groups.items():
        pos = rel.index.get_indexer(idx)
        if text.strip() in _MISSING_LABELS:
            continue  # a missing-value label stays missing
        if text.strip() in _SUPPRESSED:
            lo, hi, lc, hc = rlo, rhi, True, True
            suppressed += len(pos)
        else:
            iv = _interval(text)
            if iv is None:
                bad.append(text)
                continue
            lo, hi, lc, hc = iv
        if integer:
            a = int(np.ceil(lo)) + (0 if lc or lo != np.ceil(lo) else 1)
            b = int(np.floor(hi)) - (0 if hc or hi != np.floor(hi) else 1)
            out[pos] = rng.integers(a, max(a, b) + 1, size=len(pos))
        else:
            out[pos] = rng.uniform(lo, hi, size=len(pos))
        decoded += len(pos)
    n_bad = int(lab.isin(bad).sum())
    res = pd.Series(out, index=rel.index)
    if integer and not np.isnan(out).any():
        res = res.astype("int64")
    return res, decoded, suppressed, bad, n_bad


def _categorical_column(
    rel: pd.Series, real: pd.Series, rng: np.random.Generator, domain: tuple[str, ...] | None = None
) -> tuple[pd.Series, int, int, list[str], int]:
    import numpy as np
    import pandas as pd

    cats = pd.Series(real.dropna().astype(str).unique())
    known = set(cats) | set(domain or ())
    out = rel.astype(object).copy()
    text = rel.dropna().astype(str)
    text = text[~text.isin(known)]
    decoded = suppressed = 0
    bad: list[str] = []
    for label, idx in text.groupby(text).groups.items():
        s = label.strip()
        if s in _MISSING_LABELS:
            out.loc[idx] = None  # a generalised table's label for a missing value
            continue
        if s in _SUPPRESSED:
            members = cats.to_numpy()
            suppressed += len(idx)
        elif _SET.match(s):
            members = np.array(
                [m.strip() for m in _SET.match(s).group(1).split(",") if m.strip()], dtype=object
            )
        elif "*" in s:
            pattern = "^" + re.escape(s).replace(r"\*", ".") + "$"
            members = cats[cats.str.match(pattern)].to_numpy()
        else:
            members = np.array([], dtype=object)
        if len(members) == 0:
            bad.append(label)
            continue
        out.loc[idx] = members[rng.integers(0, len(members), size=len(idx))]
        decoded += len(idx)
    n_bad = int(text.isin(bad).sum())
    return out, decoded, suppressed, bad, n_bad


def decode_generalised(
    release: pd.DataFrame,
    real: pd.DataFrame,
    kinds: dict[str, str],
    rng: np.random.Generator,
    domains: dict[str, tuple[str, ...]] | None = None,
) -> tuple[pd.DataFrame, DecodeResult]:
    """Return a copy of ``release`` with generalised cells replaced by uniform draws within them, and a summary.

    ``kinds`` says which columns are numeric (``{column: "numeric" | "categorical"}``, from the real table);
    ``domains`` (from a schema) lists further categories that are values, not generalisations. The input frame is
    not modified.
    """
    import pandas as pd

    out = release.copy()
    res = DecodeResult(rows=len(release))
    for c, kind in kinds.items():
        if c not in release.columns:
            continue
        col = release[c]
        if kind == "numeric":
            if pd.api.types.is_numeric_dtype(col):
                continue
            r = pd.to_numeric(real[c], errors="coerce").dropna()
            integer = bool(len(r) == 0 or (r == r.round()).all())
            new, dec, sup, bad, n_bad = _numeric_column(col, real[c], rng, integer)
        else:
            new, dec, sup, bad, n_bad = _categorical_column(col, real[c], rng, (domains or {}).get(c))
        out[c] = new
        res.decoded[c], res.suppressed[c], res.unreadable[c] = dec, sup, n_bad
        res.unreadable_labels[c] = sorted(bad)[:5]
    return out, res
