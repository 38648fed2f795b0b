"""MST at epsilon 1 on a large Adult-shaped table, its marginals counted on `--scheduler local:2`.

The table is UCI Adult resampled with replacement to ROWS rows (default 20 million) with noise (age and
hours-per-week moved by -2..2 within their public bounds, fnlwgt by up to 2%), so it is not only copies of
Adult's 32,561 rows; written once as a folder of Parquet parts of 500,000 rows (cached under out/bench-data/). The
cluster path is what `anonlab synth TABLE --method mst --epsilon 1 --ledger L --scheduler local:2` does: the
fit reads the table only through aggregates counted on the workers (row count, quantile ranks, density units,
the fingerprint for the ledger, the marginals), the ledger is a local file charged on the client, and the model
is fitted on the client. Then 100,000 rows are sampled from the model on the client (the release's size is the
user's choice and is not part of the fit).

Reported: seconds (cluster start apart), the client's peak memory (this process's max RSS, so measured before
any in-process run), each worker's peak memory, and the load average. With ``--compare`` (default for ROWS <=
2M), the same fit in-process (read_table + MST.fit) with the same seed and a fresh ledger, and whether the two
releases are equal (model, privacy record, ledger entry, 100,000 sampled rows).
Run: `python -m benchmarks dask_synth [--rows N] [--workers 2] [--compare | --no-compare]`.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks._report import save

DATA = Path(__file__).resolve().parent.parent / "out" / "bench-data"  # ignored by git
SAMPLE = 100_000


def table(rows: int, seed: int = 0) -> Path:
    """Adult resampled to ``rows`` rows with noise, as a folder of Parquet parts of 500k rows (built once)."""
    from anonlab.datasets import load_adult

    path = DATA / f"adult_synth_{rows}.parquet"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    adult = load_adult()
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for i, start in enumerate(range(0, rows, 500_000)):
        n = min(500_000, rows - start)
        part = adult.iloc[rng.integers(0, len(adult), n)].reset_index(drop=True)
        part["age"] = np.clip(part["age"].to_numpy() + rng.integers(-2, 3, n), 17, 90)
        part["hours-per-week"] = np.clip(part["hours-per-week"].to_numpy() + rng.integers(-2, 3, n), 1, 99)
        w = part["fnlwgt"].to_numpy() * (1 + rng.uniform(-0.02, 0.02, n))
        part["fnlwgt"] = np.clip(np.rint(w), 0, 1_500_000).astype(np.int64)
        part.to_parquet(tmp / f"part.{i:05d}.parquet", index=False)
    tmp.rename(path)
    return path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker_peaks(client) -> list[float]:
    def peak():
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    return [round(v) for v in client.run(peak).values()]


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _worker_cpu(client) -> list[float]:
    def cpu():
        import resource

        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    return [round(v, 1) for v in client.run(cpu).values()]


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def _timed_passes() -> dict[str, float]:
    """Seconds spent in each pass over the table (wrapping anonlab.distributed.marginals._Table's methods)."""
    from anonlab.distributed import marginals

    spent: dict[str, float] = {}
    for name in ("scan", "counts", "fingerprint"):
        f = getattr(marginals._Table, name)

        def timed(*a, _f=f, _name=name, **kw):
            t = time.perf_counter()
            try:
                return _f(*a, **kw)
            finally:
                spent[_name] = spent.get(_name, 0.0) + time.perf_counter() - t

        setattr(marginals._Table, name, timed)
    return spent


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--compare", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument("--name", default="dask_synth")
    ap.add_argument(
        "--ledger",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="charge a ledger and seed the noise (the fingerprint pass runs); --no-ledger: neither, no fingerprint",
    )
    args = ap.parse_args(argv)
    compare = args.compare if args.compare is not None else args.rows <= 2_000_000
    compare = compare and args.ledger  # equality needs the same seed

    from anonlab.distributed import connect, fit_synthesizer
    from anonlab.privacy.ledger import Ledger
    from anonlab.synth import MST

    t = time.perf_counter()
    src = table(args.rows)
    built = time.perf_counter() - t
    work = Path(tempfile.mkdtemp(prefix="dask_synth."))
    results = []

    def row(step, path, seconds, **extra):
        results.append({"step": step, "path": path, "rows": args.rows, "seconds": round(seconds, 1),
                        "load_1min": _load(), **extra})  # fmt: skip
        print(results[-1], flush=True)

    warnings.simplefilter("ignore")
    if built > 1:
        row(
            "write the table (Parquet)",
            "in-process",
            built,
            bytes=sum(f.stat().st_size for f in src.iterdir()),
        )
    load_before = _load()
    t = time.perf_counter()
    with connect(f"local:{args.workers}") as client:
        started = time.perf_counter() - t
        led = Ledger.create(work / "cluster.ledger", epsilon=10, delta=1e-6) if args.ledger else None
        spent = _timed_passes()
        cpu0, wcpu0 = _cpu_s(), _worker_cpu(client)
        t = time.perf_counter()
        seed = 7 if args.ledger else None
        got = fit_synthesizer(MST(epsilon=1.0, seed=seed), str(src), "adult", ledger=led, scheduler=client)
        fit_s = time.perf_counter() - t
        passes = {f"{k}_s": round(v, 1) for k, v in spent.items()}
        what = "MST fit, epsilon 1, " + ("with a ledger, seeded" if args.ledger else "no ledger, unseeded")
        row(what, f"local:{args.workers}", fit_s, load_before=load_before,
            cluster_start_s=round(started, 1), **passes,
            on_client_s=round(fit_s - sum(spent.values()), 1),
            worker_cpu_s=[round(b - a, 1) for a, b in zip(wcpu0, _worker_cpu(client), strict=True)],
            client_cpu_s=round(_cpu_s() - cpu0, 1), worker_peak_mb=_worker_peaks(client),
            client_peak_mb=round(_peak_mb()))  # fmt: skip
    t = time.perf_counter()
    sample = got.sample(SAMPLE, seed=1)
    row(f"sample {SAMPLE:,} rows", "client", time.perf_counter() - t, client_peak_mb=round(_peak_mb()))
    cells = sum(p.size for p in got.model_.probs)
    results[-2]["model_cells"] = cells

    if compare:
        import pandas as pd

        led2 = Ledger.create(work / "local.ledger", epsilon=10, delta=1e-6)
        t = time.perf_counter()
        df = pd.read_parquet(src)  # the parts in order, as one frame
        want = MST(epsilon=1.0, seed=7).fit(df, "adult", ledger=led2)
        del df
        seconds = time.perf_counter() - t
        e1, e2 = Ledger.open(led.path).entries, Ledger.open(led2.path).entries
        equal = (
            want.summary() == got.summary()
            and all(np.array_equal(a, b) for a, b in zip(want.model_.probs, got.model_.probs, strict=True))
            and e1[0].dataset == e2[0].dataset
            and e1[0].details == e2[0].details
            and want.sample(SAMPLE, seed=1).equals(sample)
        )
        row(what, "in-process (read + fit)", seconds, equal=equal,
            client_peak_mb=round(_peak_mb()))  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)
    save(
        args.name,
        results,
        f"MST (epsilon 1, delta 1e-9, quantile bins and densities: the defaults) on Adult resampled with "
        f"noise to {args.rows:,} rows (a folder of Parquet parts of 500k rows), its aggregates counted on a LocalCluster of "
        f"{args.workers} single-threaded worker processes (cluster start reported apart); with a ledger (charged "
        "on the client) and a seed the table's fingerprint is computed (a third pass); without either it is not. scan_s, counts_s, fingerprint_s: "
        "the passes over the table (before the charge; the marginals after the cut points; the fingerprint's "
        "CSV text streamed to the client), on_client_s the rest (plans, noise, the model's mirror descent); "
        "worker_cpu_s and client_cpu_s: the CPU seconds each worker and the client (with the scheduler) used during "
        "the fit, which the load does not inflate. "
        "client_peak_mb is this process's "
        "max RSS so far (the in-process row comes after the cluster run, so its figure is the larger of the two); "
        "worker_peak_mb the max RSS of each worker. Shared 2-core machine: load_1min is the 1-minute load "
        "average when the step ended (load_before: before it started).",
    )


if __name__ == "__main__":
    main()
