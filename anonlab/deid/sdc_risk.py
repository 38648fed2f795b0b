"""sdcMicro's record-level risk measures: SUDA2 special uniques, individual risk with sampling weights, global risk.

- :func:`suda2`: minimal sample uniques (MSUs, Elliot et al. 2002; SUDA2, Manning, Haglin and Keane 2008). A set
  of quasi-identifier values of a record is an MSU when the record is the only one in the table with those values
  and with no smaller subset of them. A record with an MSU of few variables is a *special unique*: an attacker
  needs to know little about the person to single them out. The SUDA score of a record sums, over its MSUs of
  size ``k`` (up to ``max_size``), ``prod(m - i for i in k..min(max_size, m - 1))`` with ``m`` the number of
  quasi-identifiers (so with ``max_size = m`` an MSU of size ``k`` counts ``(m - k)!``, the weighting sdcMicro
  documents); the DIS-SUDA score spreads the file-level probability ``dis`` that a unique match is correct over
  the records in proportion to their scores (``dis * score / sum(score)``).
- :func:`individual_risk`: sdcMicro's ``indivRisk`` (Benedetti and Franconi 1998). Each record's class (records
  sharing its quasi-identifiers) has ``f`` records in the sample and an estimated ``F`` (the sum of their sampling
  weights) in the population; under a negative-binomial model of ``F`` given ``f`` with ``p = f / F`` the risk
  is ``E[1 / F | f] = p / f 2F1(1, 1; f + 1; 1 - p)``: ``p / (1 - p) log(1 / p)`` for ``f = 1``,
  ``p / (1 - p)^2 (p log p + 1 - p)`` for ``f = 2``, and the hypergeometric function itself (exact, by scipy)
  for larger classes, where sdcMicro uses a series approximation (its figures may differ in the last digits).
- :func:`global_risk`: the expected number of re-identifications (the sum of the individual risks) and its share
  of the records (sdcMicro's ``measure_risk``: ``risk_ER`` and ``risk``).

Missing values are a value of their own (as in :func:`anonlab.deid.assess`; sdcMicro lets a missing value match
any value, which finds fewer uniques). None of this is a guarantee; each is a measurement of the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np

from anonlab.errors import InputError, UsageError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Suda",
    "IndividualRisk",
    "GlobalRisk",
    "SdcRisk",
    "suda2",
    "individual_risk",
    "global_risk",
    "nb_risk",
    "sdc_risk",
]


@dataclass(frozen=True)
class Suda:
    """SUDA2's result: per record the number of MSUs of each size (``msu_counts[r, k - 1]``), the SUDA score and
    the DIS-SUDA score; ``contributions``: per quasi-identifier, the percentage of the total score carried by the
    MSUs it is part of (sdcMicro's ``attribute_contributions``; they sum to more than 100 when MSUs have several
    variables); ``quasi``, ``max_size`` and ``dis`` as used."""

    quasi: list
    max_size: int
    dis: float
    msu_counts: np.ndarray
    score: np.ndarray
    dis_score: np.ndarray
    contributions: dict

    @property
    def special_uniques(self) -> int:
        """Records with at least one MSU of at most ``max_size`` variables."""
        return int((self.msu_counts.sum(axis=1) > 0).sum())

    def summary(self) -> dict:
        """The figures ``assess`` shows: records with an MSU, MSUs and records by smallest MSU size, scores."""
        has = self.msu_counts > 0
        smallest = np.where(has.any(axis=1), has.argmax(axis=1) + 1, 0)
        return {
            "quasi": list(self.quasi),
            "max_size": self.max_size,
            "dis": self.dis,
            "records_with_msu": self.special_uniques,
            "msus_by_size": {str(k + 1): int(c) for k, c in enumerate(self.msu_counts.sum(axis=0))},
            "records_by_smallest_msu": {
                str(k): int((smallest == k).sum()) for k in range(1, self.max_size + 1)
            },
            "score_highest": float(self.score.max()),
            "score_mean": float(self.score.mean()),
            "dis_score_highest": float(self.dis_score.max()),
            "contributions": dict(self.contributions),
        }


@dataclass(frozen=True)
class IndividualRisk:
    """Per record: its class's sample size ``f``, estimated population size ``F`` (sum of weights) and risk."""

    f: np.ndarray
    F: np.ndarray
    risk: np.ndarray
    weights: str

    def summary(self, threshold: float) -> dict:
        return {
            "weights": self.weights,
            "highest": float(self.risk.max()),
            "mean": float(self.risk.mean()),
            "records_above_threshold": int((self.risk > threshold).sum()),
            "threshold": threshold,
        }


