"""The contract every synthesizer follows, split by family: the base, encoded-table methods, frame-based baselines.

``AIM(epsilon=1.0).fit(df, schema, ledger=...)`` learns; ``sample(n)`` draws rows; ``save(path)`` and
``Synthesizer.load(path)`` keep the model. Parameters are explicit keyword fields of each class (scikit-learn's
rule: the constructor only stores and checks them; ``get_params``, ``set_params`` and the ``repr`` come from the
signature); fitted state ends in ``_``. Sampling is post-processing of the fitted model: it spends no budget and
never reads the real data, so a saved model samples without it.

- :class:`Synthesizer` (the base) runs ``fit`` as named steps: check the call and resolve the schema, plan the
  public parts (domains, encoding, resource limits), read the table, plan the budget's parts (quantile cut points,
  densities), charge the ledger *before* any noise is drawn and key one noise stream for the release, release the
  parts, learn, and record what was spent. It also saves, loads and summarises.
- :class:`EncodedSynthesizer`: methods that learn from the public-domain integer codes (:mod:`anonlab.synth
  .encoding`) through ``_fit_codes`` / ``_sample_codes``: AIM, MST, NAPSU-MQ, DPVI. They take ``epsilon`` and
  ``delta``.
- :class:`FrameSynthesizer`: non-private baselines that learn from the coerced columns themselves through
  ``_fit_frame`` / ``_sample_frame`` (the SDV baselines).

A research user's method is a subclass with its parameters as annotated class attributes, registered by name
(:mod:`anonlab.synth.registry`):

    @register("uniform")
    class Uniform(EncodedSynthesizer):
        strength: float = 1.0
        def _fit_codes(self, codes, sizes, budget, noise): ...
        def _sample_codes(self, n, rng): ...
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import io
import json
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self, dataclass_transform

import numpy as np

from anonlab.errors import InputError, PrivacyError, UsageError
from anonlab.synth import registry
from anonlab.synth.artifacts import NO_GUARANTEE
from anonlab.synth.binning import BINNING_MODES, DEFAULT_BINNING_SHARE, check_share
from anonlab.synth.budget import (
    Budget,
    PrivacySpent,
    binning_record,
    require_privacy_ok,
    with_binning,
    with_density,
    with_domains,
)
from anonlab.synth.encoding import DEFAULT_BINS, Encoding

if TYPE_CHECKING:
    import pandas as pd

    from anonlab.privacy.ledger import Ledger
    from anonlab.privacy.noise import NoiseSource
    from anonlab.schema import Schema

__all__ = [
    "Budget",
    "EncodedSynthesizer",
    "FrameSynthesizer",
    "MODEL_FORMAT",
    "NO_GUARANTEE",
    "PrivacySpent",
    "Synthesizer",
    "available_methods",
    "get_method",
    "register",
    "require_privacy_ok",
    "resolve_schema",
]

MODEL_FORMAT = "anonlab-synth-model"
_MODEL_VERSION = 1
#: The share of a synthesis budget's rho spent on the DP densities that keep point masses.
DEFAULT_DENSITY_SHARE = 0.1
#: Parameters every method of a family takes (not the method's own ``params``).
_COMMON = {"common": True}
#: Parameters shown first in signatures and reprs.
_FIRST = ("epsilon", "delta")


def _common(default: Any) -> Any:
    return field(default=default, metadata=_COMMON)


@dataclass
class _Fit:
    """What one call of :meth:`Synthesizer.fit` carries from step to step (never kept after it)."""

    source: str
    schema: Schema  # the schema the table is read with (provisional domains while discovering)
    budget: Budget | None  # the whole fit's
    relation: str
    no_ledger: bool
    part: Budget | None = None  # after domain discovery
    synthesis: Budget | None = None  # after quantile binning: model and densities
    fit_budget: Budget | None = None  # the model's
    dom: Any = None
    qplan: Any = None
    dplan: Any = None
    released: dict[str, Any] = field(default_factory=dict)
    coerced: Any = None
    codes: np.ndarray | None = None


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # arrays and such: shown
        return False


def _guard_init(cls: Any) -> None:
    """Give ``cls`` an ``__init__`` that names an unknown parameter as a :class:`UsageError`, and a signature with
    the privacy parameters, then the method's own, then the common ones."""
    init = cls.__init__
    if getattr(init, "_guarded", False):
        return
    sig = inspect.signature(init)
    params = list(sig.parameters.values())
    own = {f.name for f in cls._method_fields()}

    def rank(p: inspect.Parameter) -> int:
        return 0 if p.name in _FIRST else (1 if p.name in own else 2)

    ordered = [params[0], *sorted(params[1:], key=rank)]
    known = {p.name for p in params[1:]}

    @functools.wraps(init)
    def __init__(self: Synthesizer, *args: Any, **kwargs: Any) -> None:
        if args:
            raise UsageError(
                f"{cls.__name__} takes keyword parameters only ({cls.__name__}(epsilon=1.0, ...))"
            )
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise UsageError(
                f"method {cls.name!r}: unknown parameter {unknown[0]!r} (it takes {', '.join(sorted(known))})"
            )
        init(self, **kwargs)

    __init__.__signature__ = sig.replace(parameters=ordered)  # type: ignore[attr-defined]
    __init__._guarded = True  # type: ignore[attr-defined]
    cls.__init__ = __init__


