"""A discrete graphical model on a junction tree: exact marginals and sampling.

This is anonlab's own inference engine for the marginal-based synthesizers (MST, AIM), written in numpy for the
pinned stack, in the spirit of private-pgm (McKenna, Sheldon, Miklau 2019), whose PyPI package does not install
beside it. The model is a distribution over the encoded columns that factorises over the maximal cliques of a
chordal graph; those cliques, joined into a tree by their shared columns (separators), form the junction tree.
Given log-potentials per clique, belief propagation (sum-product, in log space) gives every clique's exact
marginal; the marginal of any other set of columns is contracted from the smallest subtree that covers it.

Everything here is post-processing of already-noisy measurements: it never reads the real data.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["JunctionTree", "GraphicalModel", "calibrate", "expand", "project", "triangulate", "model_cells"]

Clique = tuple[int, ...]


def triangulate(sizes: Sequence[int], cliques: Sequence[Sequence[int]]) -> list[Clique]:
    """Maximal cliques of a chordal completion of the graph joining the columns of each of ``cliques``.

    Greedy elimination: repeatedly remove the column whose neighbourhood (itself included) has the fewest cells,
    joining its neighbours; each elimination's neighbourhood is a clique of the completion. Sorted largest first.
    """
    d = len(sizes)
    nbrs: list[set[int]] = [set() for _ in range(d)]
    for c in cliques:
        for a in c:
            nbrs[a].update(b for b in c if b != a)
    left = set(range(d))
    found: list[frozenset[int]] = []
    while left:
        v = min(left, key=lambda u: (float(np.prod([sizes[w] for w in nbrs[u]], dtype=float)) * sizes[u], u))
        clique = frozenset(nbrs[v] | {v})
        found.append(clique)
        for a in nbrs[v]:
            nbrs[a].update(nbrs[v] - {a})
            nbrs[a].discard(v)
        left.discard(v)
    maximal = [c for c in set(found) if not any(c < o for o in found)]
    return sorted((tuple(sorted(c)) for c in maximal), key=lambda c: (-len(c), c))


def model_cells(sizes: Sequence[int], cliques: Sequence[Sequence[int]]) -> int:
    """Cells of all clique tables of the junction tree over ``cliques``: the model size, without building it."""
    return int(sum(np.prod([sizes[a] for a in c], dtype=np.int64) for c in triangulate(sizes, cliques)))


def expand(arr: np.ndarray, attrs: Clique, target: Clique) -> np.ndarray:
    """View ``arr`` (axes ``attrs``, sorted) broadcastable over ``target`` (sorted, a superset)."""
    shape = [1] * len(target)
    pos = {a: i for i, a in enumerate(target)}
    for a, n in zip(attrs, np.shape(arr), strict=True):
        shape[pos[a]] = n
    return np.reshape(arr, shape)


def project(arr: np.ndarray, attrs: Clique, keep: Clique, log: bool = False) -> np.ndarray:
    """Sum (or log-sum-exp when ``log``) ``arr`` over the axes of ``attrs`` not in ``keep``."""
    axes = tuple(i for i, a in enumerate(attrs) if a not in keep)
    if not axes:
        return arr
    if not log:
        return arr.sum(axis=axes)
    m = np.max(arr, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.sum(np.exp(arr - m), axis=axes, keepdims=True)) + m
    return np.squeeze(out, axis=axes)


@dataclass(frozen=True)
class JunctionTree:
    """Maximal cliques of a triangulated graph over the columns, joined in a tree.

    Parameters
    ----------
    sizes : number of codes of each column.
    cliques : the maximal cliques (sorted column-index tuples); every column is in at least one.
    edges : tree edges as pairs of clique indices, in breadth-first order from clique 0 (parent, child).
    """

    sizes: tuple[int, ...]
    cliques: tuple[Clique, ...]
    edges: tuple[tuple[int, int], ...]

    @classmethod
    def build(cls, sizes: Sequence[int], cliques: Sequence[Sequence[int]]) -> JunctionTree:
        """The junction tree of the graph whose edges join the columns of each of ``cliques``."""
        import networkx as nx

        maximal = triangulate(sizes, cliques)
        cg = nx.Graph()
        cg.add_nodes_from(range(len(maximal)))
        for i in range(len(maximal)):
            for j in range(i + 1, len(maximal)):
                cg.add_edge(i, j, weight=len(set(maximal[i]) & set(maximal[j])))
        tree = nx.maximum_spanning_tree(cg) if len(maximal) > 1 else cg
        edges = tuple((int(p), int(c)) for p, c in nx.bfs_edges(tree, 0)) if len(maximal) > 1 else ()
        return cls(tuple(int(s) for s in sizes), tuple(maximal), edges)

    def separator(self, i: int, j: int) -> Clique:
        return tuple(sorted(set(self.cliques[i]) & set(self.cliques[j])))

    def shape(self, clique: Clique) -> tuple[int, ...]:
        return tuple(self.sizes[a] for a in clique)

    def cells(self) -> int:
        """Total number of cells of the clique tables: the model's size."""
        return int(sum(np.prod(self.shape(c), dtype=np.int64) for c in self.cliques))

    def containing(self, clique: Sequence[int]) -> int | None:
        """Index of the smallest maximal clique that contains ``clique``, or None."""
        want = set(clique)
        best = None
        for i, c in enumerate(self.cliques):
            if want <= set(c) and (best is None or len(c) < len(self.cliques[best])):
                best = i
        return best

    def neighbours(self) -> dict[int, list[int]]:
        nb: dict[int, list[int]] = {i: [] for i in range(len(self.cliques))}
        for p, c in self.edges:
            nb[p].append(c)
            nb[c].append(p)
        return nb

    def parents(self) -> dict[int, int]:
        return {c: p for p, c in self.edges}