@dataclass(frozen=True)
class GlobalRisk:
    """Expected re-identifications (sum of individual risks) and their share of the records."""

    expected_reidentifications: float
    share: float


@dataclass(frozen=True)
class SdcRisk:
    """The sdcMicro section of :class:`~anonlab.deid.risk.RiskReport` (``report.sdc``): summaries only."""

    suda: dict | None = None
    individual: dict | None = None
    global_risk: dict | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in (("suda", self.suda), ("individual", self.individual),
                                  ("global", self.global_risk)) if v is not None}  # fmt: skip

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) rows for the HTML and text reports."""
        out = []
        if self.suda:
            s = self.suda
            sizes = ", ".join(f"{k}: {v:,}" for k, v in s["records_by_smallest_msu"].items())
            out += [
                (f"SUDA2 records with an MSU (size <= {s['max_size']})", f"{s['records_with_msu']:,}"),
                ("SUDA2 records by smallest MSU size", sizes),
                ("SUDA2 score: highest / mean", f"{s['score_highest']:.4g} / {s['score_mean']:.4g}"),
                (f"DIS-SUDA score: highest (dis={s['dis']:g})", f"{s['dis_score_highest']:.4g}"),
            ]
        if self.individual:
            i = self.individual
            out += [
                (
                    f"individual risk ({i['weights']}): highest / mean",
                    f"{i['highest']:.4g} / {i['mean']:.4g}",
                ),
                (f"individual risk: records > {i['threshold']:g}", f"{i['records_above_threshold']:,}"),
            ]
        if self.global_risk:
            g = self.global_risk
            out.append(
                ("global risk: expected re-identifications",
                 f"{g['expected_reidentifications']:,.1f} ({100 * g['share']:.2f}%)")
            )  # fmt: skip
        return out


# -- SUDA2 -----------------------------------------------------------------------------------------------------


def _column_codes(df: pd.DataFrame, quasi: list) -> list[np.ndarray]:
    from anonlab.deid.risk import _sorted_codes

    return [_sorted_codes(df[c])[0] for c in quasi]


def _dense(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense class ids of ``key`` and the size of each record's class."""
    _, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
    return inv.astype(np.int64), counts[inv]


def _check_columns(df, quasi, source: str) -> list:
    from anonlab.deid.encoded_table import check_roles, require_named

    quasi, _ = check_roles(quasi, None)
    if not quasi:
        raise UsageError("quasi= must name at least one column")
    require_named(df, quasi, "quasi", source)
    if len(df) == 0:
        raise InputError(f"{source}: no rows to assess")
    return list(quasi)


