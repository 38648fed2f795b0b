"""twinify's NAPSU-MQ and DPVI behind anonlab's interface. Every use of twinify, d3p and numpyro lives here.

Both work on anonlab's public-domain encoding: each column is a categorical variable over its public codes
(numbers binned on public bounds, a missing code per column), so twinify never reads a domain from the data.

``napsu`` (Raisa, Jälkö, Kaski, Honkela 2023, NAPSU-MQ): a maximum-entropy distribution constrained by noisy
marginal queries, with a posterior over its parameters that accounts for the noise. anonlab wires it itself: the
sufficient statistics (the full marginals on ``queries``, in twinify's canonical form) are released through
:func:`anonlab.privacy.mechanisms.gaussian` with the zCDP budget, not through twinify's own noise, and the marginal
sets are fixed in advance (``queries``; default: every pair when there are at most four columns, else each column
with the next), so no budget goes to choosing them (twinify's default runs a second, separately budgeted MST
selection). The posterior is a Laplace approximation refined by NUTS with ``chains`` x ``samples`` draws (stock
twinify: 4 x 2,000 after 800 warm-up); fewer draws are what make it fast. Neighbouring datasets replace one record
(the row count is treated as public, as twinify does), so the L2 sensitivity is sqrt(2 x number of marginals).

``dpvi`` (Jälkö, Dikmen, Honkela 2017; twinify 2.0): a mixture of ``k`` components, each a product of one
categorical per column, fit by DP stochastic variational inference (d3p's DP-SGD: per-example gradient clipping and
Gaussian noise). The noise is drawn inside d3p's JAX training loop by its ChaCha20 CSPRNG, not through
:mod:`anonlab.privacy.mechanisms`, and the (epsilon, delta) accounting is d3p's Fourier accountant for the
subsampled Gaussian mechanism (neighbours: replace one record); the sidecar says so.

Sampling either model is post-processing, seeded by ``--seed``.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
from typing import Any

import numpy as np

from anonlab.errors import InputError, UsageError
from anonlab.synth.base import Budget, PrivacySpent, Synthesizer, register

__all__ = ["NapsuMQ", "DPVI"]


def _jax_setup(cache_dir) -> None:
    from anonlab.synth.jaxcache import enable_compilation_cache

    enable_compilation_cache(cache_dir)


def _d3p_key(seed: int | None):
    import d3p.random

    if seed is None:
        seed = int.from_bytes(os.urandom(4), "big") >> 1
    return d3p.random.PRNGKey(int(seed) % (2**31))


def _codes_frame(codes: np.ndarray, sizes, names):
    import pandas as pd

    return pd.DataFrame(
        {name: pd.Categorical(codes[:, j], categories=list(range(sizes[j]))) for j, name in enumerate(names)}
    )


def _from_twinify_frame(df, names) -> np.ndarray:
    return np.column_stack([np.asarray(df[name]).astype(np.int64) for name in names])


@register
class NapsuMQ(Synthesizer):
    """twinify's NAPSU-MQ with anonlab's noise and a fast posterior.

    Parameters: ``queries`` (list of column-name lists, the marginals to measure), ``samples``/``warmup``/
    ``chains`` (NUTS draws), ``laplace`` (start NUTS from a Laplace approximation), ``jax_cache`` (compilation
    cache folder).
    """

    name = "napsu"
    private = True
    description = (
        "twinify NAPSU-MQ: noise-aware posterior over a max-entropy model of noisy marginals (small tables)"
    )

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {
            "queries": None,
            "samples": 200,
            "warmup": 200,
            "chains": 1,
            "laplace": True,
            "jax_cache": None,
        }

    def _query_sets(self, names: list[str]) -> list[tuple[str, ...]]:
        q = self.params["queries"]
        if q is None:
            if len(names) <= 4:
                return list(itertools.combinations(names, 2))
            return [(a, b) for a, b in zip(names, names[1:], strict=False)]
        out = []
        for clique in q:
            clique = tuple(clique)
            for c in clique:
                if c not in names:
                    raise UsageError(f"napsu: query column {c!r} is not a synthesised column")
            out.append(clique)
        return out

    def _fit_codes(self, codes, sizes, budget: Budget, noise) -> PrivacySpent:
        _jax_setup(self.params["jax_cache"])
        import jax
        import twinify.napsu_mq.maximum_entropy_inference as mei
        from twinify.dataframe_data import DataFrameData
        from twinify.napsu_mq.marginal_query import FullMarginalQuerySet
        from twinify.napsu_mq.markov_network import MarkovNetwork
        from twinify.napsu_mq.napsu_mq import NapsuMQResult

        from anonlab.privacy.accounting import gaussian_sigma_for_rho
        from anonlab.privacy.mechanisms import gaussian

        names = self.encoding_.names
        query_sets = self._query_sets(names) if len(names) > 1 else []
        covered = {c for q in query_sets for c in q}
        query_sets += [(c,) for c in names if c not in covered]  # every column needs a marginal in the model
        frame = DataFrameData(_codes_frame(codes, sizes, names))
        queries = FullMarginalQuerySet(query_sets, frame.values_by_col).get_canonical_queries()
        network = MarkovNetwork(frame.values_by_col, queries)
        suff = np.asarray(np.sum(queries.flatten()(frame.int_df.to_numpy()), axis=0)).astype(np.int64)
        sens = math.sqrt(2 * len(query_sets))
        rho = budget.rho
        sigma = gaussian_sigma_for_rho(rho, sens)
        rel = gaussian(suff, sigma, l2_sensitivity=sens, integer=True, noise=noise)
        noisy = np.asarray(rel.value, dtype=np.float64)
        n = int(codes.shape[0])
        key = jax.random.PRNGKey(0 if self.seed is None else int(self.seed) % (2**31))
        if self.seed is None:
            key = jax.random.PRNGKey(int.from_bytes(os.urandom(4), "big") >> 1)
        p = self.params
        quiet = not self.progress
        if p["laplace"]:
            k1, k2 = jax.random.split(key)
            approx, _ = mei.run_numpyro_laplace_approximation(k1, noisy, n, sigma, network)
            mcmc, back = mei.run_numpyro_mcmc_normalised(
                k2,
                noisy,
                n,
                sigma,
                network,
                approx,
                num_samples=int(p["samples"]),
                num_warmup=int(p["warmup"]),
                num_chains=int(p["chains"]),
                disable_progressbar=quiet,
            )
            posterior = np.asarray(back(mcmc.get_samples()["norm_lambdas"]))
        else:
            mcmc = mei.run_numpyro_mcmc(
                key,
                noisy,
                n,
                sigma,
                network,
                num_samples=int(p["samples"]),
                num_warmup=int(p["warmup"]),
                num_chains=int(p["chains"]),
                disable_progressbar=quiet,
            )
            posterior = np.asarray(mcmc.get_samples()["lambdas"])
        if not np.all(np.isfinite(posterior)):
            raise InputError(
                "napsu: the posterior sampler diverged (try more warm-up draws or fewer queries)"
            )
        self.result_ = NapsuMQResult(frame.values_by_col, queries, posterior, frame.data_description)
        self.query_sets_ = query_sets
        self.n_estimate_ = float(n)
        return PrivacySpent(
            epsilon=budget.epsilon,
            delta=budget.delta,
            rho=rho,
            neighbours="replace one record (the row count is treated as public, as in twinify)",
            noise="anonlab.privacy.mechanisms (discrete Gaussian)"
            + ("; seeded keystream" if noise.seeded else "; OpenDP, OS CSPRNG"),
            seeded=noise.seeded,
            trusted_domains=self.trusted_domains_,
            details={"queries": [list(q) for q in query_sets], "sigma": sigma, "l2_sensitivity": sens},
        )

    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        import d3p.random

        draws = min(20, n)
        per = -(-n // draws)
        key = d3p.random.PRNGKey(int(rng.integers(0, 2**31 - 1)))
        df = self.result_.generate(key, draws, per, single_dataframe=True)
        codes = _from_twinify_frame(df, self.encoding_.names)
        return codes[rng.permutation(len(codes))[:n]]

    def _state(self):
        state = {"n_estimate": self.n_estimate_, "query_sets": [list(q) for q in self.query_sets_]}
        return state, {"posterior": np.asarray(self.result_.posterior_values)}, None

    def _restore(self, state, arrays, payload) -> None:
        self.query_sets_ = [tuple(q) for q in state["query_sets"]]
        self.result_ = self._result(self.query_sets_, arrays["posterior"])
        self.n_estimate_ = float(state["n_estimate"])

    def _result(self, query_sets, posterior):
        """Rebuild twinify's result object from the query sets and posterior draws (no pickle)."""
        from twinify.dataframe_data import DataFrameData
        from twinify.napsu_mq.marginal_query import FullMarginalQuerySet
        from twinify.napsu_mq.napsu_mq import NapsuMQResult

        sizes = self.encoding_.sizes
        frame = DataFrameData(
            _codes_frame(np.zeros((1, len(sizes)), dtype=np.int64), sizes, self.encoding_.names)
        )
        queries = FullMarginalQuerySet(query_sets, frame.values_by_col).get_canonical_queries()
        return NapsuMQResult(frame.values_by_col, queries, posterior, frame.data_description)


