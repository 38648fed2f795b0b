"""anonlab's NAPSU-MQ and DPVI (anonlab.synth.twinify) side by side with stock twinify 2.0 on Adult subsets.

Run: ``python -m benchmarks.synth_twinify`` (default plan), or ``--only NAME[,NAME]`` / ``--rows 2000x4`` to (re)run
some rows; rows already in ``benchmarks/results/synth_twinify.json`` with the same key are replaced, others kept.
Stock twinify 2.0.0 (and d3p) import ``jax.config`` and ``jax.lib.xla_bridge``, gone from current JAX, so it runs in
its own venv with the 2023 pins: ``$TWINIFY_PYTHON``, default ``.bench-venvs/twinify/bin/python`` (``make
bench-peers``, pins in ``benchmarks/peers/twinify.txt``), through ``benchmarks/_twinify_peer.py`` (no anonlab
import there). Rows:

- ``napsu``, ``dpvi``: anonlab's methods with their defaults; ``independent``, ``resample``: baselines.
- ``stock-dpvi``: twinify's DPVI with its CLI's defaults (k 50, 200 epochs, sampling ratio 0.01, clipping 1, Adam
  1e-3): the speed comparison. ``stock-dpvi-same``: the same model and hyperparameters as anonlab's ``dpvi``
  defaults (k 5, 50 epochs, sampling ratio 200 / rows, clipping 1, Adam 0.05 patched in): the accuracy comparison
  (several seeds of each; the summary compares their mean 2-way marginals with the seed-to-seed spread).
- ``stock-napsu``: ``NapsuMQModel([]).fit``: twinify's own MST query selection, noise and posterior.
- ``maxent``: equivalence of the max-entropy model: anonlab's canonical queries against twinify's (as sets), and
  anonlab's ``JointMaxEnt`` probabilities against twinify's ``MarkovNetwork`` (p(x) = exp(lambda . f(x) - lambda0),
  lambda0 by twinify's variable elimination) at random parameters, on the same domain and queries (max abs
  difference; target 1e-9).

Errors are mean total variation distances over all 2-way and 3-way marginals of the encoded subset (no missing
code), computed here by the same code for every row. Every row records the 1-minute load average before and after
it: the machine is shared, so times are inflated by contention; process CPU time is the less contended figure.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_PYTHON = HERE.parent / ".bench-venvs" / "twinify" / "bin" / "python"
COLS4 = ["sex", "race", "income-per-year", "relationship"]
COLS6 = COLS4 + ["marital-status", "education"]
EPSILON = 1.0
DELTA = 1e-6
SEEDS_SAME = 3  # seeds of dpvi and stock-dpvi-same for the accuracy comparison


def peer_python() -> str:
    return os.environ.get("TWINIFY_PYTHON", str(DEFAULT_PYTHON))


def _load_avg() -> float:
    return round(os.getloadavg()[0], 2)


def _load(rows: int, ncols: int):
    from anonlab.datasets import load_adult
    from anonlab.schema import Schema
    from anonlab.synth.release import adult_schema

    cols = COLS4 if ncols == 4 else COLS6
    df = load_adult()[cols].head(rows).reset_index(drop=True)
    full = adult_schema()
    return df, Schema(tuple(full[c] for c in cols))


def _codes(df, schema):
    import numpy as np

    from anonlab.synth.encoding import Encoding

    enc = Encoding.from_schema(schema, missing=False)
    codes, _ = enc.encode(schema.coerce(df))
    return np.asarray(codes, dtype=np.int64), enc.sizes


def _scores(real, fake, sizes) -> dict:
    """2-way and 3-way mean TV, and the 2-way marginals (for the between-implementation comparison)."""
    import numpy as np

    from anonlab.synth.marginals import workload, workload_error

    d = real.shape[1]
    pairs = {}
    for a, b in itertools.combinations(range(d), 2):
        cell = fake[:, a] * sizes[b] + fake[:, b]
        pairs[f"{a},{b}"] = (np.bincount(cell, minlength=sizes[a] * sizes[b]) / len(fake)).round(6).tolist()
    return {
        "tv2": round(workload_error(real, fake, sizes, workload(d, 2)), 4),
        "tv3": round(workload_error(real, fake, sizes, workload(d, 3)), 4),
        "marginals2": pairs,
    }


def _peer(task: dict, timeout: float) -> dict:
    out = subprocess.run(
        [peer_python(), str(HERE / "_twinify_peer.py")],
        input=json.dumps(task),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _maxent(spec: dict, timeout: float) -> dict:
    """anonlab's canonical queries and JointMaxEnt against twinify's on the subset's public domain, all pairs."""
    import jax
    import numpy as np

    from anonlab.synth.twinify.maxent import JointMaxEnt, canonical_queries

    jax.config.update("jax_enable_x64", True)
    _, schema = _load(10, spec["ncols"])
    _, sizes = _codes(_load(10, spec["ncols"])[0], schema)
    sets = [list(p) for p in itertools.combinations(range(len(sizes)), 2)]
    theirs = _peer(
        {"task": "maxent", "sizes": list(sizes), "sets": sets, "draws": 3, "seed": spec["seed"]}, timeout
    )
    ours = canonical_queries([tuple(s) for s in sets], sizes)
    model = JointMaxEnt(sizes, ours)

    def key(inds, vals):
        return tuple(sorted(zip(map(int, inds), map(int, vals), strict=False)))

    pos = {key(i, v): k for k, (i, v) in enumerate(ours.as_tuples())}
    their_keys = [key(i, v) for i, v in theirs["queries"]]
    same = sorted(pos) == sorted(their_keys)
    worst_p = worst_m = 0.0
    for draw in theirs["draws"]:
        lam = np.zeros(len(ours))
        for k, val in zip(their_keys, draw["lambdas"], strict=False):
            lam[pos[k]] = val  # twinify's parameter of each query, in anonlab's order
        worst_p = max(worst_p, float(np.max(np.abs(model.probs_numpy(lam) - np.asarray(draw["probs"])))))
        mean = np.asarray(model.suff_stat_mean(jax.numpy.asarray(lam)))
        their_mean = np.zeros(len(ours))
        for k, val in zip(their_keys, draw["mean"], strict=False):
            their_mean[pos[k]] = val
        worst_m = max(worst_m, float(np.max(np.abs(mean - their_mean))))
    return {
        "same_queries": same,
        "queries": len(ours),
        "cells": int(np.prod(sizes)),
        "max_abs_prob_diff": worst_p,
        "max_abs_mean_diff": worst_m,
    }


