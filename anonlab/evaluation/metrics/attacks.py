"""Singling-out, linkability and attribute-inference risk, as the anonymeter package defines them.

Anonymeter (Giomi et al., 2023, "A Unified Framework for Quantifying Privacy Risk in Synthetic Data", the method
the French CNIL cites) runs three attacks that an attacker holding the release could mount against the training
records, and the same attacks against the holdout records (a control set the release never saw). The risk is the
attack's success on training records *beyond* its success on the control set, normalised to [0, 1]: what the
release gives away about its own people rather than about the population.

- singling out: predicates built from the release (on one column, and on three) that match exactly one training
  record;
- linkability: with two halves of the columns known from two sources, does the release link them to the same
  training record (nearest neighbours in each half)?
- inference: knowing the other columns, guess a secret column from the closest released record.

The attacks run on anonlab's own implementation (:mod:`anonlab.evaluation.metrics.anonymeter_attacks`, every draw
seeded) by default; ``implementation="anonymeter"`` runs the anonymeter package instead (when installed), kept as
the equivalence oracle. The attacks target a seeded sample of ``rows`` training records and as many holdout
(control) records, with ``n_attacks`` attacks each; the attacker holds the whole release (up to ``10 * rows``
records). Both sizes are reported. The anonymeter package draws its linkability and inference targets with pandas'
unseeded sampling, so with it those two figures vary a little between runs even with the same ``--seed``.

Two bounds keep the attacks from running away, and both are reported, never silent:

- the multivariate singling-out search makes at most :func:`max_attempts` query attempts, proportional to the
  table (the anonymeter package's own default, 10 million, did not finish in 7 minutes on a table of 102
  distinct rows); when it stops short it says how many predicates it found;
- each attack stops after ``seconds`` of wall-clock time (where the evaluation runs in the main thread of the
  process, which can take a timer signal); an attack stopped this way is reported as not computed, with the cap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AnonymeterRisk",
    "AnonymeterResult",
    "anonymeter_risks",
    "max_attempts",
    "AttackTimeout",
    "METHODS",
]

#: how the report names each implementation of the attacks
METHODS = {
    "anonlab": "anonymeter's attacks (Giomi et al. 2023), anonlab's implementation",
    "anonymeter": "anonymeter's attacks (Giomi et al. 2023), the anonymeter package",
}


class AttackTimeout(Exception):
    """An attack ran past its time cap."""


def max_attempts(n_attacks: int, release_rows: int) -> int:
    """The singling-out query attempts allowed: 20 per attack or 10 per released record, whichever is larger,
    between 2,000 and 100,000 (about 10 s of anonymeter's search on 2 cores)."""
    return int(min(100_000, max(2_000, 20 * n_attacks, 10 * release_rows)))


@dataclass(frozen=True)
class AnonymeterRisk:
    """One attack's risk (``value``, 95% ``ci``), the attack's success rates on training / control records and of
    a random-guess baseline, and the attack's parameters. ``error`` is set when the attack could not run."""

    name: str
    value: float | None
    ci: tuple[float, float] | None
    attack_rate: float | None
    control_rate: float | None
    baseline_rate: float | None
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ci"] = list(self.ci) if self.ci else None
        return d


@dataclass(frozen=True)
class AnonymeterResult:
    """The attacks' risks and the bounds they ran under: ``max_attempts`` singling-out query attempts and a time
    cap of ``seconds`` per attack (``time_capped`` says whether the cap could be enforced); ``repeats`` is the
    number of seeds the attacks ran over (the risks are then the most pessimistic repetition's); ``method``
    names the attacks and their implementation (:data:`METHODS`)."""

    rows: int
    release_rows: int
    n_attacks: int
    risks: tuple[AnonymeterRisk, ...]
    max_attempts: int = 0
    seconds: float | None = None
    time_capped: bool = False
    repeats: int = 1
    method: str = METHODS["anonlab"]

    def risk(self, name: str) -> AnonymeterRisk:
        for r in self.risks:
            if r.name == name:
                return r
        raise KeyError(name)

    @property
    def max_risk(self) -> float | None:
        vals = [r.value for r in self.risks if r.value is not None]
        return max(vals) if vals else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "rows": self.rows,
            "release_rows": self.release_rows,
            "n_attacks": self.n_attacks,
            "max_attempts": self.max_attempts,
            "seconds_cap": self.seconds,
            "time_capped": self.time_capped,
            "repeats": self.repeats,
            "risks": {r.name: r.to_dict() for r in self.risks},
        }


