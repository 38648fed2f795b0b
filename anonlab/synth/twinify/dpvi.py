"""DPVI (Jälkö, Lagerspetz, Haukka, Tarkoma, Honkela, Kaski 2021) as anonlab code on current JAX and NumPyro.

Jälkö J., Lagerspetz E., Haukka J., Tarkoma S., Honkela A., Kaski S. (2021): "Privacy-preserving data sharing via
probabilistic modeling", Patterns 2(7); Jälkö, Dikmen, Honkela (2017), "Differentially private variational
inference for non-conjugate models", UAI. The method: a probabilistic model of the table (here twinify's default
for categorical data: a mixture of ``k`` components, each a product of one categorical per column, Dirichlet(1)
priors), a mean-field normal variational posterior over its unconstrained parameters, fitted by DP stochastic
gradient descent on the ELBO (per-example gradient clipping and Gaussian noise), and rows drawn from the
posterior predictive.

Here every step of DP-SGD is anonlab's own: Poisson subsampling, clipping and float64 Gaussian noise drawn from a
keyed SHAKE-256 stream (:class:`KeyedNormals`), accounted by ``dp-accounting``'s PLD accountant
(:mod:`anonlab.synth.twinify.accountant`).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

from anonlab.errors import InputError, UsageError
from anonlab.progress import bar, phase, ticking
from anonlab.synth.base import EncodedSynthesizer
from anonlab.synth.budget import Budget, PrivacySpent
from anonlab.synth.twinify._common import N_ESTIMATE_SHARE, jax_setup
from anonlab.synth.twinify.accountant import calibrate_noise_multiplier

__all__ = ["DPVI", "KeyedNormals", "MixtureLayout"]

#: the parameter layout of saved models (models saved by the d3p-based version are refused)
PARAM_LAYOUT = "anonlab-dpvi-1"
_INIT_SCALE = (
    0.1  # the variational posterior's initial standard deviation (numpyro's AutoDiagonalNormal default)
)


class KeyedNormals:
    """Uniform and standard normal float64 variates from a 256-bit key: SHAKE-256(key, label, block) in counter mode,
    53-bit uniforms, normals by the Box-Muller transform.

    The key is 32 bytes of the release's noise stream (:meth:`anonlab.privacy.noise.NoiseSource.key_bytes`: keyed by
    the secret seed and everything that makes the release unique when seeded, from the operating system's CSPRNG when
    not), so DP-SGD's noise follows the one-stream-per-release rule and is reproducible only with the seed. Each
    ``label`` is a separate stream (subsampling, noise). Not an exact sampler: float64 normals, like every DP-SGD.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("KeyedNormals needs a key of at least 32 bytes")
        self._key = bytes(key)
        self._block: dict[str, int] = {}

    def _words(self, label: str, count: int) -> np.ndarray:
        block = self._block.get(label, 0)
        self._block[label] = block + 1
        h = hashlib.shake_256(self._key + b"\x00" + label.encode() + b"\x00" + block.to_bytes(8, "big"))
        return np.frombuffer(h.digest(8 * int(count)), dtype="<u8")

    def uniform(self, label: str, shape) -> np.ndarray:
        """Uniforms on [0, 1) with 53 random bits each."""
        count = int(np.prod(shape))
        return ((self._words(label, count) >> np.uint64(11)).astype(np.float64) * 2.0**-53).reshape(shape)

    def normal(self, label: str, shape) -> np.ndarray:
        """Standard normals (Box-Muller on two 53-bit uniforms each)."""
        count = int(np.prod(shape))
        u = self.uniform(label, (2, count))
        r = np.sqrt(-2.0 * np.log1p(-u[0]))  # 1 - u in (0, 1]: no log(0)
        return (r * np.cos(2.0 * np.pi * u[1])).reshape(shape)