def suda2(
    df: pd.DataFrame, quasi, *, max_size: int | None = None, dis: float = 0.1, source: str = "input"
) -> Suda:
    """Find every record's minimal sample uniques (MSUs) of at most ``max_size`` quasi-identifiers (default all).

    ``dis``: the probability that a unique match between the table and an attacker's file is a correct match
    (0 < dis <= 1; Elliot's DIS, 0.1 by default), spread over the records by score. Each subset of the
    quasi-identifiers is grouped once (a sort of integer keys built from its subset one smaller); a record is an
    MSU on a subset when it is unique there and on none of the subsets one variable smaller (uniqueness on a
    subset implies it on every superset, so checking those suffices). Cost: one sort per subset,
    ``sum(C(m, k), k <= max_size)`` of them.
    """
    quasi = _check_columns(df, quasi, source)
    m = len(quasi)
    max_size = m if max_size is None else max_size
    if isinstance(max_size, bool) or not isinstance(max_size, int | np.integer) or not 1 <= max_size <= m:
        raise UsageError(
            f"max_size={max_size!r}: must be a whole number from 1 to {m} (the quasi-identifiers)"
        )
    if not (isinstance(dis, int | float | np.number) and 0 < dis <= 1):
        raise UsageError(f"dis={dis!r}: must lie in (0, 1] (the probability a unique match is correct)")
    codes = _column_codes(df, quasi)
    n = len(df)
    ids: dict[tuple, np.ndarray] = {(): np.zeros(n, dtype=np.int64)}
    unique: dict[tuple, np.ndarray] = {(): np.zeros(n, dtype=bool)}  # an MSU names one value at least
    counts = np.zeros((n, max_size), dtype=np.int64)
    weight = np.array(
        [np.prod([m - i for i in range(k, min(max_size, m - 1) + 1)]) for k in range(1, max_size + 1)],
        dtype=np.float64,
    )
    carried = np.zeros(m)
    for size in range(1, max_size + 1):
        for subset in combinations(range(m), size):
            parent = ids[subset[:-1]]
            c = codes[subset[-1]]
            key = parent * (int(c.max()) + 1) + c
            ids[subset], sizes = _dense(key)
            uniq = sizes == 1
            unique[subset] = uniq
            if not uniq.any():
                continue
            smaller = np.zeros(n, dtype=bool)
            for j in range(size):
                smaller |= unique[subset[:j] + subset[j + 1 :]]
            msu = uniq & ~smaller
            counts[:, size - 1] += msu
            carried[list(subset)] += weight[size - 1] * int(msu.sum())
        for subset in [s for s in ids if len(s) == size - 1]:  # the next level needs only this one's
            del ids[subset]
            del unique[subset]
    score = counts @ weight
    total = score.sum()
    dis_score = dis * score / total if total > 0 else np.zeros(n)
    share = 100 * carried / total if total > 0 else carried
    contributions = {str(c): float(v) for c, v in zip(quasi, share, strict=True)}
    return Suda(list(quasi), int(max_size), float(dis), counts, score, dis_score, contributions)


# -- individual and global risk --------------------------------------------------------------------------------