class _Deadline:
    """Raise :class:`AttackTimeout` in the main thread after ``seconds`` (a real-time timer signal); elsewhere,
    or without a cap, a no-op (``active`` says which)."""

    def __init__(self, seconds: float | None):
        import signal
        import threading

        self.seconds = seconds
        self.active = bool(
            seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
        )

    def _fire(self, signum, frame):
        raise AttackTimeout()

    def __enter__(self):
        if self.active:
            import signal

            self._old = signal.signal(signal.SIGALRM, self._fire)
            signal.setitimer(signal.ITIMER_REAL, float(self.seconds))
        return self

    def __exit__(self, *exc):
        if self.active:
            import signal

            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old)
        return False


def _run(name: str, make, detail: dict[str, Any], seconds: float | None = None) -> AnonymeterRisk:
    """Run one attack under the time cap: ``make`` returns an anonlab :class:`AttackRisk` or an evaluated
    anonymeter evaluator; either becomes an :class:`AnonymeterRisk`, a failure an error."""
    import warnings

    try:
        with warnings.catch_warnings(), _Deadline(seconds):
            warnings.simplefilter("ignore")
            ev = make()
            if hasattr(ev, "interval"):  # anonlab's AttackRisk
                extra = {
                    k: ev.detail[k] for k in ("predicates_found", "control_correction") if k in ev.detail
                }
                return AnonymeterRisk(
                    name=name,
                    value=ev.risk,
                    ci=ev.interval,
                    attack_rate=ev.rate,
                    control_rate=ev.control,
                    baseline_rate=ev.baseline,
                    detail={**detail, **extra},
                )
            risk = ev.risk(confidence_level=0.95)
            res = ev.results(confidence_level=0.95)
        if name.startswith("singling_out"):
            detail = {**detail, "predicates_found": len(ev.queries())}
        return AnonymeterRisk(
            name=name,
            value=float(risk.value),
            ci=(float(risk.ci[0]), float(risk.ci[1])),
            attack_rate=float(res.attack_rate.value),
            control_rate=None if res.control_rate is None else float(res.control_rate.value),
            baseline_rate=float(res.baseline_rate.value),
            detail=detail,
        )
    except AttackTimeout:
        return AnonymeterRisk(
            name, None, None, None, None, None, detail, error=f"stopped at the time cap of {seconds:g} s"
        )
    except Exception as exc:  # some inputs are refused (too few rows, no valid query); report, don't crash
        return AnonymeterRisk(
            name, None, None, None, None, None, detail, error=f"{type(exc).__name__}: {exc}"[:200]
        )


