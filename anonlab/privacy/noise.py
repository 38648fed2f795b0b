"""Where differential-privacy randomness comes from.

:class:`NoiseSource` has two modes.

``NoiseSource(seed=None)`` (the default) draws every sample through OpenDP's own samplers, which read the operating
system's CSPRNG and sample discrete Laplace and discrete Gaussian noise exactly (no floating-point gaps). Outputs
differ from run to run.

``NoiseSource(seed=int)`` makes a release reproducible: the same seed and input give the same output. OpenDP's
samplers cannot be seeded, so this mode uses anonlab's own exact samplers, fed by a keyed SHAKE-256 keystream in
counter mode (FIPS 202 extendable-output function; key = SHAKE-256 of a domain-separation label and the seed).
The samplers are those of Canonne, Kamath and Steinke (2020, "The Discrete Gaussian for Differential Privacy",
Algorithms 1-3): exact Bernoulli(exp(-gamma)) for rational gamma, exact discrete Laplace and exact discrete
Gaussian, using only integer and rational arithmetic, so no floating-point attack (Mironov 2012) applies.
Real-valued releases are made on a fine power-of-two grid by the mechanisms (see :mod:`anonlab.privacy.mechanisms`).

Each release draws from its own stream, :meth:`NoiseSource.for_release` (or the same on an existing source,
:meth:`NoiseSource.release_stream`): a fork labelled by :func:`release_label`, the canonical digest of the release's
kind, **all** its parameters (epsilon, delta, rho, bins, schema fingerprint, ...), the table's content fingerprint
and the ledger sequence number. Two releases that differ in anything (only ``--bins``, only epsilon, another table,
another ledger entry) then never share noise, so subtracting them cannot cancel it, while the same release run twice
with the same seed reproduces. The label, the fingerprint and the seed stay inside the process: none is published.

A seeded release is differentially private **only while the seed stays secret and unguessable**: anyone who knows
(or can guess) the seed can recompute the noise and subtract it. A small integer such as 42 is guessable. Every
report and ledger entry therefore records whether the noise was seeded (:attr:`NoiseSource.seeded`).
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from anonlab.errors import UsageError

__all__ = [
    "NoiseSource",
    "SEEDED_WARNING",
    "release_label",
    "canonical_digest",
    "seed_commitment",
    "seed_matches",
]

SEEDED_WARNING = (
    "noise was drawn from a seeded keystream: the differential-privacy guarantee holds only while the seed is "
    "kept secret and cannot be guessed"
)

_LABEL = b"anonlab/privacy/noise/v1"
_RELEASE_LABEL = "anonlab/release/v1"
_BLOCK = 4096  # bytes of keystream produced per SHAKE-256 call


class _Keystream:
    """SHAKE-256 in counter mode: block i = SHAKE-256(key || i as 8 bytes), ``_BLOCK`` bytes long."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._counter = 0
        self._buf = b""
        self._pos = 0

    def read(self, n: int) -> bytes:
        out = bytearray()
        while n > 0:
            if self._pos >= len(self._buf):
                self._buf = hashlib.shake_256(self._key + self._counter.to_bytes(8, "big")).digest(_BLOCK)
                self._counter += 1
                self._pos = 0
            take = min(n, len(self._buf) - self._pos)
            out += self._buf[self._pos : self._pos + take]
            self._pos += take
            n -= take
        return bytes(out)