def calibrate(tree: JunctionTree, theta: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Belief propagation: the normalised log-marginal of each clique of ``tree`` under log-potentials ``theta``."""
    nb = tree.neighbours()
    msgs: dict[tuple[int, int], np.ndarray] = {}
    schedule = [(c, p) for p, c in reversed(tree.edges)] + list(tree.edges)
    for i, j in schedule:
        ci = tree.cliques[i]
        belief = theta[i]
        for k in nb[i]:
            if k != j:
                belief = belief + expand(msgs[(k, i)], tree.separator(k, i), ci)
        msgs[(i, j)] = project(belief, ci, tree.separator(i, j), log=True)
    out = []
    for i, ci in enumerate(tree.cliques):
        belief = theta[i]
        for k in nb[i]:
            belief = belief + expand(msgs[(k, i)], tree.separator(k, i), ci)
        belief = np.broadcast_to(belief, tree.shape(ci))
        out.append(belief - project(belief, ci, (), log=True))
    return out


@dataclass(frozen=True)
class GraphicalModel:
    """A calibrated model: the junction tree, each clique's probability table, and the estimated row count.

    ``total`` is the number of rows the noisy measurements suggest (itself a DP estimate, never the true count).
    """

    tree: JunctionTree
    probs: tuple[np.ndarray, ...]
    total: float

    @classmethod
    def from_potentials(cls, tree: JunctionTree, theta: Sequence[np.ndarray], total: float) -> GraphicalModel:
        return cls(tree, tuple(np.exp(b) for b in calibrate(tree, theta)), float(total))

    def potentials(self) -> list[np.ndarray]:
        """Log-potentials reproducing this model on its own tree: log P(C) minus log P(separator to parent)."""
        parents = self.tree.parents()
        theta = []
        for i, c in enumerate(self.tree.cliques):
            t = np.log(np.maximum(self.probs[i], 1e-300))
            if i in parents:
                sep = self.tree.separator(parents[i], i)
                t = t - expand(np.log(np.maximum(project(self.probs[i], c, sep), 1e-300)), sep, c)
            theta.append(t)
        return theta

    def marginal(self, clique: Sequence[int]) -> np.ndarray:
        """Probability table over ``clique`` (sorted column order), exact under the model."""
        clique = tuple(sorted(clique))
        i = self.tree.containing(clique)
        if i is not None:
            return project(self.probs[i], self.tree.cliques[i], clique)
        return self._contract(clique)

    def _contract(self, clique: Clique) -> np.ndarray:
        tree = self.tree
        parents = tree.parents()
        chosen = []
        for a in clique:
            hits = [i for i, c in enumerate(tree.cliques) if a in c]
            chosen.append(max(hits, key=lambda i: len(set(tree.cliques[i]) & set(clique))))
        depth = {0: 0}
        for p, c in tree.edges:
            depth[c] = depth[p] + 1
        nodes = {chosen[0]}
        for n in chosen[1:]:
            path_a, path_b = [n], [chosen[0]]
            a, b = n, chosen[0]
            while a != b:
                if depth[a] >= depth[b]:
                    a = parents[a]
                    path_a.append(a)
                else:
                    b = parents[b]
                    path_b.append(b)
            nodes.update(path_a)
            nodes.update(path_b)
        nodes = sorted(nodes)
        involved = sorted({a for n in nodes for a in tree.cliques[n]})
        letters = {a: string.ascii_letters[k] for k, a in enumerate(involved)}
        ops, subs = [], []
        for n in nodes:
            ops.append(self.probs[n])
            subs.append("".join(letters[a] for a in tree.cliques[n]))
            p = parents.get(n)
            if p is not None and p in nodes:
                sep = tree.separator(p, n)
                if sep:
                    m = project(self.probs[n], tree.cliques[n], sep)
                    ops.append(np.divide(1.0, m, out=np.zeros_like(m), where=m > 0))
                    subs.append("".join(letters[a] for a in sep))
        expr = ",".join(subs) + "->" + "".join(letters[a] for a in clique)
        return np.einsum(expr, *ops, optimize="greedy")

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` rows of codes drawn from the model, clique by clique down the tree (post-processing).

        The draws are stratified: within each group of rows that share the values of a clique's separator (all
        rows, for the first clique), the ``m`` rows get one uniform each from ``[j/m, (j+1)/m)``, ``j = 0..m-1``,
        in a random order. So each cell's count lies within one or two of ``m`` times its conditional
        probability, where independent draws scatter it by about its square root: the rows add far less sampling
        error to the model's marginals (the rounding idea of private-pgm's ``synthetic_data``). The random order
        within a group keeps the new columns independent of the earlier ones given the separator, as the model
        says. The rows come out in a random order."""
        d = len(self.tree.sizes)
        out = np.zeros((n, d), dtype=np.int64)
        tree = self.tree
        order = [(None, 0)] + [(p, c) for p, c in tree.edges]
        for parent, i in order:
            ci = tree.cliques[i]
            sep = tree.separator(parent, i) if parent is not None else ()
            new = tuple(a for a in ci if a not in sep)
            if not new:
                continue
            perm = [ci.index(a) for a in sep + new]
            table = np.transpose(self.probs[i], perm)
            sep_shape = tree.shape(sep)
            new_shape = tree.shape(new)
            cond = table.reshape(
                int(np.prod(sep_shape, dtype=np.int64)), int(np.prod(new_shape, dtype=np.int64))
            )
            cond = np.maximum(cond, 0.0)
            rows = cond.sum(axis=1, keepdims=True)
            cond = np.where(rows > 0, cond / np.where(rows > 0, rows, 1.0), 1.0 / cond.shape[1])
            sep_idx = (
                np.ravel_multi_index(tuple(out[:, a] for a in sep), sep_shape)
                if sep
                else np.zeros(n, np.int64)
            )
            # row s of the conditional table spans [s, s + 1) of this running sum
            flat = (np.cumsum(cond, axis=1) + np.arange(cond.shape[0], dtype=float)[:, None]).ravel()
            u = _stratified(sep_idx, cond.shape[0], rng)
            pos = np.searchsorted(flat, sep_idx + u, side="right")
            lo = sep_idx * cond.shape[1]
            pos = np.clip(pos, lo, lo + cond.shape[1] - 1)
            local = pos - lo
            values = np.unravel_index(local, new_shape)
            for a, v in zip(new, values, strict=True):
                out[:, a] = v
        return out[rng.permutation(n)]


def _stratified(groups: np.ndarray, n_groups: int, rng: np.random.Generator) -> np.ndarray:
    """One uniform in ``[0, 1)`` per row, stratified within each group: the ``m`` rows of a group get one each from
    ``[j/m, (j+1)/m)``, ``j = 0..m-1``, the strata dealt to the rows in a random order."""
    n = len(groups)
    if n == 0:
        return np.zeros(0)
    order = rng.permutation(n)
    order = order[np.argsort(groups[order], kind="stable")]  # by group, at random within each
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n, dtype=np.int64) - np.repeat(starts, counts)
    return (rank + rng.random(n)) / counts[groups]
