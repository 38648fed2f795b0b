"""km-anonymity for set-valued data (Terrovitis, Mamoulis and Kalnis, VLDB 2008; Amnesia's algorithm).

A set-valued column holds one set of items per record (diagnosis codes, products bought, places visited), written
as text with a separator (``"E11;I10;J45"``). An attacker who knows up to ``m`` items of someone's record (not
the whole set) looks for the records containing them. The release is *km-anonymous* when every such guess
matches at least ``k`` records: for every itemset of at most ``m`` (generalised) items that some released record
contains, at least ``k`` released records contain it.

Generalisation is global over an item hierarchy (an ARX-format CSV, one row per item: the item, then its
ancestors up to the root, e.g. ``E11;E10-E14;E00-E90;*``): the released items form a *cut* of the hierarchy, every
item below a cut node replaced by that node wherever it occurs, and a record's duplicate items merged. Without a
hierarchy every item sits directly under ``*``.

Algorithm (Apriori Anonymization, AA, of the paper): for i = 1 .. m, count the supports of every i-itemset of the
generalised records (itemsets of size below i are km-anonymous already and stay so: generalising only merges
itemsets, so supports only grow); while some i-itemset has support below k, generalise one of its items to its
parent, choosing the item whose generalisation adds the least information loss (NCP: the share of the
hierarchy's leaves under a node, 0 for an item kept, weighted by occurrences), and count again. Counting is
vectorised: records as a padded matrix of node numbers, every combination of i positions read at once.
A final pass checks every itemset of size 1 .. m. The result is km-anonymous (checked by a brute-force checker in
the tests); AA's cut is not the optimum in general (finding it is NP-hard).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np

from anonlab.deid.methods import Anonymizer
from anonlab.errors import InputError, UsageError

__all__ = ["KmAnonymity", "KmReport", "ItemHierarchy", "itemset_supports", "ROOT"]

ROOT = "*"
_PAD = np.iinfo(np.int64).max


@dataclass(frozen=True)
class ItemHierarchy:
    """The item tree: ``labels[v]`` the text of node ``v``, ``parent[v]`` its parent (-1 at the root),
    ``leaves[v]`` how many items lie under it, ``item_node``: each item's leaf node."""

    labels: list
    parent: np.ndarray
    leaves: np.ndarray
    item_node: dict

    @property
    def ncp(self) -> np.ndarray:
        """Information loss of releasing node ``v`` for an item: ``(leaves under v) / (all leaves)``, 0 at a leaf."""
        total = max(int(self.leaves.max()), 1)
        return np.where(self.leaves > 1, self.leaves / total, 0.0)

    @classmethod
    def build(
        cls, items: list[str], rows: list[list[str]] | None, source: str = "hierarchy"
    ) -> ItemHierarchy:
        """From ARX-format rows (item, then its ancestors), or a flat tree (every item under ``*``)."""
        if rows is None:
            rows = [[it, ROOT] for it in items]
        index: dict = {}
        labels: list = []
        parent: list = []
        item_node: dict = {}
        for r, row in enumerate(rows, start=1):
            row = [c.strip() for c in row]
            if len(row) < 2 or any(not c for c in row):
                raise InputError(f"{source}: line {r}: write ITEM;PARENT;...;ROOT (no empty field)")
            prev = -1
            for level in range(len(row) - 1, -1, -1):  # root first
                key = (len(row) - 1 - level, row[level]) if level else ("item", row[0])
                if key not in index:
                    index[key] = len(labels)
                    labels.append(row[level])
                    parent.append(prev)
                elif parent[index[key]] != prev:
                    raise InputError(f"{source}: line {r}: {row[level]!r} has two different parents")
                prev = index[key]
            if row[0] in item_node and item_node[row[0]] != prev:  # pragma: no cover - caught above
                raise InputError(f"{source}: line {r}: item {row[0]!r} listed twice")
            item_node[row[0]] = prev
        roots = [v for v, p in enumerate(parent) if p < 0]
        if len(roots) != 1:
            raise InputError(
                f"{source}: the hierarchy has {len(roots)} roots; every row must end with the same root"
            )
        missing = [it for it in items if it not in item_node]
        if missing:
            raise InputError(
                f"{source}: item {missing[0]!r} of the data is not in the hierarchy ({len(missing)} missing)"
            )
        par = np.asarray(parent, dtype=np.int64)
        leaves = np.zeros(len(labels), dtype=np.int64)
        for leaf in set(item_node.values()):
            v = leaf
            while v >= 0:
                leaves[v] += 1
                v = par[v]
        return cls(labels, par, leaves, item_node)


