"""What a synthesis release may publish: the allow-lists of its sidecar, saved model, ``--json`` and summary.

Every artifact of ``anonlab synth`` (the sidecar ``OUTPUT.json``, the saved model's ``manifest.json``,
:meth:`SynthResult.to_dict` / ``--json``, the stdout summary built from it, and :meth:`Synthesizer.summary`) is
built through :func:`anonlab.privacy.artifact.published` with an allow-list from this module. Each field is
:data:`~anonlab.privacy.artifact.PUBLIC` (chosen by the user, or a fact that does not depend on the private
table: the method, its parameters, the budget, the public schema, package versions) or
:data:`~anonlab.privacy.artifact.DP_OUTPUT` (computed from the table only through the fit's DP mechanisms, or
post-processing of those: the chosen marginals, the model's noisy total, learned bin edges, the number of
rows when it is the DP estimate). A field on no list raises :class:`~anonlab.privacy.artifact.ArtifactError`
and nothing is written.

Never published, on purpose: the seed (only ``seeded: true/false``); the table's fingerprint; exact counts
(rows of the input, values outside the public domain: ``--diagnostics`` prints the latter to the operator's
stderr, never to a file); training losses (DPVI's ELBO); data-dependent optimiser or sampler diagnostics
(NAPSU-MQ's Laplace convergence flag, NUTS step counts); wall-clock times. The method-specific fields a fit
records in memory (``Synthesizer.privacy_.details``) but that are withheld from every artifact are listed in
:data:`WITHHELD_DETAILS`; any other undeclared field fails.

A non-DP method (``gaussian-copula``, ``ctgan``) makes no DP release: its artifacts use the same lists (so the seed
is never written either), plus its run time and its exact row count, which carry no guarantee.

A method registered by a research user declares its own fields in a class attribute ``artifact_fields``
(``{"privacy.details.my_field": DP_OUTPUT, "state.my_state": DP_OUTPUT}``), paths from the artifact's root.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from anonlab.privacy.artifact import DP_OUTPUT, PUBLIC, AllowList, published

__all__ = [
    "NO_GUARANTEE",
    "NO_LEDGER",
    "WITHHELD_DETAILS",
    "METHOD_FIELDS",
    "withhold",
    "statement",
    "summary_allow",
    "manifest_allow",
    "sidecar_allow",
    "sample_sidecar_allow",
    "result_allow",
    "published",
]

#: What a non-DP method's artifacts say instead of a privacy record.
NO_GUARANTEE = "no formal privacy guarantee"

#: What a DP fit without a ledger says (PrivacyWarning in the Python API, the sidecar's statement).
NO_LEDGER = (
    "no ledger: this DP release was not charged to any privacy ledger, so nothing stops further releases of the "
    "same people from adding up past the budget"
)

#: Fields a fit keeps in ``privacy_.details`` (for the operator, in memory) that no artifact publishes, and why.
WITHHELD_DETAILS: dict[str, str] = {
    "seconds": "wall-clock time (depends on the data)",
    "final_elbo_per_row": "training loss over real batches (no noise)",
    "laplace_s": "wall-clock time",
    "posterior_s": "wall-clock time",
    "laplace_converged": "optimiser convergence on the data (no noise)",
    "nuts_mean_steps": "sampler step counts on the data's posterior (no noise)",
    "nuts_acceptance": "sampler acceptance on the data's posterior (no noise)",
}


def _tree(path: str, kind: str) -> dict[str, str]:
    """A field and everything under it (an empty dict or list is a leaf of its own)."""
    return {path: kind, f"{path}.**": kind}


# the fit's privacy record (PrivacySpent.to_dict() of a DP method), common to every DP method
_PRIVACY = {
    "privacy.epsilon": PUBLIC,
    "privacy.delta": PUBLIC,
    "privacy.rho": PUBLIC,
    "privacy.neighbours": PUBLIC,
    "privacy.noise": PUBLIC,
    "privacy.seeded": PUBLIC,
    "privacy.trusted_domains": PUBLIC,
    "privacy.details": PUBLIC,  # when empty
    "privacy.details.ledger": PUBLIC,  # "no ledger" when the fit was charged to none
    # quantile binning (anonlab.synth.binning): the plan is public; what the cut points cost and where they are
    # depends on the DP choices made along the way
    **_tree("privacy.details.budget_parts.binning", PUBLIC),
    **_tree("privacy.details.budget_parts.binning.measured", DP_OUTPUT),
    **_tree("privacy.details.budget_parts.synthesis", PUBLIC),
    **_tree(
        "privacy.details.budget_parts.density", PUBLIC
    ),  # plan from public bounds: columns, levels, sigma, rho
    **_tree("privacy.details.budget_parts.model", PUBLIC),
    **_tree("privacy.details.learned_edges", DP_OUTPUT),
    # DP domain discovery (anonlab.synth.domains): the plan is public, the domains found are DP outputs; after a
    # discovery the densities' columns and levels follow the discovered bounds (a DP output; public otherwise)
    **_tree("privacy.details.budget_parts.domains", PUBLIC),
    **_tree("privacy.details.discovered_domains", DP_OUTPUT),
    **_tree("privacy.details.budget_parts.density.columns", DP_OUTPUT),
    **_tree("privacy.details.budget_parts.density.levels", DP_OUTPUT),
    "privacy.details.budget_parts.density.sigma": DP_OUTPUT,
}

#: Method-specific fields of the built-in DP methods: their ``privacy_.details`` and saved ``state``.
METHOD_FIELDS: dict[str, dict[str, str]] = {
    "mst": {
        # adds up to the charged rho, but over the measurements the small-table plan chose from the DP row count,
        # so its last bits follow that plan
        "privacy.details.rho_spent": DP_OUTPUT,
        # from rho and the number of columns; in a small-table fallback also from the plan (see below)
        "privacy.details.sigma_1way": DP_OUTPUT,
        **_tree("privacy.details.measured", DP_OUTPUT),  # the spanning tree is chosen with noise
    },
    "aim": {
        # the adaptive schedule (sigma halving, last round) follows the noisy measurements
        "privacy.details.rho_spent": DP_OUTPUT,
        "privacy.details.rounds": DP_OUTPUT,
        "privacy.details.model_cells": DP_OUTPUT,
        **_tree("privacy.details.measured", DP_OUTPUT),
    },
    "napsu": {
        **_tree("privacy.details.queries", PUBLIC),
        "privacy.details.sigma": PUBLIC,
        "privacy.details.l2_sensitivity": PUBLIC,
        "privacy.details.posterior": PUBLIC,
        "privacy.details.model": PUBLIC,  # chosen from the public domain sizes
        # under add/remove neighbours: the DP row count and its (public) cost
        "privacy.details.n_estimate": DP_OUTPUT,
        "privacy.details.n_estimate_rho": PUBLIC,
        "privacy.details.n_estimate_sigma": PUBLIC,
        # the row count the fit used: the DP estimate, or the public n of a replace-one ledger
        "state.n_estimate": DP_OUTPUT,
        **_tree("state.query_sets", PUBLIC),
        "state.query_layout": PUBLIC,  # a format tag
    },
    "dpvi": {
        "privacy.details.batch_size": PUBLIC,
        "privacy.details.n_estimate": DP_OUTPUT,
        "privacy.details.n_estimate_epsilon": PUBLIC,
        # functions of the row count the fit used (a DP estimate under add/remove, see state.n_estimate)
        "privacy.details.noise_multiplier": DP_OUTPUT,
        "privacy.details.accounted_epsilon": DP_OUTPUT,
        "privacy.details.sampling_ratio": DP_OUTPUT,
        "privacy.details.steps": DP_OUTPUT,
        "privacy.details.accountant": PUBLIC,
        "state.n_estimate": DP_OUTPUT,
        "state.k": PUBLIC,
        "state.param_layout": PUBLIC,  # a format tag
    },
}
# the marginal-based methods keep a graphical model (anonlab.synth.marginal_method.GraphicalSynthesizer)
for _m in ("mst", "aim"):
    METHOD_FIELDS[_m].update(
        {
            # small tables (anonlab.synth.planning): the DP row count's public cost, the count itself, and the
            # plan decided from public facts and that count (the user's rows_hint is a public parameter)
            **_tree("privacy.details.row_count", PUBLIC),
            "privacy.details.n_estimate": DP_OUTPUT,
            **_tree("privacy.details.small_table", DP_OUTPUT),
            # the model choice (anonlab.synth.selection): held-out pairs' public share and noise, and the choice
            # and errors computed from them and the fit (post-processing of DP outputs)
            **_tree("privacy.details.model_choice", DP_OUTPUT),
            # the model's codes per column: after the rare codes are merged from the noisy 1-way counts
            # (anonlab.synth.compression), a DP output; the merge itself too
            **_tree("state.sizes", DP_OUTPUT),
            **_tree("state.compression", DP_OUTPUT),
            **_tree("privacy.details.compressed", DP_OUTPUT),
            **_tree("state.cliques", DP_OUTPUT),
            **_tree("state.edges", DP_OUTPUT),
            "state.total": DP_OUTPUT,
            **_tree("state.measured", DP_OUTPUT),
        }
    )

# the non-DP baselines: no guarantee, nothing to classify beyond "not the seed"
_NON_DP = {"privacy": PUBLIC, "seconds": PUBLIC, "state.n_estimate": PUBLIC, "license": PUBLIC}

# Synthesizer.summary()
_SUMMARY = {
    "method": PUBLIC,
    **_tree("params", PUBLIC),
    "bins": PUBLIC,
    "binning.mode": PUBLIC,
    "binning.share": PUBLIC,
    **_tree("binning.edges", DP_OUTPUT),  # quantile binning only
    "missing_category": PUBLIC,
    **_tree("columns", PUBLIC),
    **_tree("skipped_columns", PUBLIC),
    "schema_sha256": PUBLIC,
    "seeded": PUBLIC,
    "domains": PUBLIC,  # "public", "discovered (DP)" or "trusted (read from the data)": follows from the options
    "statement": PUBLIC,
}


def _method_fields(method: type | str) -> dict[str, str]:
    name = method if isinstance(method, str) else getattr(method, "name", "")
    if name in METHOD_FIELDS:
        return METHOD_FIELDS[name]
    if isinstance(method, str):
        from anonlab.synth.registry import get

        method = get(method)
    return dict(getattr(method, "artifact_fields", {}) or {})


def _base(name: str, method: type | str, private: bool, fields: Mapping[str, str]) -> AllowList:
    extra = {**_PRIVACY, **_method_fields(method)} if private else _NON_DP
    what = name if private else f"{name} (no formal privacy guarantee)"
    return AllowList(what, {**fields, **extra})


def statement(privacy: Mapping[str, Any] | str, ledger: str | None = None) -> str:
    """One sentence on what the release guarantees, from its published privacy record (and the ledger's path,
    where the caller knows it). Says "no ledger" when the fit was charged to none."""
    if not isinstance(privacy, Mapping):
        return f"{NO_GUARANTEE}: a non-private baseline, not a release"
    rho = f", rho={privacy['rho']:.4g}" if privacy.get("rho") is not None else ""
    out = (
        f"(epsilon={privacy['epsilon']:g}, delta={privacy['delta']:g})-differentially private{rho}; "
        f"neighbouring tables: {privacy['neighbours']}"
    )
    if (privacy.get("details") or {}).get("ledger") == "no ledger" or ledger == "none":
        out += "; " + NO_LEDGER
    elif ledger:
        out += f"; charged to the privacy ledger {ledger}"
    else:
        out += "; charged to a privacy ledger"
    if privacy.get("seeded"):
        out += "; seeded noise: private only while the seed stays secret"
    if privacy.get("trusted_domains"):
        out += "; domains read from the data were trusted as public: the guarantee holds only if they are"
    return out


def withhold(details: Mapping[str, Any]) -> dict[str, Any]:
    """``details`` without the fields in :data:`WITHHELD_DETAILS` (never published)."""
    return {k: v for k, v in details.items() if k not in WITHHELD_DETAILS}


def summary_allow(method: type | str, private: bool) -> AllowList:
    """Allow-list of :meth:`Synthesizer.summary` (also the core of the sidecars)."""
    return _base("synthesis summary", method, private, _SUMMARY)


def manifest_allow(
    method: type | str, private: bool, quantile: bool = False, discovered: bool = False
) -> AllowList:
    """Allow-list of a saved model's ``manifest.json``. Bin edges are the public bounds, or DP outputs with
    quantile binning. With DP domain discovery (``discovered``) the categories, bounds, exactness and missing
    codes of the encoding are DP outputs."""
    edges = DP_OUTPUT if (quantile or discovered) and private else PUBLIC
    found = DP_OUTPUT if discovered and private else PUBLIC
    fields = {
        "format": PUBLIC,
        "version": PUBLIC,
        "anonlab": PUBLIC,
        "method": PUBLIC,
        "seeded": PUBLIC,
        "bins": PUBLIC,
        "missing": PUBLIC,
        "binning.mode": PUBLIC,
        "binning.share": PUBLIC,
        **_tree("binning.columns", PUBLIC),
        **_tree("params", PUBLIC),
        "encoding.columns.*.name": PUBLIC,
        "encoding.columns.*.type": PUBLIC,
        **_tree("encoding.columns.*.labels", found),
        **_tree("encoding.columns.*.edges", edges),
        "encoding.columns.*.exact": found,
        "encoding.columns.*.missing": found,
        "encoding.columns.*.learned": PUBLIC,
        "encoding.columns.*.decimals": found,  # the schema's stated precision of a float column
        "encoding.columns.*.other": PUBLIC,  # the "other" label of a discovered categorical column (a constant)
        **_tree("encoding.columns.*.density", DP_OUTPUT),  # a DP density inside the bins (synth.density)
        # a binned number's listed values (the schema's ``values``): public as its bounds are
        **_tree("encoding.columns.*.grid", found),
        "encoding.columns": PUBLIC,  # when empty
        **_tree("encoding.skipped", PUBLIC),
        "schema_sha256": PUBLIC,
        "state": PUBLIC,  # when empty
        "payload": PUBLIC,
        "statement": PUBLIC,
    }
    allow = _base("saved synthesis model", method, private, fields)
    if edges is DP_OUTPUT:
        # the codes per column follow from the bin edges and categories: public over a public encoding, a
        # function of DP outputs (post-processing) over learned cut points or discovered domains
        sized = {p: DP_OUTPUT for p in allow.fields if p == "state.sizes" or p.startswith("state.sizes.")}
        allow = AllowList(allow.name, {**allow.fields, **sized})
    return allow


_RELEASE = {
    "tool": PUBLIC,
    "ledger": PUBLIC,  # the ledger file's path, or "none"
    "output": PUBLIC,  # the path the user chose
    # the DP estimate of the input's size (the default), or the user's --rows
    "rows": DP_OUTPUT,
    "rows_from": PUBLIC,  # which of the two
    **_tree("budget", PUBLIC),
    "epsilon": PUBLIC,
    "delta": PUBLIC,
    "rho": PUBLIC,
    "schema_source": PUBLIC,
    "model": PUBLIC,
    **_tree("versions", PUBLIC),
    **_tree("warnings", PUBLIC),
}


def sidecar_allow(method: type | str, private: bool) -> AllowList:
    """Allow-list of ``anonlab synth``'s sidecar ``OUTPUT.json``."""
    return _base("synth sidecar", method, private, {**_SUMMARY, **_RELEASE})


def sample_sidecar_allow(method: type | str, private: bool) -> AllowList:
    """Allow-list of ``anonlab synth sample``'s sidecar (drawn from a saved model: post-processing)."""
    return _base(
        "synth sample sidecar",
        method,
        private,
        {**_SUMMARY, **_RELEASE, "sampled_from": PUBLIC, "note": PUBLIC},
    )


def result_allow(method: type | str, private: bool) -> AllowList:
    """Allow-list of :meth:`SynthResult.to_dict` (``--json``, and the stdout summary the CLI prints from it)."""
    fields = {
        "output": PUBLIC,
        "sidecar": PUBLIC,
        "rows": DP_OUTPUT,
        "rows_from": PUBLIC,
        "method": PUBLIC,
        "model": PUBLIC,
        "schema": PUBLIC,
        "seeded": PUBLIC,
        "ledger": PUBLIC,
        "statement": PUBLIC,
        **_tree("warnings", PUBLIC),
    }
    return _base("synth result", method, private, fields)
