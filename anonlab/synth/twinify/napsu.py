"""NAPSU-MQ (Raisa, Jälkö, Kaski, Honkela 2023) as anonlab code on current JAX and NumPyro.

Raisa O., Jälkö J., Kaski S., Honkela A. (2023): "Noise-aware statistical inference with differentially private
synthetic data", AISTATS 2023 (PMLR 206). The method: release noisy marginal counts (the canonical queries of
:mod:`anonlab.synth.twinify.maxent`), put a posterior over the parameters of the maximum-entropy distribution with
those sufficient statistics that accounts for the Gaussian noise (the statistics are modelled as
N(n mean(lambda), n cov(lambda) + sigma^2 I), the normal approximation of the paper and of twinify 2.0), sample
parameter draws (NUTS, or a Laplace approximation), and generate rows from the posterior predictive.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from anonlab.errors import InputError, UsageError
from anonlab.synth.base import EncodedSynthesizer
from anonlab.synth.budget import Budget, PrivacySpent, require_privacy_ok
from anonlab.synth.twinify._common import N_ESTIMATE_SHARE, jax_setup
from anonlab.synth.twinify.maxent import JointMaxEnt, canonical_queries

__all__ = ["NapsuMQ", "napsu_model", "napsu_normalised_model"]

_PRIOR_SIGMA = 10.0  # the isotropic normal prior on the max-entropy parameters (twinify's default)
#: the query layout of saved models (anonlab's canonical order; models saved with twinify's order are refused)
QUERY_LAYOUT = "anonlab-canonical-1"


def napsu_model(dp_suff_stat, n, sigma_dp, prior_sigma, med):
    """NAPSU-MQ's model in NumPyro: lambdas ~ N(0, prior_sigma^2 I); the noisy statistics
    ~ N(n mean(lambdas), n cov(lambdas) + sigma_dp^2 I) (Raisa et al. 2023, the Gaussian approximation)."""
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    d = med.lambda_d
    lambdas = numpyro.sample("lambdas", dist.Normal(jnp.zeros(d), prior_sigma).to_event(1))
    mean, cov = med.suff_stat_mean_and_cov(lambdas)
    return numpyro.sample(
        "a_hat",
        dist.MultivariateNormal(n * mean, covariance_matrix=n * cov + jnp.eye(med.suff_stat_d) * sigma_dp**2),
        obs=dp_suff_stat,
    )


def napsu_normalised_model(dp_suff_stat, n, sigma_dp, prior_sigma, med, mean_guess, l_guess):
    """The same model in whitened coordinates, lambdas = L z + m (m, L L^T a Laplace approximation), which is what
    NUTS samples (twinify's ``normal_prior_normalised_model_numpyro``): the prior on z is the prior on lambdas
    mapped through the inverse affine map."""
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    d = med.lambda_d
    inner = jnp.linalg.solve(l_guess, jnp.eye(d) * prior_sigma**2)
    prior_cov = jnp.linalg.solve(l_guess, inner.T).T
    prior_mu = jnp.linalg.solve(l_guess, -mean_guess)
    z = numpyro.sample("norm_lambdas", dist.MultivariateNormal(prior_mu, covariance_matrix=prior_cov))
    lambdas = l_guess @ z + mean_guess
    mean, cov = med.suff_stat_mean_and_cov(lambdas)
    return numpyro.sample(
        "a_hat",
        dist.MultivariateNormal(n * mean, covariance_matrix=n * cov + jnp.eye(med.suff_stat_d) * sigma_dp**2),
        obs=dp_suff_stat,
    )


def _laplace(potential, dim: int, max_iter: int):
    """Mode and Hessian of a NAPSU-MQ posterior's potential (negative log density).

    L-BFGS (scipy) from lambdas = 0 on the jitted value and gradient; deterministic (twinify runs JAX's BFGS
    from a random point with retries, whose line search often stops far from the mode on these non-convex
    potentials). The Hessian is taken by central differences of the compiled gradient: exact autodiff would
    differentiate the max-entropy log-partition four times, which takes XLA far longer to compile than the
    2 x dim gradient calls take to run. Returns (mode, precision, converged).
    """
    import jax
    import jax.numpy as jnp
    from scipy.optimize import minimize

    value_and_grad = jax.jit(jax.value_and_grad(potential))

    def grad(x):
        return value_and_grad(x)[1]

    def fun(x):
        v, g = value_and_grad(jnp.asarray(x))
        return float(v), np.asarray(g, dtype=np.float64)

    res = minimize(
        fun, np.zeros(dim), jac=True, method="L-BFGS-B", options={"maxiter": int(max_iter), "gtol": 1e-6}
    )
    mode = np.asarray(res.x, dtype=np.float64)
    h = 1e-5
    prec = np.empty((dim, dim))
    for i in range(dim):  # the compiled gradient, 2 x dim calls of about a millisecond each
        e = np.zeros(dim)
        e[i] = h
        prec[i] = (np.asarray(grad(jnp.asarray(mode + e))) - np.asarray(grad(jnp.asarray(mode - e)))) / (
            2 * h
        )
    prec = (prec + prec.T) / 2
    ok = bool(np.all(np.isfinite(mode)) and np.all(np.isfinite(prec)))
    return mode, prec, ok and bool(res.success)


def _laplace_cov(prec: np.ndarray, floor: float) -> np.ndarray:
    """Covariance from a Hessian, with eigenvalues raised to at least ``floor`` (the prior's precision).

    At the mode the Hessian is positive semi-definite up to rounding; directions the noisy marginals leave
    flat keep (at most) the prior's spread.
    """
    w, v = np.linalg.eigh(prec)
    w = np.maximum(w, floor)
    return (v / w) @ v.T


class NapsuMQ(EncodedSynthesizer):
    """NAPSU-MQ (Raisa et al. 2023) with anonlab's noise, queries, max-entropy model and a fast posterior.

    Privacy: the data is read by at most two releases through :mod:`anonlab.privacy.mechanisms`, both discrete
    Gaussian in zCDP; every parameter below shapes the post-processing (the posterior over the max-entropy model
    given the noisy marginals) and changes no privacy guarantee. ``queries`` is fixed before seeing the data, so
    choosing it spends nothing. The sufficient statistics are the canonical queries of the full marginals
    (:func:`anonlab.synth.twinify.maxent.canonical_queries`, the same queries as twinify 2.0);
    the queries of one marginal are disjoint cells, so one record satisfies at most one per marginal (m marginals).

    - Add/remove neighbours (the default: no ledger, or an add/remove ledger). First the row count n with
      discrete Gaussian noise (L2 sensitivity 1) at rho_n = ``N_ESTIMATE_SHARE`` x rho; then the sufficient
      statistics at rho - rho_n with L2 sensitivity sqrt(m) (adding or removing a record moves at most one cell per
      marginal by one). zCDP composes: rho in total, for add/remove neighbours, with no assumption on n. The
      posterior's likelihood and the default number of rows then use the estimate n_hat instead of n: that is
      post-processing of the two releases (the model is slightly misspecified by n - n_hat, a few rows at usual
      budgets), so the whole fit is rho-zCDP under add/remove.
    - Replace-one neighbours (a ledger whose relation is "replace-one", n public and checked against the table):
      no count is released; the statistics get the whole rho with L2 sensitivity sqrt(2 m) (a replaced record
      leaves one cell and enters another in each marginal), and the posterior uses the exact n, as twinify does.

    Parameters: ``queries`` (list of column-name lists, the marginals to measure; default every pair for up
    to four columns, else each column with the next), ``posterior`` (``"nuts"``: NUTS started from and
    preconditioned by the Laplace approximation; ``"laplace"``: draws from the Laplace approximation only,
    fastest), ``samples``/``warmup``/``chains``/``max_tree_depth`` (NUTS draws and at most 2^depth leapfrog steps
    per draw; twinify uses depth 12; with ``"laplace"`` ``samples`` is the number of draws), ``max_cells`` (largest
    joint domain; the max-entropy model is the enumerated joint table, so larger domains are refused with a
    :class:`UsageError`: fewer or coarser columns), ``jax_cache`` (compilation cache folder).
    """

    queries: Sequence[Sequence[str]] | None = None
    posterior: str = "nuts"
    samples: int = 200
    warmup: int = 200
    chains: int = 1
    max_tree_depth: int = 6
    max_cells: int = 2_000_000
    jax_cache: str | None = None

    name = "napsu"
    private = True
    requires = ("synth", "numpyro")
    supports_replace_one = True
    description = "NAPSU-MQ: noise-aware posterior over a max-entropy model of noisy marginals (small tables)"

    def _check_params(self) -> None:
        super()._check_params()
        if self.posterior not in ("nuts", "laplace"):
            raise UsageError(f"posterior={self.posterior!r}: napsu's posterior is 'nuts' or 'laplace'")

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

    def _check_resources(self) -> None:
        """The joint-domain limit, from the public encoding, before anything is read or charged."""
        super()._check_resources()
        self._check_cells()

    def _check_cells(self) -> None:
        cells = float(np.prod(self.encoding_.sizes, dtype=np.float64))
        if cells > float(self.params["max_cells"]):
            raise UsageError(
                f"method='napsu': the joint domain has {cells:.3g} cells, more than max_cells={self.max_cells:g}; "
                "use fewer columns, fewer bins (bins=) or dpvi/aim/mst"
            )

    def _network(self, query_sets) -> JointMaxEnt:
        """The max-entropy model of the canonical queries on ``query_sets`` (column names); public."""
        names, sizes = list(self.encoding_.names), self.encoding_.sizes
        self._check_cells()
        cliques = [tuple(names.index(c) for c in q) for q in query_sets]
        return JointMaxEnt(sizes, canonical_queries(cliques, sizes))

    def _fit_codes(self, codes, sizes, budget: Budget, noise) -> PrivacySpent:
        import time

        jax_setup(self.params["jax_cache"])
        import jax
        import jax.numpy as jnp
        import numpyro.infer.util as nutil

        from anonlab.privacy.accounting import gaussian_sigma_for_rho
        from anonlab.privacy.mechanisms import gaussian

        p = self.params
        if p["posterior"] not in ("nuts", "laplace"):
            raise UsageError(f"napsu: posterior must be 'nuts' or 'laplace', not {p['posterior']!r}")
        names = self.encoding_.names
        query_sets = self._query_sets(names) if len(names) > 1 else []
        covered = {c for q in query_sets for c in q}
        query_sets += [(c,) for c in names if c not in covered]  # every column needs a marginal in the model
        network = self._network(query_sets)  # public: refused before anything is released
        queries = network.queries
        suff = queries.counts(np.asarray(codes, dtype=np.int64))
        marginals = queries.marginals  # one query per marginal at most for any record
        rho = budget.rho
        count: dict[str, Any] = {}
        if self.neighbours_ == "add/remove":
            # the row count first, with a small share: n is not public under add/remove neighbours
            rho_n = N_ESTIMATE_SHARE * rho
            sigma_n = gaussian_sigma_for_rho(rho_n, 1.0)
            rel_n = gaussian(int(codes.shape[0]), sigma_n, l2_sensitivity=1.0, integer=True, noise=noise)
            n = max(1, int(rel_n.value))
            rho_stats = rho - rho_n
            sens = math.sqrt(marginals)
            count = {"n_estimate": n, "n_estimate_rho": rel_n.cost.rho, "n_estimate_sigma": sigma_n}
            spent_rho = rel_n.cost.rho
        else:
            n = int(codes.shape[0])  # public under replace-one (checked against the ledger's population size)
            rho_stats = rho
            sens = math.sqrt(2 * marginals)
            spent_rho = 0.0
        sigma = gaussian_sigma_for_rho(rho_stats, sens)
        rel = gaussian(suff, sigma, l2_sensitivity=sens, integer=True, noise=noise)
        require_privacy_ok(spent_rho + rel.cost.rho, rho)
        # from here on: post-processing of the released noisy marginals and count (the data is not read again)
        noisy = jnp.asarray(np.asarray(rel.value, dtype=np.float64))
        mcmc_seed = int.from_bytes(noise.key_bytes(4), "big") >> 1  # post-processing randomness, same stream
        k_init, k_mcmc, k_draw = jax.random.split(jax.random.PRNGKey(mcmc_seed), 3)
        timings = {}
        t0 = time.perf_counter()
        _, potential_fn, _, _ = nutil.initialize_model(
            k_init, napsu_model, model_args=(noisy, n, sigma, _PRIOR_SIGMA, network)
        )

        def potential(lam):
            return potential_fn({"lambdas": lam})

        self._say("napsu: Laplace approximation (BFGS and Hessian)")
        mode, prec, ok = _laplace(potential, network.lambda_d, 500)
        timings["laplace_s"] = round(time.perf_counter() - t0, 2)
        if not ok and p["posterior"] == "laplace":
            raise InputError(
                "napsu: the Laplace approximation of the posterior failed (the optimiser did not converge); "
                "use the NUTS posterior (posterior='nuts')"
            )
        if not np.all(np.isfinite(mode)) or not np.all(np.isfinite(prec)):
            raise InputError(
                "napsu: the posterior's potential is not finite at its optimum; try fewer queries"
            )
        # with NUTS the Laplace approximation only starts and preconditions the sampler, whose draws target
        # the exact posterior whether or not the optimiser converged
        timings["laplace_converged"] = ok
        cov = _laplace_cov(prec, 1.0 / _PRIOR_SIGMA**2)
        chol = np.linalg.cholesky(cov)
        t1 = time.perf_counter()
        if p["posterior"] == "laplace":
            z = np.asarray(jax.random.normal(k_draw, (int(p["samples"]), network.lambda_d)))
            posterior = mode + z @ chol.T
        else:
            # the normalised model (lambdas = L z + mode, L the Laplace covariance's Cholesky factor), sampled
            # by NUTS as twinify's run_numpyro_mcmc_normalised does, with the tree depth a parameter
            import numpyro.infer

            lchol, mean = jnp.asarray(chol), jnp.asarray(mode)
            kernel = numpyro.infer.NUTS(napsu_normalised_model, max_tree_depth=int(p["max_tree_depth"]))
            mcmc = numpyro.infer.MCMC(
                kernel,
                num_warmup=int(p["warmup"]),
                num_samples=int(p["samples"]),
                num_chains=int(p["chains"]),
                progress_bar=self.progress,
                jit_model_args=False,
                chain_method="sequential",
            )
            mcmc.run(k_mcmc, noisy, n, sigma, _PRIOR_SIGMA, network, mean, lchol, extra_fields=("num_steps",))
            timings["nuts_mean_steps"] = round(float(np.mean(mcmc.get_extra_fields()["num_steps"])), 1)

            def back(z):
                return (lchol @ z.T).T + mean

            posterior = np.asarray(back(mcmc.get_samples()["norm_lambdas"]))
        timings["posterior_s"] = round(time.perf_counter() - t1, 2)
        if not np.all(np.isfinite(posterior)):
            raise InputError(
                "napsu: the posterior sampler diverged (try more warm-up draws, fewer queries or "
                "posterior='laplace')"
            )
        self.query_sets_ = query_sets
        self.posterior_ = posterior
        self.network_ = network
        self.n_estimate_ = float(n)
        return PrivacySpent(
            epsilon=budget.epsilon,
            delta=budget.delta,
            rho=rho,
            neighbours=(
                "add/remove one record (the row count is released with DP)"
                if self.neighbours_ == "add/remove"
                else "replace one record (the row count is public, declared in the ledger)"
            ),
            noise="anonlab.privacy.mechanisms (discrete Gaussian)"
            + ("; seeded keystream" if noise.seeded else "; OpenDP, OS CSPRNG"),
            seeded=noise.seeded,
            trusted_domains=self.trusted_domains_,
            details={
                "queries": [list(q) for q in query_sets],
                "sigma": sigma,
                "l2_sensitivity": sens,
                **count,
                "posterior": p["posterior"],
                "model": type(network).__name__,
                # post-processing of the noisy marginals only; wall-clock times stay out (data-dependent)
                **{k: v for k, v in timings.items() if not k.endswith("_s")},
            },
        )

    def _say(self, msg: str) -> None:
        if self.progress:
            print(msg, file=sys.stderr, flush=True)

    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Rows from the posterior predictive: each row picks a posterior draw, then a cell of that draw's joint
        distribution (numpy; post-processing)."""
        post = self.posterior_
        draws = min(len(post), max(1, n))
        picks = rng.choice(len(post), draws, replace=False)
        which = rng.integers(0, draws, n)
        cells = np.empty(n, dtype=np.int64)
        for j, k in enumerate(picks):
            rows = np.flatnonzero(which == j)
            if len(rows):
                cdf = np.cumsum(self.network_.probs_numpy(post[k]))
                cells[rows] = np.minimum(np.searchsorted(cdf, rng.random(len(rows)) * cdf[-1]), len(cdf) - 1)
        return np.column_stack(np.unravel_index(cells, self.network_.sizes)).astype(np.int64)

    def _state(self):
        state = {
            "n_estimate": self.n_estimate_,
            "query_sets": [list(q) for q in self.query_sets_],
            "query_layout": QUERY_LAYOUT,
        }
        return state, {"posterior": np.asarray(self.posterior_)}, None

    def _restore(self, state, arrays, payload) -> None:
        if state.get("query_layout") != QUERY_LAYOUT:
            raise InputError(
                "napsu: this model was saved by an older anonlab (twinify's query order); fit it again"
            )
        self.query_sets_ = [tuple(q) for q in state["query_sets"]]
        self.posterior_ = np.asarray(arrays["posterior"])
        self.n_estimate_ = float(state["n_estimate"])
        self.network_ = self._network(self.query_sets_)
