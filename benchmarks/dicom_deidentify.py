"""DICOM de-identification side by side: anonlab against pydicom/deid (default recipe) and dicognito.

One corpus of real files (pydicom's test files, pydicom-data, deid-data: every file with a DICOM preamble that is
not a DICOMDIR index), copied ``--copies`` times so the run is long enough to time. Each tool reads, de-identifies
and writes every file; files per second come from the same run. Every output folder is then checked with
``anonlab dicom audit``, and the leftovers it finds are counted per rule.

Peers run in their own virtual environment (``--peer-python``, default ``/tmp/peers-venv/bin/python``, with
``pip install deid dicognito pydicom==3.0.2``), never in anonlab's; when it is missing, only anonlab is timed.
anonlab runs with ``--allow-burned-in`` for the timing (the peers release those images too) and once more by
default to show what withholding leaves.

Run: ``python -m benchmarks.dicom_deidentify [--copies N] [--workers N] [--peer-python PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NAME = "dicom_deidentify"
HERE = Path(__file__).parent


def corpus_sources() -> list[Path]:
    import pydicom

    site = Path(pydicom.__file__).parent.parent
    return [
        Path(pydicom.__file__).parent / "data" / "test_files",
        site / "data_store" / "data",
        site / "deid_data" / "data",
    ]


def build_corpus(root: Path, copies: int) -> int:
    import pydicom

    n = 0
    files = []
    for src in corpus_sources():
        for p in sorted(src.rglob("*")):
            if not p.is_file():
                continue
            with open(p, "rb") as fh:
                head = fh.read(132)
            if head[128:132] != b"DICM":
                continue
            try:
                ds = pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["MediaStorageSOPClassUID"])
                if str(ds.file_meta.get("MediaStorageSOPClassUID", "")) == "1.2.840.10008.1.3.10":
                    continue  # DICOMDIR index
            except Exception:
                pass
            files.append((src.name, p))
    for c in range(copies):
        for i, (source, p) in enumerate(files):
            dst = root / f"copy{c}" / source / f"{i:04d}_{p.name}"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(p, dst)
            n += 1
    return n


def _burn(n: int) -> int:
    s = 0
    for i in range(n):
        s += i * i
    return s


def parallel_headroom(workers: int, n: int = 3_000_000) -> float:
    """How much faster ``workers`` processes run a CPU-bound loop than one process, on this machine, now."""
    from concurrent.futures import ProcessPoolExecutor

    jobs = [n] * (2 * workers)
    t0 = time.perf_counter()
    for j in jobs:
        _burn(j)
    serial = time.perf_counter() - t0
    with ProcessPoolExecutor(workers) as ex:
        t0 = time.perf_counter()
        list(ex.map(_burn, jobs))
        parallel = time.perf_counter() - t0
    return serial / parallel


def audit(folder: Path, workers: int) -> dict:
    from anonlab.deid.dicom.auditing import audit_folder

    r = audit_folder(folder, workers=workers)
    leftovers = {k: v for k, v in r.by_rule.items() if k not in ("burned-in", "unreadable") and v}
    return {
        "files_audited": r.dicom_files,
        "files_with_leftovers": sum(
            1 for rep in r.reports if any(f.rule not in ("burned-in", "unreadable") for f in rep.findings)
        ),
        "leftovers": sum(leftovers.values()),
        "leftovers_by_rule": leftovers,
        "burned_in_flags": r.by_rule["burned-in"],
    }


def run_anonlab(corpus: Path, out: Path, key, workers: int, allow_burned_in: bool) -> dict:
    from anonlab.deid.dicom.deidentifying import deidentify_folder

    t0 = time.perf_counter()
    r = deidentify_folder(corpus, out, key, workers=workers, allow_burned_in=allow_burned_in)
    seconds = time.perf_counter() - t0
    return {"written": r.written, "failed": len(r.failed), "withheld": len(r.withheld), "seconds": seconds}


def run_peer(python: str, peer: str, corpus: Path, out: Path) -> dict | None:
    try:
        proc = subprocess.run(
            [python, str(HERE / "_dicom_peer.py"), peer, str(corpus), str(out)],
            capture_output=True,
            text=True,
            timeout=3600,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"{peer}: not run ({type(exc).__name__})", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peer_version(python: str, peer: str) -> str:
    try:
        out = subprocess.run(
            [python, "-c", f"import importlib.metadata as m; print(m.version({peer!r}))"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def main(argv: list[str] | None = None) -> int:
    from anonlab import __version__
    from anonlab.deid.keys import read_key, write_key
    from benchmarks._report import save

    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.dicom_deidentify", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--copies", type=int, default=2, help="copies of the corpus (more files, longer runs)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="anonlab worker processes")
    ap.add_argument("--repeats", type=int, default=3, help="runs per tool; the best is reported")
    ap.add_argument(
        "--peer-python", default=os.environ.get("ANONLAB_PEER_PYTHON", "/tmp/peers-venv/bin/python")
    )
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="anonlab-bench-dicom-") as tmp:
        tmp = Path(tmp)
        corpus = tmp / "corpus"
        n = build_corpus(corpus, args.copies)
        size_mb = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file()) / 2**20
        key = read_key(write_key(tmp / "bench.key"))
        print(f"corpus: {n} DICOM files, {size_mb:.0f} MiB", file=sys.stderr)
        # warm-up: imports and first-use caches, so that no tool is timed loading its libraries
        run_anonlab(corpus / "copy0" / "test_files", tmp / "warm", key, 1, True)
        tools = [
            ("anonlab", args.workers, True),
            ("anonlab", 1, True),
            ("anonlab (default: withhold)", args.workers, False),
        ]
        have_peers = Path(args.peer_python).exists()
        if have_peers:
            tools += [("dicognito", 1, None), ("deid (default recipe)", 1, None)]
        best: dict[int, dict] = {}
        headroom = []
        for rep in range(args.repeats):
            headroom.append(
                parallel_headroom(args.workers)
            )  # interleaved, best of N: the machine is shared and noisy
            for i, (label, workers, allow) in enumerate(tools):
                out = tmp / f"out-{i}-{rep}"
                if allow is None:
                    r = run_peer(args.peer_python, label.split()[0], corpus, out)
                    if r is None:
                        continue
                else:
                    r = run_anonlab(corpus, out, key, workers, allow)
                r["out"] = out
                if i not in best or r["seconds"] < best[i]["seconds"]:
                    if i in best:
                        shutil.rmtree(best[i]["out"], ignore_errors=True)
                    best[i] = r
                else:
                    shutil.rmtree(out, ignore_errors=True)
                print(f"{label} x{workers} rep {rep}: {r['seconds']:.2f} s", file=sys.stderr)
        rows = []
        for i, (label, workers, allow) in enumerate(tools):
            if i not in best:
                continue
            r = best[i]
            peer = label.split()[0]
            rows.append(
                {
                    "tool": label,
                    "version": peer_version(args.peer_python, peer) if allow is None else __version__,
                    "workers": workers,
                    "files": n,
                    "written": r["written"],
                    "failed": r["failed"],
                    "withheld": r.get("withheld", 0),
                    "best_seconds": round(r["seconds"], 2),
                    "files_per_s": round(n / r["seconds"], 1),
                    **audit(r["out"], args.workers),
                }
            )
            print(json.dumps(rows[-1]), file=sys.stderr)
        peer_rates = [
            row["files_per_s"]
            for row, (_, _, allow) in zip(rows, [t for i, t in enumerate(tools) if i in best], strict=False)
            if allow is None
        ]
        if peer_rates:
            fastest = max(peer_rates)
            for row in rows:
                row["x_fastest_peer"] = round(row["files_per_s"] / fastest, 2)
        for row in rows:
            row["leftovers_by_rule"] = (
                ", ".join(f"{k} {v}" for k, v in row["leftovers_by_rule"].items()) or "-"
            )
    notes = (
        f"Parallel headroom: {args.workers} processes ran a CPU-bound loop "
        f"{min(headroom):.2f}-{max(headroom):.2f}x faster than one process during this run (2.0 on an idle "
        "2-core machine); anonlab's parallel speed-up cannot exceed it. "
        f"Corpus: {n} files ({size_mb:.0f} MiB): pydicom test files, pydicom-data and deid-data, every file with a "
        f"DICOM preamble except DICOMDIR indexes, {args.copies} copies. Rates include reading and writing; "
        f"best of {args.repeats} interleaved runs per tool. "
        "Peers run single-process (they have no parallel mode); anonlab runs with the given workers and with 1. "
        "Leftovers: findings of `anonlab dicom audit` on each output (burned-in flags counted apart; person-name "
        "counts fake names too, which the audit cannot tell from real ones). The machine is shared: absolute "
        "rates are inflated by contention, compare ratios within one run."
    )
    md = save(NAME, rows, notes)
    print(md.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
