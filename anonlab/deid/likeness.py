"""beta-likeness (Cao and Karras, VLDB 2012; ARX's basic and enhanced beta-likeness) for a sensitive attribute.

t-closeness bounds a distance between a class's sensitive distribution Q and the table's P, which lets a rare
value become several times likelier in a class. beta-likeness bounds the *relative* gain in confidence instead:
for every sensitive value v with ``q_v > p_v``, ``(q_v - p_v) / p_v <= beta`` (basic), or
``<= min(beta, -ln p_v)`` (enhanced: rare values, whose relative gain is most telling, get a tighter bound).
P is the input table's distribution of the sensitive attribute (as ARX takes it), so an attacker who knows
someone's class learns their value with at most ``(1 + beta)`` times the confidence the whole table gives.

Full-domain generalisation, the lattice searched for the least GCP (:mod:`anonlab.deid.model_lattice`). Without
suppression the property is monotone: a merged class's Q is a mixture of its parts', so ``q_v <= (1 + beta) p_v``
holds for it when it holds for them.
"""

from __future__ import annotations

import numpy as np

from anonlab.deid.model_lattice import LatticeModel, NodeClasses
from anonlab.errors import UsageError

__all__ = ["BetaLikeness", "likeness_gain"]

_EPS = 1e-12


def likeness_gain(counts: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(classes x values) relative gains ``(q - p) / p`` where ``q > p`` (0 elsewhere, and where p = 0)."""
    q = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where((p > 0) & (q > p), (q - p) / np.where(p > 0, p, 1), 0.0)
    return gain


class BetaLikeness(LatticeModel):
    """beta-likeness of every sensitive column (ARX's ``BasicBLikeness`` / ``EnhancedBLikeness``).

    Parameters (keyword only):

    - ``beta``: the largest relative gain ``(q_v - p_v) / p_v`` of any sensitive value in any class (beta > 0;
      1 means no value becomes more than twice as likely as in the whole table).
    - ``enhanced``: bound each value's gain by ``min(beta, -ln p_v)`` (Cao and Karras's enhanced beta-likeness).
    - ``k``: also k-anonymity (1: beta-likeness alone).
    - ``max_suppression``, ``suppress_mark``: as in :class:`~anonlab.deid.methods.Anonymizer`.

    Needs ``sensitive=`` columns at :meth:`apply`.

    >>> BetaLikeness(k=2, beta=1.0).apply(df, quasi=q, sensitive=["income-per-year"])  # doctest: +SKIP
    """

    name = "likeness"

    def __init__(
        self,
        *,
        k: int,
        beta: float = 1.0,
        enhanced: bool = False,
        max_suppression: float = 0.0,
        suppress_mark: bool = False,
        progress: bool = False,
    ):
        self.beta = beta
        self.enhanced = enhanced
        super().__init__(k=k, max_suppression=max_suppression, suppress_mark=suppress_mark, progress=progress)

    def _validate(self) -> None:
        super()._validate()
        b = self.beta
        if isinstance(b, bool) or not isinstance(b, int | float | np.number) or not b > 0:
            raise UsageError(
                f"beta={b!r}: must be greater than 0 (the largest relative gain of a sensitive value)"
            )
        if not isinstance(self.enhanced, bool):
            raise UsageError(f"enhanced={self.enhanced!r}: must be true or false")

    def _bounds(self, p: np.ndarray) -> np.ndarray:
        if not self.enhanced:
            return np.full(len(p), float(self.beta))
        with np.errstate(divide="ignore"):
            return np.minimum(float(self.beta), -np.log(np.where(p > 0, p, 1.0)))

    def _class_ok(self, nc: NodeClasses, table) -> np.ndarray:
        if not table.sensitive:
            raise UsageError("beta-likeness needs at least one sensitive column (sensitive=)")
        ok = np.ones(len(nc.sample), dtype=bool)
        n = nc.n_sample
        m = len(nc.sample)
        for s in table.sensitive:
            p = np.bincount(s.codes, minlength=s.n_values) / n
            counts = np.bincount(nc.inv[:n] * s.n_values + s.codes, minlength=m * s.n_values).reshape(m, -1)
            ok &= (likeness_gain(counts, p) <= self._bounds(p)[None, :] + _EPS).all(axis=1)
        return ok | (nc.sample == 0)

    def _search_extra(self, table, classes, nc) -> dict:
        n, m = nc.n_sample, len(nc.sample)
        released = np.unique(nc.inv[classes.order])
        out = {}
        for s in table.sensitive:
            p = np.bincount(s.codes, minlength=s.n_values) / n
            counts = np.bincount(nc.inv[:n] * s.n_values + s.codes, minlength=m * s.n_values).reshape(m, -1)
            out[s.name] = float(likeness_gain(counts[released], p).max()) if len(released) else 0.0
        return {"beta_achieved": out, "beta": float(self.beta), "enhanced": bool(self.enhanced)}
