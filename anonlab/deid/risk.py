"""Re-identification risk of a table: equivalence classes, k, uniques, ARX's attacker models, l and t.

An *equivalence class* is a set of records that share the same values of every quasi-identifier; an attacker who
knows a person's quasi-identifiers can narrow them down to their class and no further. Everything here is computed
from the class of each record, with integer codes and numpy, never a Python loop over rows:

- k: the size of the smallest class (the table is k-anonymous for that k).
- sample uniques: records alone in their class.
- prosecutor risk (ARX): the attacker knows the target is in the table; a record's risk is 1 / its class size.
- journalist risk (ARX): the attacker does not know whether the target is in the table, so the class size that
  matters is the one in the population. Without a population table it is estimated as f / pi from the sampling
  fraction pi (with pi = 1, the table is the population and journalist equals prosecutor risk).
- marketer risk (ARX): the share of records an attacker who links every record would re-identify correctly.
- l-diversity (distinct and entropy) and t-closeness (Earth Mover's Distance, ordered distance for numbers and
  equal distance for categories, as in Li, Li & Venkatasubramanian 2007) of each sensitive column.
- population uniqueness (with a sampling fraction): Zayatz (1991) and Pitman's model (Hoshino 2001), the
  estimators ARX and sdcMicro offer.

Missing values in a quasi-identifier are treated as a value of their own (a blank is as identifying as any
other value an attacker can observe).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from anonlab.errors import InputError, UsageError
from anonlab.io import factorize_text

if TYPE_CHECKING:
    import pandas as pd

    from anonlab.deid.geo import LocationRisk
    from anonlab.deid.sdc_risk import SdcRisk

__all__ = [
    "RiskTriple",
    "SensitiveReport",
    "PopulationReport",
    "RiskReport",
    "class_key",
    "class_sizes",
    "check_parameters",
    "report_from_histogram",
    "sensitive_report",
    "assess",
    "l_diversity",
    "t_closeness",
    "zayatz_uniques",
    "pitman_uniques",
]

HISTOGRAM_BINS = ((1, 1), (2, 2), (3, 4), (5, 9), (10, 19), (20, 49), (50, 99), (100, None))


@dataclass(frozen=True)
class RiskTriple:
    """Highest record risk, average record risk, and share of records whose risk exceeds the threshold."""

    highest: float
    average: float
    records_at_risk: float


@dataclass(frozen=True)
class SensitiveReport:
    """Attribute-disclosure measures of one sensitive column over the equivalence classes.

    l_distinct: the fewest distinct sensitive values in any class. l_entropy: the smallest exp(entropy) of the
    sensitive values in any class (entropy l-diversity holds for every l up to this). t_closeness: the largest
    Earth Mover's Distance between a class's distribution of the sensitive value and the whole table's, with
    ``distance`` ``"ordered"`` (numbers) or ``"equal"`` (categories).
    """

    column: str
    distinct_values: int
    l_distinct: int
    l_entropy: float
    t_closeness: float
    distance: str


@dataclass(frozen=True)
class PopulationReport:
    """Estimated population uniques for a sample drawn with ``sampling_fraction``."""

    sampling_fraction: float
    population_size: int
    zayatz_uniques: float
    zayatz_share: float
    pitman_uniques: float | None
    pitman_share: float | None


@dataclass(frozen=True)
class RiskReport:
    """Everything :func:`assess` measures; ``to_dict()`` gives the JSON form."""

    rows: int
    quasi: list[str]
    classes: int
    k: int
    sample_uniques: int
    sample_uniques_share: float
    histogram: list[dict]
    threshold: float
    prosecutor: RiskTriple
    journalist: RiskTriple
    marketer: float
    sensitive: list[SensitiveReport] = field(default_factory=list)
    population: PopulationReport | None = None
    #: sdcMicro's measures (SUDA2, individual and global risk; :mod:`anonlab.deid.sdc_risk`), when asked for
    sdc: SdcRisk | None = None
    #: location risk of masked coordinates against the real ones (:func:`anonlab.deid.geo.location_risk`)
    location: LocationRisk | None = None

    def to_dict(self) -> dict:
        out = asdict(replace(self, sdc=None, location=None))
        out.pop("sdc")
        out.pop("location")
        if self.sdc is not None:
            out["sdc"] = self.sdc.to_dict()
        if self.location is not None:
            out["location"] = self.location.to_dict()
        return out

    def __repr__(self) -> str:
        return (
            f"RiskReport(rows={self.rows}, quasi={self.quasi!r}, k={self.k}, sample_uniques={self.sample_uniques}, "
            f"prosecutor_highest={self.prosecutor.highest:.4g})"
        )

    def _repr_html_(self) -> str:
        from anonlab.deid.report import html_table

        pct = lambda x: f"{100 * x:.2f}%"  # noqa: E731
        rows = [
            ("records", f"{self.rows:,}"),
            ("quasi-identifiers", ", ".join(self.quasi)),
            ("equivalence classes", f"{self.classes:,}"),
            ("k (smallest class)", f"{self.k:,}"),
            ("sample uniques", f"{self.sample_uniques:,} ({pct(self.sample_uniques_share)})"),
        ]
        for name, t in (("prosecutor", self.prosecutor), ("journalist", self.journalist)):
            rows.append(
                (f"{name} risk: highest / average / records > {self.threshold:g}",
                 f"{pct(t.highest)} / {pct(t.average)} / {pct(t.records_at_risk)}")
            )  # fmt: skip
        rows.append(("marketer risk", pct(self.marketer)))
        for s in self.sensitive:
            rows.append(
                (f"{s.column}: l (distinct, entropy), t ({s.distance})",
                 f"{s.l_distinct}, {s.l_entropy:.2f}, {s.t_closeness:.3f}")
            )  # fmt: skip
        if self.population is not None:
            p = self.population
            rows.append(
                (f"population uniques, Zayatz (pi={p.sampling_fraction:g})", f"{p.zayatz_uniques:,.0f}")
            )
            pit = "not estimable" if p.pitman_uniques is None else f"{p.pitman_uniques:,.0f}"
            rows.append(("population uniques, Pitman", pit))
        if self.sdc is not None:
            rows += self.sdc.rows()
        if self.location is not None:
            loc = self.location
            rows.append(
                ("locations re-identified by nearest-neighbour matching", pct(loc.reidentified_share))
            )
            rows.append(("real points nearer than the true one, median", f"{loc.median_candidates:g}"))
        return html_table("Re-identification risk", rows)

    def sensitive_for(self, column: str) -> SensitiveReport:
        for s in self.sensitive:
            if s.column == column:
                return s
        raise KeyError(column)


# -- equivalence classes ----------------------------------------------------------------------------------------


def _codes(s: pd.Series, dense: bool = True) -> tuple[np.ndarray, int]:
    """Integer codes of a column (missing values as a code of their own) and the number of codes.

    ``dense``: codes are exactly ``0..count-1`` with every code used. Otherwise codes only need to be distinct per
    value and below the returned bound, which lets categorical and small-range integer columns skip hashing.
    """
    import pandas as pd

    if isinstance(s.dtype, pd.CategoricalDtype):
        c = s.cat.codes.to_numpy().astype(np.int64)
        k = len(s.cat.categories)
        c[c < 0] = k  # missing
        if not dense:
            return c, k + 1
        used = np.bincount(c, minlength=k + 1) > 0
        remap = np.cumsum(used) - 1
        return remap[c], int(used.sum())
    if not dense and isinstance(s.dtype, np.dtype) and s.dtype.kind in "iu" and len(s):
        v = s.to_numpy()
        lo, hi = int(v.min()), int(v.max())
        if hi - lo < 4 * len(v) + 1_000_000:
            return (v - lo).astype(np.int64), hi - lo + 1
    if s.dtype == object:
        s = s.astype("string")  # mixed objects: compare as text, as the values appear in the file
    # text compared whole: pandas' string hash table stops at a NUL ("a" and "a\0b" would be one class,
    # overstating k), see anonlab.io.factorize_text; missing values are a code of their own
    codes, uniques = factorize_text(s)
    codes = np.where(codes < 0, len(uniques), codes) if (codes < 0).any() else codes
    return codes.astype(np.int64, copy=False), len(uniques) + int((codes == len(uniques)).any()) or 1


def _densify(key: np.ndarray, bound: int) -> np.ndarray:
    """Map keys in ``0..bound-1`` to dense ids ``0..distinct-1``."""
    import pandas as pd

    if bound <= 4 * len(key) + 1_000_000:
        used = np.bincount(key, minlength=bound) > 0
        return (np.cumsum(used) - 1)[key]
    return pd.factorize(key)[0].astype(np.int64, copy=False)


def class_key(df: pd.DataFrame, quasi: list[str], headroom: int = 1) -> tuple[np.ndarray, int]:
    """An int64 key per record, equal exactly when the records share all ``quasi`` values, and a bound on it.

    The key is a mixed-radix number of the columns' codes; it is compressed (densified) only when the bound times
    ``headroom`` (room for a sensitive column's codes to be appended) would overflow.
    """
    if not quasi:
        return np.zeros(len(df), dtype=np.int64), 1
    key, card = _codes(df[quasi[0]], dense=False)
    for col in quasi[1:]:
        c, m = _codes(df[col], dense=False)
        if card * m * headroom >= 2**62:
            key = _densify(key, card)
            card = int(key.max()) + 1
        key = key * m + c
        card *= m
    if card * headroom >= 2**62:
        key = _densify(key, card)
        card = int(key.max()) + 1
    return key, card


def class_sizes(key: np.ndarray) -> np.ndarray:
    """Sizes of the equivalence classes, from the records' class keys (one sort, no hashing)."""
    k = np.sort(key)
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    return np.diff(np.r_[starts, len(k)])


# -- l-diversity and t-closeness ---------------------------------------------------------------------------------


def _pairs(key: np.ndarray, s: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (class, value) pairs with their record counts, sorted by class then value.

    ``key`` is any per-record class key (not necessarily dense) whose values times ``m`` fit in int64; the classes
    come back as dense ids ``0..classes-1`` in key order. One sort of the combined key; no hashing.
    """
    k = np.sort(key * m + s)
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    counts = np.diff(np.r_[starts, len(k)])
    pair = k[starts]
    ck = pair // m
    cls = np.cumsum(np.r_[True, ck[1:] != ck[:-1]]) - 1
    return cls, pair % m, counts


def l_diversity(pairs: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[int, float]:
    """(distinct l, entropy l) from the (class, value, count) ``pairs`` of :func:`_pairs`."""
    cls, _, cnt = pairs
    sizes = np.bincount(cls, weights=cnt)
    distinct = np.bincount(cls, minlength=len(sizes))
    p = cnt / sizes[cls]
    entropy = np.bincount(cls, weights=-p * np.log(p), minlength=len(sizes))
    return int(distinct.min()), float(np.exp(entropy.min()))


def t_closeness(pairs: tuple[np.ndarray, np.ndarray, np.ndarray], m: int, ordered: bool) -> float:
    """Largest EMD between any class's distribution of the sensitive value and the table's.

    ``pairs`` are the (class, value, count) triples of :func:`_pairs`. ``ordered``: value codes are ranks of numeric values and the ground distance is |i - j| / (m - 1); otherwise
    every two distinct values are at distance 1 (equal distance). Sparse: cost grows with the number of distinct
    (class, value) pairs, not classes x values.
    """
    if m <= 1:
        return 0.0
    cls, val, cnt = pairs
    sizes = np.bincount(cls, weights=cnt).astype(np.int64)
    n_classes = len(sizes)
    n = int(sizes.sum())
    p = np.bincount(val, weights=cnt, minlength=m) / n
    q = cnt / sizes[cls]
    if not ordered:
        per = np.abs(q - p[val]) - p[val]
        emd = 0.5 * (1.0 + np.bincount(cls, weights=per, minlength=n_classes))
        return float(max(emd.max(), 0.0))
    # Ordered: EMD = sum_i |Q_c(i) - P(i)| / (m - 1), with Q_c the class CDF and P the table CDF (monotone).
    P = np.cumsum(p)
    S = np.concatenate([[0.0], np.cumsum(P)])  # S[i] = sum_{j<i} P[j]
    first = np.r_[True, cls[1:] != cls[:-1]]
    ccum = np.cumsum(cnt)
    start = np.maximum.accumulate(np.where(first, np.arange(len(cls)), 0))
    Qc = (ccum - ccum[start] + cnt[start]) / sizes[cls]  # class CDF at each of its values, exact in integers
    last = np.r_[cls[1:] != cls[:-1], True]
    # Segments: [val_j, next val in class) with Q = Qc_j; the tail of each class runs to m with Q = 1.
    seg_a = val
    seg_b = np.where(last, m, np.r_[val[1:], m])
    seg_q = np.where(last, 1.0, Qc)
    # Heads: [0, first val) with Q = 0 contribute sum P(i) over i < first val.
    head = np.bincount(cls[first], weights=S[val[first]], minlength=n_classes)

    def seg_sum(a: np.ndarray, b: np.ndarray, qv: np.ndarray) -> np.ndarray:
        t = np.clip(np.searchsorted(P, qv, side="left"), a, b)
        below = qv * (t - a) - (S[t] - S[a])
        above = (S[b] - S[t]) - qv * (b - t)
        return below + above

    body = np.bincount(cls, weights=seg_sum(seg_a, seg_b, seg_q), minlength=n_classes)
    emd = (head + body) / (m - 1)
    return float(max(emd.max(), 0.0))


# -- population uniqueness -------------------------------------------------------------------------------------


def _class_size_histogram(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(class sizes that occur, number of classes of each size)."""
    freq = np.bincount(sizes)
    values = np.flatnonzero(freq)
    return values, freq[values]


def _hypergeom_pmf_one(N: int, K: np.ndarray, n: int) -> np.ndarray:
    """P(X = 1) for X ~ Hypergeometric(population N, K successes, n draws): K C(N-K, n-1) / C(N, n)."""
    from scipy.special import gammaln

    K = K.astype(float)

    def lchoose(a, b):
        return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)

    ok = (N - K) >= (n - 1)
    out = np.zeros_like(K)
    out[ok] = np.exp(np.log(K[ok]) + lchoose(N - K[ok], n - 1) - lchoose(float(N), float(n)))
    return out


def zayatz_uniques(sizes: np.ndarray, sampling_fraction: float) -> float:
    """Zayatz (1991): estimated number of population uniques, from the sample's class sizes.

    The share of sample uniques that are population uniques is the probability, under hypergeometric sampling of
    n from a population N = n / pi, that a class of size 1 yields a sample unique, weighed against the same
    probability for classes of every observed size.
    """
    return _zayatz(*_class_size_histogram(sizes), sampling_fraction)


def _zayatz(values: np.ndarray, freq: np.ndarray, sampling_fraction: float) -> float:
    """:func:`zayatz_uniques` from the class-size histogram (sizes that occur, classes of each size)."""
    n = int(np.dot(values, freq))
    N = max(int(round(n / sampling_fraction)), n)
    u = int(freq.sum())
    uniques = int(freq[values == 1].sum()) if (values == 1).any() else 0
    if uniques == 0:
        return 0.0
    prob_one = _hypergeom_pmf_one(N, np.minimum(values, N), n)
    denom = float(np.sum(freq / u * prob_one))
    cond = (uniques / u) * float(_hypergeom_pmf_one(N, np.array([1]), n)[0]) / denom if denom > 0 else 0.0
    return uniques * cond / sampling_fraction


def pitman_uniques(sizes: np.ndarray, sampling_fraction: float) -> float | None:
    """Pitman's sampling model (Hoshino 2001): estimated number of population uniques.

    Fits the two-parameter Poisson-Dirichlet (Pitman) partition model to the class sizes by maximum likelihood;
    the population uniques are then Gamma(theta + 1) / Gamma(theta + alpha) * N**alpha. Returns ``None`` when the
    likelihood has no interior maximum (for example no class larger than 1, or no uniques).
    """
    return _pitman(*_class_size_histogram(sizes), sampling_fraction)


def _pitman(values: np.ndarray, freq: np.ndarray, sampling_fraction: float) -> float | None:
    """:func:`pitman_uniques` from the class-size histogram (sizes that occur, classes of each size)."""
    from scipy.optimize import minimize
    from scipy.special import gammaln

    n = float(np.dot(values, freq))
    u = float(freq.sum())
    N = max(n / sampling_fraction, n)
    if u < 2 or not (values == 1).any() or not (values > 1).any():
        return None

    def nll(x: np.ndarray) -> float:
        theta, alpha = np.exp(x[0]), 1.0 / (1.0 + np.exp(-x[1]))
        ll = (
            (u - 1) * np.log(alpha)
            + gammaln(theta / alpha + u)
            - gammaln(theta / alpha + 1)
            - (gammaln(theta + n) - gammaln(theta + 1))
            + float(np.sum(freq * (gammaln(values - alpha) - gammaln(1 - alpha))))
        )
        return -float(ll)

    best = None
    for a0 in (0.2, 0.5, 0.8):
        res = minimize(
            nll,
            x0=np.array([np.log(max(u / 2, 1.0)), np.log(a0 / (1 - a0))]),
            method="Nelder-Mead",
            options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000},
        )
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
            best = res
    if best is None:
        return None
    theta, alpha = np.exp(best.x[0]), 1.0 / (1.0 + np.exp(-best.x[1]))
    est = float(np.exp(gammaln(theta + 1) - gammaln(theta + alpha) + alpha * np.log(N)))
    if not np.isfinite(est) or est < 0 or est > N:
        return None
    return est


