"""Benchmark: anonlab's implementation of anonymeter's three attacks against the anonymeter package, on Adult.

``python -m benchmarks.anonymeter_attacks [--quick]``. Figures go to ``benchmarks/results/anonymeter_attacks.{json,md}``.

The inputs are those of ``anonlab evaluate``'s default settings (``anonymeter_risks``): 3,000 training and 3,000
holdout records, a release of up to 30,000 records (here the rest of Adult, 26,561 records), 300 attacks of each
kind, the singling-out search bounded to 100,000 attempts, linkability on the quasi-identifiers split in two with
10 neighbours, inference of the income class from the other columns. Two releases: an independent sample of the
population (low risk expected) and one that holds the 3,000 training records among its records (a leak).

Each attack runs once per implementation in the same process (anonymeter with ``n_jobs=1``, its numba code
compiled before the clock starts, by a warm-up on 300 rows); seconds are wall time on a shared 2-core machine (the
load average is recorded), so compare the ratio. The risks are not bit-identical (the random queries and targets
differ; anonymeter draws its linkability and inference targets without a seed); they should agree within their
intervals.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings

import numpy as np
import pandas as pd

QUASI = ["age", "sex", "race", "marital-status", "education", "native-country"]
SECRET = "income-per-year"


def _tables(quick: bool):
    from anonlab.datasets import load_adult

    adult = load_adult()
    n = 1000 if quick else 3000
    order = np.random.default_rng(0).permutation(len(adult))
    ori = adult.iloc[order[:n]].reset_index(drop=True)
    ctl = adult.iloc[order[n : 2 * n]].reset_index(drop=True)
    rest = adult.iloc[order[2 * n : 2 * n + 10 * n]].reset_index(drop=True)
    leak = pd.concat([ori, rest.iloc[n:]], ignore_index=True)
    out = []
    for f in (ori, ctl, rest, leak):
        f = f.copy()
        for c in f.columns:
            f[c] = f[c].astype(float) if pd.api.types.is_numeric_dtype(f[c]) else f[c].astype(object)
        out.append(f)
    return out


def _attacks(ori, syn, ctl, attempts: int):
    from anonlab.evaluation.metrics import anonymeter_attacks as A

    aux = [c for c in ori.columns if c != SECRET]
    half = len(QUASI) // 2
    split = (QUASI[:half], QUASI[half:])
    ours = {
        "singling_out": lambda: A.singling_out_risk(ori, syn, ctl, n_attacks=300, mode="univariate", seed=0),
        "singling_out_multivariate": lambda: A.singling_out_risk(
            ori, syn, ctl, n_attacks=300, mode="multivariate", max_attempts=attempts, seed=0
        ),
        "linkability": lambda: A.linkability_risk(
            ori, syn, split, ctl, n_attacks=300, n_neighbors=10, seed=0
        ),
        "inference": lambda: A.inference_risk(ori, syn, aux, SECRET, ctl, n_attacks=300, seed=0),
    }
    try:
        from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator
    except ImportError:
        return ours, {}
    theirs = {
        "singling_out": lambda: SinglingOutEvaluator(
            ori, syn, n_attacks=300, control=ctl, seed=0, max_attempts=attempts
        ).evaluate(mode="univariate"),
        "singling_out_multivariate": lambda: SinglingOutEvaluator(
            ori, syn, n_attacks=300, n_cols=3, control=ctl, seed=0, max_attempts=attempts
        ).evaluate(mode="multivariate"),
        "linkability": lambda: LinkabilityEvaluator(
            ori, syn, aux_cols=split, n_attacks=300, control=ctl, n_neighbors=10
        ).evaluate(n_jobs=1),
        "inference": lambda: InferenceEvaluator(
            ori, syn, aux_cols=aux, secret=SECRET, n_attacks=300, control=ctl
        ).evaluate(n_jobs=1),
    }
    return ours, theirs


def main(argv: list[str]) -> int:
    from anonlab.evaluation.metrics.attacks import max_attempts
    from benchmarks._report import save

    quick = "--quick" in argv
    warnings.simplefilter("ignore")
    logging.getLogger("anonymeter").setLevel(logging.ERROR)
    ori, ctl, rest, leak = _tables(quick)
    _, warm = _attacks(ori.iloc[:300], rest.iloc[:300], ctl.iloc[:300], 1000)
    for name in ("linkability", "inference"):  # compile anonymeter's numba code before timing
        if name in warm:
            warm[name]()
    rows = []
    for case, syn in (("independent release", rest), ("release holding the training records", leak)):
        attempts = max_attempts(300, len(syn))
        ours, theirs = _attacks(ori, syn, ctl, attempts)
        for name, run in ours.items():
            t0 = time.perf_counter()
            r = run()
            t_ours = time.perf_counter() - t0
            row = {
                "release": case,
                "attack": name,
                "release_rows": len(syn),
                "anonlab_s": round(t_ours, 2),
                "anonlab_risk": round(r.risk, 4),
                "anonlab_ci": f"{r.interval[0]:.3f}-{r.interval[1]:.3f}",
                "anonlab_rate": round(r.rate, 4),
                "anonlab_control": round(r.control, 4),
            }
            if name in theirs:
                t0 = time.perf_counter()
                ev = theirs[name]()
                t_peer = time.perf_counter() - t0
                risk, res = ev.risk(), ev.results()
                row.update(
                    {
                        "anonymeter_s": round(t_peer, 2),
                        "speed-up": round(t_peer / max(t_ours, 1e-9), 1),
                        "anonymeter_risk": round(risk.value, 4),
                        "anonymeter_ci": f"{risk.ci[0]:.3f}-{risk.ci[1]:.3f}",
                        "anonymeter_rate": round(res.attack_rate.value, 4),
                        "anonymeter_control": round(res.control_rate.value, 4),
                        "intervals_overlap": bool(
                            max(r.interval[0], risk.ci[0]) <= min(r.interval[1], risk.ci[1])
                        ),
                    }
                )
            rows.append(row)
            print(row, flush=True)
    md = save(
        "anonymeter_attacks",
        rows,
        "anonlab's implementation of anonymeter's attacks (Giomi et al. 2023) against the anonymeter 1.1.0 package "
        "on Adult, default evaluate settings (3,000 + 3,000 records, 300 attacks, 100,000 singling-out attempts)"
        + (" [--quick: 1,000 records]" if quick else ""),
    )
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
