"""The library entry point of k-anonymisation: ``anonymize(df, config) -> AnonymizeResult``.

It ties the pieces together: quasi-identifiers and sensitive attributes are encoded as integer codes
(:mod:`~anonlab.deid.quasi`), partitioned by Mondrian (:mod:`~anonlab.deid.mondrian`) or recoded by the optimal
full-domain generalisation (:mod:`~anonlab.deid.lattice`), checked against k, l and t
(:mod:`~anonlab.deid.criteria`), and written back as readable labels (``30-39``, ``{Divorced,Separated}``, a
hierarchy's label). Non-quasi columns are never touched and the column order is kept. The result carries the
released table, what was achieved (k, l, t), suppression, information loss, the generalisation applied per
column, and the parameters, so a report can be rendered from it without recomputing.

Privacy meaning: k-anonymity, l-diversity and t-closeness limit linkage and attribute disclosure for an
attacker who knows the quasi-identifiers named here, and only those. The released table is still personal
data; none of this is differential privacy.

A recipe (TOML) can hold the configuration: see :meth:`AnonymizeConfig.from_recipe`.
"""

from __future__ import annotations

import os
import time
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from anonlab.errors import InputError, UsageError
from anonlab.provenance import versions

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AnonymizeConfig",
    "AnonymizeResult",
    "anonymize",
    "mapping_warnings",
    "schema_roles",
    "load_schema",
    "METHODS",
    "L_KINDS",
    "LOSSES",
]

METHODS = ("mondrian", "global")
L_KINDS = ("distinct", "entropy", "recursive")
LOSSES = ("gcp", "discernibility")
SUPPRESSED = "*"