def _categorical(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per row of ``probs`` (rows are probability vectors), by inverse CDF."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cdf[:, -1]
    return np.minimum((cdf < u[:, None]).sum(axis=1), probs.shape[1] - 1)


def _mixture_model(sizes: tuple[int, ...], k: int):
    """A numpyro model: ``k`` mixture components, each a product of one categorical per encoded column."""
    import jax.numpy as jnp
    import numpyro.distributions as dists
    from numpyro.primitives import plate, sample
    from twinify.dpvi.modelling.automodel import TypedDistribution
    from twinify.dpvi.modelling.mixture_model import MixtureModel

    def model(x=None, num_obs_total=None):
        n = 1 if x is None else jnp.shape(x)[0]
        if num_obs_total is None:
            num_obs_total = n
        feats = []
        for j, size in enumerate(sizes):
            probs = sample(f"c{j}_probs", dists.Dirichlet(jnp.ones((k, size))))
            feats.append(TypedDistribution(dists.CategoricalProbs(probs), "int"))
        pis = sample("pis", dists.Dirichlet(jnp.ones(k)))
        with plate("batch", num_obs_total, n):
            return sample("x", MixtureModel(feats, pis), obs=x)

    return model


@register
class DPVI(Synthesizer):
    """twinify's DPVI with a categorical mixture model over the encoded columns.

    Parameters: ``k`` (mixture components), ``epochs`` (passes over the data), ``subsample_ratio`` (batch size as
    a share of the rows), ``clipping`` (per-example gradient norm bound), ``jax_cache``.
    """

    name = "dpvi"
    private = True
    description = "twinify DPVI: DP variational inference of a mixture model (d3p DP-SGD)"

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {"k": 10, "epochs": 100, "subsample_ratio": 0.01, "clipping": 1.0, "jax_cache": None}

    def accounts_in_zcdp(self) -> bool:
        return False

    def ledger_mechanism(self) -> str:
        return "subsampled_gaussian (d3p DP-SGD)"

    def _model(self):
        import numpyro.infer.autoguide

        model = _mixture_model(self.encoding_.sizes, int(self.params["k"]))
        return model, numpyro.infer.autoguide.AutoDiagonalNormal(model)

    def _fit_codes(self, codes, sizes, budget: Budget, noise) -> PrivacySpent:
        _jax_setup(self.params["jax_cache"])
        import pandas as pd
        from twinify.dpvi import DPVIModel
        from twinify.dpvi.dpvi_model import InferenceException

        p = self.params
        model, guide = self._model()
        dpvi = DPVIModel(
            model,
            guide,
            clipping_threshold=float(p["clipping"]),
            num_epochs=int(p["epochs"]),
            subsample_ratio=float(p["subsample_ratio"]),
        )
        frame = pd.DataFrame(codes.astype(np.int32), columns=[f"c{j}" for j in range(codes.shape[1])])
        try:
            result = dpvi.fit(
                frame, _d3p_key(self.seed), budget.epsilon, budget.delta, silent=not self.progress
            )
        except InferenceException as exc:
            raise InputError(
                f"dpvi: inference diverged ({exc}); try a smaller learning problem or more epochs"
            ) from None
        if self.progress:
            print(file=sys.stderr)
        self.params_ = {k: np.asarray(v) for k, v in result.parameters.items()}
        self.n_estimate_ = float(codes.shape[0])
        level = result.privacy_level
        return PrivacySpent(
            epsilon=budget.epsilon,
            delta=budget.delta,
            rho=None,
            neighbours="replace one record (d3p's accountant; the row count is treated as public)",
            noise="d3p DP-SGD, ChaCha20 CSPRNG inside JAX" + ("; seeded" if self.seed is not None else ""),
            seeded=self.seed is not None,
            trusted_domains=self.trusted_domains_,
            details={
                "dp_noise_std": float(getattr(level, "dp_noise", float("nan"))),
                "final_elbo": float(result.final_elbo),
            },
        )

    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Rows from the posterior predictive: ``draws`` parameter sets from the variational posterior, then each
        row picks a parameter set, a mixture component and one value per column (numpy, post-processing)."""
        import jax
        import jax.numpy as jnp
        from numpyro.handlers import seed as seed_handler

        model, guide = self._model()
        sizes = self.encoding_.sizes
        d = len(sizes)
        # the guide learns its latent layout from a trace with observed data
        seed_handler(guide, rng_seed=0)(jnp.zeros((1, d), dtype=jnp.int32))
        draws = min(20, n)
        params = {k: jnp.asarray(v) for k, v in self.params_.items()}
        post = guide.sample_posterior(
            jax.random.PRNGKey(int(rng.integers(0, 2**31 - 1))), params, sample_shape=(draws,)
        )
        which = rng.integers(0, draws, n)
        pis = np.asarray(post["pis"], dtype=float)[which]
        comp = _categorical(pis, rng)
        out = np.empty((n, d), dtype=np.int64)
        for j in range(d):
            probs = np.asarray(post[f"c{j}_probs"], dtype=float)[which, comp]
            out[:, j] = _categorical(probs, rng)
        return out

    def _state(self):
        return {"n_estimate": self.n_estimate_}, {k: np.asarray(v) for k, v in self.params_.items()}, None

    def _restore(self, state, arrays, payload) -> None:
        self.params_ = dict(arrays)
        self.n_estimate_ = float(state["n_estimate"])