def run_one(spec: dict, timeout: float) -> dict:
    import resource

    from benchmarks.synth_adult import BASELINES, baseline

    method, rows, ncols, seed = spec["method"], spec["rows"], spec["ncols"], spec["seed"]
    if method == "maxent":
        return _maxent(spec, timeout)
    eps = spec.get("epsilon")
    df, schema = _load(rows, ncols)
    real, sizes = _codes(df, schema)
    row: dict = {}
    start = time.perf_counter()
    if method.startswith("stock-"):
        import numpy as np
        import pandas as pd

        with tempfile.TemporaryDirectory() as tmp:
            src, out = Path(tmp) / "in.csv", Path(tmp) / "out.csv"
            pd.DataFrame(real, columns=list(df.columns)).to_csv(src, index=False)
            task = {"csv": str(src), "out": str(out), "seed": seed, "epsilon": eps, "delta": DELTA}
            if method == "stock-napsu":
                task["task"] = "napsu"
            elif method == "stock-dpvi":
                task.update(task="dpvi", k=50, epochs=200, q=0.01, lr=None)
            else:  # stock-dpvi-same: anonlab's dpvi defaults
                task.update(task="dpvi", k=5, epochs=50, q=min(1.0, 200 / rows), lr=0.05)
            row.update(_peer(task, timeout))
            fake = pd.read_csv(out, dtype=int)[list(df.columns)].to_numpy(dtype=np.int64)
        fit_s = row["fit_s"]
    elif method in BASELINES:
        fake, _ = _codes(baseline(method, df, seed), schema)
        fit_s = time.perf_counter() - start
    else:
        from anonlab.synth import Budget, get_method

        model = get_method(method)(seed=seed, missing=False, **spec.get("params", {}))
        t_cpu = resource.getrusage(resource.RUSAGE_SELF)
        model.fit(df, schema, Budget(eps, DELTA))
        fit_s = time.perf_counter() - start
        u = resource.getrusage(resource.RUSAGE_SELF)
        row["fit_cpu_s"] = round(u.ru_utime + u.ru_stime - t_cpu.ru_utime - t_cpu.ru_stime, 1)
        fake, _ = _codes(model.sample(len(df), seed=seed + 1), schema)
        row["privacy"] = {
            k: v
            for k, v in model.privacy_.details.items()
            if k not in ("queries",) and not isinstance(v, list)
        }
    row.update(
        fit_s=round(fit_s, 1), total_s=round(time.perf_counter() - start, 1), **_scores(real, fake, sizes)
    )
    if not method.startswith("stock-"):  # the peer's own memory is not measured (another process)
        row["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return row


def _key(spec: dict) -> str:
    par = ",".join(f"{k}={v}" for k, v in sorted(spec.get("params", {}).items()))
    return f"{spec['method']}|{spec['rows']}x{spec['ncols']}|{spec.get('epsilon')}|{par}|{spec['seed']}"


def _plan(seed: int) -> list[dict]:
    plan: list[dict] = [{"rows": 0, "ncols": 4, "seed": seed, "method": "maxent"}]
    plan += [{"rows": 0, "ncols": 6, "seed": seed, "method": "maxent"}]
    base = {"rows": 2000, "ncols": 4, "epsilon": EPSILON}
    for s in range(SEEDS_SAME):
        plan += [dict(base, seed=seed + s, method=m) for m in ("dpvi", "stock-dpvi-same")]
    plan += [dict(base, seed=seed, method=m) for m in ("stock-dpvi", "napsu", "stock-napsu")]
    for rows, ncols in ((2000, 4), (10000, 4), (2000, 6), (10000, 6)):
        b = {"rows": rows, "ncols": ncols, "seed": seed}
        plan += [dict(b, method="independent"), dict(b, method="resample")]
        if (rows, ncols) != (2000, 4):
            plan += [dict(b, method=m, epsilon=EPSILON) for m in ("napsu", "dpvi")]
    return plan


def _read() -> dict:
    path = RESULTS / "synth_twinify.json"
    if path.exists():
        return {r["key"]: r for r in json.loads(path.read_text())["runs"] if "key" in r}
    return {}


def _fmt_row(r: dict) -> str:
    eps = "-" if r.get("epsilon") is None else f"{r['epsilon']:g}"
    data = f"{r['rows']} x {r['ncols']}"
    load = f"{r.get('load_before')} / {r.get('load_after')}"
    head = f"| {r['method']} | {data} | {eps} | {r['seed']} |"
    if "error" in r:
        return f"{head} failed: {r['error']} | | | | | {load} |"
    return f"{head} {r['fit_s']} | {r.get('fit_cpu_s', '')} | {r['tv2']:.4f} | {r['tv3']:.4f} | {'' if r['method'].startswith('stock-') else r.get('peak_mb', '')} | {load} |"


def _tv(p, q) -> float:
    return 0.5 * sum(abs(a - b) for a, b in zip(p, q, strict=False))


def _mean_marginals(runs: list[dict]) -> dict:
    keys = runs[0]["marginals2"]
    return {
        k: [sum(r["marginals2"][k][i] for r in runs) / len(runs) for i in range(len(keys[k]))] for k in keys
    }


def _spread(runs: list[dict]) -> float:
    """Mean 2-way TV between the seeds' marginals of one implementation (its run-to-run spread)."""
    vals = [
        sum(_tv(a["marginals2"][k], b["marginals2"][k]) for k in a["marginals2"]) / len(a["marginals2"])
        for a, b in itertools.combinations(runs, 2)
    ]
    return sum(vals) / len(vals) if vals else float("nan")


def _summary(rows: list[dict]) -> list[str]:
    lines: list[str] = []
    for r in rows:
        if r["method"] == "maxent" and "error" not in r:
            lines.append(
                f"- max-entropy model, {r['ncols']} Adult columns, all pairs ({r['queries']} canonical queries, "
                f"{r['cells']} joint cells): same queries as twinify: {r['same_queries']}; max |p_anonlab - "
                f"p_twinify| = {r['max_abs_prob_diff']:.2e}, max |mean diff| = {r['max_abs_mean_diff']:.2e} "
                "(3 random parameter vectors; target 1e-9)"
            )

    def pick(method):
        return [
            r for r in rows if r["method"] == method and (r["rows"], r["ncols"]) == (2000, 4) and "tv2" in r
        ]

    ours, same, stock = pick("dpvi"), pick("stock-dpvi-same"), pick("stock-dpvi")
    if len(ours) > 1 and len(same) > 1:
        mo, ms = _mean_marginals(ours), _mean_marginals(same)
        between = sum(_tv(mo[k], ms[k]) for k in mo) / len(mo)
        lines.append(
            f"- DPVI, 2,000 x 4, same model and hyperparameters ({len(ours)} / {len(same)} seeds): 2-way TV to the "
            f"data {sum(r['tv2'] for r in ours) / len(ours):.4f} (anonlab) / "
            f"{sum(r['tv2'] for r in same) / len(same):.4f} (stock); mean 2-way TV between the two "
            f"implementations' seed-averaged marginals {between:.4f}, against a seed-to-seed spread of "
            f"{_spread(ours):.4f} (anonlab) / {_spread(same):.4f} (stock)"
        )
    if ours and stock:
        o = sum(r["fit_s"] for r in ours) / len(ours)
        oc = [r["fit_cpu_s"] for r in ours if "fit_cpu_s" in r]
        s = stock[0]
        cpu = ""
        if oc and "fit_cpu_s" in s:
            cpu = f"; CPU {sum(oc) / len(oc):.1f} s against {s['fit_cpu_s']} s: {s['fit_cpu_s'] / (sum(oc) / len(oc)):.1f}x"
        lines.append(
            f"- DPVI speed, 2,000 x 4: anonlab's defaults {o:.1f} s (mean of {len(ours)}) against stock twinify's "
            f"CLI defaults {s['fit_s']} s: {s['fit_s'] / max(o, 1e-9):.1f}x faster{cpu}; stock with anonlab's "
            f"hyperparameters: {sum(r['fit_s'] for r in same) / max(len(same), 1):.1f} s"
        )
    return lines


def _write(runs: dict, note: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = sorted(runs.values(), key=lambda r: (r["ncols"], r["rows"], r["method"], r["seed"]))
    (RESULTS / "synth_twinify.json").write_text(json.dumps({"note": note, "runs": rows}, indent=1) + "\n")
    lines = [
        "# NAPSU-MQ and DPVI on Adult subsets: anonlab against stock twinify 2.0",
        "",
        note,
        "",
        "## Summary",
        "",
    ]
    lines += _summary(rows)
    lines += [
        "",
        "## Runs",
        "",
        "| method | rows x columns | epsilon | seed | fit (s) | fit CPU (s) | mean 2-way TV | mean 3-way TV | "
        "peak RSS (MB) | load 1-min before / after |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_fmt_row(r) for r in rows if r["method"] != "maxent"]
    (RESULTS / "synth_twinify.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per row (one subprocess)")
    p.add_argument("--only", default=None, help="comma-separated methods to (re)run from the plan")
    p.add_argument("--rows", default=None, help="comma-separated ROWSxCOLS to restrict the plan, e.g. 2000x4")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(json.loads(args.one), args.timeout)))
        return 0
    plan = _plan(args.seed)
    if args.only:
        keep = set(args.only.split(","))
        plan = [s for s in plan if s["method"] in keep]
    if args.rows:
        keep = set(args.rows.split(","))
        plan = [s for s in plan if f"{s['rows']}x{s['ncols']}" in keep or s["method"] == "maxent"]
    note = (
        f"Epsilon {EPSILON:g}, delta {DELTA:g}; the first rows of UCI Adult, columns {', '.join(COLS4)} (x 4) plus "
        f"{', '.join(COLS6[4:])} (x 6), no missing code. anonlab on the current stack; stock twinify 2.0.0 in its "
        f"peer venv ({peer_python()}). Each row in its own process with a {args.timeout:g} s timeout, on CPU "
        "cores shared with other jobs (see the load columns). `python -m benchmarks.synth_twinify`."
    )
    for spec in plan:
        print(f"running {_key(spec)}", file=sys.stderr, flush=True)
        row = dict(
            spec,
            key=_key(spec),
            load_before=_load_avg(),
            measured=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        )
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.synth_twinify",
            "--one",
            json.dumps(spec),
            "--timeout",
            str(args.timeout),
        ]
        start = time.perf_counter()
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, cwd=HERE.parent)
            if out.returncode != 0:
                raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed")
            row.update(json.loads(out.stdout.strip().splitlines()[-1]))
        except subprocess.TimeoutExpired:
            row["error"] = (
                f"timed out after {args.timeout:g} s (process wall {time.perf_counter() - start:.0f} s)"
            )
        except (RuntimeError, json.JSONDecodeError, IndexError) as exc:
            row["error"] = str(exc)[:300]
        row["load_after"] = _load_avg()
        print(json.dumps({k: v for k, v in row.items() if k != "marginals2"}), file=sys.stderr, flush=True)
        runs = _read()  # re-read: another invocation may have added rows meanwhile
        runs[row["key"]] = row
        _write(runs, note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