class NoiseSource:
    """Where DP randomness comes from.

    Parameters
    ----------
    seed : ``None`` (default): OpenDP's own samplers, fed by the operating system's CSPRNG; outputs are not
        reproducible. An integer: anonlab's exact samplers fed by a SHAKE-256 keystream derived from the seed, so
        the same seed reproduces a release. Privacy then rests on the seed staying secret and unguessable.
    """

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise UsageError(f"seed must be a whole number or None, got {seed!r}")
        self._seed = seed
        self._stream: _Keystream | None = None
        self._fork_label: str | None = None
        if seed is not None:
            self._stream = _Keystream(_derive_key(_LABEL, seed))

    # -- description -------------------------------------------------------------------------------------------
    @property
    def seeded(self) -> bool:
        """Whether this source is seeded (reproducible; private only while the seed is secret)."""
        return self._seed is not None

    def describe(self) -> dict[str, Any]:
        """What reports and ledgers record about the randomness (never the seed's keystream)."""
        if self.seeded:
            return {
                "seeded": True,
                "sampler": "anonlab exact samplers (Canonne-Kamath-Steinke 2020) on a SHAKE-256 keystream",
                "caveat": SEEDED_WARNING,
            }
        return {"seeded": False, "sampler": "OpenDP samplers (operating-system CSPRNG)"}

    def fork(self, label: str) -> NoiseSource:
        """An independent source for one release or sub-task: seeded sources derive a separate keystream from the
        seed and ``label``; unseeded ones return a fresh unseeded source.

        Use one fork per release, labelled with what makes the release unique (dataset, ledger entry, parameters):
        :meth:`for_release` builds that label. Two different releases drawn from the same seeded keystream would
        share noise, and their difference could cancel it; forking keeps them independent while a re-run of the
        same release still reproduces. A fork of a fork is keyed by the whole path of labels (so
        ``release.fork("cut points")`` differs between releases)."""
        seed = self._seed
        if seed is None:
            return NoiseSource(None)
        # a fork of a fork is keyed by the whole path of labels, so it differs between parents
        path = label if self._fork_label is None else self._fork_label + "\x00/fork/\x00" + label
        child = NoiseSource.__new__(NoiseSource)
        child._seed = seed
        child._fork_label = path
        child._stream = _Keystream(_derive_key(_LABEL + b"/fork/" + path.encode("utf-8"), seed))
        return child

    @classmethod
    def for_release(
        cls,
        seed: int | None,
        kind: str,
        params: Mapping[str, Any],
        fingerprint: str | None,
        seq: int | str | None = None,
    ) -> NoiseSource:
        """The noise source of one release: ``NoiseSource(seed).release_stream(kind, params, fingerprint, seq)``.

        seed : the secret seed, or ``None`` for OpenDP's CSPRNG (then every call is fresh, unreproducible noise).
        kind : what the release is (``"synth mst"``, ``"dp stats"``).
        params : **every** parameter that shapes the release (method parameters, epsilon, delta, rho, bins, binning
            mode/share/columns, missing handling, trust_domains, the schema fingerprint, queries, ...), a JSON-able
            mapping; digested canonically by :func:`canonical_digest` (sorted keys, tuples as lists).
        fingerprint : the table's content fingerprint (``anonlab.privacy.ledger.dataset_fingerprint(df)``). It
            enters the keystream's key only; never publish it.
        seq : the ledger entry's sequence number, or ``None`` when there is no ledger.

        Seeded: a keystream keyed by the seed and :func:`release_label` (kind, params, fingerprint, seq), so two
        releases that differ in any of them draw independent noise, and the same release reproduces.
        """
        return cls(seed).release_stream(kind, params, fingerprint, seq)

    def release_stream(
        self,
        kind: str,
        params: Mapping[str, Any],
        fingerprint: str | None,
        seq: int | str | None = None,
    ) -> NoiseSource:
        """This source forked for one release (see :meth:`for_release`, which takes the seed instead)."""
        return self.fork(release_label(kind, params, fingerprint, seq))

    def key_bytes(self, n: int = 32) -> bytes:
        """``n`` bytes of key material for a generator outside anonlab (d3p's ChaCha20, numpy): the next ``n``
        bytes of this source's keystream when seeded (so the key follows the release's stream), else ``n`` bytes
        from the operating system's CSPRNG (:mod:`secrets`)."""
        if n < 1:
            raise UsageError(f"key_bytes needs n >= 1, got {n}")
        if not self.seeded:
            return secrets.token_bytes(n)
        return self._require_stream().read(n)

    def generator(self):
        """A numpy ``Generator`` (PCG64) keyed by 256 bits of :meth:`key_bytes`, for randomness that is part of a
        mechanism but needs no exact sampler (a uniformly random subset, uniform padding rows)."""
        import numpy as np

        return np.random.Generator(np.random.PCG64(int.from_bytes(self.key_bytes(32), "big")))

    def __repr__(self) -> str:  # never shows the seed
        return f"NoiseSource(seeded={self.seeded})"

    # -- raw uniform integers (seeded path) --------------------------------------------------------------------
    def _require_stream(self) -> _Keystream:
        if self._stream is None:
            raise UsageError("this sampler is only used on the seeded path; unseeded noise comes from OpenDP")
        return self._stream

    def uniform_int(self, n: int) -> int:
        """An exactly uniform integer in [0, n) by rejection sampling on the keystream (seeded path only)."""
        stream = self._require_stream()
        if n < 1:
            raise UsageError(f"uniform_int needs n >= 1, got {n}")
        if n == 1:
            return 0
        bits = (n - 1).bit_length()
        nbytes = (bits + 7) // 8
        shift = 8 * nbytes - bits
        while True:
            v = int.from_bytes(stream.read(nbytes), "big") >> shift
            if v < n:
                return v

    def bernoulli(self, p: Fraction) -> bool:
        """Exact Bernoulli(p) for a rational 0 <= p <= 1 (seeded path only)."""
        if p <= 0:
            return False
        if p >= 1:
            return True
        return self.uniform_int(p.denominator) < p.numerator

    def bernoulli_exp(self, gamma: Fraction) -> bool:
        """Exact Bernoulli(exp(-gamma)) for rational gamma >= 0 (CKS 2020, Algorithm 1)."""
        if gamma < 0:
            raise UsageError("bernoulli_exp needs gamma >= 0")
        whole = int(gamma)  # floor, gamma >= 0
        for _ in range(whole):
            if not self._bernoulli_exp_unit(Fraction(1)):
                return False
        return self._bernoulli_exp_unit(gamma - whole)

    def _bernoulli_exp_unit(self, gamma: Fraction) -> bool:
        # gamma in [0, 1]: K = 1; while Bernoulli(gamma / K): K += 1; return K odd.
        k = 1
        while self.bernoulli(gamma / k):
            k += 1
        return k % 2 == 1

    def _geometric_exp1(self) -> int:
        # Number of successes of Bernoulli(exp(-1)) before the first failure.
        v = 0
        one = Fraction(1)
        while self._bernoulli_exp_unit(one):
            v += 1
        return v

    def _discrete_laplace_one(self, scale: Fraction) -> int:
        # CKS 2020, Algorithm 2, for scale t/s with integers t, s: P(Y = y) proportional to exp(-|y| / scale).
        t, s = scale.numerator, scale.denominator
        while True:
            u = self.uniform_int(t)
            if not self.bernoulli_exp(Fraction(u, t)):
                continue
            x = u + t * self._geometric_exp1()
            y = x // s
            negative = self.uniform_int(2) == 1
            if negative and y == 0:
                continue
            return -y if negative else y

    def _discrete_gaussian_one(self, sigma2: Fraction) -> int:
        # CKS 2020, Algorithm 3: P(Y = y) proportional to exp(-y**2 / (2 sigma2)).
        t = math.isqrt(sigma2.numerator // sigma2.denominator) + 1  # floor(sigma) + 1
        tf = Fraction(t)
        centre = sigma2 / t
        two_sigma2 = 2 * sigma2
        while True:
            y = self._discrete_laplace_one(tf)
            d = abs(y) - centre
            if self.bernoulli_exp(d * d / two_sigma2):
                return y

    # -- integer noise, either path ----------------------------------------------------------------------------
    def discrete_laplace(self, scale: float | Fraction, size: int) -> list[int]:
        """``size`` independent draws with P(z) proportional to exp(-|z| / scale), z an integer."""
        scale = _positive_fraction(scale, "scale")
        if not self.seeded:
            return _opendp_integer_noise("laplace", float(scale), size)
        return [self._discrete_laplace_one(scale) for _ in range(size)]

    def discrete_gaussian(self, scale: float | Fraction, size: int) -> list[int]:
        """``size`` independent draws with P(z) proportional to exp(-z**2 / (2 scale**2)), z an integer."""
        scale = _positive_fraction(scale, "scale")
        if not self.seeded:
            return _opendp_integer_noise("gaussian", float(scale), size)
        sigma2 = scale * scale
        return [self._discrete_gaussian_one(sigma2) for _ in range(size)]

    def discrete_gaussian_var(self, sigma2: Fraction, size: int) -> list[int]:
        """Discrete Gaussian draws given the exact rational variance parameter (seeded path only)."""
        self._require_stream()
        return [self._discrete_gaussian_one(sigma2) for _ in range(size)]

    def permutation(self, n: int) -> list[int]:
        """A uniformly random permutation of range(n) (Fisher-Yates on the keystream; seeded path only)."""
        perm = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.uniform_int(i + 1)
            perm[i], perm[j] = perm[j], perm[i]
        return perm


def _canonical(obj: Any) -> Any:
    """``obj`` as plain JSON values with one spelling per value (tuples and sets as lists, numpy scalars as
    Python numbers); anything else is an error rather than a ``str()`` that could differ between runs."""
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        if not math.isfinite(obj):
            return repr(obj)
        return obj
    if isinstance(obj, Fraction):
        return f"{obj.numerator}/{obj.denominator}"
    if isinstance(obj, Mapping):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_canonical(v) for v in obj]
    if isinstance(obj, set | frozenset):
        return sorted((_canonical(v) for v in obj), key=lambda v: json.dumps(v, sort_keys=True))
    item = getattr(obj, "item", None)  # numpy scalars
    if callable(item) and getattr(obj, "shape", None) == ():
        return _canonical(item())
    raise UsageError(f"release parameter of type {type(obj).__name__} cannot be digested canonically")