@dataclass(frozen=True)
class AnonymizeConfig:
    """What to protect and how. Validated on construction (:class:`~anonlab.errors.UsageError`).

    - ``quasi``: quasi-identifiers, the columns an attacker may know from elsewhere (age, ZIP, sex ...).
    - ``k``: every released record shares its quasi-identifiers with at least ``k - 1`` others, so linking on
      them singles out no one (linkage risk at most 1/k).
    - ``sensitive``: attributes whose disclosure l and t protect (diagnosis, income).
    - ``l``: each class holds at least ``l`` "well-represented" sensitive values, so knowing someone's class
      does not reveal their value; ``l_kind``: ``distinct`` (l different values), ``entropy`` (entropy at least
      log l) or ``recursive`` ((c, l): the most frequent value is rarer than ``c`` times the l-th and rarer
      ones together).
    - ``t``: the sensitive distribution of every class is within Earth Mover's Distance ``t`` of the whole
      released table's, bounding what the class teaches about a person beyond the table itself.
    - ``method``: ``mondrian`` (multidimensional, least loss) or ``global`` (one recoding per column, from
      hierarchies; optimal under ``loss``).
    - ``strict``: Mondrian keeps equal values on one side of a cut (classes' regions never overlap).
    - ``max_suppression``: fraction of records that may be withheld to avoid coarse classes (0 to 1).
    - ``suppress_mark``: keep withheld records with ``*`` in their quasi-identifiers instead of removing them.
    - ``hierarchies``: ``(column, path)`` pairs of ARX-format hierarchy CSVs; for a sensitive category, the
      hierarchy gives t-closeness its hierarchical distance.
    - ``loss``: what ``global`` minimises: ``gcp`` or ``discernibility``.
    - ``orders``: ``(column, values)`` pairs: the order of a categorical quasi-identifier's values, so that
      ``global``'s built-in hierarchy groups adjacent values (``HS-grad..Bachelors``) instead of grouping by
      frequency. A schema whose category list is not in alphabetical order gives the same.
    """

    quasi: tuple[str, ...]
    k: int
    sensitive: tuple[str, ...] = ()
    l: float | None = None  # noqa: E741
    l_kind: str = "distinct"
    c: float = 2.0
    t: float | None = None
    method: str = "mondrian"
    strict: bool = False
    max_suppression: float = 0.0
    suppress_mark: bool = False
    hierarchies: tuple[tuple[str, str], ...] = ()
    loss: str = "gcp"
    orders: tuple[tuple[str, tuple[str, ...]], ...] = ()
    progress: bool = False

    def __post_init__(self):
        object.__setattr__(self, "quasi", tuple(self.quasi))
        object.__setattr__(self, "sensitive", tuple(self.sensitive))
        hs = self.hierarchies.items() if isinstance(self.hierarchies, dict) else self.hierarchies
        object.__setattr__(self, "hierarchies", tuple((str(c), str(p)) for c, p in hs))
        os_ = self.orders.items() if isinstance(self.orders, dict) else self.orders
        object.__setattr__(self, "orders", tuple((str(c), tuple(str(v) for v in vs)) for c, vs in os_))
        if not self.quasi:
            raise UsageError("give at least one quasi-identifier (--quasi)")
        if len(set(self.quasi)) != len(self.quasi):
            raise UsageError("a quasi-identifier is listed twice")
        both = set(self.quasi) & set(self.sensitive)
        if both:
            raise UsageError(f"column {sorted(both)[0]!r} is both a quasi-identifier and sensitive")
        if not isinstance(self.k, int | np.integer) or self.k < 1:
            raise UsageError(f"k must be a whole number of at least 1, not {self.k!r}")
        if self.method not in METHODS:
            raise UsageError(f"unknown method {self.method!r} (use one of {', '.join(METHODS)})")
        if self.l_kind not in L_KINDS:
            raise UsageError(f"unknown l-diversity kind {self.l_kind!r} (use one of {', '.join(L_KINDS)})")
        if self.loss not in LOSSES:
            raise UsageError(f"unknown loss {self.loss!r} (use one of {', '.join(LOSSES)})")
        if (self.l is not None or self.t is not None) and not self.sensitive:
            raise UsageError("l-diversity and t-closeness need at least one sensitive column (--sensitive)")
        if self.l is not None and not self.l >= 1:
            raise UsageError(f"l must be at least 1, not {self.l}")
        if self.l_kind == "recursive" and self.l is not None and not self.c > 0:
            raise UsageError(f"c must be greater than 0, not {self.c}")
        if self.t is not None and not 0 <= self.t <= 1:
            raise UsageError(f"t must lie between 0 and 1, not {self.t}")
        if not 0 <= self.max_suppression <= 1:
            raise UsageError(f"max suppression must lie between 0 and 1, not {self.max_suppression}")
        named = [c for c, _ in self.hierarchies]
        unknown = [c for c in named if c not in self.quasi and c not in self.sensitive]
        if unknown:
            raise UsageError(f"hierarchy given for {unknown[0]!r}, which is neither quasi nor sensitive")
        for c, vs in self.orders:
            if c not in self.quasi:
                raise UsageError(f"an order is given for {c!r}, which is not a quasi-identifier")
            if len(set(vs)) != len(vs):
                raise UsageError(f"the order of {c!r} lists a value twice")

    @classmethod
    def from_recipe(
        cls, path: str | os.PathLike, defaults: dict | None = None, **overrides: Any
    ) -> AnonymizeConfig:
        """Read the ``[anonymize]`` table of a TOML recipe (or its top level), then apply ``overrides``.

        Keys are this class's field names (``quasi``, ``k``, ``sensitive``, ``l``, ``l_kind``, ``c``, ``t``,
        ``method``, ``strict``, ``max_suppression``, ``suppress_mark``, ``loss``),
        ``[anonymize.hierarchies]`` mapping a column to a CSV path, relative to the recipe's folder, and
        ``[anonymize.orders]`` mapping a column to the list of its values in order. ``defaults`` (for example
        the roles of a schema) fill what neither the recipe nor ``overrides`` give.
        """
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: no such recipe file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not a valid TOML recipe ({exc})") from None
        table = data.get("anonymize", data)
        known = {f for f in cls.__dataclass_fields__ if f != "progress"}
        extra = sorted(set(table) - known)
        if extra:
            raise InputError(
                f"{path}: unknown key {extra[0]!r} in the recipe (known: {', '.join(sorted(known))})"
            )
        values = dict(table)
        hier = values.pop("hierarchies", {}) or {}
        if not isinstance(hier, dict):
            raise InputError(f"{path}: 'hierarchies' must be a table of column = \"file.csv\"")
        values["hierarchies"] = tuple((c, str(path.parent / p)) for c, p in hier.items())
        orders = values.pop("orders", {}) or {}
        if not isinstance(orders, dict) or not all(isinstance(v, list) for v in orders.values()):
            raise InputError(f"{path}: 'orders' must be a table of column = [\"value\", ...]")
        values["orders"] = tuple((c, tuple(map(str, v))) for c, v in orders.items())
        values.update({k: v for k, v in overrides.items() if v is not None})
        _fill_defaults(values, defaults or {})
        if "quasi" not in values or "k" not in values:
            raise InputError(f"{path}: the recipe (with the options given) must name quasi and k")
        try:
            return cls(**values)
        except TypeError as exc:
            raise InputError(f"{path}: {exc}") from None

    @classmethod
    def from_schema(cls, schema, columns, **overrides: Any) -> AnonymizeConfig:
        """Quasi-identifiers and sensitive columns from a schema's roles (those of ``columns``, the table's: a
        schema with extra columns serves any subset of them), unless ``overrides`` name them; then the
        ``overrides`` (``k`` and the rest)."""
        values = {k: v for k, v in overrides.items() if v is not None}
        _fill_defaults(values, schema_roles(schema, columns))
        if not values.get("quasi"):
            raise UsageError("the schema marks none of the table's columns as quasi; give --quasi")
        if values.get("k") is None:
            raise UsageError("give --k (or a --recipe that names it)")
        return cls(**values)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["quasi"] = list(self.quasi)
        d["sensitive"] = list(self.sensitive)
        d["hierarchies"] = dict(self.hierarchies)
        d["orders"] = {c: list(v) for c, v in self.orders}
        d.pop("progress")
        return d


