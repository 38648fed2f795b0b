"""A study's recipe (TOML): the methods to release one table by, their parameter grids, and the study's settings.

:class:`Recipe` parses and checks a recipe before anything runs (:meth:`Recipe.read`, :meth:`Recipe.from_dict`);
each ``[[release]]`` table expands into one :class:`ReleaseSpec` per point of its grid. Methods:

- ``copy``: the training records themselves, the no-protection reference (a non-private baseline);
- ``kanonymity``: :func:`anonlab.deid.anonymize.anonymize` at each ``k`` (and ``l``, ``t``) of the grid;
- a method of :mod:`anonlab.deid.registry` by its name (``mdav``, ``suppression``, ``pram``, ``noise``,
  ``rankswap`` ...): :func:`anonlab.deid.anonymize` with that ``method=`` and the release's other keys as its
  parameters, each list (but ``quasi`` / ``sensitive``) a grid axis, ``quasi`` defaulting to the study's;
- ``synth``: a registered :mod:`anonlab.synth` synthesizer at each ``epsilon`` (differentially private ones), or
  once (the SDV baselines, which give no formal guarantee and are marked as non-private baselines).

Recipe format::

    [study]
    name = "adult"
    holdout_fraction = 0.5          # share of the input kept back, never seen by any method
    target = "income-per-year"      # TSTR target and inference secret
    quasi = ["age", "sex", ...]     # attacker knowledge; k-anonymity's quasi-identifiers
    sensitive = ["income-per-year"]
    schema = "adult"                # the bundled Adult schema, or a TOML path relative to the recipe
    frontier = [["mia_auc", "utility_2way"]]   # (risk, utility) pairs to plot

    [evaluate]                      # EvaluationConfig settings
    anonymeter_rows = 2000

    [[release]]
    method = "kanonymity"
    k = [5, 20, 100]

    [[release]]
    method = "synth"
    synthesizer = "mst"
    epsilon = [0.5, 2.0]
    delta = 1e-9                    # the default, as for anonlab synth
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anonlab.errors import InputError, UsageError

__all__ = ["Recipe", "ReleaseSpec", "default_recipe_path", "AXES", "METHODS", "DEFAULT_DELTA"]

#: delta of a study's DP releases when the recipe gives none: the same default as ``anonlab synth``.
DEFAULT_DELTA = 1e-9

#: Headline figures a frontier may plot, with their axis labels. Risks first, then utilities.
AXES = {
    "mia_auc": "membership AUC (best attack)",
    "mia_auc_distance": "membership AUC (distance attack)",
    "mia_auc_density": "membership AUC (density attack)",
    "dcr_train_share": "DCR share closer to train",
    "exact_copy_share": "share of exact copies",
    "anonymeter_max_risk": "anonymeter risk (largest of the attacks)",
    "utility_1way": "1 - mean 1-way TVD",
    "utility_2way": "1 - mean 2-way TVD",
    "utility_3way": "1 - mean 3-way TVD",
    "tstr_ratio": "TSTR / TRTR (mean of models)",
    "quality_score": "SDMetrics quality score",
}
_RISKS = (
    "mia_auc",
    "mia_auc_distance",
    "mia_auc_density",
    "dcr_train_share",
    "exact_copy_share",
    "anonymeter_max_risk",
)
METHODS = ("copy", "kanonymity", "synth")
_KANON_GRID = ("k", "l", "t")
_SYNTH_KEYS = {"method", "synthesizer", "epsilon", "delta", "params", "label", "bins", "trust_domains"}


def default_recipe_path() -> Path:
    """The default study shipped with anonlab (UCI Adult)."""
    from importlib import resources

    return Path(str(resources.files("anonlab.evaluation").joinpath("recipes/default.toml")))


def _list(v: Any) -> list:
    return list(v) if isinstance(v, list | tuple) else [v]


@dataclass(frozen=True)
class ReleaseSpec:
    """One release of a study: ``method``, a ``label`` for the report, the ``param`` text shown beside its point,
    and the keyword arguments of the method (``options``)."""

    method: str
    label: str
    param: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "label": self.label, "param": self.param, "options": self.options}


@dataclass(frozen=True)
class Recipe:
    """A parsed study recipe (see the module docstring for the format)."""

    name: str
    holdout_fraction: float
    rows: int | None
    target: str | None
    quasi: tuple[str, ...]
    sensitive: tuple[str, ...]
    schema: str | None
    trust_domains: bool
    frontier: tuple[tuple[str, str], ...]
    evaluate: dict[str, Any]
    releases: tuple[ReleaseSpec, ...]
    source: str = "recipe"

    @classmethod
    def read(cls, path: str | Path) -> Recipe:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: no such recipe file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not a valid TOML recipe ({exc})") from None
        return cls.from_dict(data, str(path), base=path.parent)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "recipe", base: Path | None = None) -> Recipe:
        extra = set(data) - {"study", "evaluate", "release"}
        if extra:
            raise UsageError(
                f"{source}: unknown table {sorted(extra)[0]!r} (use [study], [evaluate], [[release]])"
            )
        st = dict(data.get("study", {}))
        known = {
            "name",
            "holdout_fraction",
            "rows",
            "target",
            "quasi",
            "sensitive",
            "schema",
            "trust_domains",
            "frontier",
        }
        bad = set(st) - known
        if bad:
            raise UsageError(
                f"{source}: unknown [study] key {sorted(bad)[0]!r} (known: {', '.join(sorted(known))})"
            )
        hf = st.get("holdout_fraction", 0.5)
        if not isinstance(hf, int | float) or not 0 < hf < 1:
            raise UsageError(f"{source}: holdout_fraction must lie strictly between 0 and 1, got {hf!r}")
        rows = st.get("rows") or None
        if rows is not None and (not isinstance(rows, int) or rows < 10):
            raise UsageError(
                f"{source}: rows must be a whole number of at least 10 (or 0 for all), got {rows!r}"
            )
        frontier = tuple(tuple(p) for p in st.get("frontier", [["mia_auc", "utility_2way"]]))
        for p in frontier:
            if len(p) != 2 or p[0] not in _RISKS or p[1] not in AXES or p[1] in _RISKS:
                raise UsageError(
                    f"{source}: frontier entries are [risk, utility] pairs; risks: {', '.join(_RISKS)}; "
                    f"utilities: {', '.join(k for k in AXES if k not in _RISKS)}; got {list(p)!r}"
                )
        schema = st.get("schema")
        if schema is not None and schema != "adult" and base is not None and not Path(schema).is_absolute():
            schema = str(base / schema)
        evaluate = dict(data.get("evaluate", {}))
        from anonlab.evaluation.evaluating import EvaluationConfig

        EvaluationConfig.from_dict(evaluate, source)  # validate now, not after the first release
        rels = data.get("release", [])
        if not isinstance(rels, list) or not rels:
            raise UsageError(f"{source}: no [[release]] tables: name at least one method")
        specs: list[ReleaseSpec] = []
        for i, r in enumerate(rels, 1):
            specs.extend(_expand(r, f"{source}: release {i}"))
        labels = [s.label for s in specs]
        dupes = {x for x in labels if labels.count(x) > 1}
        if dupes:
            raise UsageError(
                f"{source}: two releases are labelled {sorted(dupes)[0]!r}; give each a distinct label"
            )
        return cls(
            name=str(st.get("name", Path(source).stem)),
            holdout_fraction=float(hf),
            rows=rows,
            target=st.get("target"),
            quasi=tuple(st.get("quasi", ())),
            sensitive=tuple(st.get("sensitive", ())),
            schema=schema,
            trust_domains=bool(st.get("trust_domains", False)),
            frontier=frontier,
            evaluate=evaluate,
            releases=tuple(specs),
            source=source,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "holdout_fraction": self.holdout_fraction,
            "rows": self.rows,
            "target": self.target,
            "quasi": list(self.quasi),
            "sensitive": list(self.sensitive),
            "schema": self.schema,
            "trust_domains": self.trust_domains,
            "frontier": [list(p) for p in self.frontier],
            "evaluate": self.evaluate,
            "releases": [s.to_dict() for s in self.releases],
        }


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _expand(r: dict[str, Any], where: str) -> list[ReleaseSpec]:
    """One [[release]] table to its releases (the product of its parameter lists)."""
    if not isinstance(r, dict) or "method" not in r:
        raise UsageError(f"{where}: needs method = one of {', '.join(METHODS)}")
    method = r["method"]
    if method == "copy":
        return [ReleaseSpec("copy", r.get("label", "copy of train"), "train", {})]
    if method == "kanonymity":
        grid = {k: _list(r[k]) for k in _KANON_GRID if k in r}
        if "k" not in grid:
            raise UsageError(f"{where}: kanonymity needs k (a number or a list)")
        fixed = {k: v for k, v in r.items() if k not in (*_KANON_GRID, "method", "label")}
        out = []
        for combo in itertools.product(*grid.values()):
            opts = dict(zip(grid, combo, strict=True))
            param = ", ".join(f"{k}={_fmt(v)}" for k, v in opts.items())
            out.append(
                ReleaseSpec(
                    "kanonymity", f"{r.get('label', 'k-anonymity')} {param}", param, {**fixed, **opts}
                )
            )
        return out
    if method == "synth":
        bad = set(r) - _SYNTH_KEYS
        if bad:
            raise UsageError(
                f"{where}: unknown key {sorted(bad)[0]!r} (known: {', '.join(sorted(_SYNTH_KEYS))})"
            )
        name = r.get("synthesizer")
        if not name:
            raise UsageError(
                f"{where}: synth needs synthesizer = a method name (anonlab synth --help lists them)"
            )
        params = dict(r.get("params", {}))
        common = {
            "synthesizer": name,
            "params": params,
            "delta": float(r.get("delta", DEFAULT_DELTA)),
            "bins": r.get("bins"),
            "trust_domains": r.get("trust_domains"),
        }
        label = r.get("label", name)
        if "epsilon" not in r:
            return [ReleaseSpec("synth", label, "no DP", {**common, "epsilon": None})]
        return [
            ReleaseSpec(
                "synth",
                f"{label} eps={_fmt(float(e))}",
                f"eps={_fmt(float(e))}",
                {**common, "epsilon": float(e)},
            )
            for e in _list(r["epsilon"])
        ]
    from anonlab.deid.registry import METHODS as DEID_METHODS

    if method in DEID_METHODS:
        return _expand_deid(r, method)
    raise UsageError(
        f"{where}: unknown method {method!r} (use one of {', '.join(METHODS)}, "
        f"or a method of anonlab anonymize: {', '.join(DEID_METHODS)})"
    )


#: Keys of a method-named release whose list values are columns, not a grid.
_COLUMN_KEYS = ("quasi", "sensitive")


def _expand_deid(r: dict[str, Any], method: str) -> list[ReleaseSpec]:
    """A release named by an :mod:`anonlab.deid.registry` method (``method = "mdav"``, ``"pram"`` ...): its
    parameters as :func:`anonlab.deid.anonymize` takes them, every list value (but ``quasi`` / ``sensitive``) a
    grid axis. Checked against the method when the release runs."""
    fixed = {k: v for k, v in r.items() if k not in ("method", "label")}
    grid = {k: _list(v) for k, v in fixed.items() if isinstance(v, list) and k not in _COLUMN_KEYS}
    fixed = {k: v for k, v in fixed.items() if k not in grid}
    out = []
    for combo in itertools.product(*grid.values()):
        opts = dict(zip(grid, combo, strict=True))
        param = ", ".join(f"{k}={_fmt(v)}" for k, v in opts.items()) or "defaults"
        label = f"{r.get('label', method)} {param}" if grid else str(r.get("label", method))
        out.append(ReleaseSpec("deid", label, param, {"method": method, **fixed, **opts}))
    return out
