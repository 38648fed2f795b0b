"""The contract every k-anonymity method keeps, and :func:`anonymize`, which runs one by name.

An :class:`Anonymizer` holds a method's parameters, named one by one in its ``__init__`` (scikit-learn's rule:
no ``**params``), so :meth:`~Anonymizer.get_params`, the ``repr`` and the documentation come from the signature.
:meth:`~Anonymizer.apply` is a short template: encode the table (:func:`~anonlab.deid.encoded_table.encode_table`,
shared), partition it into equivalence classes (``_partition``, the one step a method writes), then release
(labels per class, suppressed records removed or starred, l and t measured, information loss) and report
(:class:`~anonlab.deid.report.AnonymizationReport`). Methods are listed by name in :mod:`anonlab.deid.registry`,
which says how to add one.

The parameters every method shares, and their privacy meaning:

- ``k``: every released record shares its quasi-identifiers with at least ``k - 1`` others, so linking on them
  singles out no one (linkage risk at most 1/k). At least 2.
- ``l``: each class holds at least ``l`` "well-represented" values of every sensitive column, so knowing someone's
  class does not reveal their value; ``l_kind``: ``distinct`` (l different values), ``entropy`` (entropy at
  least log l) or ``recursive`` ((c, l): the commonest value is rarer than ``c`` times the l-th and rarer ones
  together).
- ``t``: the sensitive distribution of every class is within Earth Mover's Distance ``t`` of the released
  table's, bounding what the class teaches about a person beyond the table itself.
- ``max_suppression``: fraction of records (0 to 1) that may be withheld to avoid coarse classes;
  ``suppress_mark``: keep withheld records, with ``*`` in their quasi-identifiers, instead of removing them.

Privacy meaning: these models protect against an attacker who links on the quasi-identifiers named in
``quasi=``, and only those. The released table is still personal data; none of this is differential privacy.
"""

from __future__ import annotations

import abc
import inspect
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from anonlab.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

    from anonlab.deid.criteria import Criteria
    from anonlab.deid.encoded_table import EncodedTable
    from anonlab.deid.report import AnonymizationReport

__all__ = ["Anonymizer", "Classes", "NotSatisfiable", "Partition", "anonymize", "L_KINDS", "SUPPRESSED"]

L_KINDS = ("distinct", "entropy", "recursive")
SUPPRESSED = "*"


class NotSatisfiable(ValueError):
    """The whole table (after suppression) does not meet the criteria, so no partition can."""


@dataclass(frozen=True)
class Classes:
    """Equivalence classes as runs of an order array: class ``i`` holds rows ``order[starts[i]:ends[i]]``."""

    order: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        return self.ends - self.starts

    @property
    def n_classes(self) -> int:
        return len(self.starts)

    def class_of_row(self, n_rows: int) -> np.ndarray:
        """Class number of each row, -1 for rows in no class (suppressed)."""
        out = np.full(n_rows, -1, dtype=np.int64)
        out[self.order] = np.repeat(np.arange(self.n_classes), self.sizes)
        return out


@dataclass(frozen=True)
class Partition:
    """What a method's ``_partition`` returns: the classes over the released rows (rows in no class are
    suppressed), each class's label and NCP per quasi-identifier (``labels[j][i]``, ``ncp[i, j]``), what was done
    per column (``generalisation``, reported as is) and search statistics (``search``, may be empty)."""

    classes: Classes
    labels: list
    ncp: np.ndarray
    generalisation: dict
    search: dict = field(default_factory=dict)


def _check_fraction(name: str, value) -> None:
    if not isinstance(value, int | float | np.number) or not 0 <= value <= 1:
        raise UsageError(f"{name}={value!r}: must lie between 0 and 1 (a fraction of the records)")


