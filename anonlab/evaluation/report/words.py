"""The plain-language texts of the reports: numbers as a person reads them, privacy statements in words, the
parameter names in notes, and a short "what this means" paragraph per section for readers who are not
specialists (a data steward, an ethics board).

Everything here is worded from figures the result objects already hold; nothing is recomputed. A privacy statement
says exactly what the release's maker reported (epsilon, delta, the neighbouring relation, the accounting, a seed
or trusted domains that weaken it) and nothing more: no seed, no table fingerprint, no exact count.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from anonlab.evaluation.result import Evaluation

__all__ = [
    "number",
    "short",
    "privacy_statement",
    "privacy_details",
    "param_words",
    "EXPLAIN",
    "explain_verdicts",
    "explain_privacy",
    "explain_frontier",
]


def number(v: Any, digits: int = 3) -> str:
    """A number as a person reads it: ``0.512``, ``1,500``, ``1e-9`` (never ``0.000`` for a small non-zero
    value), ``n/a`` for ``None`` or NaN."""
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "n/a"
        if v == 0:
            return "0"
        if abs(v) < 10**-digits or abs(v) >= 1e7:
            text = f"{v:.2g}"
            if "e" not in text:  # .2g chose the plain form (0.00012)
                return text
            mant, exp = text.split("e")
            return f"{mant}e{int(exp)}"
        if float(v).is_integer() and abs(v) < 1e6:
            return f"{int(v):,}"
        return f"{v:.{digits}f}"
    return str(v)


def short(v: Any, digits: int = 4) -> str:
    """A parameter as written (``0.3``, ``1e-9``, ``0.0105``): at most ``digits`` significant digits."""
    if not isinstance(v, int | float) or isinstance(v, bool):
        return number(v)
    text = f"{v:.{digits}g}"
    if "e" in text:
        mant, exp = text.split("e")
        return f"{mant}e{int(exp)}"
    return text


_NEIGHBOURS = {
    "add/remove": "add/remove one record",
    "add-remove": "add/remove one record",
    "replace-one": "replace one record",
    "replace": "replace one record",
}


def privacy_statement(p: Mapping[str, Any] | None) -> str:
    """One sentence stating a release's formal guarantee as its maker reported it: "epsilon 1, delta 1e-9,
    add/remove one record, via zCDP (rho 0.0105)", with what weakens it (a seed, trusted domains, no ledger).
    ``None`` (or no epsilon) is "no formal guarantee"."""
    if not p or not isinstance(p, Mapping) or p.get("epsilon") is None:
        return "No formal guarantee: this method makes no differential-privacy claim."
    parts = [f"epsilon {short(p['epsilon'])}", f"delta {short(p.get('delta', 0.0))}"]
    neigh = p.get("neighbours")
    if neigh:
        neigh = str(neigh)
        parts.append(_NEIGHBOURS.get(neigh, neigh if "record" in neigh else f"neighbouring tables: {neigh}"))
    if p.get("rho") is not None:
        parts.append(f"via zCDP (rho {short(p['rho'], 3)})")
    elif p.get("accounting"):
        parts.append(f"via {p['accounting']} composition")
    out = "Differentially private: " + ", ".join(parts) + "."
    details = p.get("details") if isinstance(p.get("details"), Mapping) else {}
    if details.get("ledger") == "no ledger":
        out += " Fitted without a privacy ledger (nothing checked it against a total budget)."
    if p.get("seeded"):
        out += " Its noise was seeded: the guarantee holds only while the seed stays secret."
    if p.get("trusted_domains"):
        out += (
            " Domains read from the data were trusted as public: the guarantee holds only if they really are "
            "public."
        )
    return out


_SHOWN = {"epsilon", "delta", "rho", "neighbours", "seeded", "trusted_domains"}


def privacy_details(p: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The other fields of the maker's privacy record, flattened to (name, readable value) pairs: how the budget
    was split, the mechanism, and so on (the statement of :func:`privacy_statement` covers the rest)."""
    if not p or not isinstance(p, Mapping):
        return []
    out: list[tuple[str, str]] = []

    def flatten(name: str, v: Any) -> None:
        if isinstance(v, Mapping):
            for k, x in v.items():
                flatten(f"{name} / {k}", x)
        elif isinstance(v, list | tuple):
            text = ", ".join(number(x) if isinstance(x, int | float) else str(x) for x in v[:12])
            out.append((name.replace("_", " "), text + (f" ... ({len(v)} in all)" if len(v) > 12 else "")))
        else:
            out.append((name.replace("_", " "), number(v) if isinstance(v, int | float) else str(v)))

    for k, v in p.items():
        if k not in _SHOWN:
            flatten(k, v)
    return out


