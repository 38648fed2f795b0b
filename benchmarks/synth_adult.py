"""Synthesis on UCI Adult: fit time, peak memory and workload error of every method, with two baselines.

Run: ``python -m benchmarks.synth_adult`` (all methods, epsilon 0.3 / 1 / 3), or ``--methods mst,aim``,
``--epsilons 1``, ``--aim-max-time 240``. Each fit runs in its own process (so peak memory is that fit's own
resident set, imports included), on all 15 columns of Adult with numbers binned on the bundled public schema's
bounds (32 bins). Error is the mean total variation distance between real and synthetic marginals over all 2-way
(105) and all 3-way (455) marginals, on that binning. Baselines on the same data and binning: ``independent``
(each column shuffled on its own: exact 1-way marginals, no dependence) and ``resample`` (n rows drawn with
replacement from the real data: the sampling floor). A DP method is useful where it sits well below
``independent``.

NAPSU-MQ and DPVI run on an Adult subset (the first rows, a few categorical columns, no missing category), stated
in the table; their baselines are computed on the same subset. Results go to benchmarks/results/synth_adult.json
and .md, rewritten after every run so a partial run still leaves its figures. Timings on a shared machine are
inflated by contention: compare methods within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
SUBSET_COLUMNS = ["sex", "race", "income-per-year", "relationship"]


def _load(subset: int | None):
    from anonlab.datasets import load_adult
    from anonlab.schema import Schema
    from anonlab.synth.release import adult_schema

    df = load_adult()
    schema = adult_schema()
    if subset:
        df = df[SUBSET_COLUMNS].head(subset).reset_index(drop=True)
        schema = Schema(tuple(schema[c] for c in SUBSET_COLUMNS))
    return df, schema


def _errors(df, schema, syn, missing: bool) -> tuple[float, float]:
    from anonlab.synth.encoding import Encoding
    from anonlab.synth.marginals import workload, workload_error

    enc = Encoding.from_schema(schema, missing=missing)
    real, _ = enc.encode(schema.coerce(df))
    fake, _ = enc.encode(schema.coerce(syn))
    d = real.shape[1]
    return (
        workload_error(real, fake, enc.sizes, workload(d, 2)),
        workload_error(real, fake, enc.sizes, workload(d, 3)),
    )


BASELINES = ("independent", "resample")


def baseline(method: str, df, seed: int):
    """A baseline table on ``df``: ``independent`` (each column shuffled on its own: exact 1-way marginals, no
    dependence) or ``resample`` (rows drawn with replacement: the sampling floor)."""
    import numpy as np

    if method == "independent":
        rng = np.random.default_rng(seed)
        return df.apply(lambda s: s.sample(frac=1.0, random_state=int(rng.integers(2**31))).to_numpy())
    return df.sample(n=len(df), replace=True, random_state=seed).reset_index(drop=True)


def run_one(method: str, epsilon: float | None, seed: int, subset: int | None, params: dict) -> dict:
    """Fit one method in this process and measure it."""
    import resource

    df, schema = _load(subset)
    missing = subset is None
    start = time.perf_counter()
    if method in BASELINES:
        syn = baseline(method, df, seed)
        fit_s = time.perf_counter() - start
    else:
        from anonlab.synth import Budget, get_method

        klass = get_method(method)
        model = klass(seed=seed, missing=missing, **params)
        budget = Budget(epsilon, 1e-9 if subset is None else 1e-6) if klass.private else None
        model.fit(df, schema, budget)
        fit_s = time.perf_counter() - start
        syn = model.sample(len(df), seed=seed + 1)
    tv2, tv3 = _errors(df, schema, syn, missing)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "method": method,
        "epsilon": epsilon,
        "data": f"Adult first {subset} rows x {len(SUBSET_COLUMNS)} columns"
        if subset
        else "Adult 32,561 x 15",
        "fit_s": round(fit_s, 1),
        "peak_mb": round(peak_mb),
        "tv2": round(tv2, 4),
        "tv3": round(tv3, 4),
        "params": params,
    }


def _plan(args) -> list[tuple[str, float | None, int | None, dict]]:
    eps = [float(e) for e in args.epsilons.split(",")]
    methods = args.methods.split(",")
    plan: list[tuple[str, float | None, int | None, dict]] = [
        ("independent", None, None, {}),
        ("resample", None, None, {}),
    ]
    for m in methods:
        if m == "mst":
            plan += [("mst", e, None, {}) for e in eps]
        elif m == "aim":
            plan += [("aim", e, None, {"max_time": args.aim_max_time}) for e in eps]
        elif m == "gaussian-copula":
            plan.append(("gaussian-copula", None, None, {}))
        elif m == "ctgan":
            plan.append(("ctgan", None, None, {"epochs": args.ctgan_epochs}))
    sub = [m for m in methods if m in ("napsu", "dpvi")]
    eps = [float(e) for e in args.subset_epsilons.split(",")]
    if sub:
        plan += [("independent", None, args.subset, {}), ("resample", None, args.subset, {})]
        for m in sub:
            if m == "napsu":
                plan += [("napsu", e, args.subset, {}) for e in eps]
            else:
                plan += [("dpvi", e, args.subset, {"epochs": args.dpvi_epochs}) for e in eps]
    return plan


def _write(rows: list[dict], note: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "synth_adult.json").write_text(json.dumps({"note": note, "runs": rows}, indent=1) + "\n")
    lines = [
        "# Synthesis on UCI Adult",
        "",
        note,
        "",
        "| method | data | epsilon | params | fit (s) | peak RSS (MB) | mean 2-way TV | mean 3-way TV | load before / after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        eps = "-" if r.get("epsilon") is None else f"{r['epsilon']:g}"
        par = ", ".join(f"{k}={v}" for k, v in (r.get("params") or {}).items() if k != "queries") or "-"
        load = " / ".join(f"{x:.2f}" for x in r.get("load", [])) or "-"
        if "error" in r:
            lines.append(
                f"| {r['method']} | {r['data']} | {eps} | {par} | failed: {r['error']} | | | | {load} |"
            )
            continue
        lines.append(
            f"| {r['method']} | {r['data']} | {eps} | {par} | {r['fit_s']} | {r['peak_mb']} | {r['tv2']:.4f} | "
            f"{r['tv3']:.4f} | {load} |"
        )
    (RESULTS / "synth_adult.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", default="mst,aim,gaussian-copula,ctgan,napsu,dpvi")
    p.add_argument("--epsilons", default="0.3,1,3")
    p.add_argument("--aim-max-time", type=float, default=240.0)
    p.add_argument("--ctgan-epochs", type=int, default=20)
    p.add_argument("--dpvi-epochs", type=int, default=50)
    p.add_argument("--subset", type=int, default=2000)
    p.add_argument("--subset-epsilons", default="1", help="epsilons for the twinify methods on the subset")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--timeout", type=float, default=1200.0, help="seconds allowed per fit")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)
    p.add_argument("--epsilon", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument("--subset-one", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(
            json.dumps(run_one(args.one, args.epsilon, args.seed, args.subset_one, json.loads(args.params)))
        )
        return 0
    note = (
        f"Seed {args.seed}; delta 1e-9 (full Adult) / 1e-6 (subset); 32 bins per numeric column on public bounds; "
        f"AIM max_time {args.aim_max_time:g} s; CTGAN {args.ctgan_epochs} epochs; DPVI {args.dpvi_epochs} epochs. "
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on 2 CPU cores; the last column is the "
        "1-minute load average before and after each fit (about 1 means the fit had the machine to itself). "
        "NAPSU-MQ and DPVI: see also synth_twinify.md (against stock twinify)."
    )
    rows: list[dict] = []
    for method, eps, subset, params in _plan(args):
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.synth_adult",
            "--one",
            method,
            "--seed",
            str(args.seed),
            "--params",
            json.dumps(params),
        ]
        if eps is not None:
            cmd += ["--epsilon", str(eps)]
        if subset:
            cmd += ["--subset-one", str(subset)]
        print(f"running {method} epsilon={eps} subset={subset}", file=sys.stderr, flush=True)
        load_before = os.getloadavg()[0]
        try:
            out = subprocess.run(
                cmd, capture_output=True, text=True, timeout=args.timeout, env=os.environ.copy()
            )
            if out.returncode != 0:
                raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed")
            row = json.loads(out.stdout.strip().splitlines()[-1])
        except (subprocess.TimeoutExpired, RuntimeError, json.JSONDecodeError, IndexError) as exc:
            msg = (
                f"timed out after {args.timeout:g} s"
                if isinstance(exc, subprocess.TimeoutExpired)
                else str(exc)
            )
            data = f"Adult first {subset} rows" if subset else "Adult 32,561 x 15"
            row = {"method": method, "epsilon": eps, "data": data, "error": msg[:200], "params": params}
        row["load"] = [load_before, os.getloadavg()[0]]
        print(json.dumps(row), file=sys.stderr, flush=True)
        rows.append(row)
        _write(rows, note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
