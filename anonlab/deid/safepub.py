"""SafePub (Bild, Kuhn and Prasser, PoPETs 2018): (epsilon, delta)-differentially private generalisation by random
sampling, then k-anonymisation with suppression under a generalisation chosen by the exponential mechanism.

The algorithm follows the paper and ARX (``DataDependentEDDPAlgorithm``, ``EDDifferentialPrivacy``,
``ParameterCalculation``) in steps 1, 2 and 4; step 3 deviates in how the released node is chosen (``final``):

1. ``epsilon = epsilon_anon + epsilon_search``. Every record is kept with probability
   ``beta = 1 - exp(-epsilon_anon)`` (a Bernoulli sample).
2. ``k`` is the smallest whole number with ``d(k, beta, epsilon_anon) < delta``, where (Li, Qardaji and Su 2012)
   ``d(k, beta, e) = max over n >= n_m of sum_{j > gamma n}^{n} Binomial(j; n, beta)``,
   ``gamma = (exp(e) - 1 + beta) / exp(e)``, ``n_m = ceil(k / gamma - 1)``; the maximum is taken until the
   Chernoff bound ``c_n = exp(-n (gamma ln(gamma / beta) - (gamma - beta)))`` of the later terms falls below it
   (:func:`safepub_k`).
3. Search over the generalisation lattice: the pivot starts at the top node; at each of ``steps`` steps the
   pivot's direct specialisations join the candidates, the pivot leaves them, and the next pivot is drawn from
   the candidates by the exponential mechanism on the discernibility score of the sample anonymised at each
   candidate (ARX's ``MetricSDNMDiscernability.getScore``: classes of at least k cost ``|E|^2``, smaller
   (suppressed) classes and unsampled records ``n`` per record, all divided by ``n (k^2 / (k - 1) + 1)``, a
   score of sensitivity 1). The paper and ARX release the best-scored pivot, compared by the exact scores; that
   noiseless choice is not covered by the composition of the draws, so it is refused here. By default
   (``final="select"``) the released node is chosen among the distinct pivots visited by one more
   exponential-mechanism selection on the same score, paid with ``epsilon_final = final_share * epsilon_search``
   (``final_share`` 0.5 by default), the steps sharing the rest (``(epsilon_search - epsilon_final) / steps``
   each); ``final="last"`` releases the last pivot drawn (``epsilon_search / steps`` per step), which a walk
   this noisy often leaves at a fine node that suppresses every class.
4. The sample is recoded at that node; the records of classes smaller than k are suppressed (removed).

Guarantee (the paper's, whose search is a composition of exponential-mechanism selections; the final selection
here is one more of them, so the search still costs ``epsilon_search`` in all): the output satisfies
(epsilon, delta)-differential privacy with ``epsilon = epsilon_anon + epsilon_search`` and the ``delta`` given,
for tables that differ in one record (added or removed), *provided the generalisation hierarchies do not depend
on the data* (they are given: ``hierarchies=`` for every quasi-identifier; the built-in ones read the data and are
refused here). The selection uses OpenDP's
report-noisy-max with exponential noise (``make_noisy_max`` under ``max_divergence``: permute-and-flip, an
``epsilon``-DP selection for a score of sensitivity 1, never less accurate than the exponential mechanism), for the
steps and the final selection alike; the sum of their OpenDP privacy maps is checked against ``epsilon_search``.

What is released: the sampled, generalised records of the quasi-identifier columns only (every other column is
left out: the guarantee covers generalised tuples whose classes hold k records), and a report built from the
release and the parameters alone (no input size, no scores, no timing, no seed). With a ``ledger`` (an
:class:`anonlab.privacy.ledger.Ledger`), the release is charged (epsilon, delta) before any randomness is drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from anonlab.deid.methods import Anonymizer
from anonlab.errors import InputError, UsageError

__all__ = ["SafePub", "SafePubReport", "safepub_k", "safepub_beta", "delta_of_k", "SCORE_NOTE"]

#: Which pivot the search returns: ``select`` (one more exponential-mechanism selection among the pivots, paid from
#: ``epsilon_search``) or ``last`` (the last one drawn: a function of the DP draws alone). ARX's ``best`` (the pivot
#: of the best exact score) is refused: see :data:`BEST_REFUSAL`.
FINALS = ("select", "last")
#: The share of ``epsilon_search`` the final selection spends by default (the rest is split over the steps).
DEFAULT_FINAL_SHARE = 0.5
BEST_REFUSAL = (
    "final='best' is refused: it releases the pivot of the best exact (noiseless) score, a data-dependent choice "
    "the (epsilon, delta) proof does not cover; use final='select' (one more paid selection, the default) or 'last'"
)
#: ARX's default privacy budget of the search (``ARXConfiguration.dpSearchBudget``), an absolute epsilon.
DEFAULT_SEARCH = 0.1
SCORE_NOTE = "discernibility (ARX's MetricSDNMDiscernability score, sensitivity 1)"
_BETA_MARGIN = (
    1e-12  # beta a hair below 1 - exp(-epsilon_anon): a smaller beta only strengthens the guarantee
)


def safepub_beta(epsilon_anon: float) -> float:
    """The sampling probability: (a hair below) ``1 - exp(-epsilon_anon)``, the largest Li et al. allow."""
    return -math.expm1(-epsilon_anon) * (1 - _BETA_MARGIN)


def delta_of_k(k: int, beta: float, epsilon: float) -> float:
    """``d(k, beta, epsilon)`` of Li, Qardaji and Su (2012): the delta of sampling with ``beta`` then k-anonymising
    with suppression (a safe, data-independent generalisation), computed as ARX's ``ParameterCalculation`` does
    (in floating point here, with floors taken low)."""
    from scipy.special import bdtrc

    gamma = (math.exp(epsilon) - 1 + beta) / math.exp(epsilon)
    n_m = max(1, math.ceil(k / gamma - 1))
    rate = gamma * math.log(gamma / beta) - (gamma - beta)
    best = -math.inf
    start = n_m
    while True:
        ns = np.arange(start, start + 2048)
        a = bdtrc(np.floor(ns * gamma * (1 - 1e-12)), ns, beta)  # P(X > floor(gamma n))
        c = np.exp(-ns * rate)
        run = np.maximum.accumulate(np.maximum(a, best))
        stop = np.nonzero(run >= c)[0]
        if len(stop):
            return float(run[stop[0]])
        best = float(run[-1])
        start += 2048
        if start > 10_000_000:  # pragma: no cover - c_n falls geometrically
            raise UsageError("delta_of_k did not converge")


def safepub_k(epsilon_anon: float, delta: float) -> int:
    """The smallest k with ``d(k, beta, epsilon_anon) < delta`` at ``beta = safepub_beta(epsilon_anon)``."""
    beta = safepub_beta(epsilon_anon)
    k = 1
    while delta_of_k(k, beta, epsilon_anon) >= delta:
        k += 1
        if k > 100_000:  # pragma: no cover
            raise UsageError(f"no k reaches delta={delta:g} at epsilon_anon={epsilon_anon:g}")
    return k


@dataclass(frozen=True)
class SafePubReport:
    """What a SafePub release reports: the parameters, the DP guarantee and its derived ``k`` and ``beta``, and
    figures of the *release* only (records, classes, smallest class, the node chosen, readable from the release
    anyway). Nothing about the input (its size, the scores, the time taken) and never the seed."""

    method: str
    parameters: dict
    dp: dict
    n_released: int
    n_classes: int
    k: int
    generalisation: dict
    versions: dict
    guarantee: str

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "parameters": self.parameters,
            "privacy": self.dp,
            "guarantee": self.guarantee,
            "records": {"released": self.n_released},
            "classes": self.n_classes,
            "achieved": {"k": self.k, "per_sensitive": {}},
            "generalisation": self.generalisation,
            "versions": self.versions,
            "warnings": [],
        }

    def __repr__(self) -> str:
        return (
            f"SafePubReport(epsilon={self.dp['epsilon']:g}, delta={self.dp['delta']:g}, k={self.dp['k']}, "
            f"beta={self.dp['beta']:.4f}, records={self.n_released})"
        )


class SafePub(Anonymizer):
    """SafePub: (epsilon, delta)-DP truthful generalisation (sampling, then k-anonymity with suppression under a
    generalisation chosen by the exponential mechanism). See the module's text for the algorithm and guarantee.

    Parameters (keyword only):

    - ``epsilon``: the total privacy loss, ``epsilon_anon + epsilon_search`` (each record's influence on the
      release is bounded by ``e^epsilon``, up to ``delta``).
    - ``delta``: the probability the bound may fail (the paper: well below 1 / number of records).
    - ``epsilon_search``: the part of ``epsilon`` spent choosing the generalisation (default 0.1, ARX's
      default search budget; below ``epsilon``).
    - ``steps``: search steps (each costs ``epsilon_search * (1 - final_share) / steps`` with ``final="select"``,
      ``epsilon_search / steps`` with ``final="last"``; the paper's experiments and ARX use 100s).
    - ``final``: the node released. ``"select"`` (default): one more selection, OpenDP's report-noisy-max (the
      primitive of the steps) with ``epsilon_final = final_share * epsilon_search`` over the distinct pivots the
      walk visited (the top node included), scored by the same discernibility score. Its sensitivity is the
      steps' one, 1: the score is ARX's ``MetricSDNMDiscernability.getScore``, normalised by
      ``n (k^2 / (k - 1) + 1)`` so that adding or removing one record moves it by at most 1 (the paper's bound
      for this score, the one every step relies on; the audit's check on 150 random tables saw at most 0.47);
      the candidate set is a function of the earlier selections' outputs alone, so the final draw is one more
      ``epsilon_final``-DP selection in the same adaptive sequential composition as the steps, and the search
      costs ``steps * epsilon_step + epsilon_final = epsilon_search`` (checked on OpenDP's privacy maps before
      anything is drawn). ``"last"``: the last pivot drawn (a function of the draws alone; the walk at
      ``epsilon_search / steps`` per step is close to random, so it often releases little or nothing).
      ARX's ``"best"`` (the pivot of the best *exact* score, a noiseless data-dependent choice the proof does not
      cover) is refused.
    - ``final_share``: the share of ``epsilon_search`` the final selection spends (``final="select"`` only;
      default 0.5, in (0, 1)). ``1 / (steps + 1)`` gives every selection the same epsilon.
    - ``seed``: fixes the Bernoulli sample (tests); without it the sample is drawn from the operating system's
      CSPRNG (:func:`bernoulli_uniforms`). The selection always draws from OpenDP's CSPRNG. A seeded release is
      private only while the seed is secret; the seed is written nowhere.
    - ``ledger``: an :class:`anonlab.privacy.ledger.Ledger` charged (epsilon, delta) before anything is drawn.

    ``hierarchies=`` must give a public hierarchy (ARX CSV) for every quasi-identifier; only those columns are
    released. ``k``, ``l`` and ``t`` are not parameters (k follows from epsilon and delta).
    """

    name = "safepub"

    def __init__(
        self,
        *,
        epsilon: float,
        delta: float,
        epsilon_search: float | None = None,
        steps: int = 100,
        final: str = "select",
        final_share: float | None = None,
        seed: int | None = None,
        ledger=None,
        progress: bool = False,
    ):
        self.epsilon = epsilon
        self.delta = delta
        self.epsilon_search = epsilon_search
        self.steps = steps
        self.final = final
        self.final_share = final_share
        self.seed = seed
        self.ledger = ledger
        super().__init__(k=2, progress=progress)

    def _validate(self) -> None:
        super()._validate()
        e = self.epsilon
        if isinstance(e, bool) or not isinstance(e, int | float | np.number) or not 0 < e < 50:
            raise UsageError(f"epsilon={e!r}: must be a number in (0, 50)")
        d = self.delta
        if isinstance(d, bool) or not isinstance(d, int | float | np.number) or not 0 < d < 1:
            raise UsageError(f"delta={d!r}: must lie in (0, 1)")
        s = self.epsilon_search
        if s is None and not e > DEFAULT_SEARCH:
            raise UsageError(
                f"epsilon={e!r} is not above the default epsilon_search={DEFAULT_SEARCH}: give epsilon_search= "
                "(the part of epsilon spent on the search)"
            )
        if s is not None and (
            isinstance(s, bool) or not isinstance(s, int | float | np.number) or not 0 < s < e
        ):
            raise UsageError(f"epsilon_search={s!r}: must lie in (0, epsilon) (epsilon={e!r} is the total)")
        st = self.steps
        if isinstance(st, bool) or not isinstance(st, int | np.integer) or st < 1:
            raise UsageError(f"steps={st!r}: must be a whole number of at least 1")
        if self.final == "best":
            raise UsageError(BEST_REFUSAL)
        if self.final not in FINALS:
            raise UsageError(f"final={self.final!r} is not known (use one of {', '.join(FINALS)})")
        fs = self.final_share
        if fs is not None and self.final != "select":
            raise UsageError(f"final_share={fs!r} applies to final='select' only (final={self.final!r})")
        if fs is not None and (
            isinstance(fs, bool) or not isinstance(fs, int | float | np.number) or not 0 < fs < 1
        ):
            raise UsageError(f"final_share={fs!r}: must lie in (0, 1) (the share of epsilon_search)")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer)
        ):
            raise UsageError(f"seed={self.seed!r}: must be a whole number or None")
        if self.ledger is not None and not callable(getattr(self.ledger, "charge", None)):
            raise UsageError("ledger= must be an anonlab.privacy.ledger.Ledger (Ledger.open(path))")

    @property
    def eps_search(self) -> float:
        return float(self.epsilon_search) if self.epsilon_search is not None else DEFAULT_SEARCH

    @property
    def eps_final(self) -> float:
        """The epsilon of the final selection (0 with ``final="last"``)."""
        if self.final != "select":
            return 0.0
        share = DEFAULT_FINAL_SHARE if self.final_share is None else float(self.final_share)
        return self.eps_search * share

    @property
    def eps_anon(self) -> float:
        return float(self.epsilon) - self.eps_search

    def privacy(self) -> dict:
        """The guarantee's parameters (data-independent): epsilon, delta, their split, beta and k."""
        ea = self.eps_anon
        return {
            "definition": "(epsilon, delta)-differential privacy",
            "neighbours": "add/remove",
            "epsilon": float(self.epsilon),
            "delta": float(self.delta),
            "epsilon_anon": ea,
            "epsilon_search": self.eps_search,
            "steps": int(self.steps),
            "epsilon_per_step": (self.eps_search - self.eps_final) / int(self.steps),
            "epsilon_final": self.eps_final,
            "beta": safepub_beta(ea),
            "k": safepub_k(ea, float(self.delta)),
            "score": SCORE_NOTE,
            "final": self.final,
            "selection": "OpenDP make_noisy_max (exponential noise, max_divergence)",
            "seeded_sample": self.seed is not None,
        }

    def _partition(self, table, criteria):  # pragma: no cover - SafePub has its own apply
        raise NotImplementedError

    def apply(
        self,
        df,
        *,
        quasi=None,
        sensitive=None,
        schema=None,
        hierarchies=None,
        orders=None,
        source: str = "input",
    ):
        """Release ``df``'s quasi-identifiers under SafePub; returns ``(released table, SafePubReport)``.
        ``hierarchies`` must cover every quasi-identifier; ``sensitive`` and ``orders`` are refused."""
        from anonlab.deid.encoded_table import as_pairs, encode_table, schema_roles
        from anonlab.provenance import versions

        for name, value in (("sensitive", sensitive), ("orders", orders)):
            if value:
                raise UsageError(
                    f"{name}= does not apply to method='safepub' (it releases the quasi= columns)"
                )
        quasi, _ = schema_roles(schema, df.columns, quasi, None)
        names = [quasi] if isinstance(quasi, str) else [str(c) for c in quasi or ()]
        if not names:
            raise UsageError("method='safepub' needs the columns to release (quasi=)")
        given = dict(as_pairs(hierarchies, "hierarchies"))
        lacking = [c for c in names if c not in given]
        if lacking:
            raise UsageError(
                f"method='safepub' needs a public hierarchy for every quasi-identifier (hierarchies=); none for "
                f"{lacking[0]!r}: the built-in hierarchies are read from the data, which the DP guarantee forbids"
            )
        priv = self.privacy()
        try:
            table = encode_table(df, quasi=names, schema=schema, hierarchies=hierarchies, k=1, source=source)
        except InputError as err:
            unlisted = getattr(err, "unlisted", None)
            if unlisted is None:
                raise
            raise InputError(_unlisted_message(df, unlisted)) from None
        if self.ledger is not None:
            self.ledger.charge(
                what=f"safepub release of {source}",
                mechanism="SafePub: Bernoulli sampling, k-anonymity with suppression, exponential-mechanism search",
                epsilon=priv["epsilon"],
                delta=priv["delta"],
                neighbours="add/remove",
                details={
                    **{
                        key: priv[key]
                        for key in (
                            "epsilon_anon",
                            "epsilon_search",
                            "steps",
                            "epsilon_per_step",
                            "final",
                            "epsilon_final",
                            "beta",
                            "k",
                            "score",
                        )
                    },
                    "seeded": self.seed is not None,
                    "paper": "Bild, Kuhn and Prasser, SafePub, PoPETs 2018",
                },
            )
        sampled = np.nonzero(bernoulli_uniforms(table.n, self.seed) < priv["beta"])[0]
        hier = [q.hierarchy for q in table.quasi if q.hierarchy is not None]
        if len(hier) != len(table.quasi):  # pragma: no cover - every column was given a hierarchy above
            raise UsageError("method='safepub' needs a public hierarchy for every quasi-identifier")
        levels = _search(table, hier, sampled, priv)
        out, classes_sizes = _release(table, hier, sampled, levels, priv["k"])
        params = {"method": self.name, "quasi": names, **self.get_params()}
        for key in ("seed", "ledger", "progress"):
            params.pop(key, None)
        params["hierarchies"] = {c: str(p) for c, p in given.items()}
        generalisation = {
            q.name: {"kind": h.kind, "level": int(lev), "levels": h.height + 1}
            for q, h, lev in zip(table.quasi, hier, levels, strict=True)
        }
        report = SafePubReport(
            method=self.name,
            parameters=params,
            dp=priv,
            n_released=len(out),
            n_classes=len(classes_sizes),
            k=int(min(classes_sizes)) if len(classes_sizes) else 0,
            generalisation=generalisation,
            versions=versions(),
            guarantee=guarantee_text(priv),
        )
        return out, report


