"""The one interface every synthesizer follows, the privacy budget it is given, and the registry of methods.

``Synthesizer(**params).fit(df, schema, budget) -> self``, then ``sample(n, seed) -> DataFrame``, ``save(path)``
and ``Synthesizer.load(path)``. The constructor only stores parameters; ``fit`` validates the inputs once, builds
the public-domain encoding (:mod:`anonlab.synth.encoding`), charges the ledger *before* any noise is drawn, and
learns; fitted state ends in ``_``. Sampling is post-processing of the fitted model: it spends no budget and never
reads the real data, so a saved model samples without it.

Methods register by name (``@register``) so research users can add their own:

    @register
    class MyMethod(Synthesizer):
        name = "mine"
        private = True
        def _fit_codes(self, codes, sizes, budget, noise): ...
        def _sample_codes(self, n, rng): ...
"""

from __future__ import annotations

import io
import json
import zipfile
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from anonlab.errors import InputError, PrivacyError, UsageError
from anonlab.synth.binning import BINNING_MODES, DEFAULT_BINNING_SHARE, check_share
from anonlab.synth.encoding import DEFAULT_BINS, Encoding

if TYPE_CHECKING:
    import pandas as pd

    from anonlab.schema import Schema

__all__ = [
    "Budget",
    "Synthesizer",
    "register",
    "get_method",
    "available_methods",
    "NO_GUARANTEE",
    "MODEL_FORMAT",
]

NO_GUARANTEE = "no formal privacy guarantee"
MODEL_FORMAT = "anonlab-synth-model"
_MODEL_VERSION = 1
#: The share of a synthesis budget's rho spent on the DP densities that keep point masses.
DEFAULT_DENSITY_SHARE = 0.1

_REGISTRY: dict[str, type[Synthesizer]] = {}


@dataclass(frozen=True)
class Budget:
    """The privacy budget of one fit: (epsilon, delta)-DP for the whole release.

    epsilon : the privacy-loss bound; smaller is more private and noisier.
    delta : the probability with which the bound may fail; keep it far below 1 / (number of people).
    Gaussian-noise methods work in zCDP: ``rho`` is the largest zCDP budget whose tight conversion
    (Canonne, Kamath, Steinke 2020) stays within (epsilon, delta).
    zcdp_rho : a smaller zCDP budget to use instead of that largest one (what is left for the synthesizer after
        quantile binning took its share); (epsilon, delta) must then be a valid conversion of it.
    """

    epsilon: float
    delta: float
    zcdp_rho: float | None = None

    def __post_init__(self) -> None:
        from anonlab.privacy.accounting import check_delta, check_epsilon

        object.__setattr__(self, "epsilon", check_epsilon(self.epsilon))
        object.__setattr__(self, "delta", check_delta(self.delta))
        if self.zcdp_rho is not None:
            from anonlab.privacy.accounting import zcdp_epsilon

            r = check_epsilon(self.zcdp_rho, "rho")
            if zcdp_epsilon(r, self.delta) > self.epsilon * (1 + 1e-9):
                raise PrivacyError(f"rho {r} does not fit in epsilon {self.epsilon} at delta {self.delta}")
            object.__setattr__(self, "zcdp_rho", r)

    @property
    def rho(self) -> float:
        if self.zcdp_rho is not None:
            return self.zcdp_rho
        from anonlab.privacy.accounting import rho_for

        return rho_for(self.epsilon, self.delta)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"epsilon": self.epsilon, "delta": self.delta}
        if self.zcdp_rho is not None:
            out["rho"] = self.zcdp_rho
        return out


@dataclass(frozen=True)
class PrivacySpent:
    """What a fit spent and how: the record the sidecar and the ledger carry.

    ``rho`` is set for zCDP-accounted methods; ``neighbours`` states what "neighbouring datasets" means for the
    guarantee; ``noise`` says where the randomness came from; ``seeded`` whether it was reproducible (then private
    only while the seed stays secret).
    """

    epsilon: float
    delta: float
    rho: float | None
    neighbours: str
    noise: str
    seeded: bool
    trusted_domains: bool
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "rho": self.rho,
            "neighbours": self.neighbours,
            "noise": self.noise,
            "seeded": self.seeded,
            "trusted_domains": self.trusted_domains,
            "details": self.details,
        }