class MixtureLayout:
    """The mixture model's parameters as one unconstrained vector: per column j a k x (size_j - 1) block (stick
    breaking to the k x size_j category probabilities), then k - 1 entries for the mixture weights."""

    def __init__(self, sizes: tuple[int, ...], k: int) -> None:
        self.sizes, self.k = tuple(int(s) for s in sizes), int(k)
        self.offsets = np.cumsum([0] + [self.k * (s - 1) for s in self.sizes])
        self.dim = int(self.offsets[-1]) + self.k - 1

    def constrain(self, w):
        """(list of k x size_j probability tables, k mixture weights) and the log-Jacobian of the map."""
        import jax.numpy as jnp
        from numpyro.distributions.transforms import StickBreakingTransform

        sb = StickBreakingTransform()
        tables, logdet = [], 0.0
        for j, s in enumerate(self.sizes):
            raw = w[self.offsets[j] : self.offsets[j + 1]].reshape(self.k, s - 1)
            p = sb(raw)
            logdet = logdet + jnp.sum(sb.log_abs_det_jacobian(raw, p))
            tables.append(p)
        raw = w[self.offsets[-1] :]
        pis = sb(raw)
        logdet = logdet + sb.log_abs_det_jacobian(raw, pis)
        return tables, pis, logdet

    def log_prior(self, w):
        """log p(w): the Dirichlet(1) priors of the probabilities, mapped to the unconstrained space."""
        import jax.numpy as jnp
        import numpyro.distributions as dist

        tables, pis, logdet = self.constrain(w)
        lp = logdet + dist.Dirichlet(jnp.ones(self.k)).log_prob(pis)
        for t, s in zip(tables, self.sizes, strict=True):
            lp = lp + jnp.sum(dist.Dirichlet(jnp.ones(s)).log_prob(t))
        return lp

    def log_lik(self, w, x):
        """log p(x | w) of one encoded row x (length d): log sum_c pi_c prod_j p_cj(x_j)."""
        import jax
        import jax.numpy as jnp

        tables, pis, _ = self.constrain(w)
        comp = jnp.log(pis)
        for j, t in enumerate(tables):
            comp = comp + jnp.log(t[:, x[j]])
        return jax.scipy.special.logsumexp(comp)


def poisson_batches(stream: KeyedNormals, n: int, q: float, steps: int, chunk: int = 256) -> list[np.ndarray]:
    """For each of ``steps`` steps, the rows (indices) in its batch: each row independently with probability q
    (Poisson subsampling, the sampling the accountant assumes), from the keyed stream."""
    out: list[np.ndarray] = []
    for start in range(0, steps, chunk):
        count = min(chunk, steps - start)
        u = stream.uniform("subsample", (count, n))
        out.extend(np.flatnonzero(row < q) for row in u)
    return out


