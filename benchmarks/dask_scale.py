"""`assess`, `pseudonymize` and `dp stats` in-process against `--scheduler local:2` on a large Adult-shaped table.

The table is UCI Adult resampled with replacement to ROWS rows (default 10 million), with a subject identifier
(8 digits, leading zeros: text) and a visit date per row, written once as one Parquet file of 500,000-row row
groups (cached under out/bench-data/). Each path reads that file and does the whole job: `assess` on 8
quasi-identifiers and 2 sensitive columns with a sampling fraction; `pseudonymize` of the identifier with the
visit date shifted per subject, written as Parquet (one file in-process, a folder of parts on the cluster).

Reported: seconds, rows per second, the client's peak memory, each worker's peak memory, and whether the two
paths agree (the assess reports compared as dicts; the pseudonymised rows compared in full when ROWS <= 2M, else
on the first 200,000 rows of each). Run: `python -m benchmarks dask_scale [--rows N] [--workers 2]`.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._report import save

QUASI = ["age", "sex", "race", "marital-status", "education", "native-country", "workclass", "relationship"]
SENSITIVE = ["income-per-year", "occupation"]
DP_QUERIES = [
    "count",
    "counts:sex,race",
    "counts:age",
    "mean:age",
    "sum:hours-per-week",
    "median:hours-per-week",
]
DATA = Path(__file__).resolve().parent.parent / "out" / "bench-data"  # ignored by git


def table(rows: int, seed: int = 0) -> Path:
    """Adult resampled to ``rows`` rows plus ``pid`` and ``visit``, as a Parquet file (built once, cached)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from anonlab.datasets import load_adult

    path = DATA / f"adult_{rows}.parquet"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    adult = load_adult()
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    writer = None
    for start in range(0, rows, 500_000):
        n = min(500_000, rows - start)
        part = adult.iloc[rng.integers(0, len(adult), n)].reset_index(drop=True)
        part["age"] = np.clip(
            part["age"].to_numpy() + rng.integers(-2, 3, n), 17, 90
        )  # noise: not only copies
        part.insert(0, "pid", np.char.zfill(rng.integers(0, rows // 3, n).astype(str), 8).astype(object))
        day = np.datetime64("2015-01-01") + rng.integers(0, 3000, n).astype("timedelta64[D]")
        part["visit"] = np.datetime_as_string(day, unit="D").astype(object)
        t = pa.Table.from_pandas(part, preserve_index=False)
        writer = writer or pq.ParquetWriter(tmp, t.schema)
        writer.write_table(t, row_group_size=500_000)
    writer.close()
    tmp.rename(path)
    return path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker_peaks(client) -> list[float]:
    def peak():
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    return [round(v, 0) for v in client.run(peak).values()]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)

    from anonlab.deid import generate_key, pseudonymize
    from anonlab.deid.risk import assess
    from anonlab.distributed import assess as assess_on_cluster
    from anonlab.distributed import connect
    from anonlab.distributed import dp_stats as dp_stats_on_cluster
    from anonlab.distributed import pseudonymize as pseudonymize_on_cluster
    from anonlab.io import read_table, write_table
    from anonlab.privacy.stats import dp_stats

    src = table(args.rows)
    out = DATA / "dask_scale_out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    key = generate_key()
    results = []

    def row(step, path, seconds, **extra):
        results.append(
            {"step": step, "path": path, "rows": args.rows, "seconds": round(seconds, 2),
             "rows_per_s": round(args.rows / seconds), **extra}
        )  # fmt: skip
        print(results[-1], flush=True)

    # in-process: read the whole table, then the library call (what the CLI does)
    t = time.perf_counter()
    df = read_table(src, columns=[*QUASI, *SENSITIVE])
    want = assess(df, QUASI, SENSITIVE, sampling_fraction=0.1)
    row("assess", "in-process", time.perf_counter() - t, client_peak_mb=round(_peak_mb()))
    del df
    t = time.perf_counter()
    df = read_table(src, text_columns=["pid", "visit"])
    released, _ = pseudonymize(df, key=key, ids=["pid"], dates=["visit"], by="pid")
    write_table(released, out / "in_process.parquet")
    row("pseudonymize", "in-process", time.perf_counter() - t, client_peak_mb=round(_peak_mb()))
    del df, released
    # dp stats, seeded (so the table's fingerprint is computed on both paths) and without a ledger
    t = time.perf_counter()
    df = read_table(src)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dp_want = dp_stats(df, DP_QUERIES, epsilon=1.0, delta=1e-6, schema="adult", seed=1)
    row("dp stats", "in-process", time.perf_counter() - t, client_peak_mb=round(_peak_mb()))
    del df

    t = time.perf_counter()
    with connect(f"local:{args.workers}") as client:
        started = time.perf_counter() - t
        t = time.perf_counter()
        got = assess_on_cluster(str(src), QUASI, SENSITIVE, sampling_fraction=0.1, scheduler=client)
        row("assess", f"local:{args.workers}", time.perf_counter() - t, cluster_start_s=round(started, 1),
            equal=got.to_dict() == want.to_dict(), worker_peak_mb=_worker_peaks(client))  # fmt: skip
        t = time.perf_counter()
        pseudonymize_on_cluster(
            str(src),
            out / "cluster.parquet",
            key=key,
            ids=["pid"],
            dates=["visit"],
            by="pid",
            scheduler=client,
        )
        seconds = time.perf_counter() - t
        peaks = _worker_peaks(client)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dp_got = dp_stats_on_cluster(
                str(src), DP_QUERIES, epsilon=1.0, delta=1e-6, schema="adult", seed=1, scheduler=client
            )
        row("dp stats", f"local:{args.workers}", time.perf_counter() - t,
            equal=dp_got.to_dict() == dp_want.to_dict(), worker_peak_mb=_worker_peaks(client))  # fmt: skip
    a = pd.read_parquet(out / "in_process.parquet")
    b = pd.read_parquet(out / "cluster.parquet")
    if args.rows > 2_000_000:
        a, b = a.head(200_000), b.head(200_000)
    row("pseudonymize", f"local:{args.workers}", seconds, equal=bool(a.equals(b)), worker_peak_mb=peaks,
        client_peak_mb=round(_peak_mb()))  # fmt: skip
    shutil.rmtree(out, ignore_errors=True)
    save(
        "dask_scale",
        results,
        f"Adult resampled to {args.rows:,} rows (Parquet, 500k-row row groups); assess on 8 quasi-identifiers and "
        "2 sensitive columns (sampling fraction 0.1); pseudonymize of an 8-digit subject id with per-subject "
        "date shifts; dp stats (seeded, no ledger) of 6 queries. In-process = read_table + the library call; local:N = anonlab.distributed on a "
        "LocalCluster of N single-threaded worker processes (cluster start reported apart).",
    )


if __name__ == "__main__":
    main()