@dataclass_transform(kw_only_default=True, eq_default=False, field_specifiers=(dataclasses.field, field))
@dataclass(kw_only=True, repr=False, eq=False)
class Synthesizer(ABC):
    """Learns a table's distribution (under a privacy budget for DP methods) and draws synthetic rows from it.

    Parameters (common to all methods)
    ----------------------------------
    seed : seeds the DP noise (a seeded release is private only while the seed stays secret) and the method's
        own randomness; ``None`` draws DP noise from the operating system's CSPRNG through OpenDP.
    bins : equal-width bins per numeric column with a wide public range (see :mod:`anonlab.synth.encoding`).
    missing : give every column a "missing" code (default). ``False`` states, as public knowledge, that no value
        is missing: smaller domains (less noise per cell, and far faster twinify fits); a missing value is then an
        input error.
    binning : ``"density"`` (the default of MST and AIM with ``point_masses``): the cut
        points are read off the DP densities measured for the point masses (post-processing, nothing spent on them;
        :func:`anonlab.synth.binning.density_edges`), so the binning share goes to the model; an atom gets a bin of
        its own. ``"quantile"`` (the default of the other DP methods): the cut points of wide numeric and date
        columns are placed near the column's quantiles, learned from the data with differential privacy
        (:mod:`anonlab.synth.binning`) and paid from the fit's budget (``binning_share``); the bounds stay the
        public ones. Its candidate cut points are an equal-width public grid, too coarse for a heavy tail (GeoNames'
        population: 31% of rows in one bin). Both beat equal-width bins on every real table measured; density beat
        quantile on most of ten (benchmarks/results/default_path.md). ``"public"`` (the default, and the only
        choice, of the non-private baselines): equal-width bins over the public bounds, at no privacy cost.
        ``None`` picks by the method.
    binning_share : with quantile binning, the fraction of the budget (of rho for zCDP methods, of epsilon for
        DPVI) spent on the cut points, strictly between 0 and 1 (default 0.1); the synthesizer gets the rest, so
        the whole fit still costs exactly (epsilon, delta).
    binning_columns : with quantile binning, the columns to bin on quantiles (default: every numeric or date
        column whose public range is wider than ``bins``); each needs public bounds.
    point_masses : (DP methods accounted in zCDP) spend ``density_share`` of the synthesis budget on a DP density
        inside each binned numeric or date column (:mod:`anonlab.synth.density`), and decode values inside a bin
        from it rather than uniformly, so point masses (a capital gain of exactly 0, a 40-hour week) survive.
        Default on; ``False`` decodes uniformly and spends nothing on it.
    density_share : the share of the synthesis budget's rho spent on those densities (default 0.1).
    domains : what a DP fit does with schema columns whose domain was read from the data (``from_data = true``):
        ``"discover"`` (the default) finds them with DP, paid from the fit's budget (:mod:`anonlab.synth.domains`:
        a share of rho and of delta), ``"trust"`` (= ``trust_domains=True``) uses them as public, ``"refuse"``
        refuses the fit. Public domains are never touched.
    domain_share : with domain discovery, the share of the fit's rho (of epsilon for DPVI) spent on it (default
        0.4 for MST and AIM when a categorical column is discovered, as they reuse the discovery's category counts
        as one-way measurements; 0.2 otherwise: :meth:`default_domain_share`); 10% of delta goes to the chance
        that a category held by one record is released.
    trust_domains : accept schema domains read from the data as if public, for every fit (``fit(...,
        trust_domains=True)`` does it for one). This breaks the DP guarantee unless those domains really are
        public; it is recorded in the sidecar and the ledger.
    max_memory_gb, max_minutes : the fit is refused before anything is read or charged if its estimated peak
        memory or time (from the public domain alone, :mod:`anonlab.synth.resources`) passes these (defaults 4 GB
        and 5 minutes); raise them knowingly for a large domain.
    progress : show progress bars on standard error.
    """

    seed: int | None = _common(None)
    bins: int = _common(DEFAULT_BINS)
    missing: bool = _common(True)
    binning: str | None = _common(None)
    binning_share: float = _common(DEFAULT_BINNING_SHARE)
    binning_columns: Sequence[str] | None = _common(None)
    point_masses: bool = _common(True)
    density_share: float = _common(DEFAULT_DENSITY_SHARE)
    domains: str | None = _common(None)
    domain_share: float | None = _common(None)
    trust_domains: bool = _common(False)
    max_memory_gb: float | None = _common(None)
    max_minutes: float | None = _common(None)
    progress: bool = _common(False)

    # fitted state (set by fit or load; absent before)
    encoding_: Encoding = field(init=False, repr=False)
    schema_fingerprint_: str = field(init=False, repr=False)
    schema_source_: str = field(init=False, repr=False)
    privacy_: PrivacySpent | None = field(init=False, repr=False)
    seeded_: bool = field(init=False, repr=False)
    neighbours_: str = field(init=False, repr=False)
    domains_: str = field(init=False, repr=False)
    trusted_domains_: bool = field(init=False, repr=False)
    outside_domain_: dict[str, int] = field(init=False, repr=False)
    domain_plan_: Any = field(init=False, repr=False)
    discovered_domains_: dict[str, Any] = field(init=False, repr=False)

    name: ClassVar[str] = ""
    private: ClassVar[bool] = True
    #: ``(extra, module)``: the optional dependencies the method needs (``("sdv", "sdv")``); constructing it where
    #: ``module`` is not installed raises :class:`~anonlab.errors.MissingExtraError` naming ``anonlab[extra]``.
    requires: ClassVar[tuple[str, str] | None] = None
    description: ClassVar[str] = ""
    #: True for methods that, on a ledger whose relation is "replace-one" (the row count declared public at
    #: ``budget init``), release under replace-one-record neighbours with the exact row count (NAPSU-MQ, DPVI).
    #: Every method releases under add/remove-one-record neighbours otherwise: with no ledger, on an add/remove
    #: ledger, and (methods without this flag) on a replace-one ledger, which then charges the release as a group
    #: of two. The relation of each fit is ``neighbours_`` (see :meth:`release_neighbours`).
    supports_replace_one: ClassVar[bool] = False
    #: Whether the method learns from the encoded codes (else from the coerced frame).
    uses_codes: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclass(kw_only=True, repr=False, eq=False)(cls)
        cls._wrap_init()

    @classmethod
    def _wrap_init(cls) -> None:
        _guard_init(cls)

    def __post_init__(self) -> None:
        self._check_params()

    # -- parameters ----------------------------------------------------------------------------------------------
    @classmethod
    def default_domain_share(cls, categories: bool = True) -> float:
        """The share of the budget a domain discovery gets when ``domain_share`` is not given
        (:data:`anonlab.synth.domains.DEFAULT_DOMAIN_SHARE`; the marginal methods, which reuse its category counts,
        override it). ``categories``: whether it discovers a categorical column (a public fact of the schema)."""
        from anonlab.synth.domains import DEFAULT_DOMAIN_SHARE

        return DEFAULT_DOMAIN_SHARE

    def _check_params(self) -> None:
        """Refuse bad parameter values when the synthesizer is built (before anything is read or charged)."""
        self.check_installed()
        from anonlab.synth.domains import check_mode

        if self.domains is not None:
            check_mode(self.domains)
        if self.trust_domains and self.domains not in (None, "trust"):
            raise UsageError(f"trust_domains=True and domains={self.domains!r} contradict each other")
        share = self.default_domain_share() if self.domain_share is None else self.domain_share
        try:
            check_share(share)
        except UsageError:
            raise UsageError(
                f"domain_share={self.domain_share!r}: the domain share must be strictly between 0 and 1"
            ) from None
        check_share(self.density_share)
        if self.binning is not None and self.binning not in BINNING_MODES:
            raise UsageError(f"binning must be one of {', '.join(BINNING_MODES)} (got {self.binning!r})")
        if self.binning in ("quantile", "density") and not self.private:
            raise UsageError(
                f"method {self.name!r} gives {NO_GUARANTEE} and learns from raw values: {self.binning} binning (a "
                "DP release) does not apply to it"
            )
        if self.binning == "density" and not (self.accounts_in_zcdp() and self.point_masses):
            raise UsageError(
                "binning='density' cuts the bins at the DP densities of the point masses: it needs a method "
                f"accounted in zCDP (not {self.name!r}) with point_masses=True"
            )
        if self.binning_mode != "quantile" and self.binning_columns is not None:
            raise UsageError(
                "binning_columns= applies only with binning='quantile' (columns are picked only with quantile binning)"
            )
        check_share(self.binning_share)

    @classmethod
    def check_installed(cls) -> None:
        """Raise :class:`~anonlab.errors.MissingExtraError` when an optional dependency of the method is missing."""
        if cls.requires is not None:
            from anonlab.errors import require_extra

            require_extra(cls.requires[0], cls.requires[1], f"synthesis method {cls.name!r}")

    @classmethod
    def _method_fields(cls) -> list[dataclasses.Field[Any]]:
        return [f for f in dataclasses.fields(cls) if f.init and not f.metadata.get("common")]

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        """The method's own parameters and their defaults (those beyond the common ones)."""
        return {f.name: f.default for f in cls._method_fields()}

    @classmethod
    def param_names(cls) -> list[str]:
        """Every parameter of the constructor, in signature order."""
        return [p for p in inspect.signature(cls).parameters]

    @property
    def params(self) -> dict[str, Any]:
        """The method's own parameters as set (what the ledger and the model's manifest record)."""
        return {f.name: getattr(self, f.name) for f in self._method_fields()}

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Every constructor parameter and its value (scikit-learn's contract)."""
        return {name: getattr(self, name) for name in self.param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set constructor parameters by name, checked as at construction; returns ``self``. The fitted state is
        left as it is: fit again for the new values to take effect."""
        known = set(self.param_names())
        for key in params:
            if key not in known:
                raise UsageError(f"method {self.name!r}: unknown parameter {key!r}")
        old = {key: getattr(self, key) for key in params}
        for key, value in params.items():
            setattr(self, key, value)
        try:
            self._check_params()
        except Exception:
            for key, value in old.items():
                setattr(self, key, value)
            raise
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self)).parameters
        shown = []
        for key, p in sig.items():
            value = getattr(self, key)
            always = key in _FIRST and self.private and getattr(self, "epsilon", None) is not None
            if always or not _same(value, p.default):
                shown.append(f"{key}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    @property
    def limits(self) -> Any:
        """The fit's resource limits (:class:`anonlab.synth.resources.FitLimits`)."""
        from anonlab.synth.resources import DEFAULT_LIMITS, FitLimits

        return FitLimits(
            DEFAULT_LIMITS.max_memory_gb if self.max_memory_gb is None else self.max_memory_gb,
            DEFAULT_LIMITS.max_minutes if self.max_minutes is None else self.max_minutes,
        )

    @property
    def privacy_spent(self) -> PrivacySpent | None:
        """What the fit spent, as every artifact publishes it (method diagnostics that depend on the data without
        noise are withheld); ``None`` for a non-private baseline, which has no guarantee."""
        self._check_fitted()
        published = self._published_privacy()
        return PrivacySpent(**published) if isinstance(published, dict) else None

    # -- what a family provides ------------------------------------------------------------------------------------
    def _own_budget(self) -> Budget | None:
        """The budget the constructor's parameters give (``epsilon``, ``delta``), if any."""
        return None

    @abstractmethod
    def _learn(self, run: _Fit, noise: NoiseSource | None) -> PrivacySpent | None:
        """Learn from the prepared table; DP methods draw all noise from ``noise``."""

    @abstractmethod
    def sample(self, n: int | None = None, seed: int | None = None) -> pd.DataFrame:
        """``n`` synthetic rows (default: the DP estimate of the input's size). Spends no privacy budget."""

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray], bytes | None]:
        """(JSON-able state, named arrays, opaque payload) for :meth:`save`."""
        raise UsageError(f"method {self.name!r} cannot be saved")

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray], payload: bytes | None) -> None:
        raise UsageError(f"method {self.name!r} cannot be loaded")

    def _check_data(self, df: pd.DataFrame, source: str) -> None:
        """Refuse data the method cannot learn from (non-DP baselines only: DP methods never refuse on content)."""
        return None

    def accounts_in_zcdp(self) -> bool:
        return True

    def _ledger_extra(self, budget: Budget) -> dict[str, Any]:
        """Parts of the fit's budget (``budget``: what the model gets) that the ledger entry itemises beyond
        binning and densities; public parameters only (charged before any noise is drawn)."""
        return {}

    def ledger_mechanism(self) -> str:
        return "gaussian"

    # -- fit: the steps --------------------------------------------------------------------------------------------
    def fit(
        self,
        df: pd.DataFrame,
        schema: Schema | str | Path | None = None,
        budget: Budget | None = None,
        *,
        ledger: Ledger | str | Path | None = None,
        trust_domains: bool = False,
        source: str = "input",
        dataset: str | None = None,
    ) -> Self:
        """Learn from ``df`` under ``schema``; a DP method spends exactly its (``epsilon``, ``delta``).

        schema : a :class:`~anonlab.schema.Schema`, a schema TOML path, ``"adult"`` (the bundled public Adult
            schema), or ``None``: the bundled Adult schema when the columns are Adult's, else one inferred from
            ``df``, which a DP method refuses (its types and roles come from this very table) unless
            ``trust_domains=True``.
        ledger : an :class:`anonlab.privacy.ledger.Ledger` or a ledger file; charged for the whole fit before any
            noise is drawn (refused, with nothing drawn, past its total). ``None`` is allowed for experiments but
            emits :class:`~anonlab.errors.PrivacyWarning` and the privacy record says "no ledger".
        trust_domains : use the schema's domains read from the data as public for this fit (breaks the
            guarantee unless they are; recorded).
        budget : the old way to give (epsilon, delta): a :class:`Budget`, instead of the constructor's ``epsilon``
            and ``delta``.
        source : how messages name the table (a file path). dataset : the table's content fingerprint as the
            ledger records it (default: computed from ``df``); never in a released artifact.

        Neighbouring datasets: the fit releases under the relation :meth:`release_neighbours` picks (add/remove
        one record unless the ledger is "replace-one" and the method supports it) and passes it to the ledger.

        Noise: every draw of the fit comes from one stream, :meth:`anonlab.privacy.noise.NoiseSource.for_release`
        keyed by the seed, a canonical digest of all the release's parameters (:meth:`release_parameters`), the
        table's content fingerprint and the ledger entry's sequence number; domains, cut points and densities use
        forks of it. Two seeded fits that differ in anything draw independent noise; the same fit twice
        reproduces.
        """
        led = _open_ledger(ledger)
        run = self._start(df, schema, budget, led, trust_domains, source)
        self._plan_public(run)
        self._read(run, df)
        self._plan_parts(run)
        noise = None
        if self.private and run.budget is not None:
            root = self._charge(run, run.budget, df, led, dataset)
            self._release_parts(run, root)
            noise = root.fork("synthesis")
        self.neighbours_ = run.relation
        self.privacy_ = self._record(self._learn(run, noise), run)
        return self

    def _start(
        self,
        df: pd.DataFrame,
        schema: Schema | str | Path | None,
        budget: Budget | None,
        ledger: Ledger | None,
        trust_domains: bool,
        source: str,
    ) -> _Fit:
        """Check the call, settle the budget, the domain mode and the schema."""
        whole = self._settle_budget(budget)
        if not self.private and ledger is not None:
            raise UsageError(
                f"method {self.name!r} gives {NO_GUARANTEE}; it cannot be charged to a privacy ledger"
            )
        if len(df) == 0:
            raise InputError(f"{source}: no rows")
        if trust_domains and self.domains not in (None, "trust"):
            raise UsageError(f"trust_domains=True and domains={self.domains!r} exclude each other")
        trusted = trust_domains or self.trust_domains
        self.domains_ = "trust" if trusted else (self.domains or "discover")
        sch, self.schema_source_, inferred = resolve_schema(df, schema, source)
        if self.private and inferred and self.domains_ != "trust":
            raise PrivacyError(
                f"{source}: schema=None: a schema inferred from this table takes its column types and roles from "
                "the data (one record can change them, and the release would show it), so a DP method needs a "
                f"schema you give: draft one with `anonlab schema infer {source} -o schema.toml` (or Schema.infer), "
                "review it, and pass schema= (domains it read from the data are then discovered with DP), or pass "
                "trust_domains=True to use the inferred schema as public"
            )
        if self.binning_mode == "quantile" and self.binning_columns is not None:
            from anonlab.synth.binning import check_columns

            check_columns(sch, self.binning_columns)
        relation = self.release_neighbours(ledger) if self.private else "add/remove"
        return _Fit(source, sch, whole, relation, ledger is None)

    def _settle_budget(self, budget: Budget | None) -> Budget | None:
        own = self._own_budget()
        if budget is not None and not isinstance(budget, Budget):
            raise UsageError(
                "fit(df, schema, budget): the third argument is a Budget; pass a ledger by name (ledger=...)"
            )
        if (
            budget is not None
            and own is not None
            and (budget.epsilon, budget.delta) != (own.epsilon, own.delta)
        ):
            raise UsageError("epsilon= and delta= differ from the budget given to fit(); give one of them")
        whole = budget if budget is not None else own
        if self.private and whole is None:
            raise UsageError(
                f"method {self.name!r} is differentially private: give epsilon= (and delta=), the release's budget"
            )
        if not self.private and whole is not None:
            raise UsageError(
                f"method {self.name!r} gives {NO_GUARANTEE}: epsilon= and delta= do not apply to it"
            )
        return whole

    def _plan_public(self, run: _Fit) -> None:
        """From public facts only: the domain discovery plan, the encoding, and the resource limits."""
        run.dom = self._plan_domains(run)
        self.domain_plan_ = run.dom
        self._domain_measurements_: dict[int, Any] = {}  # filled by a discovery (:meth:`_discover`)
        run.part = run.budget
        if run.dom is not None:
            run.schema, run.part = run.dom.provisional, run.dom.remainder
        self.encoding_ = Encoding.from_schema(
            run.schema,
            bins=self.bins,
            trust_domains=self.domains_ == "trust" or not self.private,
            missing=self.missing,
        )
        self.schema_fingerprint_ = (run.dom.public if run.dom is not None else run.schema).fingerprint()
        self._check_resources()

    def _read(self, run: _Fit, df: pd.DataFrame) -> None:
        """Coerce the table to the schema (a DP refusal names the column only), encode it, check it."""
        if self.private:
            from anonlab.privacy.stats import coerce_private

            run.coerced = coerce_private(df, run.schema, run.source)
        else:
            run.coerced = run.schema.coerce(df, run.source)
        self.outside_domain_ = {}
        if self.uses_codes:
            run.codes, self.outside_domain_ = self.encoding_.encode(run.coerced)
        self._check_data(run.coerced, run.source)
        self.trusted_domains_ = bool(self.domains_ == "trust" and any(c.from_data for c in run.schema))

    def _plan_parts(self, run: _Fit) -> None:
        """Split the budget left after domain discovery between quantile cut points, densities and the model."""
        part = run.part
        if self.binning is None:  # by method, where a DP method has a wide column to cut; else public
            from anonlab.synth.binning import wide_columns

            wide = self.private and part is not None and wide_columns(self.encoding_)
            self.binning_used_ = self._default_binning() if wide else "public"
        if self.private and self.binning_mode == "quantile" and part is not None:
            from anonlab.synth.binning import plan_quantile_binning

            run.qplan = plan_quantile_binning(
                self.encoding_,
                run.schema,
                self.binning_columns,
                part,
                self.binning_share,
                bins=self.bins,
                zcdp=self.accounts_in_zcdp(),
                group=1 if run.relation == "add/remove" else 2,
            )
            part = run.qplan.remainder
        run.synthesis = part
        run.dplan = self._plan_density(part, run.relation)
        if run.dplan is not None and part is not None:
            part = Budget(part.epsilon, part.delta, zcdp_rho=part.rho - run.dplan.rho)
        run.fit_budget = part

    def _charge(
        self, run: _Fit, budget: Budget, df: pd.DataFrame, ledger: Ledger | None, dataset: str | None
    ) -> NoiseSource:
        """Charge the ledger for the whole fit (or warn that there is none), then key the release's noise stream.

        Nothing has been drawn yet: a refused charge leaves no noise behind."""
        from anonlab.privacy.noise import NoiseSource

        if self.private and run.relation == "replace-one":
            self._check_public_size(ledger, len(df), run.source)
        # keys the noise and names the table in the ledger; never published
        fp = self._fingerprint(df, ledger)
        release = self.release_parameters(budget, run.relation)
        seq = None
        if ledger is not None:
            seq = self._charge_ledger(run, budget, ledger, dataset or fp, release)
        else:
            import warnings

            from anonlab.errors import PrivacyWarning

            warnings.warn(
                f"synth {self.name}: a differentially private fit with no ledger; nothing records or limits "
                "what this release spends, and its privacy record says 'no ledger'",
                PrivacyWarning,
                stacklevel=3,
            )
        self.ledger_entry_ = seq  # the number of the ledger entry this fit charged (None: no ledger)
        # one stream per release: two seeded releases that differ in any parameter never share noise
        return NoiseSource.for_release(self.seed, f"synth {self.name}", release, fp, seq)

    def _fingerprint(self, df: pd.DataFrame, ledger: Ledger | None) -> str:
        """The table's content fingerprint (:func:`anonlab.privacy.ledger.dataset_fingerprint`; a fit on a cluster
        computes the same one there, :mod:`anonlab.distributed.marginals`)."""
        from anonlab.privacy.ledger import dataset_fingerprint

        return dataset_fingerprint(df)

    @staticmethod
    def _check_public_size(ledger: Ledger | None, rows: int, source: str) -> None:
        n_public = getattr(ledger, "population_size", None)
        if n_public is not None and int(n_public) != rows:
            raise PrivacyError(
                f"{source}: the ledger's neighbours are 'replace-one' with a public population size of "
                f"{int(n_public)} rows, and the table's row count differs; replace-one neighbours hold only "
                "for a table of exactly that size (use an add/remove ledger for other tables)"
            )

    def _charge_ledger(
        self, run: _Fit, budget: Budget, ledger: Ledger, dataset: str, release: dict[str, Any]
    ) -> int:
        """Check and charge the ledger's entry for this fit (public parameters only); its sequence number."""
        from anonlab.privacy.noise import NoiseSource, seed_commitment

        rho = budget.rho if self.accounts_in_zcdp() else None
        extra: dict[str, Any] = {}
        if run.dom is not None and run.dom.total_rho is not None:
            # the whole fit is (rho, delta_keys)-approximate zCDP: the keys' delta is outside the conversion
            rho, extra = run.dom.total_rho, {"delta_extra": run.dom.delta_keys}
        ledger.check(
            epsilon=budget.epsilon,
            delta=budget.delta,
            dataset=dataset,
            rho=rho,
            neighbours=run.relation,
            **extra,
        )
        parts: dict[str, Any] = {}
        if run.qplan is not None and run.synthesis is not None:
            parts["binning"] = binning_record(run.qplan, run.synthesis, self.accounts_in_zcdp())
        if run.dplan is not None:
            parts["density"] = run.dplan.to_dict()
        if run.dom is not None:
            parts["domains"] = run.dom.to_dict()
        model = run.fit_budget if run.fit_budget is not None else budget
        entry = ledger.charge(
            dataset=dataset,
            what=f"synth {self.name}" + (" with quantile binning" if run.qplan is not None else ""),
            mechanism=self.ledger_mechanism(),
            epsilon=budget.epsilon,
            delta=budget.delta,
            rho=rho,
            details={
                "method": self.name,
                "params": release["params"],
                "schema": self.schema_fingerprint_,
                "trusted_domains": self.trusted_domains_,
                "neighbours": run.relation,
                "seeded": self.seed is not None,
                "noise": NoiseSource(self.seed).describe(),
                **parts,
                **self._ledger_extra(model),  # e.g. a DP row count (anonlab.synth.planning)
            },
            neighbours=run.relation,
            # in the ledger file only: lets a replay of this entry check its seed (anonlab.run_recipe)
            seed_commitment=seed_commitment(self.seed) if self.seed is not None else None,
            **extra,
        )
        return int(entry.seq)

    def _release_parts(self, run: _Fit, root: NoiseSource) -> None:
        """After the charge: discover the domains, release the cut points, attach the densities (each from a
        fork of the release's stream; everything after builds on them, public from here on)."""
        if run.dom is not None:
            run.coerced, run.dplan = self._discover(run.dom, run.coerced, run.dplan, root.fork("domains"))
            run.codes, self.outside_domain_ = self.encoding_.encode(run.coerced)
        if run.qplan is not None:
            from anonlab.synth.binning import release_quantile_edges

            self.encoding_, run.released = release_quantile_edges(
                run.coerced, self.encoding_, run.qplan, root.fork("cut points")
            )
            run.codes, _ = self.encoding_.encode(run.coerced)
        if run.dplan is not None:
            from anonlab.synth.density import attach_densities

            # post-processing at decoding time; the codes the synthesizer learns on are unchanged
            self.encoding_ = attach_densities(self.encoding_, run.coerced, run.dplan, root.fork("density"))
            if self.binning_mode == "density":  # the bins cut at the densities' quantiles (post-processing)
                from anonlab.synth.binning import apply_density_edges

                self.encoding_, _ = apply_density_edges(self.encoding_, self.bins)
                run.codes, _ = self.encoding_.encode(run.coerced)

    def _record(self, spent: PrivacySpent | None, run: _Fit) -> PrivacySpent | None:
        """The fit's privacy record: the model's, with each budget part added back (the whole budget, itemised)."""
        if spent is None:
            return None
        if run.dplan is not None:
            spent = with_density(spent, run.dplan)
        if run.qplan is not None and run.part is not None:
            spent = with_binning(spent, run.part, run.released, self.accounts_in_zcdp())
        if run.dom is not None and run.budget is not None:
            spent = with_domains(spent, run.budget, run.dom, getattr(self, "discovered_domains_", {}))
        if run.no_ledger:
            spent = dataclasses.replace(spent, details={**spent.details, "ledger": "no ledger"})
        return spent

    def release_neighbours(self, ledger: Any) -> str:
        """The neighbour relation this fit releases under: ``"replace-one"`` only on a ledger whose relation is
        replace-one (n public) and for a method that supports it (:attr:`supports_replace_one`); else
        ``"add/remove"`` (no ledger, an add/remove ledger, or a method whose analysis is add/remove, which a
        replace-one ledger charges as a group of two)."""
        relation = getattr(ledger, "neighbours", "add/remove") if ledger is not None else "add/remove"
        if relation not in ("add/remove", "replace-one"):
            raise PrivacyError(f"unknown neighbour relation {relation!r} in the ledger")
        return "replace-one" if relation == "replace-one" and self.supports_replace_one else "add/remove"

    def release_parameters(self, budget: Budget, neighbours: str) -> dict[str, Any]:
        """Every public parameter that shapes this release, as digested into its noise stream (never the seed,
        never the table): the method and its parameters, the budget, the binning, missing handling, trust in
        data-read domains, the schema's fingerprint and the neighbour relation. Folders and progress bars, which
        change nothing in the release, are left out."""
        plan = getattr(self, "domain_plan_", None)
        return {
            "method": self.name,
            "params": self._published_params(),
            "epsilon": budget.epsilon,
            "delta": budget.delta,
            "zcdp_rho": budget.zcdp_rho,
            "rho": budget.rho if self.accounts_in_zcdp() else None,
            "bins": self.bins,
            "binning": {
                "mode": self.binning_mode,
                "share": self.binning_share if self.binning_mode == "quantile" else None,
                "columns": None if self.binning_columns is None else list(self.binning_columns),
            },
            "missing": self.missing,
            "point_masses": {"on": bool(self.point_masses), "share": self.density_share},
            "trust_domains": getattr(self, "domains_", None) == "trust",
            **({"domains": plan.to_dict()} if plan is not None else {}),
            "schema": self.schema_fingerprint_,
            "neighbours": neighbours,
        }

    def _plan_domains(self, run: _Fit) -> Any:
        """The DP domain discovery plan of this fit (:mod:`anonlab.synth.domains`), or ``None``: not a DP fit,
        the domain mode is not ``"discover"``, or no synthesised column has a domain read from the data."""
        if not (self.private and self.domains_ == "discover" and run.budget is not None):
            return None
        from anonlab.synth.domains import discovered_columns, plan_domains

        categories = any(run.schema[c].is_categorical for c in discovered_columns(run.schema))
        return plan_domains(
            run.schema,
            run.budget,
            zcdp=self.accounts_in_zcdp(),
            relation=run.relation,
            share=self.default_domain_share(categories) if self.domain_share is None else self.domain_share,
        )

    def _discover(self, dom: Any, coerced: pd.DataFrame, dplan: Any, noise: NoiseSource) -> tuple[Any, Any]:
        """Release the planned domains (after the charge), rebuild the encoding on them, leave out the records a
        column without a missing code cannot hold, and re-plan the densities (same rho) on the new bounds.
        Returns (coerced frame, density plan)."""
        from anonlab.synth.domains import discover_domains, domain_measurement

        counts: dict[str, Any] = {}
        found, released, keep = discover_domains(
            coerced, dom.provisional, dom, noise, missing_codes=self.missing, counts_out=counts
        )
        self.discovered_domains_ = released
        other = {name: r["other"] for name, r in released.items() if "other" in r}
        self.encoding_ = Encoding.from_schema(found, bins=self.bins, missing=self.missing, other=other)
        # the kept categories' noisy counts: a one-way measurement a marginal method combines with its own
        priors = {}
        for j, coding in enumerate(self.encoding_.columns):
            if coding.name in counts:
                m = domain_measurement(coding, counts[coding.name], j)
                if m is not None:
                    priors[j] = m
        self._domain_measurements_ = priors
        if not keep.all():
            coerced = coerced[keep].reset_index(drop=True)
        if dplan is not None:
            from anonlab.synth.density import density_columns, plan_density

            dplan = plan_density(density_columns(self.encoding_), dplan.rho, sensitivity=dplan.sensitivity)
        return coerced, dplan

    def _plan_density(self, fit_budget: Budget | None, relation: str) -> Any:
        """The DP density plan of this fit (public: bounds, levels, noise), or ``None`` when it spends nothing:
        not a zCDP-accounted DP method, ``point_masses=False``, or no binned numeric column."""
        if not (self.private and self.point_masses and self.accounts_in_zcdp() and fit_budget is not None):
            return None
        import math

        from anonlab.synth.density import density_columns, plan_density

        cols = density_columns(self.encoding_)
        if not cols:
            return None
        return plan_density(
            cols,
            fit_budget.rho * self.density_share,
            sensitivity=1.0 if relation == "add/remove" else math.sqrt(2),
        )

    def _check_resources(self) -> None:
        """Refuse, before anything is read or charged, a fit whose public domain would pass the memory or time
        limits (:mod:`anonlab.synth.resources`)."""
        from anonlab.synth.resources import check_fit, estimate_fit

        est = estimate_fit(
            self.name,
            self.encoding_.sizes,
            self.params,
            names=self.encoding_.names,
            seeded=self.seed is not None,
        )
        check_fit(est, self.limits)

    # -- after the fit ---------------------------------------------------------------------------------------------
    def _rows(self, n: int | None) -> int:
        """Rows to sample: ``n``, or (``None``) the fitted model's DP estimate of the input's size."""
        self._check_fitted()
        if n is None:
            estimate = getattr(self, "n_estimate_", None)
            if estimate is None:
                raise UsageError(f"method {self.name!r} has no estimate of the input's size: give n=")
            n = int(round(float(estimate)))
        n = int(n)
        if n < 1:
            raise UsageError(f"rows must be at least 1 (got {n})")
        return n

    def _check_fitted(self) -> None:
        if not hasattr(self, "encoding_"):
            raise UsageError(f"method {self.name!r}: call fit() before sample()")

    def _domains_summary(self) -> str:
        """How the release got the domains of its columns: "public", "discovered (DP)" or "trusted (read from the
        data)" (a public fact: it follows from the schema and the options)."""
        if not self.private:
            return "as in the schema (no DP)"
        p = getattr(self, "privacy_", None)
        if p is not None and "domains" in ((p.details or {}).get("budget_parts") or {}):
            return "discovered (DP)"
        if p is not None and p.trusted_domains:
            return "trusted (read from the data)"
        return "public"

    def summary(self) -> dict[str, Any]:
        """What every artifact of this release (sidecar, ``--json``, study reports) records about the fitted model.

        Built through the allow-list of :mod:`anonlab.synth.artifacts`: public parameters and DP outputs only.
        Never the seed (``seeded`` says whether there was one), the table's fingerprint, exact counts, training
        losses or run times; fit diagnostics of that kind stay in ``privacy_.details`` in memory.
        """
        from anonlab.synth.artifacts import published, statement, summary_allow

        self._check_fitted()
        privacy = self._published_privacy()
        out: dict[str, Any] = {
            "method": self.name,
            "params": self._published_params(),
            "bins": self.bins,
            "binning": self._binning_summary(),
            "missing_category": self.missing,
            "columns": self.encoding_.names,
            "skipped_columns": list(self.encoding_.skipped),
            "schema_sha256": self.schema_fingerprint_,
            "seeded": self._seeded(),
            "domains": self._domains_summary(),
            "privacy": privacy,
            "statement": statement(privacy),
        }
        return published(out, summary_allow(type(self), self.private))

    def _seeded(self) -> bool:
        privacy = getattr(self, "privacy_", None)
        if self.private and privacy is not None:
            return bool(privacy.seeded)
        return bool(getattr(self, "seeded_", self.seed is not None))

    def _published_params(self) -> dict[str, Any]:
        """The method's parameters, less the local JAX cache folder (it changes nothing in the release)."""
        return {k: v for k, v in self.params.items() if k != "jax_cache"}

    def _published_privacy(self) -> dict[str, Any] | str:
        """The fit's privacy record as artifacts carry it: without :data:`~anonlab.synth.artifacts.WITHHELD_DETAILS`
        (losses, run times, sampler diagnostics). :data:`NO_GUARANTEE` for a non-DP method."""
        from anonlab.synth.artifacts import withhold

        privacy = getattr(self, "privacy_", None)
        if not self.private or privacy is None:
            return NO_GUARANTEE
        rec = privacy.to_dict()
        rec["details"] = withhold(rec.get("details") or {})
        return rec

    def _binning_summary(self) -> dict[str, Any]:
        if self.binning_mode == "public":
            return {"mode": "public"}
        from anonlab.synth.binning import readable_edges

        return {
            "mode": self.binning_mode,
            "share": self.binning_share if self.binning_mode == "quantile" else None,
            "edges": {c.name: readable_edges(c.type, c.edges) for c in self.encoding_.columns if c.learned},
        }

    # -- persistence -------------------------------------------------------------------------------------------
    def save(self, path: str | Path, force: bool = False) -> Path:
        """Write the fitted model to ``path`` (a zip: manifest.json, arrays.npz, optional payload). Atomic.

        The model is part of the release: its manifest is built through the allow-list of
        :mod:`anonlab.synth.artifacts` (no seed, no exact counts, no losses or run times), and its arrays are the
        DP model's parameters."""
        from anonlab import __version__
        from anonlab.io import atomic_path
        from anonlab.synth.artifacts import manifest_allow, published, statement

        self._check_fitted()
        state, arrays, payload = self._state()
        privacy = self._published_privacy()
        manifest = {
            "format": MODEL_FORMAT,
            "version": _MODEL_VERSION,
            "anonlab": __version__,
            "method": self.name,
            "seeded": self._seeded(),
            "bins": self.bins,
            "missing": self.missing,
            "binning": {
                "mode": self.binning_mode,
                "share": self.binning_share,
                "columns": None if self.binning_columns is None else list(self.binning_columns),
            },
            "params": self._published_params(),
            "encoding": self.encoding_.to_dict(),
            "schema_sha256": self.schema_fingerprint_,
            "privacy": privacy,
            "statement": statement(privacy),
            "state": state,
            "payload": payload is not None,
        }
        # the manifest is released with the model: public parameters and DP outputs only
        discovered = self._domains_summary() == "discovered (DP)"
        manifest = published(
            manifest, manifest_allow(type(self), self.private, self.binning_mode != "public", discovered)
        )
        with atomic_path(path, force) as tmp:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("manifest.json", json.dumps(manifest, indent=1, default=_json_default))
                buf = io.BytesIO()
                np.savez(buf, allow_pickle=False, **arrays)
                zf.writestr("arrays.npz", buf.getvalue())
                if payload is not None:
                    zf.writestr("payload.bin", payload)
        return Path(path)

    @property
    def binning_mode(self) -> str:
        """The binning in effect: ``binning`` when given, else :meth:`_default_binning` for a DP method
        (``"density"`` for MST and AIM with point masses, else ``"quantile"``) and ``"public"`` for a non-private
        baseline; once fitted, ``"public"`` also where no column was wide enough to need cut points (decided from
        the public encoding, so nothing is spent on them)."""
        if self.binning is not None:
            return self.binning
        used = getattr(self, "binning_used_", None)  # set by fit from public facts (the encoding)
        if used is not None:
            return used
        return self._default_binning() if self.private else "public"

    def _default_binning(self) -> str:
        """A DP method's binning when none is given: ``"quantile"`` here; the marginal methods (MST, AIM) cut at
        their densities (:meth:`anonlab.synth.marginal_method.GraphicalSynthesizer._default_binning`)."""
        return "quantile"

    @classmethod
    def load(cls, path: str | Path) -> Synthesizer:
        """Read a model written by :meth:`save` (any method when called on :class:`Synthesizer`). Models holding a
        pickled payload (SDV baselines) execute code when loaded: load only models you made."""
        manifest, arrays, payload = _read_model(Path(path))
        klass = get_method(manifest["method"]) if cls is Synthesizer else cls
        binning = manifest.get("binning") or {"mode": "public"}
        kwargs: dict[str, Any] = {
            "bins": manifest["bins"],
            "missing": manifest.get("missing", True),
            "binning": binning["mode"],
            "binning_share": binning.get("share", DEFAULT_BINNING_SHARE),
            "binning_columns": binning.get("columns"),
            **manifest["params"],
        }
        priv = manifest["privacy"]
        if isinstance(priv, dict) and "epsilon" in klass.param_names():
            kwargs.update(epsilon=priv["epsilon"], delta=priv["delta"])
        obj = klass(**kwargs)
        obj.encoding_ = Encoding.from_dict(manifest["encoding"])
        obj.schema_fingerprint_ = manifest["schema_sha256"]
        obj.privacy_ = PrivacySpent(**priv) if isinstance(priv, dict) else None
        obj.seeded_ = bool(manifest.get("seeded", manifest.get("seed_given", False)))
        obj._restore(manifest["state"], arrays, payload)
        return obj


