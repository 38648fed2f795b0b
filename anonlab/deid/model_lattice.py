"""Full-domain generalisation under ARX's other privacy models: the lattice searched with a per-class test.

delta-presence (:mod:`anonlab.deid.presence`), k-map (:mod:`anonlab.deid.kmap`) and beta-likeness
(:mod:`anonlab.deid.likeness`) are, like k-anonymity, properties of the equivalence classes of a generalised table;
each is a :class:`LatticeModel` that writes one test, :meth:`LatticeModel._class_ok`, telling which classes of a
node meet the model. The search is the one of :mod:`anonlab.deid.lattice` in its plain form:

- a *node* is one hierarchy level per quasi-identifier; its classes are the records sharing their recoded values;
- the records of the classes that fail are suppressed (at most ``max_suppression`` of the records, else the node
  fails); a class that holds population records but no sample record cannot be suppressed (it is not released),
  so when it fails the node fails;
- nodes are visited by increasing lower bound on the loss (GCP, the mean NCP of the recoding with no suppression,
  suppressed records costing 1) and the search stops when the bound reaches the best loss found: the result is
  the exact optimum of the lattice.
- When the model is monotone (a node fails whenever a more general one does), every node below a failing node is
  skipped, and the boundary is learnt first: binary search along 2d chains, then (with nothing to suppress) the
  nodes keeping only two columns' levels, each failing one ruling out a whole down-set (8 Adult columns, 120,000
  nodes: 254 evaluated). With nothing to suppress, once the search by bound has met many failing nodes, it climbs
  from each to a maximal failing node and rules out that one's down-set (:data:`CLIMB_AFTER`). Each model says
  when it is monotone (:meth:`LatticeModel._monotone`). Down- and up-sets are marked by slicing the lattice held
  as a d-dimensional array; classes are counted over the table's distinct rows.

Rows: the sample's rows come first; a model with a population table (delta-presence, k-map) appends the population's
rows, encoded together with the sample (:mod:`anonlab.deid.population`), so both are recoded alike and a class's
population count is a ``bincount`` over the same class key.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np

from anonlab.deid.lattice import _global_labels, lattice_size, level_ncp, probe_boundary
from anonlab.deid.methods import Anonymizer, Classes, NotSatisfiable, Partition
from anonlab.errors import UsageError

__all__ = ["LatticeModel", "NodeClasses", "model_search"]

# With nothing to suppress, the search by bound climbs from each failing node it meets once this many have failed
# (:func:`_climb`): on Adult's 8 columns k-map's 1,542 evaluations become 781; earlier, and with a budget, the
# climbs cost more evaluations than they save (smaller lattices finish before).
CLIMB_AFTER = 128


@dataclass(frozen=True)
class NodeClasses:
    """The classes of one node: ``inv`` the class of every row (sample rows first), ``n_sample`` the number of
    sample rows, ``sample`` / ``population`` the class sizes among the sample rows and among the appended
    population rows (None without a population).

    The search counts classes over the distinct rows of the table (rows equal on every quasi-identifier fall in
    one class at every node): ``distinct_inv`` is the class of each distinct row, ``row_distinct`` the distinct
    row of each row, and ``inv`` is computed from them when a model asks for it."""

    distinct_inv: np.ndarray
    row_distinct: np.ndarray
    n_sample: int
    sample: np.ndarray
    population: np.ndarray | None

    @functools.cached_property
    def inv(self) -> np.ndarray:
        return self.distinct_inv[self.row_distinct]


class LatticeModel(Anonymizer):
    """Base of the full-domain models searched by :func:`model_search`. A subclass implements
    :meth:`_class_ok` (and :meth:`_monotone`, :meth:`_population_codes` when it has a population)."""

    def _validate(self) -> None:
        check_k_at_least_one(self.k)
        k = self.k
        self.k = max(int(k), 2)  # the contract's other checks; k=1 (no k-anonymity) is allowed here
        try:
            super()._validate()
        finally:
            self.k = k

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
        """As :meth:`~anonlab.deid.methods.Anonymizer.apply`; a model with a ``population`` table encodes it with
        the sample (:func:`anonlab.deid.population.apply_model`)."""
        from anonlab.deid.population import apply_model

        return apply_model(
            self,
            df,
            quasi=quasi,
            sensitive=sensitive,
            schema=schema,
            hierarchies=hierarchies,
            orders=orders,
            source=source,
        )

    def _class_ok(self, classes: NodeClasses, table) -> np.ndarray:
        """True for each class (index of ``classes.sample``) that meets the model."""
        raise NotImplementedError

    def _monotone(self) -> bool:
        """Whether a node fails whenever a more general one does (the search then prunes down-sets)."""
        return float(self.max_suppression) == 0.0

    def _population_codes(self, table) -> list[np.ndarray] | None:
        """Codes of the population's rows per quasi-identifier (aligned with ``table.quasi``), or None."""
        return getattr(table, "population_codes", None) or None

    def _search_extra(self, table, classes: Classes, node_classes: NodeClasses) -> dict:
        """Figures of the chosen node the model adds to the report's ``search``."""
        return {}

    def _partition(self, table, criteria) -> Partition:
        from anonlab.deid.quasi import default_hierarchy

        quasi = table.quasi
        hierarchies = [
            default_hierarchy(q, table.orders.get(q.name), table.bounds.get(q.name)) for q in quasi
        ]
        pop = self._population_codes(table)
        res = model_search(
            quasi,
            hierarchies,
            pop,
            lambda nc: self._class_ok(nc, table) & ((nc.sample >= int(criteria.k)) | (nc.sample == 0)),
            float(self.max_suppression),
            self._monotone(),
        )
        levels, classes, node_classes, loss, evaluated, total = res
        labels, ncp = _global_labels(classes, quasi, hierarchies, levels)
        generalisation = {
            q.name: {
                "kind": h.kind,
                "level": lev,
                "levels": h.height + 1,
                "distinct_released": int(len(np.unique(np.asarray(h.groups[lev])))),
                "distinct_original": int(q.n_codes),
            }
            for q, h, lev in zip(quasi, hierarchies, levels, strict=True)
        }
        search = {
            "lattice_nodes": total,
            "nodes_evaluated": evaluated,
            "optimum": list(levels),
            "loss": "gcp",
            "loss_value": loss,
            **self._search_extra(table, classes, node_classes),
        }
        return Partition(classes, labels, ncp, generalisation, search)


