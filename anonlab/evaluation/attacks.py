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

Anonymeter is slow on large tables, so the attacks target a seeded sample of ``rows`` training records and as
many holdout (control) records, with ``n_attacks`` attacks each; the attacker holds the whole release (up to
``10 * rows`` records). Both sizes are reported. Anonymeter's linkability and inference draw their targets with
pandas' unseeded sampling, so those two figures vary a little between runs even with the same ``--seed``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AnonymeterRisk", "AnonymeterResult", "anonymeter_risks"]


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
    rows: int
    release_rows: int
    n_attacks: int
    risks: tuple[AnonymeterRisk, ...]

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
            "rows": self.rows,
            "release_rows": self.release_rows,
            "n_attacks": self.n_attacks,
            "risks": {r.name: r.to_dict() for r in self.risks},
        }


def _run(name: str, make, detail: dict[str, Any]) -> AnonymeterRisk:
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ev = make()
            risk = ev.risk(confidence_level=0.95)
            res = ev.results(confidence_level=0.95)
        return AnonymeterRisk(
            name=name,
            value=float(risk.value),
            ci=(float(risk.ci[0]), float(risk.ci[1])),
            attack_rate=float(res.attack_rate.value),
            control_rate=None if res.control_rate is None else float(res.control_rate.value),
            baseline_rate=float(res.baseline_rate.value),
            detail=detail,
        )
    except (
        Exception
    ) as exc:  # anonymeter refuses some inputs (too few rows, no valid query); report, don't crash
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
) -> AnonymeterResult:
    """Run the three anonymeter attacks on seeded samples of ``rows`` records of each table.

    ``secret`` is the column the inference attack tries to learn (the target or sensitive column); ``quasi`` are
    the columns the linkability attacker is assumed to know, split in two halves (all columns when not given).
    """
    import logging

    from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

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
    risks = [
        _run(
            "singling_out",
            lambda: SinglingOutEvaluator(ori, syn, n_attacks=attacks, control=ctl, seed=seed).evaluate(
                mode="univariate"
            ),
            {"mode": "univariate"},
        ),
        _run(
            "singling_out_multivariate",
            lambda: SinglingOutEvaluator(
                ori, syn, n_attacks=attacks, n_cols=3, control=ctl, seed=seed
            ).evaluate(mode="multivariate"),
            {"mode": "multivariate", "n_cols": 3},
        ),
    ]
    known = [c for c in (quasi or cols) if c in cols and c != secret]
    if len(known) >= 2:
        half = len(known) // 2
        aux = (known[:half], known[half:])
        risks.append(
            _run(
                "linkability",
                lambda: LinkabilityEvaluator(
                    ori, syn, aux_cols=aux, n_attacks=attacks, control=ctl, n_neighbors=10
                ).evaluate(n_jobs=1),
                {"aux_cols": [list(aux[0]), list(aux[1])], "n_neighbors": 10},
            )
        )
    if secret is not None and secret in cols:
        aux_i = [c for c in cols if c != secret]
        risks.append(
            _run(
                "inference",
                lambda: InferenceEvaluator(
                    ori,
                    syn,
                    aux_cols=aux_i,
                    secret=secret,
                    n_attacks=attacks,
                    regression=secret_numeric,
                    control=ctl,
                ).evaluate(n_jobs=1),
                {"secret": secret},
            )
        )
    return AnonymeterResult(rows=n, release_rows=len(syn), n_attacks=attacks, risks=tuple(risks))