def register(cls: type[Synthesizer]) -> type[Synthesizer]:
    """Class decorator: make ``cls`` available under ``cls.name`` (``--method NAME``)."""
    if not getattr(cls, "name", None):
        raise TypeError(f"{cls.__name__} needs a class attribute `name` to be registered")
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtins() -> None:
    import anonlab.synth.aim  # noqa: F401
    import anonlab.synth.mst  # noqa: F401
    import anonlab.synth.sdv_methods  # noqa: F401
    import anonlab.synth.twinify  # noqa: F401


def get_method(name: str) -> type[Synthesizer]:
    """The synthesizer class registered as ``name``; :class:`UsageError` listing the known ones otherwise."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UsageError(
            f"unknown synthesis method {name!r} (known: {', '.join(available_methods())})"
        ) from None


#: The optional dependencies (extra, module) of built-in methods that do not declare ``requires`` themselves.
_BUILTIN_REQUIRES: dict[str, tuple[str, str]] = {"napsu": ("synth", "numpyro"), "dpvi": ("synth", "numpyro")}


def available_methods() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


class Synthesizer(ABC):
    """Learns a table's distribution under a privacy budget and draws synthetic rows from it.

    Parameters (common to all methods)
    ----------------------------------
    seed : seeds the DP noise (a seeded release is private only while the seed stays secret) and the method's
        own randomness; ``None`` draws DP noise from the operating system's CSPRNG through OpenDP.
    bins : equal-width bins per numeric column with a wide public range (see :mod:`anonlab.synth.encoding`).
    trust_domains : accept schema domains read from the data (``from_data = true``) as if public. This breaks
        the DP guarantee unless those domains really are public; it is recorded in the sidecar and the ledger.
    missing : give every column a "missing" code (default). ``False`` states, as public knowledge, that no value
        is missing: smaller domains (less noise per cell, and far faster twinify fits); a missing value is then an
        input error.
    binning : ``"public"`` (default): wide numeric and date columns get equal-width bins over their public bounds,
        at no privacy cost. ``"quantile"`` (DP methods only): their cut points are placed near the column's
        quantiles, learned from the data with differential privacy (:mod:`anonlab.synth.binning`) and paid from
        the fit's budget; the bounds stay the public ones.
    binning_share : with quantile binning, the fraction of the budget (of rho for zCDP methods, of epsilon for
        DPVI) spent on the cut points, strictly between 0 and 1 (default 0.1); the synthesizer gets the rest, so
        the whole fit still costs exactly (epsilon, delta).
    binning_columns : with quantile binning, the columns to bin on quantiles (default: every numeric or date
        column whose public range is wider than ``bins``); each needs public bounds.
    progress : show progress bars on standard error.
    point_masses : (DP methods accounted in zCDP) spend ``density_share`` of the synthesis budget on a DP density
        inside each binned numeric or date column (:mod:`anonlab.synth.density`), and decode values inside a bin
        from it rather than uniformly, so point masses (a capital gain of exactly 0, a 40-hour week) survive.
        Default on; ``False`` decodes uniformly and spends nothing on it.
    density_share : the share of the synthesis budget's rho spent on those densities (default 0.1).
    domains : what a DP fit does with schema columns whose domain was read from the data (``from_data = true``):
        ``"discover"`` (default) finds them with DP, paid from the fit's budget (:mod:`anonlab.synth.domains`:
        a share of rho and of delta), ``"trust"`` (= ``trust_domains=True``) uses them as public, ``"refuse"``
        refuses the fit. Public domains are never touched.
    domain_share : with domain discovery, the share of the fit's rho (of epsilon for DPVI) spent on it (default
        0.2); 10% of delta goes to the chance that a category held by one record is released.
    max_memory_gb, max_minutes : the fit is refused before anything is read or charged if its estimated peak
        memory or time (from the public domain alone, :mod:`anonlab.synth.resources`) passes these (defaults 4 GB
        and 5 minutes); raise them knowingly for a large domain.
    """

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

    @classmethod
    def check_installed(cls) -> None:
        """Raise :class:`~anonlab.errors.MissingExtraError` when an optional dependency of the method is missing."""
        req = cls.requires or _BUILTIN_REQUIRES.get(cls.name)
        if req is not None:
            from anonlab.errors import require_extra

            require_extra(req[0], req[1], f"synthesis method {cls.name!r}")

    def __init__(
        self,
        *,
        seed: int | None = None,
        bins: int = DEFAULT_BINS,
        trust_domains: bool = False,
        missing: bool = True,
        binning: str = "public",
        binning_share: float = DEFAULT_BINNING_SHARE,
        binning_columns: list[str] | tuple[str, ...] | None = None,
        progress: bool = False,
        max_memory_gb: float | None = None,
        max_minutes: float | None = None,
        point_masses: bool = True,
        density_share: float = DEFAULT_DENSITY_SHARE,
        domains: str | None = None,
        domain_share: float | None = None,
        **params: Any,
    ) -> None:
        self.check_installed()
        from anonlab.synth.domains import check_mode

        if domains is None:
            domains = "trust" if trust_domains else "discover"
        elif trust_domains and check_mode(domains) != "trust":
            raise UsageError(f"trust_domains (--trust-domains) and domains={domains!r} contradict each other")
        self.domains = check_mode(domains)
        from anonlab.synth.domains import DEFAULT_DOMAIN_SHARE

        try:
            self.domain_share = check_share(DEFAULT_DOMAIN_SHARE if domain_share is None else domain_share)
        except UsageError:
            raise UsageError(f"domain share must be strictly between 0 and 1, got {domain_share!r}") from None
        trust_domains = self.domains == "trust"
        self.seed = seed
        self.missing = missing
        self.bins = bins
        self.trust_domains = trust_domains
        self.progress = progress
        self.point_masses = bool(point_masses)
        self.density_share = check_share(density_share)
        from anonlab.synth.resources import DEFAULT_LIMITS, FitLimits

        self.limits = FitLimits(
            DEFAULT_LIMITS.max_memory_gb if max_memory_gb is None else max_memory_gb,
            DEFAULT_LIMITS.max_minutes if max_minutes is None else max_minutes,
        )
        if binning not in BINNING_MODES:
            raise UsageError(f"binning must be one of {', '.join(BINNING_MODES)} (got {binning!r})")
        if binning == "quantile" and not self.private:
            raise UsageError(
                f"method {self.name!r} gives {NO_GUARANTEE} and learns from raw values: quantile binning (a DP "
                "release) does not apply to it"
            )
        if binning == "public" and binning_columns is not None:
            raise UsageError("binning columns apply only with quantile binning")
        self.binning = binning
        self.binning_share = check_share(binning_share)
        self.binning_columns = None if binning_columns is None else tuple(binning_columns)
        unknown = set(params) - set(self.default_params())
        if unknown:
            raise UsageError(f"method {self.name!r}: unknown parameter {sorted(unknown)[0]!r}")
        self.params = {**self.default_params(), **params}

    # -- what subclasses provide -------------------------------------------------------------------------------
    @classmethod
    def default_params(cls) -> dict[str, Any]:
        """Method-specific parameters and their defaults."""
        return {}

    @abstractmethod
    def _fit_codes(
        self, codes: np.ndarray, sizes: tuple[int, ...], budget: Budget | None, noise
    ) -> PrivacySpent | None:
        """Learn from the encoded table. DP methods draw all noise from ``noise`` (a NoiseSource)."""

    @abstractmethod
    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` encoded rows from the fitted model."""

    def _default_rows(self) -> int:
        """Rows to sample when none are asked for: a DP estimate of the input's size for DP methods."""
        return int(round(self.n_estimate_))

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray], bytes | None]:
        """(JSON-able state, named arrays, opaque payload) for :meth:`save`."""
        raise UsageError(f"method {self.name!r} cannot be saved")

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray], payload: bytes | None) -> None:
        raise UsageError(f"method {self.name!r} cannot be loaded")

    # -- the interface -----------------------------------------------------------------------------------------
    def fit(
        self,
        df: pd.DataFrame,
        schema: Schema,
        budget: Budget | None = None,
        *,
        ledger=None,
        dataset: str | None = None,
        source: str = "input",
    ) -> Synthesizer:
        """Learn from ``df`` under ``schema``, spending at most ``budget``.

        ledger : an :class:`anonlab.privacy.ledger.Ledger`; charged for the whole fit before any noise is drawn
            (refused, with nothing drawn, if the fit would pass the ledger's total). ``None`` is allowed for
            experiments but emits :class:`~anonlab.errors.PrivacyWarning` (once per fit) and the privacy record
            says "no ledger" (``privacy_.details["ledger"]``).
        dataset : the table's content fingerprint as the ledger records it (default: computed from ``df``); it stays
            inside the ledger and the noise key, never in a released artifact.

        Neighbouring datasets: the fit releases under the relation :meth:`release_neighbours` picks (add/remove
        one record unless the ledger is "replace-one" and the method supports it) and passes it to the ledger.

        Noise: every draw of the fit comes from one stream, :meth:`anonlab.privacy.noise.NoiseSource.for_release`
        keyed by the seed, a canonical digest of all the release's parameters (:meth:`release_parameters`), the
        table's content fingerprint and the ledger entry's sequence number; the quantile cut points use a fork of
        it. Two seeded fits that differ in anything draw independent noise; the same fit twice reproduces.
        """
        from anonlab.privacy.noise import NoiseSource

        if self.private and budget is None:
            raise UsageError(
                f"method {self.name!r} is differentially private: give a budget (--epsilon, --delta)"
            )
        if not self.private and ledger is not None:
            raise UsageError(
                f"method {self.name!r} gives {NO_GUARANTEE}; it cannot be charged to a privacy ledger"
            )
        if len(df) == 0:
            raise InputError(f"{source}: no rows")
        if self.binning == "quantile" and self.binning_columns is not None:
            from anonlab.synth.binning import check_columns

            check_columns(schema, self.binning_columns)
        # DP domain discovery (anonlab.synth.domains): plan it from public facts; `part` is what the rest gets
        dom, part = self._plan_domains(schema, budget, ledger), budget
        self.domain_plan_ = dom
        if dom is not None:
            schema, part = dom.provisional, dom.remainder
        self.encoding_ = Encoding.from_schema(
            schema, bins=self.bins, trust_domains=self.trust_domains or not self.private, missing=self.missing
        )
        self.schema_fingerprint_ = (dom.public if dom is not None else schema).fingerprint()
        self._check_resources()
        if self.private:  # a refusal on content names the column only: the value and its row are private
            from anonlab.privacy.stats import coerce_private

            coerced = coerce_private(df, schema, source)
        else:
            coerced = schema.coerce(df, source)
        self.outside_domain_ = {}
        codes = None
        if self._uses_codes():
            codes, self.outside_domain_ = self.encoding_.encode(coerced)
        self._check_data(coerced, source)
        self.trusted_domains_ = bool(self.trust_domains and any(c.from_data for c in schema))
        noise = None
        plan = None
        fit_budget = part
        relation = self.release_neighbours(ledger) if self.private else "add/remove"
        if self.private and relation == "replace-one":
            n_public = getattr(ledger, "population_size", None)
            if n_public is not None and int(n_public) != len(df):
                raise PrivacyError(
                    f"{source}: the ledger's neighbours are 'replace-one' with a public population size of "
                    f"{int(n_public)} rows, and the table's row count differs; replace-one neighbours hold only "
                    "for a table of exactly that size (use an add/remove ledger for other tables)"
                )
        if self.private and self.binning == "quantile":
            from anonlab.synth.binning import plan_quantile_binning

            plan = plan_quantile_binning(
                self.encoding_,
                schema,
                self.binning_columns,
                part,
                self.binning_share,
                bins=self.bins,
                zcdp=self.accounts_in_zcdp(),
                group=1 if relation == "add/remove" else 2,
            )
            fit_budget = plan.remainder
        synthesis_budget = fit_budget  # the synthesis part (model and densities), after any binning share
        dplan = self._plan_density(fit_budget, relation)
        if dplan is not None:
            fit_budget = Budget(fit_budget.epsilon, fit_budget.delta, zcdp_rho=fit_budget.rho - dplan.rho)
        if self.private:
            import warnings

            from anonlab.errors import PrivacyWarning
            from anonlab.privacy.ledger import dataset_fingerprint

            fp = dataset_fingerprint(df)  # keys the noise and names the table in the ledger; never published
            ds = dataset or fp
            rho = budget.rho if self.accounts_in_zcdp() else None
            extra: dict[str, Any] = {}
            if dom is not None and dom.total_rho is not None:
                # the whole fit is (rho, delta_keys)-approximate zCDP: the keys' delta is outside the conversion
                rho, extra = dom.total_rho, {"delta_extra": dom.delta_keys}
            seq = None
            binning_details = (
                {"binning": self._binning_record(plan, synthesis_budget)} if plan is not None else {}
            )
            release = self.release_parameters(budget, relation)
            if ledger is not None:
                ledger.check(
                    epsilon=budget.epsilon,
                    delta=budget.delta,
                    dataset=ds,
                    rho=rho,
                    neighbours=relation,
                    **extra,
                )
                entry = ledger.charge(
                    dataset=ds,
                    what=f"synth {self.name}" + (" with quantile binning" if plan is not None else ""),
                    mechanism=self.ledger_mechanism(),
                    epsilon=budget.epsilon,
                    delta=budget.delta,
                    rho=rho,
                    details={
                        "method": self.name,
                        "params": release["params"],
                        "schema": self.schema_fingerprint_,
                        "trusted_domains": self.trusted_domains_,
                        "neighbours": relation,
                        "seeded": self.seed is not None,
                        "noise": NoiseSource(self.seed).describe(),
                        **binning_details,
                        **({"density": dplan.to_dict()} if dplan is not None else {}),
                        **({"domains": dom.to_dict()} if dom is not None else {}),
                        **self._ledger_extra(fit_budget),  # e.g. a DP row count (anonlab.synth.planning)
                    },
                    neighbours=relation,
                    **extra,
                )
                seq = entry.seq
            else:
                warnings.warn(
                    f"synth {self.name}: a differentially private fit with no ledger; nothing records or limits "
                    "what this release spends, and its privacy record says 'no ledger'",
                    PrivacyWarning,
                    stacklevel=2,
                )
            # one stream per release: two seeded releases that differ in any parameter never share noise
            root = NoiseSource.for_release(self.seed, f"synth {self.name}", release, fp, seq)
            if dom is not None:
                # the domains come first: everything after builds on them (public from here on)
                coerced, dplan = self._discover(dom, coerced, dplan, relation, root.fork("domains"))
                codes, self.outside_domain_ = self.encoding_.encode(coerced)
            if plan is not None:
                from anonlab.synth.binning import release_quantile_edges

                # the cut points come first (the synthesizer learns on them), from a fork of their own
                self.encoding_, released = release_quantile_edges(
                    coerced, self.encoding_, plan, root.fork("cut points")
                )
                codes, _ = self.encoding_.encode(coerced)
            if dplan is not None:
                from anonlab.synth.density import attach_densities

                # post-processing at decoding time; the codes the synthesizer learns on are unchanged
                self.encoding_ = attach_densities(self.encoding_, coerced, dplan, root.fork("density"))
            noise = root.fork("synthesis")
        self.neighbours_ = relation
        self.frame_ = coerced if not self._uses_codes() else None
        spent = self._fit_codes(codes, self.encoding_.sizes, fit_budget, noise)
        self.frame_ = None
        if dplan is not None and spent is not None:
            spent = self._with_density(spent, dplan)
        if plan is not None and spent is not None:
            spent = self._with_binning(spent, part, released)
        if dom is not None and spent is not None:
            spent = self._with_domains(spent, budget, dom)
        if spent is not None and ledger is None:
            from dataclasses import replace

            spent = replace(spent, details={**spent.details, "ledger": "no ledger"})
        self.privacy_ = spent
        return self

    def release_neighbours(self, ledger) -> str:
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
        return {
            "method": self.name,
            "params": {k: v for k, v in self.params.items() if k != "jax_cache"},
            "epsilon": budget.epsilon,
            "delta": budget.delta,
            "zcdp_rho": budget.zcdp_rho,
            "rho": budget.rho if self.accounts_in_zcdp() else None,
            "bins": self.bins,
            "binning": {
                "mode": self.binning,
                "share": self.binning_share if self.binning == "quantile" else None,
                "columns": None if self.binning_columns is None else list(self.binning_columns),
            },
            "missing": self.missing,
            "point_masses": {"on": self.point_masses, "share": self.density_share},
            "trust_domains": bool(self.trust_domains),
            **(
                {"domains": self.domain_plan_.to_dict()}
                if getattr(self, "domain_plan_", None) is not None
                else {}
            ),
            "schema": self.schema_fingerprint_,
            "neighbours": neighbours,
        }

    def _plan_domains(self, schema: Schema, budget: Budget | None, ledger):
        """The DP domain discovery plan of this fit (:mod:`anonlab.synth.domains`), or ``None``: not a DP fit,
        ``domains`` is not ``"discover"``, or no synthesised column has a domain read from the data."""
        if not (self.private and self.domains == "discover" and budget is not None):
            return None
        from anonlab.synth.domains import plan_domains

        return plan_domains(
            schema,
            budget,
            zcdp=self.accounts_in_zcdp(),
            relation=self.release_neighbours(ledger),
            share=self.domain_share,
        )

    def _discover(self, dom, coerced, dplan, relation: str, noise):
        """Release the planned domains (after the charge), rebuild the encoding on them, leave out the records a
        column without a missing code cannot hold, and re-plan the densities (same rho) on the new bounds.
        Returns (coerced frame, density plan)."""
        from anonlab.synth.domains import discover_domains

        found, released, keep = discover_domains(
            coerced, dom.provisional, dom, noise, missing_codes=self.missing
        )
        self.discovered_domains_ = released
        self.encoding_ = Encoding.from_schema(found, bins=self.bins, missing=self.missing)
        if not keep.all():
            coerced = coerced[keep].reset_index(drop=True)
        if dplan is not None:
            from anonlab.synth.density import density_columns, plan_density

            dplan = plan_density(density_columns(self.encoding_), dplan.rho, sensitivity=dplan.sensitivity)
        return coerced, dplan

    def _with_domains(self, spent: PrivacySpent, budget: Budget, dom) -> PrivacySpent:
        """The whole fit's record: the discovery itemised beside the rest, the discovered domains as DP outputs."""
        from dataclasses import replace

        parts = dict(spent.details.get("budget_parts") or {})
        parts.setdefault("synthesis", {"epsilon": spent.epsilon, "delta": spent.delta, "rho": spent.rho})
        parts["domains"] = dom.to_dict()
        return replace(
            spent,
            epsilon=budget.epsilon,
            delta=budget.delta,
            rho=dom.total_rho if dom.total_rho is not None else spent.rho,
            noise=spent.noise + "; domains: thresholded noisy histograms, discrete Gaussian (OpenDP)",
            details={
                **spent.details,
                "budget_parts": parts,
                "discovered_domains": getattr(self, "discovered_domains_", {}),
            },
        )

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

    def _binning_record(self, plan, fit_budget: Budget) -> dict[str, Any]:
        """The two parts of a fit with quantile binning, as the ledger entry itemises them."""
        return {
            **plan.to_dict(),
            "synthesis": {
                "epsilon": fit_budget.epsilon,
                "delta": fit_budget.delta,
                "rho": fit_budget.rho if self.accounts_in_zcdp() else None,
            },
        }

    def _plan_density(self, fit_budget: Budget | None, relation: str):
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

    def _with_density(self, spent: PrivacySpent, dplan) -> PrivacySpent:
        """The synthesis record with the density's share added back: the whole synthesis budget, itemised."""
        from dataclasses import replace

        from anonlab.privacy.accounting import zcdp_epsilon

        rho = (spent.rho or 0.0) + dplan.rho
        parts = dict(spent.details.get("budget_parts") or {})
        parts["density"] = dplan.to_dict()
        parts["model"] = {"rho": spent.rho}
        return replace(
            spent,
            rho=rho,
            epsilon=max(spent.epsilon, zcdp_epsilon(rho, spent.delta)) if spent.delta > 0 else spent.epsilon,
            noise=spent.noise + "; densities inside bins: discrete Gaussian from the same noise source",
            details={**spent.details, "budget_parts": parts},
        )

    def _with_binning(self, spent: PrivacySpent, budget: Budget, released: dict[str, Any]) -> PrivacySpent:
        """The fit's record for both parts: the whole budget, with the binning and the synthesis itemised."""
        from dataclasses import replace

        parts = {
            **(spent.details.get("budget_parts") or {}),
            "binning": {k: v for k, v in released.items() if k != "edges"},
            "synthesis": {"epsilon": spent.epsilon, "delta": spent.delta, "rho": spent.rho},
        }
        return replace(
            spent,
            epsilon=budget.epsilon,
            delta=budget.delta,
            rho=budget.rho if self.accounts_in_zcdp() else None,
            noise=spent.noise + "; cut points: anonlab.privacy.mechanisms.exponential (report-noisy-max)",
            details={**spent.details, "budget_parts": parts, "learned_edges": released["edges"]},
        )

    def sample(self, n: int | None = None, seed: int | None = None) -> pd.DataFrame:
        """``n`` synthetic rows (default: the DP estimate of the input's size). Spends no privacy budget."""
        self._check_fitted()
        n = self._default_rows() if n is None else int(n)
        if n < 1:
            raise UsageError(f"rows must be at least 1 (got {n})")
        rng = np.random.default_rng(seed)
        codes = self._sample_codes(n, rng)
        return self.encoding_.decode(codes, rng)

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

    # -- hooks with defaults -----------------------------------------------------------------------------------
    def _uses_codes(self) -> bool:
        return True

    def _check_data(self, df: pd.DataFrame, source: str) -> None:
        """Refuse data the method cannot learn from (non-DP baselines only: DP methods never refuse on content)."""
        return None

    def accounts_in_zcdp(self) -> bool:
        return True

    def _ledger_extra(self, budget: Budget) -> dict[str, Any]:
        """Parts of the fit's budget (``budget``: what :meth:`_fit_codes` gets) that the ledger entry itemises
        beyond binning and densities; public parameters only (charged before any noise is drawn)."""
        return {}

    def ledger_mechanism(self) -> str:
        return "gaussian"

    def _check_fitted(self) -> None:
        if not hasattr(self, "encoding_"):
            raise UsageError(f"method {self.name!r}: call fit() before sample()")

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
        if self.private and getattr(self, "privacy_", None) is not None:
            return bool(self.privacy_.seeded)
        return bool(getattr(self, "seeded_", self.seed is not None))

    def _published_params(self) -> dict[str, Any]:
        """The method's parameters, less the local JAX cache folder (it changes nothing in the release)."""
        return {k: v for k, v in self.params.items() if k != "jax_cache"}

    def _published_privacy(self) -> dict[str, Any] | str:
        """The fit's privacy record as artifacts carry it: without :data:`~anonlab.synth.artifacts.WITHHELD_DETAILS`
        (losses, run times, sampler diagnostics). :data:`NO_GUARANTEE` for a non-DP method."""
        from anonlab.synth.artifacts import withhold

        if not self.private or getattr(self, "privacy_", None) is None:
            return NO_GUARANTEE
        rec = self.privacy_.to_dict()
        rec["details"] = withhold(rec.get("details") or {})
        return rec

    def _binning_summary(self) -> dict[str, Any]:
        if self.binning == "public":
            return {"mode": "public"}
        from anonlab.synth.binning import readable_edges

        return {
            "mode": "quantile",
            "share": self.binning_share,
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
                "mode": self.binning,
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
            manifest, manifest_allow(type(self), self.private, self.binning == "quantile", discovered)
        )
        with atomic_path(path, force) as tmp:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("manifest.json", json.dumps(manifest, indent=1, default=_json_default))
                buf = io.BytesIO()
                np.savez(buf, **arrays)
                zf.writestr("arrays.npz", buf.getvalue())
                if payload is not None:
                    zf.writestr("payload.bin", payload)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> Synthesizer:
        """Read a model written by :meth:`save`. Models holding a pickled payload (SDV baselines) execute code
        when loaded: load only models you made."""
        path = Path(path)
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
        klass = get_method(manifest["method"]) if cls is Synthesizer else cls
        binning = manifest.get("binning") or {"mode": "public"}
        obj = klass(
            bins=manifest["bins"],
            missing=manifest.get("missing", True),
            binning=binning["mode"],
            binning_share=binning.get("share", DEFAULT_BINNING_SHARE),
            binning_columns=binning.get("columns"),
            **manifest["params"],
        )
        obj.encoding_ = Encoding.from_dict(manifest["encoding"])
        obj.schema_fingerprint_ = manifest["schema_sha256"]
        priv = manifest["privacy"]
        obj.privacy_ = PrivacySpent(**priv) if isinstance(priv, dict) else None
        obj.seeded_ = bool(manifest.get("seeded", manifest.get("seed_given", False)))
        obj._restore(manifest["state"], arrays, payload)
        return obj


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def require_privacy_ok(spent_rho: float, budget_rho: float) -> None:
    """Internal check: a method's own accounting never exceeds what was charged."""
    if spent_rho > budget_rho * (1 + 1e-9):
        raise PrivacyError(
            f"internal accounting error: spent rho {spent_rho} above the budget's {budget_rho}"
        )