def _explode(col, separator: str):
    """Item codes of every (row, item) pair, their row numbers, and the distinct items (sorted)."""
    import pandas as pd

    text = pd.Series(col.to_numpy(dtype=object)).astype("string")
    parts = text.str.split(separator, regex=False).explode().str.strip()
    parts = parts[parts.notna() & (parts != "")]
    codes, items = pd.factorize(parts.to_numpy(dtype=object), sort=True)
    return codes.astype(np.int64), parts.index.to_numpy(dtype=np.int64), [str(x) for x in items]


def _matrix_from(rows: np.ndarray, nodes: np.ndarray, n: int) -> np.ndarray:
    """A padded (records x items) matrix of leaf nodes from (row, node) pairs (rows in order)."""
    counts = np.bincount(rows, minlength=n)
    mat = np.full((n, max(int(counts.max()) if n else 0, 1)), _PAD, dtype=np.int64)
    if len(rows):
        start = np.repeat(np.cumsum(counts) - counts, counts)
        mat[rows, np.arange(len(rows)) - start] = nodes
    return mat


def _generalise(mat: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """Rows of leaf nodes -> rows of cut nodes, sorted, duplicates padded (pads last)."""
    g = np.where(mat == _PAD, _PAD, cur[np.where(mat == _PAD, 0, mat)])
    g.sort(axis=1)
    dup = np.zeros_like(g, dtype=bool)
    dup[:, 1:] = (g[:, 1:] == g[:, :-1]) & (g[:, 1:] != _PAD)
    g[dup] = _PAD
    g.sort(axis=1)
    return g


def itemset_supports(g: np.ndarray, size: int, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Every itemset of ``size`` items contained in a row of ``g`` (sorted rows of node numbers, pads last) as a
    (itemsets x size) array, and its support (the rows containing it)."""
    width = g.shape[1]
    lengths = (g != _PAD).sum(axis=1)
    blocks = []
    for pos in itertools.combinations(range(width), size):
        rows = lengths > pos[-1]
        if rows.any():
            blocks.append(g[np.ix_(rows, list(pos))])
    if not blocks:
        return np.zeros((0, size), dtype=np.int64), np.zeros(0, dtype=np.int64)
    sets = np.concatenate(blocks)
    if float(n_nodes) ** size < 2**62:
        key = np.zeros(len(sets), dtype=np.int64)
        for j in range(size):
            key = key * n_nodes + sets[:, j]
        uniq_key, counts = np.unique(key, return_counts=True)
        uniq = np.zeros((len(uniq_key), size), dtype=np.int64)
        rest = uniq_key.copy()
        for j in range(size - 1, -1, -1):
            uniq[:, j] = rest % n_nodes
            rest //= n_nodes
        return uniq, counts
    uniq, counts = np.unique(sets, axis=0, return_counts=True)
    return uniq, counts


@dataclass(frozen=True)
class KmReport:
    """A km-anonymous release's figures: ``k`` and ``m`` asked, ``measured_k`` the smallest support of any itemset
    of at most m items in the release (at least k), the items before and after, the information loss (mean NCP
    per item occurrence) and the hierarchy nodes the cut raised items to."""

    method: str
    parameters: dict
    n_input: int
    column: str
    measured_k: int
    m: int
    items_original: int
    items_released: int
    ncp: float
    generalised_nodes: list
    seconds: float
    versions: dict

    @property
    def k(self) -> int:
        return self.measured_k

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "parameters": self.parameters,
            "records": {"input": self.n_input, "released": self.n_input, "suppressed": 0},
            "achieved": {"k": self.measured_k, "m": self.m, "per_sensitive": {}},
            "column": self.column,
            "items": {"original": self.items_original, "released": self.items_released},
            "information_loss": {"ncp": self.ncp},
            "generalisation": {self.column: {"kind": "km cut", "nodes": self.generalised_nodes}},
            "seconds": self.seconds,
            "versions": self.versions,
            "warnings": [],
            "privacy_note": (
                f"km-anonymity: an attacker knowing up to {self.m} items of a record finds at least "
                f"{self.measured_k} records; not differential privacy; the release is still personal data"
            ),
        }

    def __repr__(self) -> str:
        return (
            f"KmReport(k={self.measured_k}, m={self.m}, records={self.n_input}, items {self.items_original} -> "
            f"{self.items_released}, ncp={self.ncp:.4f})"
        )


class KmAnonymity(Anonymizer):
    """km-anonymity of one set-valued column (Terrovitis et al. 2008, Apriori Anonymization, as Amnesia runs it).

    Parameters (keyword only):

    - ``k``: every itemset of at most ``m`` items that a released record holds is held by at least k records.
    - ``m``: the most items of a record an attacker is assumed to know (1 to 4).
    - ``separator``: what separates the items in a cell (default ``;``).
    - ``hierarchy``: an ARX-format CSV path for the items (item;parent;...;root); or give it as
      ``hierarchies={column: path}`` at :meth:`apply`; none: items are generalised straight to ``*``.

    :meth:`apply` takes the set-valued column as ``quasi=[column]``; other columns pass through unchanged.

    >>> released, report = KmAnonymity(k=5, m=2).apply(df, quasi=["diagnoses"])  # doctest: +SKIP
    """

    name = "km"

    def __init__(
        self,
        *,
        k: int,
        m: int = 2,
        separator: str = ";",
        hierarchy: str | None = None,
        progress: bool = False,
    ):
        self.m = m
        self.separator = separator
        self.hierarchy = hierarchy
        super().__init__(k=k, progress=progress)

    def _validate(self) -> None:
        super()._validate()
        if isinstance(self.m, bool) or not isinstance(self.m, int | np.integer) or not 1 <= self.m <= 4:
            raise UsageError(f"m={self.m!r}: must be a whole number from 1 to 4 (items an attacker knows)")
        if not isinstance(self.separator, str) or not self.separator:
            raise UsageError(f"separator={self.separator!r}: must be a non-empty text")

    def _partition(self, table, criteria):  # pragma: no cover - km has its own apply
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
        """Release ``df`` with its set-valued column ``quasi=[column]`` km-anonymous. Returns the table (same
        columns and order; only that column changes) and a :class:`KmReport`."""
        from anonlab.deid.encoded_table import as_pairs, schema_roles
        from anonlab.deid.hierarchy import read_rows
        from anonlab.provenance import versions

        t0 = time.perf_counter()
        for name, value in (("sensitive", sensitive), ("orders", orders)):
            if value:
                raise UsageError(
                    f"{name}= does not apply to method='km' (it generalises one set-valued column)"
                )
        quasi, _ = schema_roles(schema, df.columns, quasi, None)
        cols = [quasi] if isinstance(quasi, str) else [str(c) for c in quasi or ()]
        if len(cols) != 1:
            raise UsageError(f"method='km' takes one set-valued column (quasi=[column]), got {len(cols)}")
        col = cols[0]
        if col not in df.columns:
            raise InputError(f"{source}: no column {col!r} (the set-valued column, quasi=)")
        if len(df) == 0:
            raise InputError(f"{source}: the table has no rows")
        given = dict(as_pairs(hierarchies, "hierarchies"))
        path = given.pop(col, None) or self.hierarchy
        if given:
            raise UsageError(f"hierarchies= names {next(iter(given))!r}, which is not the set-valued column")
        codes, rows, items = _explode(df[col], self.separator)
        h = ItemHierarchy.build(
            list(items), read_rows(path) if path else None, str(path) if path else "hierarchy"
        )
        node_of = np.array([h.item_node[x] for x in items], dtype=np.int64)
        mat = _matrix_from(rows, node_of[codes] if len(codes) else codes, len(df))
        cur = np.arange(len(h.labels), dtype=np.int64)
        cur, g = _anonymise(mat, cur, h, int(self.k), int(self.m))
        measured = _measured_k(g, int(self.m), len(h.labels))
        uniq, inv = np.unique(g, axis=0, return_inverse=True)
        lab = np.asarray(h.labels, dtype=object)
        texts = np.array(
            [self.separator.join(sorted(lab[r[r != _PAD]].tolist())) for r in uniq], dtype=object
        )
        out_col = texts[inv.ravel()]
        missing = df[col].isna().to_numpy()
        out_col[missing] = None
        out = df.copy()
        out[col] = out_col
        occ = mat[mat != _PAD]
        ncp = float(h.ncp[cur[occ]].mean()) if len(occ) else 0.0
        items = list(items)
        raised = sorted({int(cur[h.item_node[x]]) for x in items} - {h.item_node[x] for x in items})
        params = {"method": self.name, "quasi": cols, **self.get_params()}
        params.pop("progress", None)
        if path:
            params["hierarchy"] = str(path)
        return out, KmReport(
            method=self.name,
            parameters=params,
            n_input=len(df),
            column=col,
            measured_k=measured,
            m=int(self.m),
            items_original=len(items),
            items_released=len({int(cur[h.item_node[x]]) for x in items}),
            ncp=ncp,
            generalised_nodes=[str(h.labels[v]) for v in raised],
            seconds=time.perf_counter() - t0,
            versions=versions(),
        )


def _measured_k(g: np.ndarray, m: int, n_nodes: int) -> int:
    best = None
    for size in range(1, m + 1):
        _, counts = itemset_supports(g, size, n_nodes)
        if len(counts):
            best = int(counts.min()) if best is None else min(best, int(counts.min()))
    return best if best is not None else 0


def _anonymise(mat: np.ndarray, cur: np.ndarray, h: ItemHierarchy, k: int, m: int):
    """AA: for each size 1..m, generalise until every itemset of that size has support k."""
    occ = np.bincount(mat[mat != _PAD], minlength=len(h.labels)).astype(np.float64)  # per leaf node
    ncp = h.ncp
    leaf_nodes = np.unique(mat[mat != _PAD])
    anc = _ancestors(h)
    for size in range(1, m + 1):
        while True:
            g = _generalise(mat, cur)
            sets, counts = itemset_supports(g, size, len(h.labels))
            bad = np.nonzero(counts < k)[0]
            if not len(bad):
                break
            touched: set = set()
            for i in bad[np.argsort(counts[bad], kind="stable")]:
                nodes = [int(v) for v in sets[i]]
                if touched.intersection(nodes):
                    continue
                move = _cheapest(nodes, h, cur, occ, ncp, leaf_nodes, anc)
                if move is None:
                    raise UsageError(
                        f"cannot reach k={k}: an itemset generalised to the root is held by fewer than k records"
                    )
                under = leaf_nodes[(anc[leaf_nodes] == move).any(axis=1)]
                touched.update(int(v) for v in np.unique(cur[under]))
                touched.add(move)
                cur[under] = move
    g = _generalise(mat, cur)
    for size in range(1, m + 1):  # the guarantee, checked once more over every size
        _, counts = itemset_supports(g, size, len(h.labels))
        if len(counts) and counts.min() < k:  # pragma: no cover - AA keeps smaller sizes anonymous
            raise AssertionError("km-anonymity not reached")
    return cur, g


def _ancestors(h: ItemHierarchy) -> np.ndarray:
    """(nodes x depth) ancestors of every node, itself first, padded with -1."""
    depth = 1
    v_depth = []
    for v in range(len(h.labels)):
        path = [v]
        while h.parent[path[-1]] >= 0:
            path.append(int(h.parent[path[-1]]))
        v_depth.append(path)
        depth = max(depth, len(path))
    out = np.full((len(h.labels), depth), -1, dtype=np.int64)
    for v, path in enumerate(v_depth):
        out[v, : len(path)] = path
    return out


def _cheapest(nodes, h, cur, occ, ncp, leaf_nodes, anc) -> int | None:
    """The parent, among the itemset's nodes' parents, whose subtree's generalisation adds the least NCP."""
    best, best_cost = None, np.inf
    for v in nodes:
        p = int(h.parent[v])
        if p < 0:
            continue
        under = leaf_nodes[(anc[leaf_nodes] == p).any(axis=1)]
        cost = float((occ[under] * (ncp[p] - ncp[cur[under]])).sum())
        if cost < best_cost - 1e-12 or (abs(cost - best_cost) <= 1e-12 and best is not None and p < best):
            best, best_cost = p, cost
    return best