def _node_key(node, gens, n_rows: int) -> np.ndarray:
    """Mixed-radix key of each row's recoded values at ``node`` (``gens[j][level]``: the codes of column ``j``
    at ``level`` and their count), as the global recoding search keys its classes."""
    from anonlab.deid.lattice import _key

    return _key(node, lambda j, lev: gens[j][lev], n_rows)


@dataclass(frozen=True)
class _Distinct:
    """The table's distinct rows (sample and population together): ``gens`` each column's codes per level on the
    distinct rows, ``row_distinct`` the distinct row of every row, ``sample`` / ``population`` how many sample /
    population rows each distinct row stands for, ``n_rows`` the number of rows."""

    gens: list
    row_distinct: np.ndarray
    sample: np.ndarray
    population: np.ndarray | None
    n_rows: int


def _distinct(codes: list[np.ndarray], hierarchies, n: int) -> _Distinct:
    """Collapse the rows (``codes``: per quasi-identifier, sample rows then population rows) to their distinct
    combinations of codes, numbered by first appearance, and recode each column once per level."""
    import pandas as pd

    n_rows = len(codes[0])
    key = _node_key([0] * len(codes), [[(c, int(c.max()) + 1 if len(c) else 1)] for c in codes], n_rows)
    row_distinct = pd.factorize(key)[0].astype(np.int64)
    m = int(row_distinct.max()) + 1 if n_rows else 0
    _, first = np.unique(row_distinct, return_index=True)  # ids by first appearance: ``first`` increases
    dgens = []
    for c, h in zip(codes, hierarchies, strict=True):
        own = c[first]
        per = []
        for lev in range(h.height + 1):
            g = np.asarray(h.groups[lev], dtype=np.int64)
            per.append((g[own], int(g.max()) + 1 if len(g) else 1))
        dgens.append(per)
    sample = np.bincount(row_distinct[:n], minlength=m)
    population = np.bincount(row_distinct[n:], minlength=m) if n_rows > n else None
    return _Distinct(dgens, row_distinct, sample, population, n_rows)


