"""What a ``dp stats`` release may publish, and the result objects that publish it.

Every artifact (the ``-o`` JSON or CSV, ``--json``, the printed summary, :meth:`StatsResult.to_frame`, the notebook
view) is built from :meth:`StatsResult.to_dict`, which passes :func:`anonlab.privacy.artifact.published` with
:data:`STATS_ALLOW`: public parameters (queries, epsilon, delta, the noise scales, the schema's categories, the
ledger's path and what is left of it) and DP outputs (the noisy values and their intervals). Never the seed, the
table's fingerprint, an exact count (rows read, values clamped or missing) or a wall-clock time. A dry run's
:class:`StatsPreview` holds public facts only (:data:`PREVIEW_ALLOW`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anonlab.errors import UsageError
from anonlab.privacy.artifact import DP_OUTPUT, PUBLIC, AllowList, published
from anonlab.privacy.stats.answers import Answer
from anonlab.privacy.stats.plan import Plan
from anonlab.provenance import versions

if TYPE_CHECKING:
    import os

    import pandas as pd

__all__ = [
    "NO_LEDGER",
    "MISSING_HANDLING",
    "PARAMETERS",
    "STATS_ALLOW",
    "PREVIEW_ALLOW",
    "StatsResult",
    "StatsPreview",
]

#: The privacy statement of a run made without a ledger.
NO_LEDGER = "no ledger"
#: How dp stats treats missing and out-of-domain values (part of every release's parameters).
MISSING_HANDLING = (
    "missing values are absent from every statistic; out-of-domain values are not counted in tables and are "
    "clamped to the bounds in sums, means and quantiles"
)

#: The keys ``parameters`` (the run's public parameters, as the caller records them) may hold.
PARAMETERS = (
    "input",
    "schema",
    "ledger",
    "no_ledger",
    "epsilon",
    "delta",
    "queries",
    "trust_domains",
    "seeded",
)

#: Every field a dp stats report (``-o OUT.json``, ``--json``, the printed summary, the CSV) may hold.
STATS_ALLOW = AllowList(
    "dp stats report",
    {
        "answers.*.query": PUBLIC,
        "answers.*.kind": PUBLIC,
        "answers.*.mechanism": PUBLIC,
        "answers.*.scale": PUBLIC,
        "answers.*.cost.**": PUBLIC,  # the mechanisms' privacy maps at the public sensitivity
        "answers.*.notes.*": PUBLIC,
        "answers.*.rows.*.group.*": PUBLIC,  # a cell of the public category product (every cell is released)
        "answers.*.rows.*.level": PUBLIC,
        "answers.*.rows.*.rank_error95": PUBLIC,  # from epsilon, the level and the public candidates
        "answers.*.rows.*.count_scale": PUBLIC,
        "answers.*.rows.*.value": DP_OUTPUT,
        "answers.*.rows.*.ci95": DP_OUTPUT,  # None for a quantile
        "answers.*.rows.*.ci95.*": DP_OUTPUT,  # the noisy value +- a public half-width
        "privacy.epsilon": PUBLIC,
        "privacy.delta": PUBLIC,
        "privacy.mode": PUBLIC,
        "privacy.rho": PUBLIC,
        "privacy.per_measurement": PUBLIC,
        "privacy.measurements": PUBLIC,
        "privacy.neighbours": PUBLIC,
        "privacy.ledger": PUBLIC,  # the ledger's path, or "no ledger"
        "privacy.missing": PUBLIC,
        "privacy.noise.*": PUBLIC,  # whether seeded and which sampler; never the seed
        "privacy.trusted_domains": PUBLIC,
        "privacy.trusted_domains.*": PUBLIC,
        "privacy.measured.*": PUBLIC,
        "ledger.path": PUBLIC,
        "ledger.entry": PUBLIC,  # how many releases came before: public, not the data
        "ledger.remaining.*": PUBLIC,
        "ledger.charged.*": PUBLIC,
        "ledger.population": PUBLIC,
        "ledger.neighbours": PUBLIC,
        "parameters": PUBLIC,  # empty: an API call that recorded none
        **{f"parameters.{k}": PUBLIC for k in PARAMETERS},
        "parameters.queries.*": PUBLIC,
        "versions.*": PUBLIC,
    },
)

#: Every field a dry-run preview may hold (nothing in it is computed from the data).
PREVIEW_ALLOW = AllowList(
    "dp stats preview",
    {
        "dry_run": PUBLIC,
        "privacy.*": PUBLIC,
        "privacy.trusted_domains.*": PUBLIC,
        "noise.*.query": PUBLIC,
        "noise.*.mechanism": PUBLIC,
        "noise.*.scale": PUBLIC,
        "noise.*.count_scale": PUBLIC,
        "noise.*.epsilon_per_level": PUBLIC,
        "ledger.path": PUBLIC,
        "ledger.remaining_before.*": PUBLIC,
    },
)

_HTML_ROWS = 200  # rows shown per answer in a notebook (the full table is in to_frame / to_dict)


@dataclass(frozen=True)
class StatsResult:
    """Everything a DP statistics run released, and what it cost.

    answers : one :class:`~anonlab.privacy.stats.answers.Answer` per query, in the order asked.
    plan : how the budget was split (:class:`~anonlab.privacy.stats.plan.Plan`).
    noise : whether the noise was seeded and which sampler drew it (never the seed).
    trusted_domains : the columns whose data-read domains the caller vouched for (``trust_domains=True``).
    ledger : the ledger's public facts after the charge (path, entry number, what is left), or ``None`` when the
        run was made without a ledger (then :meth:`to_dict` says ``"no ledger"``).
    parameters : the run's public parameters (keys from :data:`PARAMETERS`).
    measured : the mechanisms' own costs added up, next to what was charged.

    Every view (:meth:`to_dict`, :meth:`to_frame`, :meth:`write`, the notebook's HTML) is built from the
    allow-listed :meth:`to_dict`.
    """

    answers: list[Answer]
    plan: Plan
    noise: dict[str, Any]
    trusted_domains: list[str]
    ledger: dict[str, Any] | None
    parameters: dict[str, Any]
    measured: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The report, checked field by field against :data:`STATS_ALLOW` (public parameters and DP outputs only;
        anything else raises :class:`~anonlab.privacy.artifact.ArtifactError`)."""
        record: dict[str, Any] = {
            "answers": [a.to_dict() for a in self.answers],
            "privacy": {
                **self.plan.to_dict(),
                "neighbours": "add or remove one record",
                "ledger": self.ledger["path"] if self.ledger else NO_LEDGER,
                "missing": MISSING_HANDLING,
                "noise": self.noise,
                "trusted_domains": self.trusted_domains,
                "measured": self.measured,
            },
        }
        if self.ledger:
            record["ledger"] = self.ledger
        record["parameters"] = self.parameters
        record["versions"] = versions("opendp")
        return published(record, STATS_ALLOW)

    def to_frame(self) -> pd.DataFrame:
        """One row per released number (query, group, level, value, the 95% noise interval, mechanism, scale),
        from the allow-listed report."""
        return long_table(self.to_dict())

    def write(self, path: str | os.PathLike, *, force: bool = False) -> Path:
        """Write the answers to ``path``: ``.json`` (the full report) or ``.csv`` (:meth:`to_frame`), atomically;
        an existing file is replaced only with ``force=True``. Public parameters and DP outputs only."""
        from anonlab.io import write_table, write_text

        suffix = Path(path).suffix.lower()
        if suffix not in (".json", ".csv"):
            raise UsageError(f"{path}: write the answers to a .json or .csv file")
        out = self.to_dict()
        if suffix == ".json":
            import json

            return write_text(path, json.dumps(out, indent=2, allow_nan=False, default=str) + "\n", force)
        write_table(long_table(out), path, force)
        return Path(path)

    def _repr_html_(self) -> str:
        return report_html(self.to_dict())


@dataclass(frozen=True)
class StatsPreview:
    """What a run would spend and with what noise, checked against the ledger; nothing drawn, nothing spent.

    record : the preview, already checked against :data:`PREVIEW_ALLOW` (public facts only).
    """

    record: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The preview (``dry_run``, ``privacy``, ``noise`` per query, the ledger's path and what is left now)."""
        return published(self.record, PREVIEW_ALLOW)

    def _repr_html_(self) -> str:
        d = self.to_dict()
        pv = d["privacy"]
        head = f"dry run: would spend epsilon {pv['epsilon']:g}, delta {pv['delta']:g} ({pv['mode']})"
        if "ledger" in d:
            left = d["ledger"]["remaining_before"]
            head += f"; ledger {d['ledger']['path']}: epsilon {left['epsilon']:.4g}, delta {left['delta']:.4g} left"
        rows = [[n["query"], n["mechanism"], _noise_detail(n)] for n in d["noise"]]
        return f"<p>{html.escape(head)}</p>" + _html_table(["query", "mechanism", "noise"], rows)


def _noise_detail(n: dict[str, Any]) -> str:
    if "scale" in n:
        return f"scale {n['scale']:.4g}"
    return f"epsilon {n['epsilon_per_level']:.4g} per level"


def long_table(out: dict[str, Any]) -> pd.DataFrame:
    """One row per released number, from an allow-listed report (:meth:`StatsResult.to_dict`)."""
    import pandas as pd

    rows = []
    for a in out["answers"]:
        for r in a["rows"]:
            ci = r.get("ci95")
            group = r.get("group") or {}
            rows.append(
                {
                    "query": a["query"],
                    "group": ";".join(f"{k}={v}" for k, v in group.items()),
                    "level": r.get("level"),
                    "value": r["value"],
                    "ci95_low": ci[0] if ci else None,
                    "ci95_high": ci[1] if ci else None,
                    "rank_error95": r.get("rank_error95"),
                    "mechanism": a["mechanism"],
                    "scale": a["scale"],
                }
            )
    table = pd.DataFrame(rows)
    table["value"] = table["value"].astype(object)  # keep counts as whole numbers beside float answers
    return table


def _num(v) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _html_table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def privacy_line(out: dict[str, Any]) -> str:
    """One line: what the run spent and what is left of its ledger (or that it was charged to none)."""
    p = out["privacy"]
    mode = f"zCDP rho {p['rho']:.4g}" if p["mode"] == "zcdp" else "pure DP"
    what = f"epsilon {p['epsilon']:g}, delta {p['delta']:g} ({mode}, {p['measurements']} measurement(s))"
    if "ledger" not in out:
        return f"released at {what}; {p['ledger']}: charged to no budget"
    left = out["ledger"]["remaining"]
    return (
        f"spent {what}; ledger {out['ledger']['path']}: epsilon {left['epsilon']:.4g}, delta "
        f"{left['delta']:.4g} left"
    )


def row_cells(r: dict[str, Any]) -> tuple[str, str, str]:
    """(label, value, the 95% statement) of one released number, for a summary."""
    label = ""
    if "group" in r:
        label = ", ".join(f"{k}={v}" for k, v in r["group"].items())
    elif "level" in r:
        label = f"q{r['level']:g}"
    ci = r.get("ci95")
    extra = f"95% noise interval {_num(ci[0])} .. {_num(ci[1])}" if ci else ""
    if r.get("rank_error95") is not None:
        extra = f"95%: rank off by at most {r['rank_error95']:.3g} records beyond the best"
    return label, _num(r["value"]), extra


def report_html(out: dict[str, Any]) -> str:
    """The notebook view of an allow-listed report: the privacy line, then one table per answer."""
    parts = [f"<p>{html.escape(privacy_line(out))}</p>"]
    for a in out["answers"]:
        parts.append(
            f"<p><b>{html.escape(a['query'])}</b> [{html.escape(a['mechanism'])}, scale {a['scale']:.4g}]</p>"
        )
        rows = [list(row_cells(r)) for r in a["rows"][:_HTML_ROWS]]
        parts.append(_html_table(["", "value", "noise"], rows))
        if len(a["rows"]) > _HTML_ROWS:
            parts.append(f"<p>... {len(a['rows']) - _HTML_ROWS:,} more cells (to_frame() has them all)</p>")
    return "".join(parts)