class Anonymizer(abc.ABC):
    """A k-anonymity method: its parameters, and :meth:`apply`.

    A subclass names every parameter in its ``__init__`` (keyword only, stored under the same name), stores its
    own, then calls ``super().__init__(k=..., l=..., l_kind=..., c=..., t=..., max_suppression=...,
    suppress_mark=..., progress=...)``, which stores the shared ones and validates all (:meth:`_validate`,
    extended by a subclass with checks of its own). It implements :meth:`_partition`.
    """

    #: The name the method is registered under (:mod:`anonlab.deid.registry`), recorded in reports.
    name: ClassVar[str] = ""

    def __init__(
        self,
        *,
        k: int,
        l: float | None = None,  # noqa: E741
        l_kind: str = "distinct",
        c: float = 2.0,
        t: float | None = None,
        max_suppression: float = 0.0,
        suppress_mark: bool = False,
        progress: bool = False,
    ):
        self.k = k
        self.l = l
        self.l_kind = l_kind
        self.c = c
        self.t = t
        self.max_suppression = max_suppression
        self.suppress_mark = suppress_mark
        self.progress = progress
        self._validate()

    # -- parameters ---------------------------------------------------------------------------------------------

    def _validate(self) -> None:
        """Check the parameters; errors name them (``k=1: ...``)."""
        if isinstance(self.k, bool) or not isinstance(self.k, int | np.integer) or self.k < 2:
            raise UsageError(f"k={self.k!r}: must be a whole number of at least 2 (k=1 protects no one)")
        if self.l_kind not in L_KINDS:
            raise UsageError(f"l_kind={self.l_kind!r} is not known (use one of {', '.join(L_KINDS)})")
        if self.l is not None and not (isinstance(self.l, int | float | np.number) and self.l >= 1):
            raise UsageError(f"l={self.l!r}: must be a number of at least 1")
        if not (isinstance(self.c, int | float | np.number) and self.c > 0):
            raise UsageError(f"c={self.c!r}: must be greater than 0")
        if self.t is not None:
            _check_fraction("t", self.t)
        _check_fraction("max_suppression", self.max_suppression)

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind == p.KEYWORD_ONLY]

    def get_params(self) -> dict:
        """The parameters, by name, as given to ``__init__`` (``type(m)(**m.get_params())`` is an equal method)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__).parameters
        shown = [
            f"{n}={v!r}"
            for n, v in self.get_params().items()
            if n == "k" or sig[n].default is inspect.Parameter.empty or v != sig[n].default
        ]
        return f"{type(self).__name__}({', '.join(shown)})"

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.get_params() == self.get_params()

    __hash__ = None  # mutable, like a scikit-learn estimator

    def criteria(self) -> Criteria:
        """The k, l and t every class must meet."""
        from anonlab.deid.criteria import Criteria

        return Criteria(k=int(self.k), l=self.l, l_kind=self.l_kind, c=self.c, t=self.t)

    # -- the template -------------------------------------------------------------------------------------------

    def apply(
        self,
        df: pd.DataFrame,
        *,
        quasi=None,
        sensitive=None,
        schema=None,
        hierarchies=None,
        orders=None,
        source: str = "input",
    ) -> tuple[pd.DataFrame, AnonymizationReport]:
        """Release ``df`` k-anonymous (and l-diverse, t-close) on ``quasi``; ``df`` is not modified.

        ``quasi``: the quasi-identifiers, the columns an attacker may know from elsewhere (age, ZIP, sex...);
        ``sensitive``: columns whose disclosure ``l`` and ``t`` protect (always measured in the report). Without
        them, a ``schema``'s roles give them (its ``quasi`` and ``sensitive`` columns present in ``df``).
        ``schema`` (:class:`~anonlab.schema.Schema`): types the columns it lists (an integer-coded category typed
        ``categorical`` is grouped as one); its numeric bounds align built-in intervals, and a category list in a
        non-alphabetical order is the values' order; data outside its domain is an error.
        ``hierarchies``: ``{column: path}`` of ARX-format hierarchy CSVs (for a sensitive category, the
        hierarchy gives t-closeness its hierarchical distance). ``orders``: ``{column: [values in order]}`` for
        categorical quasi-identifiers: classes then group adjacent values.

        Returns the released table (same columns and order; only quasi-identifiers change) and the report.
        Raises :class:`~anonlab.errors.InputError` (a missing column, a bad hierarchy, an empty table) or
        :class:`~anonlab.errors.UsageError` (criteria the table cannot meet). Warnings (also in the report) are
        issued as :class:`~anonlab.errors.PrivacyWarning`.
        """
        from anonlab.deid.encoded_table import encode_table, schema_roles

        t0 = time.perf_counter()
        quasi, sensitive = schema_roles(schema, df.columns, quasi, sensitive)
        if (self.l is not None or self.t is not None) and not sensitive:
            raise UsageError("l= and t= need at least one sensitive column (sensitive=)")
        table = encode_table(
            df,
            quasi=quasi,
            sensitive=sensitive,
            schema=schema,
            hierarchies=hierarchies,
            orders=orders,
            k=int(self.k),
            source=source,
        )
        try:
            part = self._partition(table, self.criteria())
        except NotSatisfiable as exc:
            raise UsageError(f"cannot anonymise: {exc}") from None
        _warn(table.warnings)
        out = _release_frame(table, part, self.suppress_mark)
        given = {"hierarchies": hierarchies, "orders": orders}
        return out, self._report(table, part, given, time.perf_counter() - t0)

    @abc.abstractmethod
    def _partition(self, table: EncodedTable, criteria: Criteria) -> Partition:
        """Equivalence classes of ``table``'s rows that each meet ``criteria`` (within the suppression budget);
        raise :class:`NotSatisfiable` when the table cannot meet them."""

    def _report(
        self, table: EncodedTable, part: Partition, given: dict, seconds: float
    ) -> AnonymizationReport:
        from anonlab.deid.encoded_table import as_pairs
        from anonlab.deid.information_loss import information_loss
        from anonlab.deid.report import AnonymizationReport
        from anonlab.provenance import versions

        classes, n = part.classes, table.n
        n_released = int(classes.sizes.sum())
        params = {
            "method": self.name,
            "quasi": table.quasi_names,
            "sensitive": [s.name for s in table.sensitive],
            **self.get_params(),
            "hierarchies": {c: str(p) for c, p in as_pairs(given["hierarchies"], "hierarchies")},
            "orders": {c: [str(v) for v in vs] for c, vs in as_pairs(given["orders"], "orders")},
        }
        params.pop("progress", None)
        return AnonymizationReport(
            method=self.name,
            parameters=params,
            n_input=n,
            n_released=n_released,
            n_suppressed=n - n_released,
            suppressed_marked=bool(self.suppress_mark),
            n_classes=classes.n_classes,
            k=int(classes.sizes.min()),
            sensitive={s.name: _measure(classes, s, self.criteria()) for s in table.sensitive},
            loss=information_loss(part.ncp, classes.sizes, n - n_released, int(self.k), table.quasi_names),
            generalisation=part.generalisation,
            search=part.search,
            seconds=seconds,
            versions=versions(),
            warnings=tuple(table.warnings),
        )


def _warn(notes) -> None:
    import warnings

    from anonlab.errors import PrivacyWarning

    for note in notes:
        warnings.warn(note, PrivacyWarning, stacklevel=4)


def _release_frame(table: EncodedTable, part: Partition, suppress_mark: bool) -> pd.DataFrame:
    """The released table: quasi-identifiers replaced by their class's label, other columns passed through
    unchanged (no copy of the whole frame), suppressed rows removed or starred."""
    import pandas as pd

    n, classes = table.n, part.classes
    if int(classes.sizes.sum()) == 0:
        raise UsageError("cannot anonymise: every record would be suppressed")
    cls_row = classes.class_of_row(n)
    kept = cls_row >= 0
    new_cols = {}
    for q, lab in zip(table.quasi, part.labels, strict=True):
        col = np.full(n, SUPPRESSED, dtype=object)
        col[kept] = lab[cls_row[kept]]
        new_cols[q.name] = col
    src = table.source
    out = pd.DataFrame(
        {c: (new_cols[c] if c in new_cols else src[c].to_numpy()) for c in src.columns}, columns=src.columns
    )
    if not suppress_mark and not kept.all():
        out = out.loc[kept].reset_index(drop=True)
    return out


def _measure(classes: Classes, s, crit: Criteria) -> dict:
    """Achieved l (distinct, entropy) and t of one sensitive column over the released classes; with recursive
    diversity, the smallest c for which it holds at the asked l."""
    from anonlab.deid.criteria import distribution, measure_groups

    codes = s.codes[classes.order]
    m = measure_groups(classes.starts, classes.ends, s, codes, distribution(codes, s.n_values))
    if crit.l_kind == "recursive" and crit.l is not None:
        m["recursive_c_needed"] = _recursive_ratio(classes, codes, s.n_values, int(np.ceil(crit.l)))
    return m


def _recursive_ratio(classes: Classes, codes, n_values: int, li: int) -> float | None:
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


def anonymize(
    df: pd.DataFrame,
    *,
    quasi=None,
    k: int | None = None,
    l: float | None = None,  # noqa: E741
    t: float | None = None,
    sensitive=None,
    method: str = "mondrian",
    schema=None,
    hierarchies=None,
    orders=None,
    source: str = "input",
    **params,
) -> tuple[pd.DataFrame, AnonymizationReport]:
    """k-anonymise ``df`` with the method registered as ``method`` (``"mondrian"``, ``"global"``, ...).

    The same as ``get_method(method)(k=k, l=l, t=t, **params).apply(df, quasi=..., sensitive=..., schema=...,
    hierarchies=..., orders=...)``: see :class:`Anonymizer` for what ``k``, ``l``, ``t`` and the columns mean,
    and each method's class (:class:`~anonlab.deid.mondrian.Mondrian`,
    :class:`~anonlab.deid.lattice.GlobalRecoding`) for its own ``params`` (``strict=``, ``loss=``,
    ``max_suppression=``, ``suppress_mark=``, ``l_kind=``, ``c=`` ...). A parameter the method does not take is
    an error naming it. ``source`` names the table in messages (a file name). Returns ``(released table,
    AnonymizationReport)``; ``df`` is not modified.

    >>> released, report = anonymize(df, quasi=["age", "sex", "zip"], k=10)            # doctest: +SKIP
    >>> released, report = anonymize(df, quasi=q, k=5, l=2, sensitive=["diagnosis"], method="global")  # +SKIP
    """
    from anonlab.deid.registry import get_method

    cls = get_method(method)
    known = cls._param_names()
    # k, l and t are passed only when given: a method that takes no k (a perturbative one) refuses k= by name
    params = {**{n: v for n, v in (("k", k), ("l", l), ("t", t)) if v is not None}, **params}
    unknown = [p for p in params if p not in known]
    if unknown:
        raise UsageError(
            f"method={method!r} takes no parameter {unknown[0]}= (its parameters: {', '.join(known)})"
        )
    if "k" in known and "k" not in params:
        raise UsageError(f"method={method!r} needs k= (the smallest class size)")
    anonymizer = cls(**params)
    return anonymizer.apply(
        df,
        quasi=quasi,
        sensitive=sensitive,
        schema=schema,
        hierarchies=hierarchies,
        orders=orders,
        source=source,
    )