def nb_risk(f: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Benedetti-Franconi risk ``E[1 / F | f]`` per class, from sample sizes ``f`` and population sizes ``F``
    (``F >= f``; where ``F == f`` the class is the whole population and the risk is ``1 / f``).

    Under the negative-binomial model (``F - f`` successes before the ``f``-th failure, ``p = f / F``) the
    expectation is ``p^f / f 2F1(f, f; f + 1; q)``, by Euler's transformation ``p / f 2F1(1, 1; f + 1; q)``
    (``q = 1 - p``), evaluated here for every ``f`` (for ``f = 1`` it is ``p / q log(1 / p)``, for ``f = 2``
    ``p / q^2 (p log p + q)``)."""
    from scipy.special import hyp2f1

    f = np.asarray(f, dtype=np.float64)
    p = np.clip(f / np.asarray(F, dtype=np.float64), 0.0, 1.0)
    h = np.asarray(hyp2f1(1.0, 1.0, f + 1.0, 1.0 - p), dtype=np.float64)
    bad = ~np.isfinite(h)  # scipy gives up for large f near q = 1: sum the series, fast there (terms < q^n)
    if bad.any():
        fb, qb = f[bad], 1.0 - p[bad]
        term, total = np.ones_like(fb), np.ones_like(fb)
        for n in range(20_000):
            term = term * (n + 1) * qb / (fb + 1 + n)
            total += term
            if (term < 1e-17 * total).all():
                break
        h[bad] = total
    return p / f * h


def individual_risk(
    df: pd.DataFrame,
    quasi,
    *,
    weights=None,
    sampling_fraction: float | None = None,
    source: str = "input",
) -> IndividualRisk:
    """sdcMicro's ``indivRisk``: each record's re-identification risk given its class's sample size ``f`` and
    estimated population size ``F`` (the sum of the class's sampling ``weights``: a column name or one positive
    number per record, each record standing for that many people). Without weights, ``sampling_fraction`` pi
    gives every record the weight 1 / pi; with neither, the table is the population (risk 1 / f)."""
    from anonlab.deid.risk import check_parameters, class_key

    quasi = _check_columns(df, quasi, source)
    if weights is not None and sampling_fraction is not None:
        raise UsageError("give weights= or sampling_fraction=, not both")
    check_parameters(sampling_fraction, 0.5)
    n = len(df)
    if weights is None:
        w = np.full(n, 1.0 / (sampling_fraction or 1.0))
        label = f"sampling fraction {sampling_fraction:g}" if sampling_fraction else "table is the population"
    else:
        if isinstance(weights, str):
            if weights not in df.columns:
                raise InputError(f"{source}: weights= names column {weights!r}, which {source} does not have")
            import pandas as pd

            w = pd.to_numeric(df[weights], errors="coerce").to_numpy(dtype=np.float64)
            label = f"weights {weights}"
        else:
            w = np.asarray(weights, dtype=np.float64)
            label = "weights"
            if w.shape != (n,):
                raise UsageError(f"weights=: one weight per record expected ({n}), got shape {w.shape}")
        bad = ~(np.isfinite(w) & (w >= 1))
        if bad.any():
            where = (
                f"column {weights!r}, row {int(np.flatnonzero(bad)[0]) + 1}"
                if isinstance(weights, str)
                else ""
            )
            raise InputError(
                f"{source}: weights= {where}: sampling weights must be numbers of at least 1 "
                "(each record stands for that many people)"
            )
    key, _ = class_key(df, quasi)
    cls, f = _dense(key)
    class_F = np.bincount(cls, weights=w)
    class_risk = nb_risk(np.bincount(cls), class_F)  # once per class
    return IndividualRisk(f=f, F=class_F[cls], risk=class_risk[cls], weights=label)


def global_risk(individual: IndividualRisk) -> GlobalRisk:
    """Expected re-identifications: the sum of the records' individual risks, and that sum's share of the records."""
    total = float(individual.risk.sum())
    return GlobalRisk(expected_reidentifications=total, share=total / len(individual.risk))


def sdc_risk(
    df: pd.DataFrame,
    quasi,
    *,
    suda: bool = False,
    suda_max_size: int | None = None,
    dis: float = 0.1,
    weights=None,
    sampling_fraction: float | None = None,
    threshold: float = 0.2,
    source: str = "input",
) -> SdcRisk:
    """The sdcMicro section of ``assess``: SUDA2 when ``suda`` (or ``suda_max_size``) is given; individual and
    global risk always (with ``weights``, else ``sampling_fraction``, else the table as the population)."""
    s = None
    if suda or suda_max_size is not None:
        try:
            s = suda2(df, quasi, max_size=suda_max_size, dis=dis, source=source).summary()
        except UsageError as exc:  # name the parameter as the caller gave it
            raise UsageError(str(exc).replace("max_size=", "suda_max_size=", 1)) from None
    ir = individual_risk(df, quasi, weights=weights, sampling_fraction=sampling_fraction, source=source)
    g = global_risk(ir)
    return SdcRisk(
        suda=s,
        individual=ir.summary(threshold),
        global_risk={"expected_reidentifications": g.expected_reidentifications, "share": g.share},
    )
