"""The contract of perturbative methods (PRAM, noise, rank swapping), and what they report.

Perturbative methods change values at random instead of grouping records, so they have no ``k`` and no classes:
:class:`Perturbation` is an :class:`~anonlab.deid.methods.Anonymizer` (registered in
:mod:`anonlab.deid.registry`, run by :func:`anonlab.deid.anonymize` and ``anonlab anonymize --method``) whose
:meth:`~Perturbation.apply` checks the columns named by ``quasi=`` (the ones to perturb), draws the new values
(``_perturb``, the one step a method writes) and reports (:class:`PerturbationReport`).

Privacy meaning: the perturbed columns are uncertain to an attacker who does not know the random draws, so exact
linkage on them fails for many records; there is no k and no formal bound on re-identification (the report's
``measured_k`` is what the released table shows, not a guarantee). Not differential privacy. The seed, when given,
is not written to the report: with it and the input, anyone could undo the perturbation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from anonlab.deid.methods import Anonymizer
from anonlab.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Perturbation", "PerturbationReport", "PERTURBATION_NOTE"]

PERTURBATION_NOTE = (
    "perturbative masking: values changed at random; no k-anonymity guarantee and not differential privacy; "
    "the release is still personal data"
)


@dataclass(frozen=True)
class PerturbationReport:
    """A perturbed release's figures: per column what was done (``columns``: cells changed, their share),
    ``information_loss`` (``il1s``, ``eigen`` over the numeric perturbed columns, as sdcMicro's ``dUtility``),
    ``released``: what is published with the data on purpose so analysts can correct their estimates (PRAM's
    transition matrices), and ``measured_k``: the smallest number of records sharing their perturbed values (a
    measurement of the release, not a guarantee)."""

    method: str
    parameters: dict
    n_input: int
    columns: dict
    information_loss: dict
    released: dict
    measured_k: int
    seconds: float
    versions: dict
    warnings: tuple = ()

    @property
    def k(self) -> int:
        return self.measured_k

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "parameters": self.parameters,
            "records": {"input": self.n_input, "released": self.n_input, "suppressed": 0},
            "perturbed": self.columns,
            "information_loss": self.information_loss,
            "released_for_analysts": self.released,
            "measured": {"k": self.measured_k, "note": "measured on the release; not a guarantee"},
            "seconds": self.seconds,
            "versions": self.versions,
            "warnings": list(self.warnings),
            "privacy_note": PERTURBATION_NOTE,
        }

    def __repr__(self) -> str:
        changed = sum(c["cells_changed"] for c in self.columns.values())
        return (
            f"PerturbationReport(method={self.method!r}, records={self.n_input}, cells_changed={changed}, "
            f"measured_k={self.measured_k})"
        )

    def _repr_html_(self) -> str:
        from anonlab.deid.report import html_table

        rows: list[tuple[str, Any]] = [("method", self.method), ("records", f"{self.n_input:,}")]
        rows += [
            (f"  {c}", f"{v['cells_changed']:,} cells changed ({100 * v['share_changed']:.1f}%)")
            for c, v in self.columns.items()
        ]
        rows += [(name, "-" if v is None else f"{v:.4g}") for name, v in self.information_loss.items()]
        rows += [("measured k (not a guarantee)", self.measured_k), ("seconds", f"{self.seconds:.2f}")]
        return html_table("perturbed release", rows, [*self.warnings, PERTURBATION_NOTE])


@dataclass
class Perturbed:
    """What a method's ``_perturb`` returns: the new values per column, and what it releases for analysts."""

    values: dict
    released: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)


class Perturbation(Anonymizer):
    """A perturbative method: a subclass names its parameters (keyword only, ``seed`` among them) in its
    ``__init__``, stores them, calls :meth:`_validate`, and implements ``_perturb(df, columns, rng)``."""

    #: ``"numeric"`` or ``"category"``: the kind of column the method perturbs.
    column_kind = "numeric"

    def __init__(self, *, seed: int | None = None, progress: bool = False):  # noqa: D107
        self.seed = seed
        self.progress = progress
        self._validate()

    def _validate(self) -> None:
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer)
        ):
            raise UsageError(f"seed={self.seed!r}: must be a whole number (or None for fresh randomness)")

    def criteria(self):  # pragma: no cover - perturbation has no classes
        raise UsageError(f"method={self.name!r} is perturbative: it has no k, l or t")

    def _partition(self, table, criteria):  # pragma: no cover - not used: apply is overridden
        raise NotImplementedError

    def _perturb(self, df: pd.DataFrame, columns: list[str], rng: np.random.Generator) -> Perturbed:
        raise NotImplementedError

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
    ) -> tuple[pd.DataFrame, PerturbationReport]:
        """Perturb the columns ``quasi`` of ``df`` (a schema's quasi-identifiers when not given); ``df`` is not
        modified. ``sensitive``, ``hierarchies`` and ``orders`` do not apply and must not be given.
        Returns the released table (same columns and order) and the report."""
        from anonlab.deid.encoded_table import require_named, schema_roles
        from anonlab.errors import InputError
        from anonlab.provenance import versions

        t0 = time.perf_counter()
        for name, value in (("sensitive", sensitive), ("hierarchies", hierarchies), ("orders", orders)):
            if value:
                raise UsageError(
                    f"{name}= does not apply to method={self.name!r} (it perturbs quasi= columns)"
                )
        quasi, _ = schema_roles(schema, df.columns, quasi, None)
        columns = [quasi] if isinstance(quasi, str) else [str(c) for c in quasi or ()]
        if not columns:
            raise UsageError(f"method={self.name!r} needs the columns to perturb (quasi=)")
        require_named(df, columns, "quasi", source)
        if len(df) == 0:
            raise InputError(f"{source}: the table has no rows")
        if self.column_kind == "numeric":
            for c in columns:
                if not _is_number(df[c]):
                    raise UsageError(f"method={self.name!r} perturbs numeric columns: {c!r} is not numeric")
        rng = np.random.default_rng(self.seed)
        res = self._perturb(df, columns, rng)
        out = df.copy()
        for c, v in res.values.items():
            out[c] = v
        params = {"method": self.name, "quasi": columns, **self.get_params()}
        params.pop("progress", None)
        params.pop("seed", None)  # with the seed and the input, the perturbation could be undone
        report = PerturbationReport(
            method=self.name,
            parameters=params,
            n_input=len(df),
            columns=_changes(df, out, columns, res.details),
            information_loss=_loss(df, out, columns) if self.column_kind == "numeric" else {},
            released=res.released,
            measured_k=int(out.groupby(columns, dropna=False, sort=False).size().min()),
            seconds=time.perf_counter() - t0,
            versions=versions(),
        )
        return out, report


def _is_number(s) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _changes(df, out, columns, details) -> dict:
    res = {}
    for c in columns:
        a, b = df[c].to_numpy(), out[c].to_numpy()
        same = (a == b) | (df[c].isna().to_numpy() & out[c].isna().to_numpy())
        changed = int((~same).sum())
        res[c] = {"cells_changed": changed, "share_changed": changed / max(len(df), 1), **details.get(c, {})}
    return res


def _loss(df, out, columns) -> dict:
    from anonlab.deid.microaggregation import eigen_loss, il1s

    x = df[columns].to_numpy(dtype=np.float64)
    xm = out[columns].to_numpy(dtype=np.float64)
    ok = ~(np.isnan(x).any(axis=1) | np.isnan(xm).any(axis=1))
    return {"il1s": il1s(x[ok], xm[ok]), "eigen": eigen_loss(x[ok], xm[ok]) if len(columns) > 1 else None}