def _unlisted_message(df, unlisted: dict) -> str:
    """The refusal for a data value a hierarchy does not list, naming the file, the column and the first data row
    (1-based; line row + 1 of a CSV with a header) but not the value: a DP release's messages show no data."""
    col, values = unlisted["column"], unlisted["values"]
    where = ""
    if col in df.columns:
        hits = np.nonzero(df[col].astype(str).isin(values).to_numpy())[0]
        where = f", first at data row {int(hits[0]) + 1}" if len(hits) else ""
    return (
        f"{unlisted['source']}: column {col!r} holds {len(values)} distinct value(s) the hierarchy does not "
        f"list{where} (the value is not shown: safepub is differentially private)"
    )


def bernoulli_uniforms(n: int, seed: int | None) -> np.ndarray:
    """``n`` uniforms on [0, 1) in steps of 2**-53: from the operating system's CSPRNG (``os.urandom``) when
    ``seed`` is None, else from numpy's generator seeded with it (reproducible; private only while the seed is
    secret). ``u < beta`` then holds with probability at most ``beta + 2**-53``, below the ``1 - exp(-epsilon_anon)``
    the guarantee allows (beta is taken 1e-12 below it)."""
    import os

    if seed is not None:
        return np.random.default_rng(int(seed)).random(n)
    raw = np.frombuffer(os.urandom(8 * n), dtype=np.uint64) if n else np.zeros(0, dtype=np.uint64)
    return (raw >> np.uint64(11)).astype(np.float64) / float(2**53)