# -- the whole assessment --------------------------------------------------------------------------------------


def _triple(class_risk: np.ndarray, records: np.ndarray, n: int, threshold: float) -> RiskTriple:
    """Record-level risk figures from the risk of each class size, weighted by the records in classes of that
    size (``records``)."""
    return RiskTriple(
        highest=float(class_risk.max()),
        average=float(np.dot(class_risk, records) / n),
        records_at_risk=float(records[class_risk > threshold].sum() / n),
    )


def _histogram(values: np.ndarray, freq: np.ndarray) -> list[dict]:
    out = []
    for lo, hi in HISTOGRAM_BINS:
        mask = values >= lo if hi is None else (values >= lo) & (values <= hi)
        label = f"{lo}+" if hi is None else (str(lo) if lo == hi else f"{lo}-{hi}")
        out.append(
            {"size": label, "classes": int(freq[mask].sum()), "records": int((values * freq)[mask].sum())}
        )
    return out


def _sorted_codes(s: pd.Series) -> tuple[np.ndarray, int]:
    """Codes of a column's values in sorted order (missing last, as a value of its own) and their number.

    Sorted, not first-seen, so that the codes depend only on the set of values: the per-class sums of
    l-diversity and t-closeness then run in the same order whichever way the rows were split or ordered (the
    distributed path, :mod:`anonlab.distributed`, gives the same figures to the last bit).
    """
    import pandas as pd

    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if s.dtype == object or str(s.dtype).startswith("string"):
        s = s.astype(object).where(s.isna(), s.astype(str))  # mixed objects compare as text, as written
        s = s.str.replace("\\", "\\\\", regex=False).str.replace("\0", "\\0", regex=False)  # see _codes
        s = s.astype(object)
    codes, uniques = pd.factorize(s, sort=True, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), max(len(uniques), 1)


