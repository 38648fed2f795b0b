"""`assess`, `pseudonymize`, `anonymize` (Mondrian) and `dp stats` in-process against `--scheduler local:N` on a
large Adult-shaped table.

The table is UCI Adult resampled with replacement to ROWS rows (default 10 million), with a subject identifier
(8 digits, leading zeros: text), noise on age and a visit date per row, written once as one Parquet file of
500,000-row row groups (cached under out/bench-data/). Each run does one step on one path and the whole job, as
the CLI does it: `assess` on 8 quasi-identifiers and 2 sensitive columns with a sampling fraction;
`pseudonymize` of the identifier with the visit date shifted per subject, written as Parquet (one file
in-process, a folder of parts on the cluster); `anonymize` with Mondrian (k=10 on the 8 quasi-identifiers,
distinct l=2 on the income), written as Parquet; `dp stats` of 6 seeded queries.

Reported per run: seconds, rows per second, the 1-minute load average before and after (the machine is shared),
the client's peak memory (ru_maxrss), each worker's peak memory (the largest process memory the scheduler saw in
the workers' heartbeats, sampled every second), and whether the result agrees with the in-process path: the
assess report equal to the in-process one (from the JSON of an earlier in-process run at the same size, or
computed when that is small); the pseudonymised rows of the first row group equal to the in-process release of
the same rows; for Mondrian, the output's k and l measured by the in-process assess (rows <= 2M) or by the
distributed one. Results are merged into benchmarks/results/dask_scale.json/.md (a run replaces the row of the
same step, path and size).

Run: `python -m benchmarks dask_scale --rows N --step assess --path in-process|local:2`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks._report import RESULTS, save

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
ROW_GROUP = 500_000
NOTES = (
    "Adult resampled to N rows (Parquet, 500k-row row groups): assess on 8 quasi-identifiers and 2 sensitive "
    "columns (sampling fraction 0.1); pseudonymize of an 8-digit subject id with per-subject date shifts; "
    "anonymize = Mondrian k=10 on the 8 quasi-identifiers with distinct l=2 on income (on the cluster: top cuts to "
    "regions of at most 1M rows, then Mondrian per region); dp stats (seeded, no ledger) of 6 queries. One step "
    "per process. In-process = read_table + the library call; local:N = anonlab.distributed on a LocalCluster of "
    "N single-threaded worker processes (cluster start reported apart). load_before/load_after: 1-minute load "
    "average of the shared 2-core machine. worker_peak_mb: each worker's largest process memory in the "
    "scheduler's heartbeats (sampled each second). cpu_s: CPU seconds used (in-process: the process; local:N: the "
    "client and the workers' processes), a measure the machine's load does not inflate as it does wall time."
)


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
    for start in range(0, rows, ROW_GROUP):
        n = min(ROW_GROUP, rows - start)
        part = adult.iloc[rng.integers(0, len(adult), n)].reset_index(drop=True)
        part["age"] = np.clip(
            part["age"].to_numpy() + rng.integers(-2, 3, n), 17, 90
        )  # noise: not only copies
        part.insert(0, "pid", np.char.zfill(rng.integers(0, rows // 3, n).astype(str), 8).astype(object))
        day = np.datetime64("2015-01-01") + rng.integers(0, 3000, n).astype("timedelta64[D]")
        part["visit"] = np.datetime_as_string(day, unit="D").astype(object)
        t = pa.Table.from_pandas(part, preserve_index=False)
        writer = writer or pq.ParquetWriter(tmp, t.schema)
        writer.write_table(t, row_group_size=ROW_GROUP)
    writer.close()
    tmp.rename(path)
    return path


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


class _WorkerMemory:
    """The largest process memory of each worker seen in the scheduler's heartbeats, sampled each second."""

    def __init__(self, client):
        self.client, self.peaks, self.stop = client, {}, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                for addr, w in self.client.scheduler_info()["workers"].items():
                    mem = w.get("metrics", {}).get("memory", 0) / 2**20
                    self.peaks[addr] = max(self.peaks.get(addr, 0), mem)
            except Exception:  # the cluster closing
                pass
            self.stop.wait(1.0)

    def close(self) -> list[float]:
        self.stop.set()
        self.thread.join()
        return [round(v) for v in self.peaks.values()]


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _workers_cpu_s(client) -> float:
    def cpu():
        import psutil

        t = psutil.Process().cpu_times()
        return t.user + t.system

    return sum(client.run(cpu).values())


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def _merge(row: dict) -> None:
    """Add ``row`` to results/dask_scale.json (replacing the same step, path and size) and rewrite the table."""
    path = RESULTS / "dask_scale.json"
    rows = json.loads(path.read_text())["rows"] if path.exists() else []
    key = (row["step"], row["path"], row["rows"])
    rows = [r for r in rows if (r["step"], r["path"], r["rows"]) != key and "load_before" in r] + [row]
    rows.sort(key=lambda r: (r["rows"], r["step"], r["path"] != "in-process"))
    save("dask_scale", rows, NOTES)