def guarantee_text(priv: dict) -> str:
    final = (
        f" and a final selection among the pivots of {priv['epsilon_final']:.4g}"
        if priv["final"] == "select"
        else ", the last pivot released"
    )
    return (
        f"({priv['epsilon']:g}, {priv['delta']:g})-differential privacy for tables differing in one record (added or "
        f"removed): Bernoulli sampling with beta = {priv['beta']:.6f} = 1 - exp(-{priv['epsilon_anon']:g}), "
        f"k-anonymity with suppression at k = {priv['k']} (d(k, beta, epsilon_anon) < delta, Li, Qardaji and Su "
        f"2012), the generalisation chosen by {priv['steps']} exponential-mechanism steps of "
        f"{priv['epsilon_per_step']:.4g} each{final} (epsilon_search = {priv['epsilon_search']:g}); Bild, Kuhn and "
        "Prasser, SafePub, PoPETs 2018. Holds only while the hierarchies are public (not derived from the data) "
        "and a seed, if one was given, is secret."
    )


def _gens(table, hier, rows):
    return [
        [
            (np.asarray(h.groups[lev], dtype=np.int64)[q.codes[rows]], int(np.max(h.groups[lev])) + 1)
            for lev in range(h.height + 1)
        ]
        for q, h in zip(table.quasi, hier, strict=True)
    ]


