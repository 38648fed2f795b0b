"""twinify's NAPSU-MQ and DPVI through anonlab, side by side with stock twinify on the same Adult subsets.

Run: ``python -m benchmarks.synth_twinify`` (default plan), or ``--only NAME[,NAME]`` to (re)run some rows; rows
already in ``benchmarks/results/synth_twinify.json`` with the same key are replaced, others kept.

Each fit runs in its own subprocess with a timeout (peak memory is that process's resident set, imports included).
Data: the first ``rows`` rows of UCI Adult and a few categorical columns without missing values (4 columns: sex,
race, income-per-year, relationship; 6 columns: + marital-status, education), encoded without a missing code.
Error is the mean total variation distance between real and synthetic marginals over all 2-way and all 3-way
marginals (``benchmarks.synth_adult._errors``). Baselines on the same subset: ``independent`` (columns shuffled
on their own) and ``resample`` (the sampling floor).

Peers, run with their own defaults on the same rows and columns and the same (epsilon, delta):
- ``stock-napsu``: ``twinify.napsu_mq.NapsuMQModel([]).fit(df, rng, epsilon, delta)``: twinify's own MST query
  selection (which spends epsilon on its own, on top of the measurements), its own Gaussian noise, Laplace
  approximation and NUTS with 4 chains x 2,000 draws after 800 warm-up; sampling with ``generate``.
- ``stock-dpvi``: twinify's CLI model loader (``twinify.cli.dpvi_loader``) with the CLI's defaults (automatic
  mixture model with k = 50, 200 epochs, sampling ratio 0.01, clipping 1, Adam 1e-3), every column categorical.

``profile-*`` rows split the time of one NAPSU-MQ posterior into XLA compile and run for twinify's Markov network
(variable elimination unrolled in Python) and for anonlab's dense-joint model.

Every row records the 1-minute load average (``uptime``) before and after it: the machine has 2 cores shared with
other jobs, so times are inflated by contention.
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
COLS4 = ["sex", "race", "income-per-year", "relationship"]
COLS6 = COLS4 + ["marital-status", "education"]
EPSILON = 1.0
DELTA = 1e-6


def _load(rows: int, ncols: int):
    from anonlab.datasets import load_adult
    from anonlab.schema import Schema
    from anonlab.synth.release import adult_schema

    cols = COLS4 if ncols == 4 else COLS6
    df = load_adult()[cols].head(rows).reset_index(drop=True)
    full = adult_schema()
    return df, Schema(tuple(full[c] for c in cols))


def _cat_frame(df, schema):
    """The subset with every column a pandas Categorical over its public categories (twinify's input form)."""
    import pandas as pd

    return pd.DataFrame(
        {c.name: pd.Categorical(df[c.name], categories=list(c.categories)) for c in schema.columns}
    )


def _load_avg() -> float:
    return round(os.getloadavg()[0], 2)


def _stock_napsu(df, schema, seed: int, epsilon: float):
    import d3p.random
    from twinify.napsu_mq import NapsuMQModel

    data = _cat_frame(df, schema)
    rng_fit, rng_gen = d3p.random.split(d3p.random.PRNGKey(seed), 2)
    start = time.perf_counter()
    result = NapsuMQModel([]).fit(data, rng_fit, epsilon, DELTA)
    fit_s = time.perf_counter() - start
    syn = result.generate(rng_gen, 100, -(-len(df) // 100), single_dataframe=True).head(len(df))
    return fit_s, syn.astype(object)


def _stock_dpvi(df, schema, seed: int, epsilon: float):
    import d3p.random
    from twinify.cli.dpvi_loader import _load_cli_dpvi_automodel

    folder = Path(os.environ.get("TMPDIR", "/tmp"))
    spec = folder / f"anonlab-stock-dpvi-{os.getpid()}.txt"
    spec.write_text("".join(f"{c}: categorical\n" for c in df.columns))
    try:
        # the twinify CLI's defaults: k 50, 200 epochs, sampling ratio 0.01, clipping threshold 1
        model = _load_cli_dpvi_automodel(str(spec), 50, 1.0, 200, 0.01, False)
    finally:
        spec.unlink()
    rng_fit, rng_gen = d3p.random.split(d3p.random.PRNGKey(seed), 2)
    start = time.perf_counter()
    result = model.fit(df.astype(str), rng_fit, epsilon, DELTA, silent=True)
    fit_s = time.perf_counter() - start
    syn = result.generate(rng_gen, len(df), 1, single_dataframe=True)
    return fit_s, syn


def _progress(out: dict) -> None:
    path = os.environ.get("ANONLAB_PROFILE_OUT")
    if path:
        Path(path).write_text(json.dumps({"profile": out}))


def _profile(which: str, df, schema, seed: int) -> dict:
    """Split one NAPSU-MQ posterior into compile and run times (Laplace step and a short NUTS run).

    Writes the figures so far to ``$ANONLAB_PROFILE_OUT`` after each phase, so a run cut short by the timeout
    still reports.
    """
    import jax
    import jax.numpy as jnp
    import numpy as np
    import numpyro.infer.util as nutil
    import twinify.napsu_mq.maximum_entropy_inference as mei
    import twinify.napsu_mq.maximum_entropy_model as mem
    from twinify.dataframe_data import DataFrameData
    from twinify.napsu_mq.marginal_query import FullMarginalQuerySet
    from twinify.napsu_mq.markov_network import MarkovNetwork

    from anonlab.synth.twinify_methods import JointMaxEnt

    out: dict = {}
    frame = DataFrameData(_cat_frame(df, schema))
    names = list(frame.values_by_col)
    sets = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    queries = FullMarginalQuerySet(sets, frame.values_by_col).get_canonical_queries()
    t = time.perf_counter()
    if which == "twinify":
        med = MarkovNetwork(frame.values_by_col, queries)
    else:
        med = JointMaxEnt(frame.values_by_col, queries)
    out["build_s"] = round(time.perf_counter() - t, 2)
    _progress(out)
    suff = np.sum(queries.flatten()(frame.int_df.to_numpy()), axis=0).astype(float)
    n, sigma = len(df), 10.0
    t = time.perf_counter()
    # numpyro traces the model and compiles its potential and gradient to find a valid start
    _, potential_fn, _, _ = nutil.initialize_model(
        jax.random.PRNGKey(seed),
        mem.normal_prior_model_numpyro,
        model_args=(jnp.asarray(suff), n, sigma, 0.0, 10.0, med),
    )
    out["initialize_model_s"] = round(time.perf_counter() - t, 2)
    _progress(out)
    lam = jnp.zeros(med.lambda_d)
    pot = jax.jit(lambda x: potential_fn({"lambdas": x}))
    grad = jax.jit(jax.grad(lambda x: potential_fn({"lambdas": x})))
    for name, fn in (("potential", pot), ("gradient", grad)):
        t = time.perf_counter()
        jax.block_until_ready(fn(lam))
        first = time.perf_counter() - t
        t = time.perf_counter()
        jax.block_until_ready(fn(lam + 0.01))
        out[f"{name}_compile_s"] = round(first - (time.perf_counter() - t), 2)
        out[f"{name}_run_ms"] = round(1000 * (time.perf_counter() - t), 2)
        _progress(out)
    out["lambda_d"] = int(med.lambda_d)
    t = time.perf_counter()
    try:  # twinify's own Laplace step (JAX BFGS from a random start, up to 5 retries)
        approx, _ = mei.run_numpyro_laplace_approximation(
            jax.random.PRNGKey(seed), jnp.asarray(suff), n, sigma, med
        )
        out["laplace_s"] = round(time.perf_counter() - t, 2)
    except mei.ConvergenceException:
        out["twinify_laplace"] = f"failed to converge after {time.perf_counter() - t:.1f} s"
        # then anonlab's Laplace step (L-BFGS from zero), only to start the NUTS timings below
        from anonlab.synth.twinify_methods import _MVN, _laplace, _laplace_cov

        t = time.perf_counter()
        mode, prec, _ = _laplace(lambda x: potential_fn({"lambdas": x}), med.lambda_d, 500)
        approx = _MVN(jnp.asarray(mode), jnp.asarray(_laplace_cov(prec, 0.01)))
        out["anonlab_laplace_s"] = round(time.perf_counter() - t, 2)
    for draws, key in ((10, seed), (20, seed + 1)):
        _progress(out)
        t = time.perf_counter()
        mei.run_numpyro_mcmc_normalised(
            jax.random.PRNGKey(key),
            jnp.asarray(suff),
            n,
            sigma,
            med,
            approx,
            num_samples=draws,
            num_warmup=draws,
            disable_progressbar=True,
        )
        out[f"nuts_{draws}_{draws}_s"] = round(time.perf_counter() - t, 2)
    # the same program twice as long: the difference is the run time of 20 more draws, the rest is compile
    out["nuts_compile_estimate_s"] = round(2 * out["nuts_10_10_s"] - out["nuts_20_20_s"], 1)
    return out


def run_one(spec: dict) -> dict:
    import resource

    from benchmarks.synth_adult import BASELINES, _errors, baseline

    method, rows, ncols, seed = spec["method"], spec["rows"], spec["ncols"], spec["seed"]
    eps = spec.get("epsilon")
    df, schema = _load(rows, ncols)
    row: dict = {}
    if method.startswith("profile-"):
        row["profile"] = _profile(method.split("-", 1)[1], df, schema, seed)
        row["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return row
    start = time.perf_counter()
    if method in BASELINES:
        syn = baseline(method, df, seed)
        fit_s = time.perf_counter() - start
    elif method == "stock-napsu":
        fit_s, syn = _stock_napsu(df, schema, seed, eps)
    elif method == "stock-dpvi":
        fit_s, syn = _stock_dpvi(df, schema, seed, eps)
    else:
        from anonlab.synth import Budget, get_method

        model = get_method(method)(seed=seed, missing=False, **spec.get("params", {}))
        model.fit(df, schema, Budget(eps, DELTA))
        fit_s = time.perf_counter() - start
        syn = model.sample(len(df), seed=seed + 1)
        row["privacy"] = {
            k: v
            for k, v in model.privacy_.details.items()
            if k not in ("queries",) and not isinstance(v, list)
        }
    total_s = time.perf_counter() - start
    tv2, tv3 = _errors(df, schema, syn, False)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    row.update(
        cpu_s=round(usage.ru_utime + usage.ru_stime, 1),
        fit_s=round(fit_s, 1),
        total_s=round(total_s, 1),
        peak_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        tv2=round(tv2, 4),
        tv3=round(tv3, 4),
    )
    return row


def _key(spec: dict) -> str:
    par = ",".join(f"{k}={v}" for k, v in sorted(spec.get("params", {}).items()))
    return f"{spec['method']}|{spec['rows']}x{spec['ncols']}|{spec.get('epsilon')}|{par}|{spec['seed']}"


def _plan(seed: int) -> list[dict]:
    plan: list[dict] = []
    for rows, ncols in ((2000, 4), (10000, 4), (2000, 6), (10000, 6)):
        base = {"rows": rows, "ncols": ncols, "seed": seed}
        plan += [dict(base, method="independent"), dict(base, method="resample")]
        plan += [dict(base, method=m, epsilon=EPSILON) for m in ("napsu", "dpvi")]
    plan += [
        {"rows": 2000, "ncols": 4, "seed": seed, "method": m, "epsilon": EPSILON}
        for m in ("stock-napsu", "stock-dpvi")
    ]
    plan += [
        {"rows": 2000, "ncols": 4, "seed": seed, "method": m} for m in ("profile-dense", "profile-twinify")
    ]
    return plan


def _read() -> dict:
    path = RESULTS / "synth_twinify.json"
    if path.exists():
        return {r["key"]: r for r in json.loads(path.read_text())["runs"]}
    return {}


def _fmt_row(r: dict) -> str:
    eps = "-" if r.get("epsilon") is None else f"{r['epsilon']:g}"
    par = ", ".join(f"{k}={v}" for k, v in (r.get("params") or {}).items()) or "defaults"
    if r.get("code_note"):
        par += f" ({r['code_note']})"
    data = f"{r['rows']} x {r['ncols']}"
    load = f"{r.get('load_before')} / {r.get('load_after')}"
    if "error" in r:
        return f"| {r['method']} | {data} | {eps} | {par} | failed: {r['error']} | | | | | | {load} |"
    return (
        f"| {r['method']} | {data} | {eps} | {par} | {r['fit_s']} | {r['total_s']} | {r.get('cpu_s', '')} | "
        f"{r['peak_mb']} | "
        f"{r['tv2']:.4f} | {r['tv3']:.4f} | {load} |"
    )


def _write(runs: dict, note: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = sorted(runs.values(), key=lambda r: (r["ncols"], r["rows"], r["method"]))
    (RESULTS / "synth_twinify.json").write_text(json.dumps({"note": note, "runs": rows}, indent=1) + "\n")
    lines = [
        "# twinify methods on Adult subsets: anonlab vs stock twinify",
        "",
        note,
        "",
        "| method | rows x columns | epsilon | params | fit (s) | fit + sample (s) | process CPU (s) | "
        "peak RSS (MB) | mean 2-way TV | mean 3-way TV | load 1-min before / after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_fmt_row(r) for r in rows if not r["method"].startswith("profile-")]
    lines += ["", "## Against stock twinify (same rows, columns, epsilon and delta; default parameters)", ""]
    for r in rows:
        if not r["method"].startswith("stock-"):
            continue
        ours = next(
            (
                o
                for o in rows
                if o["method"] == r["method"][6:]
                and (o["rows"], o["ncols"]) == (r["rows"], r["ncols"])
                and not o.get("params")
                and "fit_s" in o
            ),
            None,
        )
        if ours is None:
            continue
        what = f"`{ours['method']}` on {r['rows']} x {r['ncols']}"
        if "fit_s" in r:
            lines.append(
                f"- {what}: {r['fit_s'] / max(ours['fit_s'], 1e-9):.1f}x faster ({ours['fit_s']} s against "
                f"{r['fit_s']} s); 2-way TV {ours['tv2']:.4f} against {r['tv2']:.4f}"
            )
        else:
            limit = float(r.get("timeout_s", 900))
            lines.append(
                f"- {what}: stock did not finish ({r['error']}); ours took {ours['fit_s']} s, so at least "
                f"{limit / max(ours['fit_s'], 1e-9):.1f}x faster"
            )
    prof = [r for r in rows if r["method"].startswith("profile-")]
    if prof:
        lines += ["", "## Where NAPSU-MQ's time goes (one posterior, 2,000 x 4, all 6 pairs)", ""]
        for r in prof:
            detail = ", ".join(f"{k} {v}" for k, v in r.get("profile", {}).items())
            if "error" in r:
                detail = f"{detail}; {r['error']}" if detail else r["error"]
            lines.append(f"- `{r['method']}`: {detail} (load {r.get('load_before')} / {r.get('load_after')})")
    (RESULTS / "synth_twinify.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per fit (one subprocess)")
    p.add_argument("--only", default=None, help="comma-separated methods to (re)run from the plan")
    p.add_argument("--rows", default=None, help="comma-separated ROWSxCOLS to restrict the plan, e.g. 2000x4")
    p.add_argument("--extra", default=None, help="a JSON spec (or list of specs) to run besides the plan")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return 0
    plan = _plan(args.seed)
    if args.only:
        keep = set(args.only.split(","))
        plan = [s for s in plan if s["method"] in keep]
    if args.rows:
        keep = set(args.rows.split(","))
        plan = [s for s in plan if f"{s['rows']}x{s['ncols']}" in keep]
    if args.extra:
        extra = json.loads(args.extra)
        plan += extra if isinstance(extra, list) else [extra]
    note = (
        f"Seed {args.seed}; epsilon {EPSILON:g}, delta {DELTA:g}; the first rows of UCI Adult, columns "
        f"{', '.join(COLS4)} (x 4) plus {', '.join(COLS6[4:])} (x 6), no missing code. Each fit in its own "
        "process with a timeout (900 s for fits; a row that hit it says so) on 2 CPU cores shared with other "
        "jobs (the load columns show how shared; process CPU time is the less contended figure). "
        "`python -m benchmarks.synth_twinify`."
    )
    for spec in plan:
        print(f"running {_key(spec)}", file=sys.stderr, flush=True)
        row = dict(
            spec,
            key=_key(spec),
            load_before=_load_avg(),
            measured=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            timeout_s=args.timeout,
        )
        cmd = [sys.executable, "-m", "benchmarks.synth_twinify", "--one", json.dumps(spec)]
        start = time.perf_counter()
        progress = Path(os.environ.get("TMPDIR", "/tmp")) / f"anonlab-profile-{os.getpid()}.json"
        progress.unlink(missing_ok=True)
        env = dict(os.environ, ANONLAB_PROFILE_OUT=str(progress))
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=env)
            if out.returncode != 0:
                raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed")
            row.update(json.loads(out.stdout.strip().splitlines()[-1]))
        except subprocess.TimeoutExpired:
            row["error"] = (
                f"timed out after {args.timeout:g} s (process wall {time.perf_counter() - start:.0f} s)"
            )
            if progress.exists():
                row.update(json.loads(progress.read_text()))
        except (RuntimeError, json.JSONDecodeError, IndexError) as exc:
            row["error"] = str(exc)[:300]
        progress.unlink(missing_ok=True)
        row["load_after"] = _load_avg()
        print(json.dumps(row), file=sys.stderr, flush=True)
        runs = _read()  # re-read: another invocation may have added rows meanwhile
        runs[row["key"]] = row
        _write(runs, note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
