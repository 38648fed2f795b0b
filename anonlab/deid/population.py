"""The population table of delta-presence and k-map, encoded together with the research sample.

ARX's delta-presence and k-map (with a population table) compare each class of the released sample with the same
class in a public population table the sample was drawn from (voter lists, a census extract). Both are recoded
by one hierarchy, so they are encoded as one table: the sample's rows, then the population's
(:func:`encode_with_population`); the population's codes ride along in :class:`PopulationTable`.

The sample must be a subset of the population (Nergiz, Atzori and Clifton 2007): on the quasi-identifiers, no
combination of values may be held by more sample records than population records. This is checked; a sample that
is not a subset is refused (the probabilities of delta-presence would exceed 1, and k-map's counts would be wrong).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from anonlab.deid.encoded_table import EncodedTable
from anonlab.errors import InputError, UsageError

__all__ = [
    "PopulationTable",
    "PopulationParams",
    "read_population",
    "encode_with_population",
    "apply_model",
    "population_label",
]


@dataclass(frozen=True)
class PopulationTable(EncodedTable):
    """An :class:`~anonlab.deid.encoded_table.EncodedTable` of the sample whose quasi-identifier codes are shared
    with the population's (``population_codes``: one array per quasi-identifier, in ``quasi``'s order)."""

    population_codes: list = field(default_factory=list, repr=False)

    @property
    def n_population(self) -> int:
        return len(self.population_codes[0]) if self.population_codes else 0


def read_population(population, quasi: list[str], like: pd.DataFrame) -> pd.DataFrame:
    """The population's quasi-identifier columns: ``population`` is a DataFrame or a table's path (read as
    :func:`anonlab.io.read_table` reads it). Each column takes the sample's (``like``'s) type where it differs."""
    if population is None:
        raise UsageError("population= is needed: the public population table the sample was drawn from")
    if isinstance(population, str | os.PathLike):
        from anonlab.io import read_table

        source = str(population)
        pop = read_table(population)
    elif isinstance(population, pd.DataFrame):
        source, pop = "population", population
    else:
        raise UsageError(f"population={type(population).__name__}: give a DataFrame or a table's path")
    missing = [c for c in quasi if c not in pop.columns]
    if missing:
        raise InputError(
            f"{source}: no column {missing[0]!r} (a quasi-identifier, quasi=) in the population table"
        )
    if len(pop) == 0:
        raise InputError(f"{source}: the population table has no rows")
    out = {}
    for c in quasi:
        col = pop[c]
        if col.dtype != like[c].dtype:
            try:
                col = col.astype(like[c].dtype)
            except (TypeError, ValueError):
                raise InputError(
                    f"{source}: column {c!r} holds {col.dtype} values where the sample holds {like[c].dtype}"
                ) from None
        out[c] = col.reset_index(drop=True)
    return pd.DataFrame(out)


def encode_with_population(
    df: pd.DataFrame, pop: pd.DataFrame, *, quasi, sensitive, schema, hierarchies, orders, k: int, source: str
) -> PopulationTable:
    """Encode the sample ``df`` and the population ``pop`` alike; check that the sample is a subset."""
    from anonlab.deid.encoded_table import encode_table

    own = encode_table(
        df,
        quasi=quasi,
        sensitive=sensitive,
        schema=schema,
        hierarchies=hierarchies,
        orders=orders,
        k=k,
        source=source,
    )
    both = pd.concat([df[own.quasi_names], pop[own.quasi_names]], ignore_index=True)
    union = encode_table(
        both, quasi=own.quasi_names, schema=schema, hierarchies=hierarchies, orders=orders, k=1, source=source
    )
    n = len(df)
    quasi_cols = [replace(q, codes=q.codes[:n]) for q in union.quasi]
    pop_codes = [q.codes[n:] for q in union.quasi]
    _check_subset(quasi_cols, pop_codes, source)
    return PopulationTable(
        df, quasi_cols, own.sensitive, union.orders, union.bounds, own.warnings, population_codes=pop_codes
    )


def _check_subset(quasi, pop_codes, source: str) -> None:
    n = len(quasi[0].codes)
    key = np.zeros(n + len(pop_codes[0]), dtype=np.int64)
    for q, pc in zip(quasi, pop_codes, strict=True):
        key = pd.factorize(key * q.n_codes + np.concatenate([q.codes, pc]).astype(np.int64))[0].astype(
            np.int64
        )
    m = int(key.max()) + 1
    over = np.bincount(key[:n], minlength=m) > np.bincount(key[n:], minlength=m)
    if over.any():
        raise InputError(
            f"{source}: the sample is not a subset of the population: {int(over.sum())} combination(s) of "
            "quasi-identifier values are held by more sample records than population records"
        )


def population_label(population) -> str:
    """How a report names the population: its path, or that a DataFrame was given (never its rows)."""
    if isinstance(population, pd.DataFrame):
        return f"<DataFrame of {len(population):,} rows>"
    return str(population)


class PopulationParams:
    """Mixin for methods whose ``population`` parameter may be a DataFrame: ``repr``, equality and the report
    name it by :func:`population_label` (a DataFrame neither prints nor compares element by element)."""

    get_params: Callable[[], dict]  # the Anonymizer's

    def __repr__(self) -> str:
        shown = {n: (population_label(v) if n == "population" else v) for n, v in self.get_params().items()}
        return f"{type(self).__name__}({', '.join(f'{n}={v!r}' for n, v in shown.items() if v is not None)})"

    def __eq__(self, other) -> bool:
        if type(other) is not type(self):
            return False
        a, b = self.get_params(), other.get_params()
        pa, pb = a.pop("population"), b.pop("population")
        same = (
            pa is pb
            or (isinstance(pa, pd.DataFrame) and isinstance(pb, pd.DataFrame) and pa.equals(pb))
            or (not isinstance(pa, pd.DataFrame) and not isinstance(pb, pd.DataFrame) and pa == pb)
        )
        return bool(same) and a == b

    __hash__ = None  # type: ignore[assignment]

    def _report(self, table, part, given, seconds):
        rep = super()._report(table, part, given, seconds)
        params = dict(rep.parameters)
        params["population"] = population_label(self.population)
        return replace(rep, parameters=params)


def apply_model(method, df, *, quasi, sensitive, schema, hierarchies, orders, source):
    """The :meth:`~anonlab.deid.methods.Anonymizer.apply` template for the models of
    :mod:`anonlab.deid.model_lattice`: with a population table (``method.population``), the sample and the
    population are encoded together; ``k`` is checked against the sample as the model needs it
    (``method.criteria().k``), then the method's partition, release and report."""
    from anonlab.deid.encoded_table import encode_table, schema_roles
    from anonlab.deid.methods import NotSatisfiable, _release_frame, _warn

    t0 = time.perf_counter()
    quasi, sensitive = schema_roles(schema, df.columns, quasi, sensitive)
    if (method.l is not None or method.t is not None) and not sensitive:
        raise UsageError("l= and t= need at least one sensitive column (sensitive=)")
    crit = method.criteria()
    given = {"quasi": quasi, "sensitive": sensitive, "schema": schema, "hierarchies": hierarchies}
    given.update(orders=orders, k=int(crit.k), source=source)
    if getattr(method, "population", None) is not None:
        names = [quasi] if isinstance(quasi, str) else list(quasi or ())
        missing = [c for c in names if c not in df.columns]
        if missing:
            raise InputError(f"{source}: no column {missing[0]!r} (a quasi-identifier, quasi=)")
        given["quasi"] = names
        table = encode_with_population(df, read_population(method.population, names, df), **given)
    else:
        table = encode_table(df, **given)
    try:
        part = method._partition(table, crit)
    except NotSatisfiable as exc:
        raise UsageError(f"cannot anonymise: {exc}") from None
    _warn(table.warnings)
    out = _release_frame(table, part, method.suppress_mark)
    return out, method._report(
        table, part, {"hierarchies": hierarchies, "orders": orders}, time.perf_counter() - t0
    )
