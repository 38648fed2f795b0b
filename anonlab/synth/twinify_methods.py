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
twinify: 4 x 2,000 after 800 warm-up); fewer draws are what make it fast.

Neighbouring datasets. twinify treats the row count n as public and replaces one record. anonlab releases under
add/remove-one-record neighbours by default (no ledger, or an add/remove ledger): it first releases a DP estimate
of n (a share ``N_ESTIMATE_SHARE`` of the budget), then fits and samples with that estimate; only on a ledger whose
relation is "replace-one" (n declared public at ``budget init``) does it keep twinify's exact-n, replace-one
release. See each class for the argument.

``dpvi`` (Jälkö, Dikmen, Honkela 2017; twinify 2.0): a mixture of ``k`` components, each a product of one
categorical per column, fit by DP stochastic variational inference (d3p's DP-SGD: per-example gradient clipping and
Gaussian noise). The noise is drawn inside d3p's JAX training loop by its ChaCha20 generator, keyed from the
release's noise stream, not through :mod:`anonlab.privacy.mechanisms`; it is float32 Gaussian noise, which d3p's own
notes say is open to Mironov's (2012) floating-point attack. The (epsilon, delta) accounting is d3p's Fourier
accountant for the subsampled Gaussian mechanism with fixed-size batches (replace one record), turned into an
add/remove guarantee by a DP row count (see :class:`DPVI`); the sidecar says so.

