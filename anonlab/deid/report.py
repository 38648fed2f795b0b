"""What a k-anonymity method reports (:class:`AnonymizationReport`), and the notebook view of deid's reports.

A report is computed once, by :meth:`~anonlab.deid.methods.Anonymizer.apply`; ``to_dict()`` is what
``anonlab anonymize --json`` prints and ``--report`` writes, and ``_repr_html_`` is how a notebook shows it. Both
render the stored figures, never recompute them. A report holds no data values: counts, achieved k, l and t,
information loss, the generalisation per column and the parameters.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

__all__ = ["AnonymizationReport", "html_table", "PRIVACY_NOTE"]

PRIVACY_NOTE = (
    "k-anonymity / l-diversity / t-closeness against an attacker knowing the named quasi-identifiers; "
    "not differential privacy; the release is still personal data"
)


def html_table(title: str, rows: list[tuple[str, Any]], notes: list[str] = ()) -> str:
    """A small HTML table (``label | value``) under a title, with notes below; every text is escaped."""
    body = "".join(
        f"<tr><th style='text-align:left'>{html.escape(str(a))}</th>"
        f"<td style='text-align:left'>{html.escape(str(b))}</td></tr>"
        for a, b in rows
    )
    foot = "".join(f"<li>{html.escape(str(n))}</li>" for n in notes)
    return (
        f"<div><strong>{html.escape(title)}</strong><table>{body}</table>"
        + (f"<ul>{foot}</ul>" if foot else "")
        + "</div>"
    )


def _fmt(v, spec: str = ".4g") -> str:
    return "-" if v is None else format(v, spec)


@dataclass(frozen=True)
class AnonymizationReport:
    """A k-anonymised release's figures.

    ``method``: the registry name; ``parameters``: the method's parameters with ``quasi``, ``sensitive``,
    ``hierarchies`` and ``orders``. ``k``: the smallest class size (suppressed records excluded).
    ``sensitive``: per sensitive column, the achieved distinct l, entropy l (exp of the smallest class entropy)
    and t (largest EMD from the released table). ``loss``: :class:`~anonlab.deid.information_loss
    .InformationLoss`. ``generalisation``: per column, what was applied (for ``global``: the hierarchy's kind and
    the level chosen). ``search``: the method's search statistics (``global``: the lattice). ``warnings``: what
    weakens the release as configured, found on the data (a column left in clear that is a deterministic
    function of a quasi-identifier, or determines one; a schema identifier left in).
    """

    method: str
    parameters: dict
    n_input: int
    n_released: int
    n_suppressed: int
    suppressed_marked: bool
    n_classes: int
    k: int
    sensitive: dict
    loss: Any
    generalisation: dict
    search: dict
    seconds: float
    versions: dict
    warnings: tuple = ()

    @property
    def t(self) -> float | None:
        """The largest t over the sensitive columns (None without any)."""
        ts = [v["t"] for v in self.sensitive.values() if v.get("t") is not None]
        return max(ts) if ts else None

    @property
    def l_distinct(self) -> int | None:
        """The smallest distinct l over the sensitive columns (None without any)."""
        ls = [v["l_distinct"] for v in self.sensitive.values() if v.get("l_distinct") is not None]
        return min(ls) if ls else None

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "parameters": self.parameters,
            "records": {
                "input": self.n_input,
                "released": self.n_released,
                "suppressed": self.n_suppressed,
                "suppressed_marked": self.suppressed_marked,
            },
            "classes": self.n_classes,
            "achieved": {
                "k": self.k,
                "l_distinct": self.l_distinct,
                "t": self.t,
                "per_sensitive": self.sensitive,
            },
            "information_loss": self.loss.to_dict(),
            "generalisation": self.generalisation,
            "search": self.search,
            "seconds": self.seconds,
            "versions": self.versions,
            "warnings": list(self.warnings),
            "privacy_note": PRIVACY_NOTE,
        }

    def __repr__(self) -> str:
        return (
            f"AnonymizationReport(method={self.method!r}, k={self.k}, records={self.n_input}, "
            f"suppressed={self.n_suppressed}, classes={self.n_classes}, gcp={self.loss.gcp:.4f})"
        )

    def _repr_html_(self) -> str:
        rows: list[tuple[str, Any]] = [
            ("method", self.method),
            ("quasi-identifiers", ", ".join(self.parameters.get("quasi", ()))),
            ("achieved k", self.k),
        ]
        for name, s in self.sensitive.items():
            rows.append(
                (f"{name}: l (distinct, entropy), t", f"{s['l_distinct']}, {_fmt(s['l_entropy'], '.3g')}, "
                 f"{_fmt(s['t'])}")
            )  # fmt: skip
        rows += [
            (
                "records in / released / suppressed",
                f"{self.n_input:,} / {self.n_released:,} / {self.n_suppressed:,}",
            ),
            ("classes", f"{self.n_classes:,}"),
            ("GCP (NCP mean)", f"{self.loss.gcp:.4f}"),
            ("discernibility", f"{self.loss.discernibility:.4g}"),
            ("C_AVG", _fmt(self.loss.c_avg, ".3f")),
        ]
        for col, g in self.generalisation.items():
            lvl = f" level {g['level']}/{g['levels'] - 1}" if "level" in g else ""
            rows.append(
                (f"  {col}", f"{g['kind']}{lvl}: {g['distinct_original']} -> {g['distinct_released']}")
            )
        rows.append(("seconds", f"{self.seconds:.2f}"))
        return html_table("k-anonymised release", rows, [*self.warnings, PRIVACY_NOTE])