def _fill_defaults(values: dict, defaults: dict) -> None:
    """Fill keys ``values`` lacks from ``defaults``; default sensitive columns the user made quasi are dropped."""
    for k, v in defaults.items():
        if values.get(k) is None and v is not None:
            values[k] = v if k != "sensitive" else [c for c in v if c not in set(values.get("quasi") or ())]


def schema_roles(schema, columns) -> dict:
    """``{"quasi": [...], "sensitive": [...]}``: the schema's quasi-identifiers and sensitive columns among
    ``columns`` (in the schema's order)."""
    cols = set(map(str, columns))
    return {
        "quasi": [c for c in schema.with_role("quasi") if c in cols],
        "sensitive": [c for c in schema.with_role("sensitive") if c in cols],
    }


def load_schema(spec: str | os.PathLike):
    """A schema from a TOML file, or ``"adult"`` for the bundled UCI Adult schema (public domains)."""
    if str(spec) == "adult":
        from anonlab.datasets import adult_schema

        return adult_schema()
    from anonlab.schema import Schema

    return Schema.read(spec)


@dataclass(frozen=True)
class AnonymizeResult:
    """A k-anonymised release and what it achieved.

    ``data``: the released table (same columns, same order; suppressed rows removed or starred).
    ``k``: the smallest class size (suppressed records excluded). ``l``: per sensitive column, the achieved
    distinct l, entropy l (exp of the smallest class entropy) and t (largest EMD from the released table).
    ``loss``: :class:`~anonlab.deid.information_loss.InformationLoss`. ``generalisation``: per column, what was
    applied (for ``global``: the hierarchy's kind and the level chosen). ``search``: for ``global``, the lattice
    statistics. ``warnings``: what weakens the release as configured, found on the data (a column left in clear
    that is a deterministic function of a quasi-identifier, or determines one; a schema identifier left in).
    """

    data: pd.DataFrame = field(repr=False)
    config: AnonymizeConfig
    n_input: int
    n_released: int
    n_suppressed: int
    n_classes: int
    k: int
    sensitive: dict
    loss: Any
    generalisation: dict
    search: dict
    seconds: float
    versions: dict
    warnings: tuple = ()

    @property
    def t(self) -> float | None:
        ts = [v["t"] for v in self.sensitive.values() if v.get("t") is not None]
        return max(ts) if ts else None

    @property
    def l_distinct(self) -> int | None:
        ls = [v["l_distinct"] for v in self.sensitive.values() if v.get("l_distinct") is not None]
        return min(ls) if ls else None

    def to_dict(self) -> dict:
        return {
            "method": self.config.method,
            "parameters": self.config.to_dict(),
            "records": {
                "input": self.n_input,
                "released": self.n_released,
                "suppressed": self.n_suppressed,
                "suppressed_marked": self.config.suppress_mark,
            },
            "classes": self.n_classes,
            "achieved": {
                "k": self.k,
                "l_distinct": self.l_distinct,
                "t": self.t,
                "per_sensitive": self.sensitive,
            },
            "information_loss": self.loss.to_dict(),
            "generalisation": self.generalisation,
            "search": self.search,
            "seconds": self.seconds,
            "versions": self.versions,
            "warnings": list(self.warnings),
            "privacy_note": (
                "k-anonymity / l-diversity / t-closeness against an attacker knowing the named quasi-identifiers; "
                "not differential privacy; the release is still personal data"
            ),
        }


