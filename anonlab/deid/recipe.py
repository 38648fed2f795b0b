"""The ``[anonymize]`` table of a TOML recipe, and :class:`AnonymizeConfig`, the same parameters as one value.

:func:`read_recipe` turns a recipe into the keyword arguments of :func:`anonlab.deid.anonymize` (hierarchy paths
relative to the recipe's folder), so ``anonymize(df, **read_recipe("study.toml"))`` runs it. A recipe:

.. code-block:: toml

    [anonymize]
    quasi = ["age", "sex", "race", "native-country", "education"]
    sensitive = ["income-per-year"]
    k = 10
    l = 2
    method = "global"
    max_suppression = 0.01
    [anonymize.hierarchies]
    race = "hierarchies/race.csv"   # relative to the recipe
    [anonymize.orders]
    education = ["Preschool", "1st-4th", "...", "Doctorate"]

Keys are :func:`~anonlab.deid.anonymize`'s parameters and the chosen method's (``strict`` for ``mondrian``,
``loss`` for ``global``...). :class:`AnonymizeConfig` holds the same as a frozen value (as ``compare`` recipes and
older code build it); :func:`anonymize_config` runs one and returns an :class:`AnonymizeResult` (the released
table and the report together), the form of ``anonymize(df, config)`` before the keyword API.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anonlab.errors import InputError, UsageError

if TYPE_CHECKING:
    import pandas as pd

    from anonlab.deid.report import AnonymizationReport

__all__ = ["AnonymizeConfig", "AnonymizeResult", "anonymize_config", "read_recipe", "load_schema"]

_SHARED = ("quasi", "sensitive", "k", "l", "t", "method", "hierarchies", "orders")


def _recipe_table(path: Path) -> dict:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such recipe file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a valid TOML recipe ({exc})") from None
    return dict(data.get("anonymize", data))


def read_recipe(path: str | os.PathLike, **overrides: Any) -> dict:
    """The keyword arguments of :func:`anonlab.deid.anonymize` that the recipe at ``path`` gives (its
    ``[anonymize]`` table, or its top level), with ``overrides`` (those not None) replacing them.

    ``hierarchies`` become paths relative to the recipe's folder. A key that neither :func:`anonymize` nor the
    method takes is an :class:`~anonlab.errors.InputError` naming it and the known keys.
    """
    from anonlab.deid.registry import get_method

    path = Path(path)
    values = _recipe_table(path)
    given = {k: v for k, v in overrides.items() if v is not None}
    method = given.get("method", values.get("method", "mondrian"))
    known = set(_SHARED) | (set(get_method(method)._param_names()) - {"progress"})
    extra = sorted(set(values) - known)
    if extra:
        raise InputError(
            f"{path}: unknown key {extra[0]!r} in the recipe (known: {', '.join(sorted(known))})"
        )
    hier = values.pop("hierarchies", {}) or {}
    if not isinstance(hier, dict):
        raise InputError(f"{path}: 'hierarchies' must be a table of column = \"file.csv\"")
    if hier:
        values["hierarchies"] = {c: str(path.parent / p) for c, p in hier.items()}
    orders = values.pop("orders", {}) or {}
    if not isinstance(orders, dict) or not all(isinstance(v, list) for v in orders.values()):
        raise InputError(f"{path}: 'orders' must be a table of column = [\"value\", ...]")
    if orders:
        values["orders"] = {c: [str(x) for x in v] for c, v in orders.items()}
    values.update(given)
    return values


def load_schema(spec: str | os.PathLike):
    """A schema from a TOML file, or ``"adult"`` for the bundled UCI Adult schema (public domains)."""
    from anonlab.schema import Schema

    return Schema.load(spec)


@dataclass(frozen=True)
class AnonymizeConfig:
    """:func:`anonlab.deid.anonymize`'s parameters as one frozen value, checked on construction (errors name the
    parameter). ``hierarchies`` and ``orders``: ``{column: path}`` / ``{column: [values]}`` or pairs. Parameters
    that the ``method`` does not take must keep their defaults (``strict`` is Mondrian's, ``loss`` global's)."""

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
        from anonlab.deid.encoded_table import as_pairs, check_roles

        hier = tuple((c, str(p)) for c, p in as_pairs(self.hierarchies, "hierarchies"))
        ords = tuple((c, tuple(str(v) for v in vs)) for c, vs in as_pairs(self.orders, "orders"))
        quasi, sensitive = check_roles(self.quasi, self.sensitive, hier, ords)
        for name, value in (("quasi", tuple(quasi)), ("sensitive", tuple(sensitive))):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "hierarchies", hier)
        object.__setattr__(self, "orders", ords)
        if (self.l is not None or self.t is not None) and not self.sensitive:
            raise UsageError("l= and t= need at least one sensitive column (sensitive=)")
        self.anonymizer()  # checks the method's parameters

    def method_params(self) -> dict:
        """The parameters of :attr:`method` (beyond ``k``, ``l``, ``t``) this config gives; a parameter the
        method does not take, set to other than its default, is a :class:`~anonlab.errors.UsageError`."""
        from anonlab.deid.registry import get_method

        names = get_method(self.method)._param_names()
        out = {}
        for f in fields(self):
            if f.name in _SHARED:
                continue
            value = getattr(self, f.name)
            if f.name in names:
                out[f.name] = value
            elif value != f.default:
                raise UsageError(
                    f"{f.name}= does not apply to method={self.method!r} (its parameters: {', '.join(names)})"
                )
        return out

    def anonymizer(self):
        """The :class:`~anonlab.deid.methods.Anonymizer` this config describes."""
        from anonlab.deid.registry import get_method

        return get_method(self.method)(k=self.k, l=self.l, t=self.t, **self.method_params())

    def apply_kwargs(self) -> dict:
        """The column arguments of :meth:`~anonlab.deid.methods.Anonymizer.apply`."""
        return {
            "quasi": list(self.quasi),
            "sensitive": list(self.sensitive),
            "hierarchies": dict(self.hierarchies) or None,
            "orders": {c: list(v) for c, v in self.orders} or None,
        }

    @classmethod
    def from_recipe(
        cls, path: str | os.PathLike, defaults: dict | None = None, **overrides: Any
    ) -> AnonymizeConfig:
        """The config of a recipe (:func:`read_recipe`) with ``overrides``; ``defaults`` (for example a
        schema's roles) fill what neither gives."""
        values = read_recipe(path, **overrides)
        for k, v in (defaults or {}).items():
            if values.get(k) is None and v is not None:
                values[k] = (
                    v if k != "sensitive" else [c for c in v if c not in set(values.get("quasi") or ())]
                )
        if "quasi" not in values or "k" not in values:
            raise InputError(f"{path}: the recipe (with the options given) must name quasi and k")
        try:
            return cls(**values)
        except TypeError as exc:
            raise InputError(f"{path}: {exc}") from None

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(quasi=list(self.quasi), sensitive=list(self.sensitive), hierarchies=dict(self.hierarchies))
        d["orders"] = {c: list(v) for c, v in self.orders}
        d.pop("progress")
        return d


@dataclass(frozen=True)
class AnonymizeResult:
    """A released table with its report (``result.k``, ``result.loss`` ... read the report's fields)."""

    data: pd.DataFrame = field(repr=False)
    report: AnonymizationReport
    config: AnonymizeConfig | None = None

    def __getattr__(self, name: str):
        if name.startswith("__") or name == "report":
            raise AttributeError(name)
        return getattr(self.report, name)

    def to_dict(self) -> dict:
        return self.report.to_dict()

    def _repr_html_(self) -> str:
        return self.report._repr_html_()


def anonymize_config(df: pd.DataFrame, config: AnonymizeConfig, schema=None) -> AnonymizeResult:
    """Run ``config`` on ``df`` (:meth:`~anonlab.deid.methods.Anonymizer.apply`); the released table and the
    report come back together."""
    released, report = config.anonymizer().apply(df, schema=schema, **config.apply_kwargs())
    return AnonymizeResult(released, report, config)