Sampling either model is post-processing, seeded by ``--seed``.
"""

from __future__ import annotations

import itertools
import math
import sys
from typing import Any

import numpy as np

from anonlab.errors import InputError, UsageError
from anonlab.synth.base import Budget, PrivacySpent, Synthesizer, register, require_privacy_ok

__all__ = ["NapsuMQ", "DPVI"]


def _jax_setup(cache_dir) -> None:
    from anonlab.synth.jaxcache import enable_compilation_cache

    enable_compilation_cache(cache_dir)


#: Share of a fit's budget (of rho for NAPSU-MQ, of epsilon for DPVI) spent on the DP estimate of the row count
#: when the release is under add/remove-one-record neighbours (no ledger, or an add/remove ledger).
N_ESTIMATE_SHARE = 0.05


def _d3p_key(noise):
    """d3p's ChaCha20 key for the DP-SGD noise: the next 256 bits of the release's noise stream (a fork keyed by
    the seed, all the release's parameters, the table's fingerprint and the ledger entry when seeded, so DP-SGD noise
    follows the same one-stream-per-release rule as every other mechanism; 256 bits from ``secrets`` when not)."""
    import d3p.random

    return d3p.random.PRNGKey(noise.key_bytes(32))


def _sensitivity_groups(queries) -> int:
    """How many canonical queries one record can satisfy at most: one per marginal (the queries of one marginal are
    distinct cells of it, hence disjoint events). So adding or removing one record moves the sufficient statistics
    by at most sqrt(this) in L2, and replacing one by at most sqrt(2 x this)."""
    seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    groups: set[tuple[int, ...]] = set()
    for q in queries.flatten().queries:
        order = np.argsort(q.inds)
        inds = tuple(int(i) for i in np.asarray(q.inds)[order])
        cell = (inds, tuple(int(v) for v in np.asarray(q.value)[order]))
        if cell in seen:  # a repeated query would count one record twice
            raise UsageError("napsu: the marginal queries repeat a cell; give each marginal once")
        seen.add(cell)
        groups.add(inds)
    return len(groups)


def _resize(codes: np.ndarray, m: int, sizes, rng: np.random.Generator) -> np.ndarray:
    """A table of exactly ``m`` rows made from ``codes`` (n rows): a uniformly random subset of m rows when
    m <= n, else all n rows and m - n padding rows drawn uniformly from the public domain (independent of the data).
    For D and D' = D plus one record x there is a coupling of the two results under which they differ in at most one
    row (x in place of a dropped row or of a padding row), which turns a replace-one guarantee on m rows into an
    add/remove guarantee (see :class:`DPVI`)."""
    n = len(codes)
    if m <= n:
        return codes[np.sort(rng.choice(n, m, replace=False))]
    pad = np.column_stack([rng.integers(0, s, m - n) for s in sizes]).astype(codes.dtype)
    return np.concatenate([codes, pad], axis=0)


def _codes_frame(codes: np.ndarray, sizes, names):
    import pandas as pd

    return pd.DataFrame(
        {name: pd.Categorical(codes[:, j], categories=list(range(sizes[j]))) for j, name in enumerate(names)}
    )


def _from_twinify_frame(df, names) -> np.ndarray:
    return np.column_stack([np.asarray(df[name]).astype(np.int64) for name in names])


_PRIOR_SIGMA = 10.0  # twinify's isotropic normal prior on the max-entropy parameters


class JointMaxEnt:
    """twinify's maximum-entropy model of the canonical marginal queries, on the enumerated joint domain.

    The same distribution as twinify's ``MarkovNetwork`` (p(x) proportional to exp(lambdas . f(x)) with f
    twinify's canonical queries, in the same order), and a drop-in for it in twinify's numpyro models
    (``suff_stat_d``, ``lambda_d``, ``suff_stat_mean_and_cov``). twinify computes the log-partition by
    variable elimination unrolled into thousands of small scatters per call and takes the mean and covariance
    as its gradient and Hessian, so NUTS (which differentiates the covariance once more) compiles for many
    minutes. Here the joint table over the public domain is one tensor (a sum of broadcast clique tables
    gathered from lambdas), the mean is gathered from clique marginals and the covariance from the marginals
    of each pair of cliques: a few dozen array operations that XLA compiles in seconds. Only practical while
    the joint domain is small (``cells`` <= ``max_cells``); it reads no data.
    """

    def __init__(self, domain: dict, queries) -> None:
        names = list(domain)
        self.sizes = tuple(len(domain[c]) for c in names)
        self.cells = int(np.prod(self.sizes, dtype=np.float64))
        self.flat_queries = queries.flatten()
        qs = self.flat_queries.queries
        self.suff_stat_d = self.lambda_d = d = len(qs)
        groups: dict[tuple[int, ...], list[tuple[int, tuple[int, ...]]]] = {}
        for k, q in enumerate(qs):
            order = np.argsort(q.inds)
            inds = tuple(int(i) for i in np.asarray(q.inds)[order])
            groups.setdefault(inds, []).append((k, tuple(int(v) for v in np.asarray(q.value)[order])))
        self.cliques = list(groups)
        # per clique: the queries' positions in the flat clique table, and the table's gather index into
        # lambdas padded with one zero (cells no canonical query covers have log-potential 0)
        self._pos, self._table, qorder = [], [], []
        for c in self.cliques:
            shape = tuple(self.sizes[i] for i in c)
            vals = np.array([v for _, v in groups[c]], dtype=np.int64)
            pos = np.ravel_multi_index(tuple(vals.T), shape)
            table = np.full(int(np.prod(shape)), d, dtype=np.int64)
            table[pos] = [k for k, _ in groups[c]]
            self._pos.append(pos)
            self._table.append(table)
            qorder += [k for k, _ in groups[c]]
        self._inverse = np.argsort(np.asarray(qorder, dtype=np.int64))  # clique order -> query order
        # covariance blocks: for cliques A, B, the index of each (query in A, query in B) into the flattened
        # marginal on A | B, or the padding zero where the two queries disagree on a shared column
        self._pairs = []
        for a, ca in enumerate(self.cliques):
            for b, cb in enumerate(self.cliques):
                if b < a:
                    continue
                union = tuple(sorted(set(ca) | set(cb)))
                ushape = tuple(self.sizes[i] for i in union)
                va = np.array([v for _, v in groups[ca]], dtype=np.int64)
                vb = np.array([v for _, v in groups[cb]], dtype=np.int64)
                full = np.zeros((len(va), len(vb), len(union)), dtype=np.int64)
                agree = np.ones((len(va), len(vb)), dtype=bool)
                for u, col in enumerate(union):
                    ia = ca.index(col) if col in ca else None
                    ib = cb.index(col) if col in cb else None
                    if ia is not None and ib is not None:
                        agree &= va[:, ia][:, None] == vb[:, ib][None, :]
                    full[:, :, u] = va[:, ia][:, None] if ia is not None else vb[:, ib][None, :]
                flat = np.ravel_multi_index(tuple(np.moveaxis(full, 2, 0)), ushape)
                flat = np.where(agree, flat, int(np.prod(ushape)))
                self._pairs.append((a, b, union, flat))

    def _log_joint(self, lambdas):
        import jax.numpy as jnp

        padded = jnp.concatenate([lambdas, jnp.zeros(1, dtype=lambdas.dtype)])
        out = jnp.zeros(self.sizes, dtype=lambdas.dtype)
        for c, table in zip(self.cliques, self._table, strict=True):
            shape = [self.sizes[i] if i in c else 1 for i in range(len(self.sizes))]
            out = out + padded[table].reshape(shape)
        return out

    def _probs(self, lambdas):
        import jax

        logits = self._log_joint(lambdas)
        return jax.nn.softmax(logits.ravel()).reshape(self.sizes)

    def _marginal(self, p, axes: tuple[int, ...]):
        import jax.numpy as jnp

        other = tuple(i for i in range(len(self.sizes)) if i not in axes)
        return jnp.sum(p, axis=other).ravel() if other else p.ravel()

    def lambda0(self, lambdas):
        """Log-partition function."""
        import jax

        return jax.scipy.special.logsumexp(self._log_joint(lambdas))

    def suff_stat_mean(self, lambdas):
        import jax.numpy as jnp

        p = self._probs(lambdas)
        parts = [self._marginal(p, c)[pos] for c, pos in zip(self.cliques, self._pos, strict=True)]
        return jnp.concatenate(parts)[self._inverse]

    def suff_stat_mean_and_cov(self, lambdas):
        import jax.numpy as jnp

        p = self._probs(lambdas)
        marg = {c: self._marginal(p, c) for c in self.cliques}
        mean = jnp.concatenate([marg[c][pos] for c, pos in zip(self.cliques, self._pos, strict=True)])
        blocks: dict[tuple[int, int], object] = {}
        for a, b, union, flat in self._pairs:
            m = marg[union] if union in marg else self._marginal(p, union)
            block = jnp.concatenate([m, jnp.zeros(1, dtype=m.dtype)])[flat]
            blocks[(a, b)] = block
            if a != b:
                blocks[(b, a)] = block.T
        n = len(self.cliques)
        second = jnp.concatenate(
            [jnp.concatenate([blocks[(a, b)] for b in range(n)], axis=1) for a in range(n)], axis=0
        )
        cov = second - jnp.outer(mean, mean)
        inv = self._inverse
        return mean[inv], cov[inv][:, inv]

    def probs_numpy(self, lambdas: np.ndarray) -> np.ndarray:
        """The joint distribution (flattened, C order over ``sizes``) for one parameter vector, in numpy."""
        padded = np.concatenate([np.asarray(lambdas, dtype=np.float64), [0.0]])
        logits = np.zeros(self.sizes)
        for c, table in zip(self.cliques, self._table, strict=True):
            shape = [self.sizes[i] if i in c else 1 for i in range(len(self.sizes))]
            logits = logits + padded[table].reshape(shape)
        logits = logits.ravel()
        w = np.exp(logits - logits.max())
        return w / w.sum()


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


@register
class NapsuMQ(Synthesizer):
    """twinify's NAPSU-MQ with anonlab's noise and a fast posterior.

    Privacy: the data is read by at most two releases through :mod:`anonlab.privacy.mechanisms`, both discrete
    Gaussian in zCDP; every parameter below shapes the post-processing (the posterior over the max-entropy model
    given the noisy marginals) and changes no privacy guarantee. ``queries`` is fixed before seeing the data, so
    choosing it spends nothing. The sufficient statistics are twinify's canonical queries of the full marginals;
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
    per draw; twinify uses depth 12; with ``"laplace"`` ``samples`` is the number of draws), ``max_cells`` (largest joint domain for anonlab's fast max-entropy model; above it twinify's own
    ``MarkovNetwork`` is used, whose NUTS compile takes many minutes), ``jax_cache`` (compilation cache folder).
    """

    name = "napsu"
    private = True
    supports_replace_one = True
    description = (
        "twinify NAPSU-MQ: noise-aware posterior over a max-entropy model of noisy marginals (small tables)"
    )

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {
            "queries": None,
            "posterior": "nuts",
            "samples": 200,
            "warmup": 200,
            "chains": 1,
            "max_tree_depth": 6,
            "max_cells": 2_000_000,
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

    def _network(self, values_by_col, queries):
        cells = float(np.prod([len(v) for v in values_by_col.values()], dtype=np.float64))
        if cells <= float(self.params["max_cells"]):
            return JointMaxEnt(values_by_col, queries)
        from twinify.napsu_mq.markov_network import MarkovNetwork

        print(
            f"napsu: the joint domain has {cells:.3g} cells (> max_cells {self.params['max_cells']}); using "
            "twinify's MarkovNetwork, whose NUTS compile can take many minutes",
            file=sys.stderr,
        )
        return MarkovNetwork(values_by_col, queries)

    def _fit_codes(self, codes, sizes, budget: Budget, noise) -> PrivacySpent:
        import time

        _jax_setup(self.params["jax_cache"])
        import jax
        import jax.numpy as jnp
        import numpyro.infer.util as nutil
        import twinify.napsu_mq.maximum_entropy_model as mem
        from twinify.dataframe_data import DataFrameData
        from twinify.napsu_mq.marginal_query import FullMarginalQuerySet

        from anonlab.privacy.accounting import gaussian_sigma_for_rho
        from anonlab.privacy.mechanisms import gaussian

        p = self.params
        if p["posterior"] not in ("nuts", "laplace"):
            raise UsageError(f"napsu: posterior must be 'nuts' or 'laplace', not {p['posterior']!r}")
        names = self.encoding_.names
        query_sets = self._query_sets(names) if len(names) > 1 else []
        covered = {c for q in query_sets for c in q}
        query_sets += [(c,) for c in names if c not in covered]  # every column needs a marginal in the model
        frame = DataFrameData(_codes_frame(codes, sizes, names))
        queries = _quiet(
            lambda: FullMarginalQuerySet(query_sets, frame.values_by_col).get_canonical_queries()
        )
        suff = np.asarray(np.sum(queries.flatten()(frame.int_df.to_numpy()), axis=0)).astype(np.int64)
        marginals = _sensitivity_groups(queries)
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
        network = self._network(frame.values_by_col, queries)
        mcmc_seed = int.from_bytes(noise.key_bytes(4), "big") >> 1  # post-processing randomness, same stream
        k_init, k_mcmc, k_draw = jax.random.split(jax.random.PRNGKey(mcmc_seed), 3)
        timings = {}
        t0 = time.perf_counter()
        _, potential_fn, _, _ = nutil.initialize_model(
            k_init, mem.normal_prior_model_numpyro, model_args=(noisy, n, sigma, 0.0, _PRIOR_SIGMA, network)
        )

        def potential(lam):
            return potential_fn({"lambdas": lam})

        self._say("napsu: Laplace approximation (BFGS and Hessian)")
        mode, prec, ok = _laplace(potential, network.lambda_d, 500)
        timings["laplace_s"] = round(time.perf_counter() - t0, 2)
        if not ok and p["posterior"] == "laplace":
            raise InputError(
                "napsu: the Laplace approximation of the posterior failed (the optimiser did not converge); "
                "use the NUTS posterior (--posterior nuts; posterior='nuts' in Python)"
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
            # twinify's normalised model (lambdas = L z + mode, L the Laplace covariance's Cholesky factor),
            # sampled by NUTS as twinify's run_numpyro_mcmc_normalised does, with the tree depth a parameter
            import numpyro.infer

            lchol, mean = jnp.asarray(chol), jnp.asarray(mode)
            kernel = numpyro.infer.NUTS(
                mem.normal_prior_normalised_model_numpyro, max_tree_depth=int(p["max_tree_depth"])
            )
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
        distribution (numpy; post-processing). twinify's own sampler is used only for its MarkovNetwork."""
        post = self.posterior_
        draws = min(len(post), max(1, n))
        picks = rng.choice(len(post), draws, replace=False)
        which = rng.integers(0, draws, n)
        if isinstance(self.network_, JointMaxEnt):
            cells = np.empty(n, dtype=np.int64)
            for j, k in enumerate(picks):
                rows = np.flatnonzero(which == j)
                if len(rows):
                    cdf = np.cumsum(self.network_.probs_numpy(post[k]))
                    cells[rows] = np.minimum(
                        np.searchsorted(cdf, rng.random(len(rows)) * cdf[-1]), len(cdf) - 1
                    )
            return np.column_stack(np.unravel_index(cells, self.network_.sizes)).astype(np.int64)
        import d3p.random

        result = self._result(self.query_sets_, post)
        per = -(-n // min(20, n))
        key = d3p.random.PRNGKey(int(rng.integers(0, 2**31 - 1)))
        df = result.generate(key, min(20, n), per, single_dataframe=True)
        codes = _from_twinify_frame(df, self.encoding_.names)
        return codes[rng.permutation(len(codes))[:n]]

    def _state(self):
        state = {"n_estimate": self.n_estimate_, "query_sets": [list(q) for q in self.query_sets_]}
        return state, {"posterior": np.asarray(self.posterior_)}, None

    def _restore(self, state, arrays, payload) -> None:
        from twinify.napsu_mq.marginal_query import FullMarginalQuerySet

        self.query_sets_ = [tuple(q) for q in state["query_sets"]]
        self.posterior_ = np.asarray(arrays["posterior"])
        self.n_estimate_ = float(state["n_estimate"])
        values = {
            name: list(range(s)) for name, s in zip(self.encoding_.names, self.encoding_.sizes, strict=True)
        }
        queries = _quiet(lambda: FullMarginalQuerySet(self.query_sets_, values).get_canonical_queries())
        self.network_ = self._network(values, queries)

    def _result(self, query_sets, posterior):
        """Rebuild twinify's result object from the query sets and posterior draws (no pickle)."""
        from twinify.dataframe_data import DataFrameData
        from twinify.napsu_mq.marginal_query import FullMarginalQuerySet
        from twinify.napsu_mq.napsu_mq import NapsuMQResult

        sizes = self.encoding_.sizes
        frame = DataFrameData(
            _codes_frame(np.zeros((1, len(sizes)), dtype=np.int64), sizes, self.encoding_.names)
        )
        queries = _quiet(
            lambda: FullMarginalQuerySet(query_sets, frame.values_by_col).get_canonical_queries()
        )
        return NapsuMQResult(frame.values_by_col, queries, posterior, frame.data_description)


class _MVN:
    """The two attributes twinify's ``run_numpyro_mcmc_normalised`` reads from a Laplace approximation."""

    def __init__(self, mean, covariance) -> None:
        self.mean = mean
        self.covariance_matrix = covariance


def _quiet(fn):
    """Run twinify code that draws tqdm bars (canonical queries) without them."""
    import contextlib
    import io

    with contextlib.redirect_stderr(io.StringIO()):
        return fn()


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
    """twinify's DPVI mixture model, trained by anonlab's own DP-SGD loop over d3p's ``DPSVI``.

    Privacy: DP-SGD on a table of m rows: every step takes a uniformly random batch of ``batch_size`` rows
    (fixed size, without replacement; d3p's batchifier), clips each row's gradient to norm ``clipping`` and adds
    Gaussian noise of standard deviation ``noise_multiplier x clipping`` to the batch's sum (d3p's ChaCha20
    generator, keyed from the release's noise stream; float32 JAX noise, which d3p notes is open to Mironov's
    floating-point attack). The noise multiplier is the smallest that d3p's Fourier accountant finds to keep the
    steps, at sampling ratio batch_size / m, within the SGD's (epsilon, delta); it is asked for an epsilon strictly
    at or below the target. That accountant is for fixed-size batches and **replace-one** neighbours among tables
    of m rows (it is not valid for add/remove: that needs Poisson subsampling, which d3p's batchifier is not).

    - Replace-one neighbours (a ledger whose relation is "replace-one", n public and checked): m = n, the SGD gets
      the whole (epsilon, delta).
    - Add/remove neighbours (the default: no ledger, or an add/remove ledger): first a DP row count n_hat =
      n + discrete Laplace noise at epsilon_n = ``N_ESTIMATE_SHARE`` x epsilon (pure DP, sensitivity 1); then the
      table is made exactly m = max(1, n_hat) rows: a uniformly random subset of m rows when m <= n, else all rows
      plus m - n padding rows drawn uniformly from the public domain (:func:`_resize`); DP-SGD runs on it at
      ((1 - share) epsilon, delta) and m is the model's row count. Why this is add/remove DP: take D and
      D' = D plus a record x. The count is epsilon_n-DP. Given m, the two m-row tables can be coupled so that they
      differ in at most one row (a random m-subset of D' either avoids x, distributed as a random m-subset of D, or
      is such a subset with one row replaced by x; with padding, x takes the place of one i.i.d. padding row), so
      the SGD's replace-one (epsilon_sgd, delta) guarantee holds for every m, and basic composition gives
      (epsilon_n + epsilon_sgd, delta) = (epsilon, delta) for add/remove neighbours. Everything downstream of m
      (batch ratio, steps) depends only on the DP output m.

    ``epochs`` and ``batch_size`` therefore trade noise per step against the number of steps; ``k``,
    ``learning_rate`` and ``clipping`` shape only the optimisation (``clipping`` also scales the noise with the
    signal).

    Parameters: ``k`` (mixture components), ``epochs`` (steps x batch_size / rows), ``batch_size`` (rows per
    step; ``subsample_ratio``, if given, sets it as a share of the rows instead), ``clipping`` (per-row gradient
    norm bound), ``learning_rate`` (Adam; twinify hard-codes 1e-3, too small to move a DP fit of this model
    in a few thousand steps), ``jax_cache``.
    """

    name = "dpvi"
    private = True
    supports_replace_one = True
    description = "twinify DPVI: DP variational inference of a mixture model (d3p DP-SGD)"

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {
            "k": 5,
            "epochs": 50,
            "batch_size": 200,
            "subsample_ratio": None,
            "clipping": 1.0,
            "learning_rate": 0.05,
            "jax_cache": None,
        }

    def accounts_in_zcdp(self) -> bool:
        return False

    def ledger_mechanism(self) -> str:
        return "subsampled_gaussian (d3p DP-SGD)"

    def _model(self):
        import numpyro.infer.autoguide
        from numpyro.infer.initialization import init_to_feasible

        model = _mixture_model(self.encoding_.sizes, int(self.params["k"]))
        return model, numpyro.infer.autoguide.AutoDiagonalNormal(model, init_loc_fn=init_to_feasible)

    def _plan(self, n: int) -> tuple[int, float, int]:
        """(batch size, sampling ratio, number of steps) for ``n`` rows: public, fixed before any data is read."""
        p = self.params
        if p.get("subsample_ratio"):
            batch = int(round(float(p["subsample_ratio"]) * n))
        else:
            batch = int(p["batch_size"])
        batch = max(1, min(batch, n))
        steps = max(1, int(math.ceil(float(p["epochs"]) * n / batch)))
        return batch, batch / n, steps

    def _fit_codes(self, codes, sizes, budget: Budget, noise) -> PrivacySpent:
        _jax_setup(self.params["jax_cache"])
        import d3p.dputil
        import d3p.minibatch
        import d3p.random
        import d3p.svi
        import jax
        import jax.numpy as jnp
        import numpyro.infer
        import numpyro.optim
        from tqdm import tqdm

        from anonlab.privacy.mechanisms import laplace

        p = self.params
        row_count: dict[str, Any] = {}
        sgd_budget = budget
        if self.neighbours_ == "add/remove":
            # a DP row count, then a table of exactly that many rows: see the class docstring for the argument
            eps_n = N_ESTIMATE_SHARE * budget.epsilon
            rel_n = laplace(int(codes.shape[0]), 1.0 / eps_n, l1_sensitivity=1.0, integer=True, noise=noise)
            if rel_n.cost.epsilon > eps_n * (1 + 1e-9):
                raise InputError("dpvi: internal accounting error in the row count")
            m = max(1, int(rel_n.value))
            codes = _resize(codes, m, sizes, noise.generator())
            sgd_budget = Budget(budget.epsilon - eps_n, budget.delta)
            row_count = {"n_estimate": m, "n_estimate_epsilon": eps_n}
        n = int(codes.shape[0])
        # the DP-SGD key: the next 256 bits of this release's stream (after the count and the resizing)
        svi_key, init_key, batch_key = d3p.random.split(_d3p_key(noise), 3)
        batch, q, steps = self._plan(n)
        sigma, eps_spent, _ = d3p.dputil.approximate_sigma(
            sgd_budget.epsilon, sgd_budget.delta, q, steps, force_smaller=True, maxeval=30
        )
        if not (eps_spent <= sgd_budget.epsilon and np.isfinite(sigma)):
            raise InputError(f"dpvi: d3p's accountant found no noise level within epsilon {budget.epsilon:g}")
        model, guide = self._model()
        svi = d3p.svi.DPSVI(
            model,
            guide,
            numpyro.optim.Adam(float(p["learning_rate"])),
            numpyro.infer.Trace_ELBO(),
            num_obs_total=n,
            clipping_threshold=float(p["clipping"]),
            dp_scale=float(sigma),
            rng_suite=d3p.random,
        )
        data = jnp.asarray(codes.astype(np.int32))
        init_batching, get_batch = d3p.minibatch.subsample_batchify_data(
            (data,), batch_size=batch, rng_suite=d3p.random
        )
        _, bstate = init_batching(init_key)
        # one compiled program instead of hundreds of eagerly compiled small ones (the guide's set-up traces the model)
        state = jax.jit(svi.init)(svi_key, *get_batch(0, bstate))
        chunk = max(1, min(steps, 200))

        @jax.jit
        def run_chunk(state, start, count):
            def body(i, carry):
                st, loss = carry
                # a fresh uniform batch every step: the sampling d3p's accountant assumes
                _, bst = init_batching(d3p.random.fold_in(batch_key, start + i))
                st, step_loss = svi.update(st, *get_batch(0, bst))
                return st, loss + step_loss

            return jax.lax.fori_loop(0, count, body, (state, 0.0))

        bar = tqdm(total=steps, desc="dpvi steps", disable=not self.progress, file=sys.stderr)
        done = 0
        while done < steps:
            count = min(chunk, steps - done)
            state, total = run_chunk(state, done, count)
            done += count
            loss = float(total) / count / n
            bar.update(count)
            if self.progress:  # shown to the operator only; a loss over real batches is never released
                bar.set_postfix_str(f"ELBO/row {-loss:.3f}")
            if not np.isfinite(loss):
                bar.close()
                raise InputError("dpvi: inference diverged (NaN); try a smaller learning_rate")
        bar.close()
        self.params_ = {k: np.asarray(v) for k, v in svi.get_params(state).items()}
        self.n_estimate_ = float(n)
        return PrivacySpent(
            epsilon=budget.epsilon,
            delta=budget.delta,
            rho=None,
            neighbours=(
                "add/remove one record (DP row count, then d3p's replace-one accountant on exactly that many rows)"
                if self.neighbours_ == "add/remove"
                else "replace one record (d3p's accountant; the row count is public, declared in the ledger)"
            ),
            noise="d3p DP-SGD, float32 ChaCha20 noise inside JAX (not Mironov-safe), keyed from the release stream"
            + ("; seeded" if noise.seeded else ""),
            seeded=noise.seeded,
            trusted_domains=self.trusted_domains_,
            details={
                "noise_multiplier": float(sigma),
                "accounted_epsilon": float(eps_spent),
                **row_count,
                "sampling_ratio": q,
                "batch_size": batch,
                "steps": steps,
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