def _read_hierarchy_rows(path: str) -> list[list[str]]:
    from anonlab.deid.hierarchy import read_rows

    return read_rows(path)


def mapping_warnings(
    df: pd.DataFrame, quasi, min_repeat: float = 2.0, codes: dict | None = None
) -> list[str]:
    """Columns outside ``quasi`` that a quasi-identifier determines, or that determine one, on this data.

    A column ``c`` is a function of quasi-identifier ``q`` when every value of ``q`` comes with one value of ``c``
    (``groupby(q)[c].nunique() == 1``), and determines ``q`` when the reverse holds. Left in clear beside a
    generalised ``q``, such a column undoes the generalisation (``education-num`` beside ``education``: a
    one-to-one code) or gives part of it back. Missing values count as a value. Constant columns are skipped, and
    so are columns whose values repeat less than ``min_repeat`` times on average (near-unique columns determine
    everything on a sample; they are identifier-like, a different problem). Vectorised: one factorisation per
    column and one count of distinct pairs per (column, quasi-identifier). ``codes``: ``{column: (codes, number
    of codes)}`` already computed (the quasi-identifiers' own encoding), reused instead of factorising again.
    """
    import pandas as pd

    n = len(df)
    if n == 0:
        return []
    given = codes or {}
    codes, sizes = {}, {}
    for c in df.columns:
        if c in given:
            codes[c], sizes[c] = np.asarray(given[c][0], dtype=np.int64), int(given[c][1])
            continue
        f, u = pd.factorize(df[c], use_na_sentinel=False)
        codes[c], sizes[c] = np.asarray(f, dtype=np.int64), len(u)
    quasi = [q for q in quasi if q in codes and sizes[q] > 1]
    out = []
    for c in df.columns:
        if c in quasi or sizes[c] <= 1 or sizes[c] * min_repeat > n:
            continue
        for q in quasi:
            if sizes[q] * min_repeat > n:
                continue
            key = codes[c] * sizes[q] + codes[q]
            top = sizes[c] * sizes[q]
            pairs = (
                int(np.count_nonzero(np.bincount(key, minlength=top)))
                if top <= 4 * n
                else len(pd.unique(key))
            )
            c_to_q, q_to_c = pairs == sizes[c], pairs == sizes[q]
            if not (c_to_q or q_to_c):
                continue
            if c_to_q and q_to_c:
                how = f"is a one-to-one recoding of quasi-identifier {q!r}"
                effect = f"undoes the generalisation of {q!r}"
            elif c_to_q:
                how = f"determines quasi-identifier {q!r} (each value of {c!r} has one value of {q!r})"
                effect = f"undoes the generalisation of {q!r}"
            else:
                how = f"is a function of quasi-identifier {q!r} (each value of {q!r} has one value of {c!r})"
                effect = f"gives part of {q!r} back"
            out.append(
                f"column {c!r} {how} on this data: left in clear it {effect}; add {c!r} to the "
                "quasi-identifiers (--quasi) or drop it"
            )
    return out