_FLAG_IN_PARENS = re.compile(r"\((--[a-z][a-z-]*)\)")
_FLAG = re.compile(r"(?<![\w-])--([a-z][a-z-]*)")


def param_words(text: str) -> str:
    """A note that names a command-line flag, reworded to read well from Python too: "(--holdout)" becomes
    "(holdout=, or --holdout on the command line)"; "from --seed" becomes "from seed= (--seed)"."""
    text = text.replace("from --seed", "from the seed given (seed=, --seed)")
    text = _FLAG_IN_PARENS.sub(
        lambda m: f"({m.group(1)[2:].replace('-', '_')}=, or {m.group(1)} on the command line)", text
    )
    return _FLAG.sub(
        lambda m: (
            m.group(0)
            if text[m.end() : m.end() + 17] == " on the command l" or text[m.end() : m.end() + 1] == ")"
            else f"{m.group(1).replace('-', '_')}= ({m.group(0)})"
        ),
        text,
    )


# -- "what this means" per section --------------------------------------------------------------------------


def explain_verdicts() -> str:
    return (
        "Each line below is one measurement with a verdict. Utility verdicts (good / fair / poor) compare the "
        "release with two yardsticks computed in the same run: a table that keeps each column but none of the "
        "relations between columns (bad), and a second real sample of the same people (as good as it gets). Risk "
        "verdicts (low / moderate / high) come from simulated attacks; each figure has a 95% interval, and the "
        "verdict is read at the worst end of it, so a small test cannot make a release look safer than the data "
        "allow. A low risk verdict means these attacks found little; it is not proof that no attack can succeed."
    )


def explain_privacy(p: Mapping[str, Any] | None) -> str:
    if not p or p.get("epsilon") is None:
        return (
            "This release carries no formal privacy guarantee. Whatever protection it has is what the risk "
            "section below measures, and an attack nobody tried here could do better."
        )
    eps = short(p["epsilon"])
    return (
        f"Differential privacy with epsilon {eps} bounds how much any one person's record can change what the "
        "release looks like: whatever an attacker concludes from it, they would conclude almost the same "
        f"(within a factor of e^{eps}, about {math.exp(float(p['epsilon'])):.3g}) had that person never been in "
        "the data. Smaller epsilon is stronger. Delta is the tiny probability that the bound fails. This is a "
        "guarantee about the method, independent of any attack, unlike the risk figures further down."
    )


def _marginals(ev: Evaluation, ms) -> str:
    m2 = next((m for m in ms if m.order == 2), None)
    fig = (
        f" Here the average 2-way distance is {number(m2.mean_tvd)}: on average the release gets about "
        f"{m2.mean_tvd:.0%} of a pair of columns' joint distribution in the wrong cells."
        if m2 is not None and m2.mean_tvd is not None and math.isfinite(m2.mean_tvd)
        else ""
    )
    return (
        "Marginals compare how often each value (1-way), pair of values (2-way) or triple (3-way) occurs in the "
        "release and in the real data. The total variation distance is the share of records that would have to "
        "move to make the two distributions equal: 0 is identical, 1 is completely different." + fig
    )


def _associations(ev: Evaluation, value) -> str:
    return (
        "Associations measure how strongly pairs of columns go together (correlation for numbers, Cramer's V and "
        "Theil's U for categories). The heat maps show release minus real: white is kept, red is a relation the "
        "release exaggerates, blue one it weakened or lost. Analyses that rely on a relation shown in blue will "
        "not reproduce on the release."
    )


def _tstr(ev: Evaluation, t) -> str:
    r = getattr(t, "mean_ratio", None)
    fig = (
        f" Here the ratio is {number(r)}: a model trained on the release reaches about {r:.0%} of the score of "
        "the same model trained on real records."
        if r is not None and math.isfinite(r)
        else ""
    )
    return (
        "Train on release, test on real (TSTR) asks whether the release can stand in for the real data in a "
        "typical analysis: a model is trained on the release and tested on real records it never saw, and its "
        "score is divided by that of the same model trained on real records (the TSTR ratio). 1.0 means as "
        "useful as the real data for this prediction; a model that learned nothing scores like a constant guess "
        "(a ROC AUC of 0.5)." + fig
    )