class EncodedSynthesizer(Synthesizer):
    """A method that learns from the encoded table (integer codes on public domains) and samples codes, which
    the encoding decodes: AIM, MST, NAPSU-MQ, DPVI.

    epsilon, delta : the privacy budget of the whole release ((epsilon, delta)-DP; delta defaults to 1e-9: keep it
        far below 1 / number of people). A DP method needs ``epsilon`` (here or, the old way, a :class:`Budget`
        given to :meth:`fit`).
    """

    epsilon: float | None = _common(None)
    delta: float = _common(1e-9)

    def _check_params(self) -> None:
        super()._check_params()
        if self.epsilon is not None:
            if not self.private:
                raise UsageError(f"method {self.name!r} gives {NO_GUARANTEE}: epsilon= does not apply to it")
            Budget(self.epsilon, self.delta)  # refuses a bad epsilon or delta now, naming it

    def _own_budget(self) -> Budget | None:
        return None if self.epsilon is None else Budget(self.epsilon, self.delta)

    @abstractmethod
    def _fit_codes(
        self, codes: np.ndarray, sizes: tuple[int, ...], budget: Budget | None, noise: Any
    ) -> PrivacySpent | None:
        """Learn from the encoded table. DP methods draw all noise from ``noise`` (a NoiseSource)."""

    @abstractmethod
    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` encoded rows from the fitted model."""

    def _learn(self, run: _Fit, noise: NoiseSource | None) -> PrivacySpent | None:
        codes = (
            run.codes if run.codes is not None else np.zeros((0, len(self.encoding_.sizes)), dtype=np.int64)
        )
        return self._fit_codes(codes, self.encoding_.sizes, run.fit_budget, noise)

    def sample(self, n: int | None = None, seed: int | None = None) -> pd.DataFrame:
        """``n`` synthetic rows (default: the DP estimate of the input's size). Spends no privacy budget."""
        rows = self._rows(n)
        rng = np.random.default_rng(seed)
        return self.encoding_.decode(self._sample_codes(rows, rng), rng)


class FrameSynthesizer(Synthesizer):
    """A non-private baseline that learns from the coerced columns themselves (no codes, no noise, no budget):
    the SDV baselines. ``n_estimate_`` is the input's exact row count (no guarantee to keep)."""

    private: ClassVar[bool] = False
    uses_codes: ClassVar[bool] = False

    @abstractmethod
    def _fit_frame(self, frame: pd.DataFrame) -> None:
        """Learn from the table coerced to the schema (the encoding's columns)."""

    @abstractmethod
    def _sample_frame(self, n: int, seed: int | None) -> pd.DataFrame:
        """``n`` rows in the schema's public domain."""

    def _learn(self, run: _Fit, noise: NoiseSource | None) -> PrivacySpent | None:
        self._fit_frame(run.coerced[self.encoding_.names].copy())
        return None

    def sample(self, n: int | None = None, seed: int | None = None) -> pd.DataFrame:
        """``n`` synthetic rows (default: the input's row count). No privacy guarantee."""
        return self._sample_frame(self._rows(n), seed)


Synthesizer._wrap_init()


def _open_ledger(ledger: Ledger | str | Path | None) -> Ledger | None:
    if ledger is None or not isinstance(ledger, str | Path):
        return ledger
    from anonlab.privacy.ledger import Ledger

    return Ledger.open(ledger)


def _read_model(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray], bytes | None]:
    if not path.is_file():
        raise InputError(f"{path}: no such model file")
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            if manifest.get("format") != MODEL_FORMAT:
                raise InputError(f"{path}: not an anonlab synthesis model")
            with np.load(io.BytesIO(zf.read("arrays.npz")), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            payload = zf.read("payload.bin") if manifest.get("payload") else None
    except (zipfile.BadZipFile, KeyError, ValueError, json.JSONDecodeError):
        raise InputError(f"{path}: not an anonlab synthesis model (unreadable or damaged)") from None
    if manifest.get("version") != _MODEL_VERSION:
        raise InputError(f"{path}: model format version {manifest.get('version')} is not supported")
    return manifest, arrays, payload


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def resolve_schema(
    df: pd.DataFrame, schema: Schema | str | Path | None, source: str
) -> tuple[Schema, str, bool]:
    """The schema a fit reads ``df`` with, where it came from (the sidecar's ``schema_source``), and whether it
    was inferred from ``df`` itself. A schema with extra columns (a Schema object, a path, or ``"adult"``) serves any
    subset of them: the table's columns are the ones synthesised."""
    from anonlab.datasets import adult_schema
    from anonlab.schema import Schema, infer_schema

    if isinstance(schema, Schema):
        return _serving(schema, df), "given (Python)", False
    if schema == "adult":
        return _serving(adult_schema(), df), "adult (bundled, public domains)", False
    if schema:
        return _serving(Schema.read(schema), df), str(schema), False
    bundled = adult_schema()
    if list(df.columns) == bundled.names:
        return bundled, "adult (bundled, public domains; matched by column names)", False
    return infer_schema(df), f"inferred from {source} (domains read from the data)", True


def _serving(schema: Schema, df: pd.DataFrame) -> Schema:
    """Keep the schema's columns the table has (all when it has none of them, so the missing column is named)."""
    sub = schema.present_in(df)
    return sub if len(sub) else schema


# -- the old names (kept while callers move to the registry and the classes) ------------------------------------
def get_method(name: str) -> type[Synthesizer]:
    """The synthesizer class registered as ``name`` (:func:`anonlab.synth.registry.get`)."""
    cls = registry.get(name)
    if not (isinstance(cls, type) and issubclass(cls, Synthesizer)):
        raise UsageError(f"synthesis method {name!r} is not a Synthesizer")
    return cls


def available_methods() -> list[str]:
    """Every method name (:func:`anonlab.synth.registry.names`)."""
    return registry.names()


register = registry.register