def _schema_domains(df, cfg: AnonymizeConfig, schema):
    """The table as the schema types it (quasi and sensitive columns), the categories' orders and the numeric
    bounds the schema gives, checked against the data (a value outside its domain is an InputError)."""
    from anonlab.schema import Schema

    orders = {c: list(v) for c, v in cfg.orders}
    bounds: dict = {}
    if schema is None:
        return df, orders, bounds
    used = [c for c in list(cfg.quasi) + list(cfg.sensitive) if c in schema]
    if not used:
        return df, orders, bounds
    sub = Schema(tuple(schema[c] for c in used))
    typed = sub.coerce(df[used], "input")
    work = df.copy(deep=False)
    for c in used:
        work[c] = typed[c]
        col = schema[c]
        s = typed[c].dropna()
        if col.is_categorical and col.categories is not None:  # categorical or code (ZIPs, ICD codes)
            bad = ~s.astype(str).isin(col.categories)
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(
                    f"input: column {c!r}: value {str(s.iloc[i])!r} is not among the schema's categories"
                )
            cats = list(col.categories)
            if c in cfg.quasi and c not in orders and cats != sorted(cats):
                orders[c] = cats  # a list the schema's author ordered by hand is the values' order
        elif col.type in ("integer", "float") and col.lower is not None:
            out = s[(s < col.lower) | (s > col.upper)]
            if len(out):
                raise InputError(
                    f"input: column {c!r}: value {out.iloc[0]} lies outside the schema's bounds "
                    f"{col.lower} to {col.upper}"
                )
            bounds[c] = (float(col.lower), float(col.upper))
    return work, orders, bounds