def _sensitive_codes(s: pd.Series) -> tuple[np.ndarray, int, bool]:
    """(codes, number of distinct values, ordered) of a sensitive column: ranks for numbers, else categories
    (in sorted order)."""
    import pandas as pd

    numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
    if numeric and s.notna().all():
        codes, values = pd.factorize(s, sort=True)  # ranks of the distinct values
        return codes.astype(np.int64), len(values), True
    codes, m = _sorted_codes(s)
    return codes, m, False


def sensitive_report(
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray], column: str, m: int, ordered: bool
) -> SensitiveReport:
    """l-diversity and t-closeness of one sensitive column from its (class, value, count) ``pairs``, sorted by
    class then value code (:func:`_pairs`, or the pair counts of a distributed group-by)."""
    l_dist, l_ent = l_diversity(pairs)
    return SensitiveReport(
        column=column,
        distinct_values=int(m),
        l_distinct=l_dist,
        l_entropy=l_ent,
        t_closeness=t_closeness(pairs, m, ordered=ordered),
        distance="ordered" if ordered else "equal",
    )


def report_from_histogram(
    values: np.ndarray,
    freq: np.ndarray,
    quasi: list[str],
    *,
    sampling_fraction: float | None,
    threshold: float,
    sensitive: Sequence[SensitiveReport] = (),
) -> RiskReport:
    """The risk report from the class-size histogram: ``values`` the class sizes that occur (ascending),
    ``freq`` the number of classes of each. Every figure of :func:`assess` but l and t (``sensitive``, computed
    from the (class, value) counts) depends on the table only through this histogram, so any engine that counts
    the classes (in-process or distributed) gets the same report."""
    values = np.asarray(values, dtype=np.int64)
    freq = np.asarray(freq, dtype=np.int64)
    records = values * freq
    n = int(records.sum())
    f = values.astype(float)
    pi = sampling_fraction or 1.0
    population_f = np.maximum(f / pi, f)
    uniques = int(freq[values == 1].sum())
    population = None
    if sampling_fraction is not None:
        N = max(int(round(n / pi)), n)
        z = _zayatz(values, freq, pi)
        p = _pitman(values, freq, pi)
        population = PopulationReport(
            sampling_fraction=pi,
            population_size=N,
            zayatz_uniques=float(z),
            zayatz_share=float(z / N),
            pitman_uniques=None if p is None else float(p),
            pitman_share=None if p is None else float(p / N),
        )
    return RiskReport(
        rows=n,
        quasi=list(quasi),
        classes=int(freq.sum()),
        k=int(values.min()),
        sample_uniques=uniques,
        sample_uniques_share=uniques / n,
        histogram=_histogram(values, freq),
        threshold=threshold,
        prosecutor=_triple(1.0 / f, records, n, threshold),
        journalist=_triple(1.0 / population_f, records, n, threshold),
        marketer=float(np.dot(f / population_f, freq) / n),
        sensitive=list(sensitive),
        population=population,
    )


