"""What NAPSU-MQ and DPVI share: the row-count share and JAX's set-up."""

from __future__ import annotations

#: Share of a fit's budget (of rho for NAPSU-MQ, of epsilon for DPVI) spent on the DP estimate of the row count
#: when the release is under add/remove-one-record neighbours (no ledger, or an add/remove ledger).
N_ESTIMATE_SHARE = 0.05


def jax_setup(cache_dir) -> None:
    """64-bit floats in JAX (the max-entropy model's probabilities and the DP-SGD noise are float64) and the
    persistent compilation cache (:mod:`anonlab.synth.jaxcache`)."""
    from anonlab.errors import require_extra

    for module in ("jax", "numpyro", "dp_accounting"):
        require_extra("synth", module, "NAPSU-MQ and DPVI")
    import jax

    from anonlab.synth.jaxcache import enable_compilation_cache

    jax.config.update("jax_enable_x64", True)
    enable_compilation_cache(cache_dir)