def _node_classes(node, dist: _Distinct, n: int) -> NodeClasses:
    """The classes of ``node``, counted over the distinct rows. The classes are numbered exactly as
    :func:`anonlab.deid.lattice._counts` numbers them over all the rows (the key itself when the key range is
    small for ``n_rows`` rows, else by first appearance, which the distinct rows keep)."""
    key = _node_key(node, dist.gens, len(dist.sample))
    top = int(key.max()) + 1 if len(key) else 1
    if top <= 4 * dist.n_rows + 1024:
        inv, m = key, top
    else:
        import pandas as pd

        inv, uniq = pd.factorize(key)
        m = len(uniq)
    sample = np.bincount(inv[dist.row_distinct[:n]], minlength=m)
    population = None if dist.population is None else np.bincount(inv[dist.row_distinct[n:]], minlength=m)
    return NodeClasses(inv, dist.row_distinct, n, sample, population)


def model_search(quasi, hierarchies, population_codes, class_ok, max_suppression: float, monotone: bool):
    """The node of least GCP whose failing classes (``class_ok`` False) hold at most ``max_suppression`` of the
    sample's records, none of them a class without sample records. Returns ``(levels, classes, node_classes,
    loss, nodes_evaluated, lattice_nodes)``; raises :class:`NotSatisfiable` when no node qualifies."""
    n = len(quasi[0].codes)
    codes = [
        q.codes.astype(np.int64)
        if population_codes is None
        else np.concatenate([q.codes.astype(np.int64), population_codes[j].astype(np.int64)])
        for j, q in enumerate(quasi)
    ]
    heights = [h.height for h in hierarchies]
    total = lattice_size(heights)
    dist = _distinct(codes, hierarchies, n)
    ncp = [
        [level_ncp(q, h, lev) for lev in range(h.height + 1)] for q, h in zip(quasi, hierarchies, strict=True)
    ]
    d = len(quasi)
    shape = tuple(x + 1 for x in heights)
    # every node, in row-major order of the levels (as itertools.product lists them)
    nodes = np.ascontiguousarray(np.indices(shape, dtype=np.int16).reshape(d, -1).T)
    col_mean = [
        [float(np.bincount(q.codes, minlength=q.n_codes) @ t) / n for t in tabs]
        for q, tabs in zip(quasi, ncp, strict=True)
    ]
    lower = np.asarray(sum(np.asarray(col_mean[j])[nodes[:, j]] for j in range(d)), dtype=np.float64) / d
    visit = np.lexsort((nodes.sum(axis=1), lower))
    bad = np.zeros(len(nodes), dtype=bool)
    good = np.zeros(len(nodes), dtype=bool)  # passes with nothing suppressed: its loss is its lower bound
    # nodes are in row-major order of the levels (itertools.product), so the lattice as a d-dimensional box is a
    # view of ``bad`` / ``good``: a node's down-set (up-set) is one block of it, marked by slicing
    bad_box, good_box = bad.reshape(shape), good.reshape(shape)
    budget = int(np.floor(max_suppression * n + 1e-9))
    evaluated = 0

    def evaluate(i):
        """(loss, node classes, ok) of node ``i``, or None when it fails; marks what monotonicity implies."""
        nonlocal evaluated
        evaluated += 1
        node = nodes[i]
        nc = _node_classes(node, dist, n)
        ok = np.asarray(class_ok(nc), dtype=bool)
        # class numbers no row holds (gaps of a bincount over the key range) are no classes
        ok |= (nc.sample == 0) if nc.population is None else ((nc.sample == 0) & (nc.population == 0))
        failed_rows = int(nc.sample[~ok].sum())
        if failed_rows > budget or bool((~ok & (nc.sample == 0)).any()):
            if monotone:
                bad_box[tuple(slice(0, int(lev) + 1) for lev in node)] = True  # every node <= node
            return None
        if monotone and failed_rows == 0 and budget == 0:
            good_box[tuple(slice(int(lev), None) for lev in node)] = True  # every node >= node
        rows_failed = ~ok[nc.inv[:n]]
        lost = sum(ncp[j][node[j]][quasi[j].codes[rows_failed]] for j in range(d)) / d if failed_rows else 0.0
        return float(lower[i]) + (failed_rows - float(np.sum(lost))) / n, nc, ok

    if monotone:
        _prune(nodes, heights, bad, good, evaluate, budget)
    best, failures = None, 0
    for i in visit:
        if best is not None and lower[i] >= best[0] - 1e-15:
            break
        if bad[i]:
            continue
        if good[i]:  # nothing suppressed (budget 0): the loss is the bound, the least of those left
            best = (float(lower[i]), int(i))
            break
        res = evaluate(i)
        if res is None and monotone:
            failures += 1
            if budget == 0 and failures > CLIMB_AFTER:
                _climb(nodes[i], heights, bad, good, evaluate)
        if res is not None and (best is None or res[0] < best[0] - 1e-12):
            best = (res[0], int(i))
    if best is None:
        raise NotSatisfiable(
            "no full-domain generalisation meets the model within the suppression budget "
            f"({max_suppression:.1%} of {n:,} records)"
        )
    loss, i = best
    levels = tuple(int(x) for x in nodes[i])
    _, nc, ok = evaluate(i)
    classes = _released_classes(nc, ok, n)
    return levels, classes, nc, loss, evaluated, total