def _check_assess(df, quasi, sensitive, sampling_fraction, threshold, source: str) -> tuple[list, list]:
    from anonlab.deid.encoded_table import check_roles, require_named

    quasi, sensitive = check_roles(quasi, sensitive)
    require_named(df, quasi, "quasi", source)
    require_named(df, sensitive, "sensitive", source)
    if len(df) == 0:
        raise InputError(f"{source}: no rows to assess")
    check_parameters(sampling_fraction, threshold)
    return quasi, sensitive


def check_parameters(sampling_fraction: float | None, threshold: float) -> None:
    """Refuse a ``sampling_fraction`` outside (0, 1] or a ``threshold`` outside (0, 1], naming the parameter."""
    if sampling_fraction is not None and not (0 < sampling_fraction <= 1):
        raise UsageError(
            f"sampling_fraction={sampling_fraction!r}: must lie in (0, 1] (the table's share of the population)"
        )
    if not (0 < threshold <= 1):
        raise UsageError(f"threshold={threshold!r}: must lie in (0, 1] (a re-identification probability)")


def assess(
    df: pd.DataFrame,
    quasi=None,
    sensitive=None,
    *,
    sampling_fraction: float | None = None,
    threshold: float = 0.2,
    schema=None,
    source: str = "input",
    suda: bool = False,
    suda_max_size: int | None = None,
    weights=None,
    lat: str | None = None,
    lon: str | None = None,
    original: pd.DataFrame | None = None,
) -> RiskReport:
    """Measure re-identification and attribute-disclosure risk of ``df``.

    Parameters
    ----------
    quasi : the quasi-identifiers: what an attacker may know about a person from elsewhere (age, sex, ZIP...).
    sensitive : the columns an attacker should not learn; l-diversity and t-closeness are measured on each.
    sampling_fraction : the share of the population that the table holds (0 < pi <= 1). With it, journalist and
        marketer risk use estimated population class sizes (f / pi) and population uniqueness is estimated with the
        Zayatz and Pitman models. Without it, the table is taken to be the whole population.
    threshold : a record is "at risk" when its re-identification probability exceeds this (ARX's default 0.2
        corresponds to classes smaller than 5).
    schema : an :class:`~anonlab.schema.Schema` whose roles give ``quasi`` and ``sensitive`` when they are not
        given (its columns of those roles present in ``df``).
    source : how messages name the table (a file name).
    suda, suda_max_size : SUDA2's special uniques (minimal sample uniques of at most ``suda_max_size``
        quasi-identifiers, all by default) and scores, in ``report.sdc`` (:func:`anonlab.deid.sdc_risk.suda2`).
    weights : a column of sampling weights (each record stands for that many people): sdcMicro's individual risk
        and global risk (expected re-identifications) in ``report.sdc``; also computed, from
        ``sampling_fraction`` or with the table as the population, when ``suda`` is asked for.
    lat, lon, original : location risk, in ``report.location`` (:func:`anonlab.deid.geo.location_risk`): the
        ``lat``/``lon`` columns of ``df`` are masked coordinates (``anonlab geo mask``) of ``original``'s same
        columns, row for row. For each masked point, the real points nearer to it than its own (an attacker's
        candidates), the share re-identified by nearest-neighbour matching and the share with fewer than
        ``1 / threshold`` candidates. Without ``quasi`` (and no schema roles), the published coordinates are the
        quasi-identifiers: k is then the fewest records that share one published location.

    Errors name the parameter at fault (``quasi= names column 'x', which input does not have``).
    """
    from anonlab.deid.encoded_table import schema_roles

    located = [v is not None for v in (lat, lon, original)]
    if any(located) and not all(located):
        raise UsageError("lat=, lon= and original= go together (the masked and the real coordinates)")
    quasi, sensitive = schema_roles(schema, df.columns, quasi, sensitive)
    if lat is not None and not quasi:
        quasi = [lat, lon]
    quasi, sensitive = _check_assess(df, quasi, sensitive, sampling_fraction, threshold, source)
    sens_codes = {c: _sensitive_codes(df[c]) for c in sensitive}
    headroom = max([m for _, m, _ in sens_codes.values()], default=1)
    key, _ = class_key(df, list(quasi), headroom=headroom)
    values, freq = _class_size_histogram(class_sizes(key))
    reports = [
        sensitive_report(_pairs(key, codes, m), c, m, ordered)
        for c, (codes, m, ordered) in sens_codes.items()
    ]
    report = report_from_histogram(
        values, freq, list(quasi), sampling_fraction=sampling_fraction, threshold=threshold, sensitive=reports
    )
    if suda or suda_max_size is not None or weights is not None:
        from anonlab.deid.sdc_risk import sdc_risk

        section = sdc_risk(
            df,
            list(quasi),
            suda=suda,
            suda_max_size=suda_max_size,
            weights=weights,
            sampling_fraction=None if weights is not None else sampling_fraction,
            threshold=threshold,
            source=source,
        )
        report = replace(report, sdc=section)
    if lat is not None and lon is not None:
        report = replace(report, location=_location_risk(df, original, lat, lon, threshold, source))
    return report


def _location_risk(df, original, lat: str, lon: str, threshold: float, source: str) -> LocationRisk:
    """:func:`anonlab.deid.geo.location_risk` of ``df``'s coordinates against ``original``'s, row for row."""
    from anonlab.deid.geo import _coords, location_risk

    if len(original) != len(df):
        raise InputError(
            f"{source}: {len(df):,} rows, but original= has {len(original):,}; give them row for row"
        )
    mla, mlo = _coords(df, lat, lon, source)
    la, lo = _coords(original, lat, lon, "original=")
    return location_risk(la, lo, mla, mlo, k=max(1, round(1 / threshold)))