def canonical_digest(params: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of ``params`` as canonical JSON: sorted keys, no spaces, tuples as lists, floats by their
    shortest round-trip repr. Equal parameter sets give equal digests whatever their key order."""
    text = json.dumps(_canonical(params), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def release_label(
    kind: str, params: Mapping[str, Any], fingerprint: str | None, seq: int | str | None = None
) -> str:
    """The fork label of one release: its kind, :func:`canonical_digest` of all its parameters, the table's content
    fingerprint and the ledger sequence (``-`` when absent). Internal to the keystream: never publish it (it holds
    the fingerprint)."""
    if not kind or "\x00" in kind:
        raise UsageError("a release kind must be a non-empty string without NUL characters")
    parts = [
        _RELEASE_LABEL,
        kind,
        canonical_digest(params),
        fingerprint or "-",
        "-" if seq is None else str(seq),
    ]
    return "\x00".join(parts)


_COMMIT_LABEL = b"anonlab/replay/seed-commitment/v1"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # 16 MiB and ~0.1 s per guess: a small seed is not listed cheaply


def seed_commitment(seed: int, *, salt: bytes | None = None) -> str:
    """A commitment to ``seed`` that a ledger entry keeps (in the ledger file only, like the table's fingerprint),
    so that replaying the entry (:func:`anonlab.run_recipe` with ``ledger_entry``) can check it is given the same
    seed: another seed would draw fresh noise that no ledger paid for.

    scrypt (n=2**14, r=8, p=1) of the seed under a domain label and a random 16-byte salt: a seed file's 128
    random bits cannot be found from it, and a small hand-picked seed costs a ledger reader one slow scrypt per
    guess (and the salt stops one table of guesses serving every ledger). Format ``scrypt$N$r$p$SALT$HASH`` (hex).
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UsageError("seed must be a whole number")
    salt = secrets.token_bytes(16) if salt is None else salt
    n, r, p = _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"]
    digest = hashlib.scrypt(_derive_key(_COMMIT_LABEL, seed), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def seed_matches(seed: int, commitment: str | None) -> bool:
    """Whether ``commitment`` (of :func:`seed_commitment`) was made from ``seed``; ``False`` for ``None`` or a
    malformed commitment (never raises on one; compares in constant time)."""
    import hmac

    if commitment is None or isinstance(seed, bool) or not isinstance(seed, int):
        return False
    parts = commitment.split("$")
    if (
        len(parts) != 6
        or parts[0] != "scrypt"
        or (parts[1], parts[2], parts[3]) != tuple(str(_SCRYPT[k]) for k in ("n", "r", "p"))
    ):
        return False
    try:
        salt = bytes.fromhex(parts[4])
    except ValueError:
        return False
    return hmac.compare_digest(seed_commitment(seed, salt=salt), commitment)


def _derive_key(label: bytes, seed: int) -> bytes:
    sign = b"-" if seed < 0 else b"+"
    mag = abs(seed)
    body = mag.to_bytes(max(1, (mag.bit_length() + 7) // 8), "big")
    return hashlib.shake_256(label + b"\x00" + sign + len(body).to_bytes(4, "big") + body).digest(32)


def _positive_fraction(value: float | Fraction, name: str) -> Fraction:
    try:
        f = Fraction(value)
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"{name} must be a finite number greater than 0, got {value!r}") from None
    if f <= 0:
        raise UsageError(f"{name} must be a finite number greater than 0, got {value!r}")
    return f


def _opendp_integer_noise(kind: str, scale: float, size: int) -> list[int]:
    """Pure integer noise from OpenDP: its mechanism applied to a vector of zeros."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    space = (
        dp.vector_domain(dp.atom_domain(T="i64")),
        (dp.l1_distance(T=float) if kind == "laplace" else dp.l2_distance(T=float)),
    )
    make = dp.m.make_laplace if kind == "laplace" else dp.m.make_gaussian
    meas = make(*space, scale=scale)
    return list(meas([0] * size))