def anonymeter_risks(
    train: pd.DataFrame,
    release: pd.DataFrame,
    holdout: pd.DataFrame,
    *,
    secret: str | None,
    quasi: list[str] | None,
    seed: int,
    secret_numeric: bool = False,
    rows: int = 3000,
    n_attacks: int = 300,
    seconds: float | None = 60.0,
    implementation: str = "anonlab",
    progress: bool = False,
) -> AnonymeterResult:
    """Run the three anonymeter attacks on seeded samples of ``rows`` records of each table.

    ``secret`` is the column the inference attack tries to learn (the target or sensitive column); ``quasi`` are
    the columns the linkability attacker is assumed to know, split in two halves (all columns when not given).
    ``seconds`` caps each attack's wall-clock time (``None``: no cap); the singling-out search is bounded by
    :func:`max_attempts` in any case. ``implementation`` ``"anonlab"`` (default) runs
    :mod:`anonlab.evaluation.metrics.anonymeter_attacks`, every draw from ``seed``; ``"anonymeter"`` runs the anonymeter
    package (an optional equivalence oracle; :class:`~anonlab.errors.UsageError` when it is not installed).
    ``progress``: a bar over the attacks on stderr, its clock ticking while each runs.
    """
    import logging

    from anonlab.errors import UsageError
    from anonlab.progress import bar, ticking

    if implementation not in METHODS:
        raise UsageError(
            f"unknown anonymeter implementation {implementation!r}: use 'anonlab' or 'anonymeter'"
        )
    ours = implementation == "anonlab"
    if ours:
        from anonlab.evaluation.metrics import anonymeter_attacks as A
    else:
        try:
            from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator
        except ImportError as exc:
            raise UsageError("the anonymeter package is not installed; use implementation='anonlab'") from exc
        logging.getLogger("anonymeter").setLevel(logging.ERROR)
    cols = [c for c in train.columns if c in release.columns and c in holdout.columns]
    # the targets (training records) and the control records are sampled to ``rows`` each; the attacker keeps
    # the whole release (up to 10 x rows), since any released record may betray a target
    n = min(rows, len(train), len(holdout))
    ori = train[cols].sample(n, random_state=seed)
    syn = release[cols].sample(min(10 * rows, len(release)), random_state=seed + 1)
    ctl = holdout[cols].sample(n, random_state=seed + 2)
    ori, syn, ctl = (d.reset_index(drop=True) for d in (ori, syn, ctl))
    attacks = max(1, min(n_attacks, len(ori) - 1, len(ctl) - 1))
    attempts = max_attempts(attacks, len(syn))
    width = min(3, len(cols))

    known = [c for c in (quasi or cols) if c in cols and c != secret]
    n_kinds = 2 + (len(known) >= 2) + (secret is not None and secret in cols)
    attacks_bar = bar(n_kinds, desc="anonymeter", unit="attack", enabled=progress)

    def run_one(name: str, make, detail: dict[str, Any], seconds: float | None) -> AnonymeterRisk:
        attacks_bar.set_postfix_str(name.replace("_", " "))
        with ticking(attacks_bar):
            risk = _run(name, make, detail, seconds)
        attacks_bar.update()
        return risk

    def singling_out(mode: str, n_cols: int):
        if ours:
            return lambda: A.singling_out_risk(
                ori, syn, ctl, n_attacks=attacks, mode=mode, n_cols=n_cols, max_attempts=attempts, seed=seed
            )
        return lambda: SinglingOutEvaluator(
            ori, syn, n_attacks=attacks, n_cols=n_cols, control=ctl, seed=seed, max_attempts=attempts
        ).evaluate(mode=mode)

    risks = [
        run_one("singling_out", singling_out("univariate", 3), {"mode": "univariate"}, seconds),
        run_one(
            "singling_out_multivariate",
            singling_out("multivariate", width),
            {"mode": "multivariate", "n_cols": width, "max_attempts": attempts},
            seconds,
        ),
    ]
    if len(known) >= 2:
        half = len(known) // 2
        aux = (known[:half], known[half:])
        if ours:
            link = lambda: A.linkability_risk(  # noqa: E731
                ori, syn, aux, ctl, n_attacks=attacks, n_neighbors=10, seed=seed + 3
            )
        else:
            link = lambda: LinkabilityEvaluator(  # noqa: E731
                ori, syn, aux_cols=aux, n_attacks=attacks, control=ctl, n_neighbors=10
            ).evaluate(n_jobs=1)
        risks.append(
            run_one(
                "linkability", link, {"aux_cols": [list(aux[0]), list(aux[1])], "n_neighbors": 10}, seconds
            )
        )
    if secret is not None and secret in cols:
        aux_i = [c for c in cols if c != secret]
        if ours:
            infer = lambda: A.inference_risk(  # noqa: E731
                ori, syn, aux_i, secret, ctl, regression=secret_numeric, n_attacks=attacks, seed=seed + 4
            )
        else:
            infer = lambda: InferenceEvaluator(  # noqa: E731
                ori,
                syn,
                aux_cols=aux_i,
                secret=secret,
                n_attacks=attacks,
                regression=secret_numeric,
                control=ctl,
            ).evaluate(n_jobs=1)
        risks.append(run_one("inference", infer, {"secret": secret}, seconds))
    attacks_bar.close()
    return AnonymeterResult(
        rows=n,
        release_rows=len(syn),
        n_attacks=attacks,
        risks=tuple(risks),
        max_attempts=attempts,
        seconds=seconds,
        time_capped=_Deadline(seconds).active,
        method=METHODS[implementation],
    )