def _quality(ev: Evaluation, q) -> str:
    return (
        "The SDMetrics quality score is an independent cross-check from another library: the average similarity "
        "of column shapes and of column-pair trends, between 0 and 1 (1 identical). It is a summary, not a test "
        "of any particular analysis."
    )


def _dcr(ev: Evaluation, d) -> str:
    share = getattr(d, "train_share", None)
    fig = (
        f" Here {share:.0%} of released records are closer to a training record than to a holdout record."
        if share is not None and math.isfinite(share)
        else ""
    )
    return (
        "Distance to closest record looks for released records that sit suspiciously close to a real person's "
        "record. Exact copies of training records are the clearest leak; the holdout (real people the release "
        "never saw) shows how often a copy happens by chance. If the release were unrelated to its training "
        "records, half of its records would be closer to a training record and half closer to a holdout "
        "record (a share of 0.5); well above 0.5 means it stays near the people it was made from." + fig
    )


def _membership(ev: Evaluation, m) -> str:
    attacks = [a for a in getattr(m, "attacks", ()) if a.auc is not None and math.isfinite(a.auc)]
    fig = ""
    if attacks:
        best = max(attacks, key=lambda a: a.auc)
        top = best.auc_ci[1] if best.auc_ci is not None else best.auc
        fig = (
            f" Here the best attack's AUC is {number(best.auc)}, and its 95% interval reaches {number(top)}: "
            + (
                "these attacks could not tell members from non-members better than a coin flip."
                if top < 0.55
                else "about a coin flip, but a small advantage cannot be ruled out on this sample."
                if best.auc < 0.55
                else "better than a coin flip: the release gives away some of who was in the data."
                if best.auc < 0.8
                else "the attacker tells members from non-members most of the time."
            )
        )
    return (
        "Membership inference asks whether an attacker holding the release can tell if a given person's record "
        "was used to make it (being in a dataset can itself be sensitive, for a clinic's patients say). The AUC "
        "is the chance that the attacker ranks a real member above a non-member: 0.5 is guessing, 1.0 is "
        "certainty. An AUC of 0.51 means the attacker is right 51 times in 100 where a coin is right 50 times."
        + fig
    )


def _anonymeter(ev: Evaluation, a) -> str:
    return (
        "These attacks try what a real attacker would: singling out one person (finding a description only they "
        "match), linking two halves of a person's record through the release, and inferring a sensitive value "
        "from the rest. Each risk is the attack's success on training records beyond its success on people the "
        "release never saw: 0 means the release helped no more than general knowledge of the population, 0.1 "
        "means one attack in ten succeeded because of it. Intervals are wide because only a few hundred attacks "
        "are run."
    )


def _assess(ev: Evaluation, s: dict[str, Any]) -> str:
    k = s.get("k")
    kk = number(k) if k is not None else "k"
    return (
        f"k-anonymity with k={kk} means every combination of the quasi-identifiers (age, postcode, sex, ...) "
        f"that appears in the release is shared by at least {kk} records, so someone who knows a person's "
        f"quasi-identifiers can narrow them down to no fewer than {kk} records (a re-identification chance of at "
        f"most 1 in {kk}). It does not protect against: learning a sensitive value when all {kk} records share "
        "it (l-diversity and t-closeness address that), linking through columns that were not declared "
        "quasi-identifiers, or combining this release with other releases of the same people."
    )


#: Part name -> its "what this means" paragraph, from the part's value (every part of the table has one).
EXPLAIN: dict[str, Callable[[Evaluation, Any], str]] = {
    "marginals": _marginals,
    "associations": _associations,
    "tstr": _tstr,
    "quality": _quality,
    "dcr": _dcr,
    "membership": _membership,
    "anonymeter": _anonymeter,
    "assess": _assess,
}


def explain_frontier() -> str:
    return (
        "Each point is one release of the same training records. Left is safer (an attack does less well), up "
        "is more useful (the release keeps more of the data's structure). The dashed line joins the releases "
        "that no other release beats on both counts: the best trade-offs on offer. Horizontal bars are 95% "
        "intervals of the risk figure. The copy of the training data is the no-protection reference; when it "
        "sits far from the others it is drawn as an arrow at the edge, with its values written beside it."
    )