def _sizes(node, gens, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    from anonlab.deid.lattice import _counts
    from anonlab.deid.model_lattice import _node_key

    counts, inv = _counts(_node_key(node, gens, n_rows))
    return counts, inv


def _score(node, gens, n_sample: int, n: int, k: int) -> float:
    """The discernibility score of ARX's ``MetricSDNMDiscernability.getScore`` (sensitivity 1)."""
    counts, _ = _sizes(node, gens, n_sample)
    counts = counts[counts > 0].astype(np.float64)
    penalty = float(np.where(counts >= k, counts * counts, counts * n).sum()) + float(n - n_sample) * n
    return -penalty / (n * (5.0 if k == 1 else k * k / (k - 1.0) + 1.0))


def _search(table, hier, sampled, priv) -> tuple:
    """SafePub's search: from the top, ``steps`` exponential-mechanism draws among the specialisations seen."""
    n, k, steps = table.n, int(priv["k"]), int(priv["steps"])
    gens = _gens(table, hier, sampled)
    heights = tuple(h.height for h in hier)
    meas = _selection(priv["epsilon_per_step"])
    final = _selection(priv["epsilon_final"]) if priv["final"] == "select" else None
    spent = steps * meas.map(1.0) + (final.map(1.0) if final is not None else 0.0)
    if spent > priv["epsilon_search"] * (1 + 1e-9):  # pragma: no cover - the split above sums to it
        raise UsageError("the selections would cost more than epsilon_search")
    pivot = heights
    scores = {pivot: _score(pivot, gens, len(sampled), n, k)}
    visited = {pivot: scores[pivot]}  # the distinct pivots, in the order first drawn (the top node first)
    for _ in range(steps):
        for j in range(len(heights)):
            if pivot[j] > 0:
                pred = pivot[:j] + (pivot[j] - 1,) + pivot[j + 1 :]
                if pred not in scores:
                    scores[pred] = _score(pred, gens, len(sampled), n, k)
        scores.pop(pivot, None)
        if not scores:
            break
        cands = list(scores)
        idx = int(meas([scores[c] for c in cands]))
        pivot = cands[idx]
        visited.setdefault(pivot, scores[pivot])
    if final is None:
        return pivot
    nodes = list(visited)
    return nodes[int(final([visited[c] for c in nodes]))]


def _selection(epsilon: float):
    """OpenDP's report-noisy-max (exponential noise, ``max_divergence``) over a score vector: an ``epsilon``-DP
    selection for a score of sensitivity 1 (``linf_distance``, not monotonic: scale ``2 / epsilon``)."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    meas = dp.m.make_noisy_max(
        dp.vector_domain(dp.atom_domain(T=float, nan=False)),
        dp.linf_distance(T=float, monotonic=False),
        dp.max_divergence(),
        scale=2.0 / epsilon,
    )
    if meas.map(1.0) > epsilon * (1 + 1e-9):  # pragma: no cover - OpenDP's map is the closed form
        raise UsageError(f"the selection would cost more than epsilon={epsilon:g}")
    return meas


def _release(table, hier, sampled, levels, k: int):
    """The sample recoded at ``levels``, classes smaller than k removed; only the quasi-identifier columns."""
    import pandas as pd

    gens = _gens(table, hier, sampled)
    counts, inv = _sizes(levels, gens, len(sampled))
    keep = counts[inv] >= k
    rows = sampled[keep]
    cols = {}
    for q, h, lev in zip(table.quasi, hier, levels, strict=True):
        labels = np.asarray(h.labels[lev], dtype=object)
        cols[q.name] = labels[q.codes[rows]] if len(rows) else np.zeros(0, dtype=object)
    out = pd.DataFrame(cols, columns=[q.name for q in table.quasi])
    order = np.argsort(
        bernoulli_uniforms(len(out), None), kind="stable"
    )  # the input's row order is not released
    out = out.iloc[order].reset_index(drop=True)
    sizes = counts[counts >= k]
    return out, sizes