def _released_classes(nc: NodeClasses, ok: np.ndarray, n: int) -> Classes:
    """The classes of the sample's rows whose class passes (the others are suppressed)."""
    rows = np.nonzero(ok[nc.inv[:n]])[0]
    ids = nc.inv[rows]
    perm = np.argsort(ids, kind="stable")
    order, ks = rows[perm], ids[perm]
    if not len(order):
        raise NotSatisfiable("every record would be suppressed")
    b = np.r_[0, np.nonzero(ks[1:] != ks[:-1])[0] + 1]
    return Classes(order, b.astype(np.int64), np.r_[b[1:], len(order)].astype(np.int64))


def _prune(nodes, heights, bad, good, evaluate, budget: int) -> None:
    """What a monotone model learns before the search by bound: the boundary probed along chains, and with
    nothing to suppress, the nodes that keep two columns' levels (:func:`_pair_pass`)."""
    probe_boundary(heights, bad, good, lambda i: evaluate(i) is not None)
    if budget == 0 and len(heights) > 3:
        _pair_pass(nodes, heights, bad, good, evaluate)


def _climb(node, heights, bad, good, evaluate) -> None:
    """From a failing node, raise each column in turn as far as the node still fails (binary search: with the
    other levels fixed, the failing levels of a monotone model are those up to some level), so the down-set of a
    maximal failing node is marked (a greedy climb in the spirit of ARX's Flash, Kohlmayer et al. 2012)."""
    stride = np.cumprod([1] + [x + 1 for x in heights[::-1]])[:-1][::-1]
    cur = np.asarray(node, dtype=np.int64).copy()
    for j in range(len(heights)):
        lo, hi = int(cur[j]), heights[j]
        while lo < hi:
            mid = (lo + hi + 1) // 2
            cur[j] = mid
            i = int(cur @ stride)
            fails = bool(bad[i]) or (not good[i] and evaluate(i) is None)
            lo, hi = (mid, hi) if fails else (lo, mid - 1)
        cur[j] = lo


def _pair_pass(nodes, heights, bad, good, evaluate) -> None:
    """With nothing to suppress, a node fails when the node keeping only two of its columns' levels (the others
    at their top) fails, since that node generalises it. One evaluation per pair of columns and levels not known
    yet marks whole down-sets, as :func:`anonlab.deid.lattice._pair_bound` does for k-anonymity."""
    d = len(heights)
    stride = np.cumprod([1] + [x + 1 for x in heights[::-1]])[:-1][::-1]
    top = np.asarray(heights, dtype=np.int64)
    for a, b in itertools.combinations(range(d), 2):
        for la in range(heights[a] + 1):
            for lb in range(heights[b] + 1):
                node = top.copy()
                node[a], node[b] = la, lb
                i = int(node @ stride)
                if not (bad[i] or good[i]):
                    evaluate(i)


def check_k_at_least_one(k) -> None:
    """The models here take ``k=1`` (no k-anonymity beside the model) as well as ``k >= 2``."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise UsageError(
            f"k={k!r}: must be a whole number of at least 1 (1: no k-anonymity beside the model)"
        )