class DPVI(EncodedSynthesizer):
    """DPVI (Jälkö et al. 2021; twinify 2.0's model for categorical data) trained by anonlab's own DP-SGD.

    Model: ``k`` mixture components, each a product of one categorical per encoded column (twinify's automatic
    model for categorical columns), Dirichlet(1) priors; variational posterior: independent normals on the
    unconstrained parameters (stick-breaking), the mean and (softplus) scale learned by Adam on the ELBO.

    Privacy: DP-SGD. Each step takes every row into its batch independently with probability q (Poisson
    subsampling, from the keyed stream), computes each row's gradient of its log-likelihood term (one shared draw of
    the parameters from the variational posterior per step), clips it to L2 norm ``clipping`` = C, sums the batch and
    adds N(0, (sigma C)^2) noise per coordinate in float64 (:class:`KeyedNormals`); the gradient is that noisy sum
    over q (an unbiased estimate of the full data term, no row count needed) plus the exact gradient of the prior and
    entropy terms, which read no data. (twinify/d3p clip each row's share of the whole ELBO instead and use
    fixed-size batches; the model and objective are the same.) The noise multiplier sigma is the smallest (found by
    bisection) whose ``dp-accounting`` PLD epsilon for T Poisson-subsampled Gaussian steps at rate q is at most the
    SGD's epsilon at delta (:mod:`anonlab.synth.twinify.accountant`).

    - Add/remove neighbours (the default: no ledger, or an add/remove ledger): Poisson subsampling is analysed under
      add/remove directly. A DP row count n_hat (discrete Laplace, epsilon_n = ``N_ESTIMATE_SHARE`` x epsilon, pure
      DP) is released first: it is the default number of rows to sample, and sets q = batch_size / n_hat when
      ``subsample_ratio`` is not given. DP-SGD then runs on the whole table at ((1 - share) epsilon, delta); basic
      composition gives (epsilon, delta) for add/remove neighbours.
    - Replace-one neighbours (a ledger whose relation is "replace-one", n public and checked): no count; q =
      batch_size / n and the PLD accountant's replace-one relation; the SGD gets the whole (epsilon, delta).

    Steps T = ceil(``epochs`` / q). ``k``, ``learning_rate`` and ``clipping`` shape only the optimisation
    (``clipping`` also scales the noise with the signal).

    Parameters: ``k`` (mixture components), ``epochs`` (expected passes over the rows), ``batch_size`` (expected
    rows per step; ``subsample_ratio``, if given, is q itself), ``clipping``, ``learning_rate`` (Adam; twinify
    hard-codes 1e-3, too small to move a DP fit of this model in a few thousand steps), ``jax_cache``.
    """

    k: int = 5
    epochs: float = 50
    batch_size: int = 200
    subsample_ratio: float | None = None
    clipping: float = 1.0
    learning_rate: float = 0.05
    jax_cache: str | None = None

    name = "dpvi"
    private = True
    requires = ("synth", "numpyro")
    supports_replace_one = True
    description = (
        "DPVI: DP variational inference of a mixture model (anonlab DP-SGD, Poisson subsampling, PLD)"
    )

    def accounts_in_zcdp(self) -> bool:
        return False

    def ledger_mechanism(self) -> str:
        return "poisson_subsampled_gaussian (anonlab DP-SGD, dp-accounting PLD)"

    def _plan(self, n_ref: float) -> tuple[float, int]:
        """(sampling rate q, number of steps T) from public parameters and a public or DP row count."""
        p = self.params
        if p.get("subsample_ratio"):
            q = float(p["subsample_ratio"])
        else:
            q = float(p["batch_size"]) / max(1.0, float(n_ref))
        if not 0 < q:
            raise UsageError("dpvi: subsample_ratio and batch_size must be positive")
        q = min(1.0, q)
        steps = max(1, int(math.ceil(float(p["epochs"]) / q - 1e-9)))
        return q, steps

    def _fit_codes(self, codes, sizes, budget: Budget, noise) -> PrivacySpent:
        jax_setup(self.params["jax_cache"])
        from anonlab.privacy.mechanisms import laplace

        p = self.params
        k = int(p["k"])
        if k < 1 or float(p["clipping"]) <= 0 or float(p["epochs"]) <= 0:
            raise UsageError("dpvi: k, clipping and epochs must be positive")
        n = int(codes.shape[0])
        row_count: dict[str, Any] = {}
        sgd_budget = budget
        if self.neighbours_ == "add/remove":
            eps_n = N_ESTIMATE_SHARE * budget.epsilon
            rel_n = laplace(n, 1.0 / eps_n, l1_sensitivity=1.0, integer=True, noise=noise)
            if rel_n.cost.epsilon > eps_n * (1 + 1e-9):
                raise InputError("dpvi: internal accounting error in the row count")
            n_ref = max(1, int(rel_n.value))
            sgd_budget = Budget(budget.epsilon - eps_n, budget.delta)
            row_count = {"n_estimate": n_ref, "n_estimate_epsilon": eps_n}
        else:
            n_ref = n  # public under replace-one (checked against the ledger's population size)
        # the DP-SGD key: the next 256 bits of this release's stream (after the count)
        stream = KeyedNormals(noise.key_bytes(32))
        q, steps = self._plan(n_ref)
        with phase(
            f"dpvi: calibrating the noise for {steps:,} steps (PLD accountant)", enabled=self.progress
        ):
            sigma, eps_spent = calibrate_noise_multiplier(
                sgd_budget.epsilon, sgd_budget.delta, q, steps, self.neighbours_
            )
        if not (eps_spent <= sgd_budget.epsilon and np.isfinite(sigma)):
            raise InputError(f"dpvi: the accountant found no noise level within epsilon {budget.epsilon:g}")
        layout = MixtureLayout(tuple(int(s) for s in sizes), k)
        loc, scale_raw = self._train(codes, layout, q, steps, sigma, stream)
        self.params_ = {"loc": loc, "scale_raw": scale_raw}
        self.layout_ = layout
        self.n_estimate_ = float(n_ref)
        return PrivacySpent(
            epsilon=budget.epsilon,
            delta=budget.delta,
            rho=None,
            neighbours=(
                "add/remove one record (Poisson subsampling, PLD accountant; a DP row count for the default rows)"
                if self.neighbours_ == "add/remove"
                else "replace one record (Poisson subsampling, PLD accountant; the row count is public, declared in "
                "the ledger)"
            ),
            noise="anonlab DP-SGD: float64 Gaussian noise (Box-Muller on a SHAKE-256 stream keyed from the release "
            "stream), Poisson subsampling from the same key" + ("; seeded" if noise.seeded else ""),
            seeded=noise.seeded,
            trusted_domains=self.trusted_domains_,
            details={
                "noise_multiplier": float(sigma),
                "accounted_epsilon": float(eps_spent),
                "accountant": "dp-accounting PLD, Poisson-subsampled Gaussian",
                **row_count,
                "sampling_ratio": q,
                "steps": steps,
            },
        )

    def _train(self, codes, layout: MixtureLayout, q: float, steps: int, sigma: float, stream: KeyedNormals):
        """DP-SGD (see the class docstring); returns the variational parameters (loc, raw scale)."""
        import jax
        import jax.numpy as jnp
        from numpyro.optim import Adam

        n, dim = int(codes.shape[0]), layout.dim
        clip = float(self.params["clipping"])
        batches = poisson_batches(stream, n, q, steps)
        # one padded batch shape for the whole run (a multiple of 64: few distinct shapes, cache hits); the padding
        # rows are masked out, so the shape is computation only and nothing about it is released
        cap = max(64, int(math.ceil(max((len(b) for b in batches), default=1) / 64.0)) * 64)
        data = jnp.asarray(np.asarray(codes, dtype=np.int32))
        opt = Adam(float(self.params["learning_rate"]))
        softplus_inv = float(np.log(np.expm1(_INIT_SCALE)))
        state = opt.init((jnp.zeros(dim), jnp.full(dim, softplus_inv)))

        def data_term(params, eps, x):
            loc, raw = params
            w = loc + jax.nn.softplus(raw) * eps
            return -layout.log_lik(w, x)

        def global_term(params, eps):  # prior and entropy: no data
            loc, raw = params
            s = jax.nn.softplus(raw)
            w = loc + s * eps
            return -layout.log_prior(w) - jnp.sum(jnp.log(s))

        def flat(g):
            return jnp.concatenate([g[0], g[1]])

        def step(carry, inp):
            i, state = carry
            idx, mask, noise_vec, eps, active = inp
            params = opt.get_params(state)
            px = jax.vmap(jax.grad(data_term), in_axes=(None, None, 0))(params, eps, data[idx])
            px = jnp.concatenate([px[0], px[1]], axis=1)  # (cap, 2 dim)
            norms = jnp.linalg.norm(px, axis=1)
            px = px * (mask / jnp.maximum(1.0, norms / clip))[:, None]
            noisy = (jnp.sum(px, axis=0) + sigma * clip * noise_vec) / q
            g = noisy + flat(jax.grad(global_term)(params, eps))
            grads = (g[:dim], g[dim:])
            new = opt.update(grads, state)
            # the padding steps of the last chunk leave the state as it is
            new = jax.tree_util.tree_map(lambda a, b: jnp.where(active, a, b), new, state)
            return (i + 1, new), None

        @jax.jit
        def run(state, idx, mask, noise_block, eps_block, active):
            (_, state), _ = jax.lax.scan(step, (0, state), (idx, mask, noise_block, eps_block, active))
            return state

        chunk = 100
        steps_bar = bar(steps, desc="dpvi steps", unit="step", enabled=self.progress)
        steps_bar.set_postfix_str("compiling")  # the first chunk compiles the step (seconds; cached after)
        with steps_bar, ticking(steps_bar):
            for start in range(0, steps, chunk):
                count = min(chunk, steps - start)
                rows = chunk  # a fixed chunk length (padded steps do nothing): one compiled program
                idx = np.zeros((rows, cap), dtype=np.int32)
                mask = np.zeros((rows, cap), dtype=np.float64)
                for r, b in enumerate(batches[start : start + count]):
                    idx[r, : len(b)] = b
                    mask[r, : len(b)] = 1.0
                noise_block = stream.normal("noise", (rows, 2 * dim))  # float64, from the keyed stream
                eps_block = stream.normal("draws", (rows, dim))  # the variational draws (no privacy role)
                active = np.arange(rows) < count
                state = run(state, idx, mask, noise_block, eps_block, active)
                if start == 0:
                    steps_bar.set_postfix_str("")
                steps_bar.update(count)
        loc, raw = opt.get_params(state)
        loc, raw = np.asarray(loc, dtype=np.float64), np.asarray(raw, dtype=np.float64)
        if not (np.all(np.isfinite(loc)) and np.all(np.isfinite(raw))):
            raise InputError("dpvi: inference diverged (NaN); try a smaller learning_rate")
        return loc, raw

    def _posterior_draws(self, draws: int, rng: np.random.Generator):
        import jax
        import jax.numpy as jnp

        layout = self.layout_
        loc, raw = self.params_["loc"], self.params_["scale_raw"]
        w = loc + np.logaddexp(0.0, raw) * rng.standard_normal((draws, layout.dim))
        tables, pis, _ = jax.vmap(layout.constrain)(jnp.asarray(w))
        return [np.asarray(t, dtype=np.float64) for t in tables], np.asarray(pis, dtype=np.float64)

    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Rows from the posterior predictive: ``draws`` parameter sets from the variational posterior, then each
        row picks a parameter set, a mixture component and one value per column (post-processing)."""
        draws = max(1, min(20, n))
        tables, pis = self._posterior_draws(draws, rng)
        which = rng.integers(0, draws, n)
        comp = _categorical(pis[which], rng)
        out = np.empty((n, len(tables)), dtype=np.int64)
        for j, t in enumerate(tables):
            out[:, j] = _categorical(t[which, comp], rng)
        return out

    def _state(self):
        state = {"n_estimate": self.n_estimate_, "k": self.layout_.k, "param_layout": PARAM_LAYOUT}
        return state, {k: np.asarray(v) for k, v in self.params_.items()}, None

    def _restore(self, state, arrays, payload) -> None:
        if state.get("param_layout") != PARAM_LAYOUT:
            raise InputError(
                "dpvi: this model was saved by an older anonlab (d3p's parameter layout); fit it again"
            )
        jax_setup(self.params.get("jax_cache"))
        self.params_ = {k: np.asarray(arrays[k], dtype=np.float64) for k in ("loc", "scale_raw")}
        self.layout_ = MixtureLayout(tuple(int(s) for s in self.encoding_.sizes), int(state["k"]))
        self.n_estimate_ = float(state["n_estimate"])


def _categorical(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per row of ``probs`` (rows are probability vectors), by inverse CDF."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cdf[:, -1]
    return np.minimum((cdf < u[:, None]).sum(axis=1), probs.shape[1] - 1)
