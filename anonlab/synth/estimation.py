"""Fitting a graphical model to noisy marginals by mirror descent.

The marginal-based synthesizers measure a set of marginals with Gaussian noise and then look for the
distribution, among those that factorise over the measured cliques, whose marginals best fit the noisy ones in
weighted least squares (each measurement weighted by 1/sigma^2, so less noisy ones count more). As in
private-pgm, this is solved by entropic mirror descent on the clique log-potentials, with belief propagation
giving the marginals at each step and a backtracking line search choosing the step. The result is post-processing
of the noisy measurements: no privacy is spent here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from anonlab.synth.graphical import GraphicalModel, JunctionTree, calibrate, expand, project

__all__ = ["Measurement", "combine", "estimate", "estimate_total"]


@dataclass(frozen=True)
class Measurement:
    """A noisy marginal.

    Parameters
    ----------
    clique : the measured columns (sorted indices).
    y : the noisy counts, shaped like the marginal.
    sigma : the standard deviation of the Gaussian noise added to each count (its privacy cost was paid before).
    var_scale : per cell, the noise variance as a multiple of ``sigma**2`` (``None``: 1 everywhere); a cell that
        sums k measured cells (a compressed code, :mod:`anonlab.synth.compression`) has variance k sigma**2.
    """

    clique: tuple[int, ...]
    y: np.ndarray
    sigma: float
    var_scale: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "clique", tuple(int(a) for a in self.clique))
        if list(self.clique) != sorted(set(self.clique)):
            raise ValueError(f"measurement clique {self.clique} must be sorted and without repeats")
        if not self.sigma > 0:
            raise ValueError("measurement sigma must be positive")
        if self.var_scale is not None:
            scale = np.asarray(self.var_scale, dtype=float).reshape(np.shape(self.y))
            if not np.all(scale > 0):
                raise ValueError("measurement var_scale must be positive")
            object.__setattr__(self, "var_scale", scale)

    @property
    def variance(self) -> float:
        """The noise variance of the measurement's total (the sum of its cells)."""
        cells = self.y.size if self.var_scale is None else float(np.sum(self.var_scale))
        return self.sigma**2 * cells


def combine(a: Measurement, b: Measurement) -> Measurement:
    """Two independent noisy measurements of the same marginal as one: per cell, their inverse-variance weighted
    mean, with the variance of that mean (expressed on ``a``'s sigma through ``var_scale``). Weighted least squares
    on the combined measurement fits as on the pair. Post-processing."""
    if a.clique != b.clique or np.shape(a.y) != np.shape(b.y):
        raise ValueError(f"measurements of {a.clique} and {b.clique} do not measure the same marginal")
    va = a.sigma**2 * (1.0 if a.var_scale is None else a.var_scale)
    vb = b.sigma**2 * (1.0 if b.var_scale is None else b.var_scale)
    v = 1.0 / (1.0 / va + 1.0 / vb)
    y = (np.asarray(a.y, dtype=float) / va + np.asarray(b.y, dtype=float) / vb) * v
    return Measurement(a.clique, y, a.sigma, var_scale=np.broadcast_to(v / a.sigma**2, np.shape(a.y)).copy())


def estimate_total(measurements: Sequence[Measurement]) -> float:
    """The row count the noisy measurements imply: their sums averaged by inverse variance (at least 1)."""
    num = den = 0.0
    for m in measurements:
        var = m.variance
        num += float(m.y.sum()) / var
        den += 1.0 / var
    return max(1.0, num / den) if den else 1.0


def estimate(
    sizes: Sequence[int],
    measurements: Sequence[Measurement],
    *,
    total: float | None = None,
    iters: int = 500,
    warm: GraphicalModel | None = None,
    extra_cliques: Sequence[Sequence[int]] = (),
    tol: float = 1e-7,
    callback: Callable[[int, float], None] | None = None,
) -> GraphicalModel:
    """The graphical model that best fits ``measurements`` (weighted least squares on the probability scale).

    ``warm`` starts from a previous model (its marginals on the new cliques), which makes the repeated fits of
    AIM cheap. ``extra_cliques`` adds cliques to the model structure without measurements. Stops after ``iters``
    iterations or when the relative loss decrease falls under ``tol``.
    """
    if total is None:
        total = estimate_total(measurements)
    tree = JunctionTree.build(sizes, [m.clique for m in measurements] + [tuple(c) for c in extra_cliques])
    where = [tree.containing(m.clique) for m in measurements]
    targets = [m.y / total for m in measurements]
    weights = [
        (total / m.sigma) ** 2 if m.var_scale is None else (total / m.sigma) ** 2 / m.var_scale
        for m in measurements
    ]
    if warm is not None:
        theta = _warm_potentials(tree, warm)
    else:
        theta = [np.zeros(tree.shape(c)) for c in tree.cliques]

    def evaluate(th):
        logb = calibrate(tree, th)
        probs = [np.exp(b) for b in logb]
        loss, grads, margs = 0.0, [np.zeros(tree.shape(c)) for c in tree.cliques], []
        for m, i, t, w in zip(measurements, where, targets, weights, strict=True):
            mu = project(probs[i], tree.cliques[i], m.clique)
            diff = mu - t
            loss += 0.5 * float(np.sum(w * diff * diff))
            grads[i] = grads[i] + expand(w * diff, m.clique, tree.cliques[i])
            margs.append(mu)
        return loss, grads, probs, margs

    loss, grads, probs, margs = evaluate(theta)
    alpha = 1.0 / max(float(np.max(w)) for w in weights)
    for it in range(iters):
        prev = loss
        for _ in range(30):
            new_theta = [t - alpha * g for t, g in zip(theta, grads, strict=True)]
            new_loss, new_grads, new_probs, new_margs = evaluate(new_theta)
            decrease = sum(
                float(np.vdot(w * (mo - t), mo - mn))
                for mo, mn, t, w in zip(margs, new_margs, targets, weights, strict=True)
            )
            if loss - new_loss >= 0.5 * decrease:
                break
            alpha *= 0.5
        else:
            break
        theta, loss, grads, probs, margs = new_theta, new_loss, new_grads, new_probs, new_margs
        alpha *= 1.5
        if callback is not None:
            callback(it, loss)
        if prev - loss <= tol * max(prev, 1e-12):
            break
    return GraphicalModel(tree, tuple(probs), float(total))


def _warm_potentials(tree: JunctionTree, warm: GraphicalModel) -> list[np.ndarray]:
    """Log-potentials on ``tree`` equal to the junction-tree factorisation of ``warm``'s marginals."""
    parents = tree.parents()
    theta = []
    for i, c in enumerate(tree.cliques):
        p = np.maximum(np.broadcast_to(warm.marginal(c), tree.shape(c)), 1e-12)
        t = np.log(p)
        if i in parents:
            sep = tree.separator(parents[i], i)
            t = t - expand(np.log(np.maximum(project(p, c, sep), 1e-12)), sep, c)
        theta.append(t)
    return theta
