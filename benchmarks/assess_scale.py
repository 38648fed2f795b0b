"""`anonlab assess` speed: 10 million rows x 8 quasi-identifiers, and side by side with pycanon and a plain
pandas groupby on the same table.

Target (issue 2): 10,000,000 x 8 in under 20 s on 2 cores. Run: `python -m benchmarks assess_scale [--rows N]`.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from benchmarks._report import save


def synthetic(rows: int, seed: int = 0) -> pd.DataFrame:
    """8 quasi-identifiers of census-like cardinalities (ages, sexes, ZIP-like codes...) and 2 sensitive columns."""
    rng = np.random.default_rng(seed)
    cats = lambda k: pd.Categorical.from_codes(rng.integers(0, k, rows), [f"c{i}" for i in range(k)])  # noqa: E731
    return pd.DataFrame(
        {
            "age": rng.integers(17, 91, rows),
            "sex": cats(2),
            "race": cats(5),
            "marital": cats(7),
            "education": cats(16),
            "zip3": rng.integers(0, 1000, rows),
            "occupation": cats(14),
            "country": cats(41),
            "income": cats(2),
            "hours": rng.integers(1, 100, rows),
        }
    )


QUASI = ["age", "sex", "race", "marital", "education", "zip3", "occupation", "country"]
SENSITIVE = ["income", "hours"]


def time_anonlab(df: pd.DataFrame, sensitive=SENSITIVE) -> float:
    from anonlab.deid.risk import assess

    t = time.perf_counter()
    assess(df, QUASI, sensitive, sampling_fraction=0.1)
    return time.perf_counter() - t


def time_pycanon(df: pd.DataFrame) -> float:
    import pycanon.anonymity as pc

    t = time.perf_counter()
    pc.k_anonymity(df, QUASI)
    pc.l_diversity(df, QUASI, ["income"])
    pc.t_closeness(df, QUASI, ["hours"])
    return time.perf_counter() - t


def time_groupby(df: pd.DataFrame) -> float:
    t = time.perf_counter()
    sizes = df.groupby(QUASI, observed=True, dropna=False).size()
    int(sizes.min())
    return time.perf_counter() - t


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--peer-rows", type=int, default=5_000)
    args = ap.parse_args(argv)
    rows = []
    small = synthetic(args.peer_rows, seed=1)
    small_obj = small.astype({c: str for c in small.columns if str(small[c].dtype) == "category"})
    a, p, g = time_anonlab(small_obj), time_pycanon(small_obj), time_groupby(small_obj)
    rows.append(
        {"rows": args.peer_rows, "tool": "anonlab assess (k, l, t, ARX risks, Zayatz, Pitman)", "seconds": a}
    )
    rows.append(
        {"rows": args.peer_rows, "tool": "pycanon (k, l, t only)", "seconds": p, "ratio_vs_anonlab": p / a}
    )
    rows.append(
        {"rows": args.peer_rows, "tool": "pandas groupby (k only)", "seconds": g, "ratio_vs_anonlab": g / a}
    )
    big = synthetic(args.rows)
    t = time_anonlab(big)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append({"rows": args.rows, "tool": "anonlab assess", "seconds": t, "peak_rss_mb": peak})
    rows.append({"rows": args.rows, "tool": "pandas groupby (k only)", "seconds": time_groupby(big)})
    md = save(
        "assess_scale",
        rows,
        "assess on synthetic census-like data, 8 quasi-identifiers, 2 sensitive columns, sampling fraction 0.1.",
    )
    print(md.read_text())


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