def anonymize(df: pd.DataFrame, config: AnonymizeConfig, schema=None) -> AnonymizeResult:
    """k-anonymise ``df`` as ``config`` says; ``df`` is not modified.

    ``schema`` (an :class:`~anonlab.schema.Schema`, optional): types the quasi-identifiers and sensitive columns
    it lists (an integer-coded category typed ``categorical`` is grouped as one), and gives the built-in
    hierarchies of ``global`` their domains: numeric bounds align the intervals, a category list in a
    non-alphabetical order is the values' order. Data outside a schema's domain is an error.

    Raises :class:`~anonlab.errors.InputError` for a missing column, a bad hierarchy, or an empty table, and
    :class:`~anonlab.errors.UsageError` when the criteria cannot be met (k larger than the table, fewer distinct
    sensitive values than l, ...) rather than suppressing everything. Warnings (also in the result) are issued
    as :class:`~anonlab.errors.PrivacyWarning`.
    """
    from anonlab.deid.criteria import Criteria, distribution, measure_groups
    from anonlab.deid.information_loss import information_loss
    from anonlab.deid.mondrian import NotSatisfiable, describe_classes, mondrian
    from anonlab.deid.quasi import encode_quasi, encode_sensitive
    from anonlab.io import require_columns

    t0 = time.perf_counter()
    cfg = config
    require_columns(df, list(cfg.quasi) + list(cfg.sensitive), "input")
    n = len(df)
    if n == 0:
        raise InputError("input: the table has no rows")
    if cfg.k > n:
        raise UsageError(
            f"k={cfg.k} is larger than the table ({n:,} records): no class of k records can exist"
        )
    source_df = df
    df, orders, bounds = _schema_domains(df, cfg, schema)
    notes: list[str] = []
    if schema is not None:
        notes += [
            f"column {c!r} is an identifier in the schema and is released unchanged: pseudonymise or drop it"
            for c in schema.with_role("identifier")
            if c in df.columns
        ]
    hier_rows = {c: (_read_hierarchy_rows(p), p) for c, p in cfg.hierarchies}
    quasi = [encode_quasi(df[c], *(hier_rows[c] if c in hier_rows else (None, ""))) for c in cfg.quasi]
    notes = (
        mapping_warnings(source_df, cfg.quasi, codes={q.name: (q.codes, q.n_codes) for q in quasi}) + notes
    )
    sensitive = []
    for c in cfg.sensitive:
        s = encode_sensitive(df[c])
        if c in hier_rows and not s.ordered:
            import pandas as pd

            from anonlab.deid.hierarchy import from_table

            labels = np.asarray(pd.Series(pd.unique(df[c].dropna().astype(str))).sort_values(), dtype=object)
            if len(labels) < s.n_values:
                labels = np.append(labels, "NA")
            h = from_table(c, hier_rows[c][0], labels, hier_rows[c][1])
            s = replace(s, hierarchy=h)
        sensitive.append(s)
    crit = Criteria(k=int(cfg.k), l=cfg.l, l_kind=cfg.l_kind, c=cfg.c, t=cfg.t)
    search: dict = {}
    try:
        if cfg.method == "mondrian":
            classes = mondrian(quasi, sensitive, crit, strict=cfg.strict, progress=cfg.progress)
            if cfg.max_suppression > 0:
                classes = _mondrian_with_suppression(classes, quasi, sensitive, crit, cfg, n)
            labels, class_ncp = describe_classes(classes, quasi)
            generalisation = {
                q.name: {
                    "kind": "hierarchy"
                    if q.hierarchy is not None and q.kind == "category"
                    else ("set" if q.kind == "category" else "range"),
                    "distinct_released": len(set(lab.tolist())),
                    "distinct_original": int(q.n_codes),
                }
                for q, lab in zip(quasi, labels, strict=True)
            }
        else:
            from anonlab.deid.lattice import global_search
            from anonlab.deid.quasi import default_hierarchy

            hierarchies = [default_hierarchy(q, orders.get(q.name), bounds.get(q.name)) for q in quasi]
            res = global_search(
                quasi, hierarchies, sensitive, crit, cfg.max_suppression, cfg.loss, progress=cfg.progress
            )
            classes = res.classes
            labels, class_ncp = _global_labels(classes, quasi, hierarchies, res.levels)
            generalisation = {
                q.name: {
                    "kind": h.kind,
                    "level": lev,
                    "levels": h.height + 1,
                    "distinct_released": int(len(np.unique(np.asarray(h.groups[lev])))),
                    "distinct_original": int(q.n_codes),
                }
                for q, h, lev in zip(quasi, hierarchies, res.levels, strict=True)
            }
            search = {
                "lattice_nodes": res.nodes_total,
                "nodes_evaluated": res.nodes_evaluated,
                "optimum": list(res.levels),
                "loss": cfg.loss,
                "loss_value": res.loss,
            }
    except NotSatisfiable as exc:
        raise UsageError(f"cannot anonymise: {exc}") from None

    import warnings

    from anonlab.errors import PrivacyWarning

    for note in notes:
        warnings.warn(note, PrivacyWarning, stacklevel=2)
    n_released = int(classes.sizes.sum())
    n_supp = n - n_released
    if n_released == 0:
        raise UsageError("cannot anonymise: every record would be suppressed")
    import pandas as pd

    cls_row = classes.class_of_row(n)
    kept = cls_row >= 0
    new_cols = {}
    for q, lab in zip(quasi, labels, strict=True):
        col = np.full(n, SUPPRESSED, dtype=object)
        col[kept] = lab[cls_row[kept]]
        new_cols[q.name] = col
    # build the release column by column (no copy of the whole frame); other columns pass through unchanged
    out = pd.DataFrame(
        {c: (new_cols[c] if c in new_cols else source_df[c].to_numpy()) for c in df.columns},
        columns=df.columns,
    )
    if not cfg.suppress_mark and not kept.all():
        out = out.loc[kept].reset_index(drop=True)
    per_sensitive = {}
    for s in sensitive:
        codes = s.codes[classes.order]
        p = distribution(codes, s.n_values)
        m = measure_groups(classes.starts, classes.ends, s, codes, p)
        if cfg.l_kind == "recursive" and cfg.l is not None:
            m["recursive_c_needed"] = _recursive_ratio(classes, codes, s.n_values, int(np.ceil(cfg.l)))
        per_sensitive[s.name] = m
    loss = information_loss(class_ncp, classes.sizes, n_supp, cfg.k, list(cfg.quasi))
    return AnonymizeResult(
        data=out,
        config=cfg,
        n_input=n,
        n_released=n_released,
        n_suppressed=n_supp,
        n_classes=classes.n_classes,
        k=int(classes.sizes.min()),
        sensitive=per_sensitive,
        loss=loss,
        generalisation=generalisation,
        search=search,
        seconds=time.perf_counter() - t0,
        versions=versions(),
        warnings=tuple(notes),
    )