def _in_process(step: str, src: Path, out: Path, key):
    from anonlab.io import read_table, write_table

    if step == "assess":
        from anonlab.deid.risk import assess

        df = read_table(src, columns=[*QUASI, *SENSITIVE])
        return assess(df, QUASI, SENSITIVE, sampling_fraction=0.1).to_dict()
    if step == "pseudonymize":
        from anonlab.deid import pseudonymize

        df = read_table(src, text_columns=["pid", "visit"])
        released, _ = pseudonymize(df, key=key, ids=["pid"], dates=["visit"], by="pid")
        write_table(released, out / "in_process.parquet")
        return None
    if step == "anonymize":
        from anonlab.deid import anonymize

        df = read_table(src)
        _, report = anonymize(df, quasi=QUASI, k=10, l=2, sensitive=["income-per-year"])
        return {"k": report.k, "classes": report.n_classes, "gcp": round(report.loss.gcp, 4)}
    from anonlab.privacy.stats import dp_stats

    df = read_table(src)
    return dp_stats(df, DP_QUERIES, epsilon=1.0, delta=1e-6, schema="adult", seed=1).to_dict()


def _on_cluster(step: str, src: Path, out: Path, key, client):
    import anonlab.distributed as ad

    if step == "assess":
        return ad.assess(str(src), QUASI, SENSITIVE, sampling_fraction=0.1, scheduler=client).to_dict()
    if step == "pseudonymize":
        ad.pseudonymize(str(src), out / "cluster.parquet", key=key, ids=["pid"], dates=["visit"], by="pid",
                        scheduler=client)  # fmt: skip
        return None
    if step == "anonymize":
        r = ad.anonymize(str(src), out / "cluster.parquet", quasi=QUASI, k=10, l=2, sensitive=["income-per-year"],
                         scheduler=client)  # fmt: skip
        return {"k": r.k, "classes": r.n_classes, "gcp": round(r.loss.gcp, 4), "checked": r.search.get("checked"),
                "regions": r.search["regions"]}  # fmt: skip
    return ad.dp_stats(str(src), DP_QUERIES, epsilon=1.0, delta=1e-6, schema="adult", seed=1,
                       scheduler=client).to_dict()  # fmt: skip


def _agrees(step: str, got, src: Path, out: Path, key, rows: int):
    """Whether the cluster result agrees with the in-process path (see the module's docstring)."""
    import pandas as pd

    if step == "pseudonymize":  # the first row group released in-process vs the first part
        import pyarrow.parquet as pq

        from anonlab.deid import pseudonymize
        from anonlab.io import read_table, write_table

        first = pq.ParquetFile(src).read_row_group(0).to_pandas()
        first.to_parquet(out / "first.parquet", index=False)
        df = read_table(out / "first.parquet", text_columns=["pid", "visit"])
        want, _ = pseudonymize(df, key=key, ids=["pid"], dates=["visit"], by="pid")
        write_table(want, out / "first_released.parquet")
        a = pd.read_parquet(out / "first_released.parquet")
        b = pd.read_parquet(sorted((out / "cluster.parquet").glob("part.*.parquet"))[0])
        return bool(len(b) >= len(a) and a.equals(b.head(len(a)).reset_index(drop=True)))
    if step == "anonymize":
        c = got["checked"]
        return bool(c["k"] >= 10 and c["sensitive"]["income-per-year"]["l_distinct"] >= 2)
    earlier = RESULTS / "dask_scale_reference.json"
    refs = json.loads(earlier.read_text()) if earlier.exists() else {}
    want = refs.get(f"{step}:{rows}")
    return None if want is None else bool(json.loads(json.dumps(got, default=str)) == want)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--step", choices=["assess", "pseudonymize", "anonymize", "dp"], required=True)
    ap.add_argument("--path", default="in-process", help="in-process, or local:N")
    args = ap.parse_args(argv)

    from anonlab.deid import generate_key

    src = table(args.rows)
    out = DATA / f"dask_scale_out_{os.getpid()}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    key = generate_key()  # in memory only; a fresh one per run
    row = {"step": args.step, "path": args.path, "rows": args.rows, "load_before": _load()}
    warnings.simplefilter("ignore")
    try:
        if args.path == "in-process":
            t, c = time.perf_counter(), _cpu_s()
            got = _in_process(args.step, src, out, key)
            seconds = time.perf_counter() - t
            row |= {"seconds": round(seconds, 1), "rows_per_s": round(args.rows / seconds),
                    "cpu_s": round(_cpu_s() - c, 1)}  # fmt: skip
            if args.step in ("assess", "dp"):  # kept as the reference of the cluster run at this size
                earlier = RESULTS / "dask_scale_reference.json"
                refs = json.loads(earlier.read_text()) if earlier.exists() else {}
                refs[f"{args.step}:{args.rows}"] = json.loads(json.dumps(got, default=str))
                earlier.write_text(json.dumps(refs))
            if args.step == "anonymize":
                row |= got
        else:
            from anonlab.distributed import connect

            t = time.perf_counter()
            with connect(args.path) as client:
                row["cluster_start_s"] = round(time.perf_counter() - t, 1)
                memory = _WorkerMemory(client)
                t, c, w = time.perf_counter(), _cpu_s(), _workers_cpu_s(client)
                got = _on_cluster(args.step, src, out, key, client)
                seconds = time.perf_counter() - t
                cpu = _cpu_s() - c + _workers_cpu_s(client) - w
                row["worker_peak_mb"] = memory.close()
            row |= {
                "seconds": round(seconds, 1),
                "rows_per_s": round(args.rows / seconds),
                "cpu_s": round(cpu, 1),
            }
            if args.step == "anonymize":
                row |= {k: got[k] for k in ("k", "classes", "gcp", "regions")}
            row["equal"] = _agrees(args.step, got, src, out, key, args.rows)
        row |= {"client_peak_mb": _peak_mb(), "load_after": _load()}
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(row, flush=True)
    _merge(row)


if __name__ == "__main__":
    main()