def _recursive_ratio(classes, codes, n_values, li) -> float | None:
    """Largest r_1 / (r_l + ... + r_m) over classes: (c, l)-diversity holds for any c above it."""
    from anonlab.deid.criteria import group_counts

    counts = group_counts(codes, classes.starts, classes.ends, n_values)
    r = -np.sort(-counts, axis=1)
    if r.shape[1] < li:
        return None
    tail = r[:, li - 1 :].sum(axis=1)
    with np.errstate(divide="ignore"):
        ratio = np.where(tail > 0, r[:, 0] / np.maximum(tail, 1), np.inf)
    v = float(ratio.max())
    return v if np.isfinite(v) else None


def _mondrian_with_suppression(classes, quasi, sensitive, crit, cfg, n):
    """Withhold the records of the coarsest classes (outliers that widen them) within the budget, then
    partition the rest again: with the outliers gone the remaining classes come out finer. The budget is a
    ceiling: the second partition is kept only when its GCP (withheld records costing 1) is lower."""
    from anonlab.deid.mondrian import NotSatisfiable, describe_classes, mondrian

    budget = int(np.floor(cfg.max_suppression * n + 1e-9))
    if budget < 1:
        return classes
    _, ncp = describe_classes(classes, quasi, with_labels=False)
    score = ncp.mean(axis=1)
    sizes = classes.sizes
    mean = float((score * sizes).sum() / sizes.sum())
    rank = np.argsort(-score, kind="stable")
    cum = np.cumsum(sizes[rank])
    pick = rank[(cum <= budget) & (score[rank] > mean)]
    if not len(pick):
        return classes
    drop = np.zeros(classes.n_classes, dtype=bool)
    drop[pick] = True
    keep_rows = classes.order[~np.repeat(drop, sizes)]
    try:
        again = mondrian(quasi, sensitive, crit, strict=cfg.strict, rows=np.sort(keep_rows))
    except NotSatisfiable:
        return classes
    # keep the second partition only if it loses less information, withheld records counted at full loss
    _, ncp2 = describe_classes(again, quasi, with_labels=False)
    gcp1 = float((ncp.mean(axis=1) * sizes).sum()) / n
    gcp2 = (float((ncp2.mean(axis=1) * again.sizes).sum()) + (n - int(again.sizes.sum()))) / n
    return again if gcp2 < gcp1 else classes


def _global_labels(classes, quasi, hierarchies, levels):
    """Labels and NCP of each class under a full-domain recoding (one level per column)."""
    from anonlab.deid.lattice import level_ncp

    first = classes.order[classes.starts] if classes.n_classes else np.zeros(0, dtype=np.int64)
    labels, ncp = [], np.zeros((classes.n_classes, len(quasi)))
    for j, (q, h, lev) in enumerate(zip(quasi, hierarchies, levels, strict=True)):
        code = q.codes[first]
        labels.append(np.asarray(h.labels[lev], dtype=object)[code])
        ncp[:, j] = level_ncp(q, h, lev)[code]
    return labels, ncp
