"""anonlab's MST and AIM side by side with smartnoise-synth's MST and AIM on UCI Adult.

Run: ``python -m benchmarks.synth_smartnoise`` (epsilon 1, 0.3, 3 in that order), or ``--epsilons 1``,
``--methods mst,smartnoise-mst``, ``--append`` (keep the rows already in the results). smartnoise-synth does not
install beside anonlab's pinned stack (it needs pandas 2 and private-pgm's ``mbi`` 1.x), so it runs in its own venv:
``$SMARTNOISE_PYTHON``, default ``.bench-venvs/smartnoise/bin/python`` (``make bench-peers``, pins in
``benchmarks/peers/smartnoise.txt``), through ``benchmarks/_smartnoise_peer.py``.

The data is prepared exactly as in :mod:`benchmarks.synth_adult`: all 15 Adult columns, numbers binned on the
bundled public schema's bounds (32 bins), a "missing" code per column. smartnoise gets the integer codes with the
public number of codes of each column as a known domain (its transformers are fitted on the public code lists,
never on the data, so it reads no domain from the data and spends no budget on preprocessing). anonlab's methods
get the table itself and encode it on the same schema. Every fit runs in its own process with a timeout; fit time
is the fit call only, peak memory that process's own resident set (imports included: smartnoise's venv imports
torch, JAX and pandas 2). Error is the mean total variation distance over all 2-way (105) and 3-way (455)
marginals on that binning, computed in anonlab's venv by the same code for every method (smartnoise's codes are
decoded, then re-encoded like anonlab's output). Baselines: ``independent`` and ``resample`` as in synth_adult.

After each smartnoise fit the same fitted model is also sampled with mbi's i.i.d. sampler and scored as a
separate, labelled diagnostic row (``--no-iid`` skips it): smartnoise's default sampler in mbi 1.1.0 correlates
columns through the row index, which hides the quality of the fitted model.

Each library runs with its own defaults: anonlab's AIM has a 3-way workload and a 480 s time cap; smartnoise's
AIM (like private-pgm's reference mechanism) a 2-way workload and no time cap. Results go to
benchmarks/results/synth_smartnoise.json and .md, rewritten after every run; the 1-minute load average is
recorded before and after each run, since the machine is shared and timings are inflated by contention.
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

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
NAME = "synth_smartnoise"
DEFAULT_PYTHON = HERE.parent / ".bench-venvs" / "smartnoise" / "bin" / "python"
DATA = "Adult 32,561 x 15"
METHODS = ("mst", "smartnoise-mst", "aim", "smartnoise-aim")


def peer_python() -> str:
    return os.environ.get("SMARTNOISE_PYTHON", str(DEFAULT_PYTHON))


def _load_avg() -> float:
    return round(os.getloadavg()[0], 2)


def _children_cpu() -> float:
    """User + system CPU seconds of the finished (or killed and reaped) child processes so far."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _anonlab_versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {}
    for pkg in ("anonlab", "numpy", "pandas", "opendp"):
        try:
            out[pkg] = version(pkg)
        except Exception:  # noqa: BLE001 - report what is there
            out[pkg] = "missing"
    out["python"] = sys.version.split()[0]
    git = ["git", "-C", str(HERE.parent)]
    try:
        head = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout
        dirty = subprocess.run(
            git + ["status", "--porcelain", "anonlab"], capture_output=True, text=True
        ).stdout
        out["commit"] = head.strip() + (" + uncommitted changes under anonlab/" if dirty.strip() else "")
    except OSError:
        out["commit"] = "unknown"
    return out


def _peer_versions(python: str) -> dict[str, str] | str:
    code = (
        "import json, sys\nfrom importlib.metadata import version\n"
        "print(json.dumps({p: version(p) for p in ('smartnoise-synth', 'smartnoise-sql', 'opendp', 'mbi', 'jax', "
        "'numpy', 'pandas', 'scipy')} | {'python': sys.version.split()[0]}))"
    )
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120)
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError, IndexError) as exc:
        return f"not available at {python}: {type(exc).__name__}"


def run_smartnoise(
    method: str,
    epsilon: float,
    delta: float,
    seed: int,
    timeout: float,
    params: dict,
    keep: str | None = None,
    iid: bool = True,
) -> list[dict]:
    """Fit smartnoise's ``method`` (mst / aim) in its own venv on the coded Adult table and measure it.

    Returns one row, or two with ``iid``: the second scores the same fitted model sampled with mbi's i.i.d.
    sampler instead of smartnoise's default (a diagnostic, see ``_smartnoise_peer._sample_iid``)."""
    import numpy as np
    import pandas as pd

    from anonlab.synth.encoding import Encoding
    from benchmarks.synth_adult import _errors, _load

    df, schema = _load(None)
    enc = Encoding.from_schema(schema, missing=True)
    codes, _ = enc.encode(schema.coerce(df))
    row = {"method": f"smartnoise-{method}", "epsilon": epsilon, "data": DATA, "params": params}
    with tempfile.TemporaryDirectory(prefix="anonlab-smartnoise-") as tmp:
        data, out, spec_path = (
            Path(tmp, "adult_codes.csv"),
            Path(tmp, "synthetic.csv"),
            Path(tmp, "spec.json"),
        )
        pd.DataFrame(codes, columns=enc.names).to_csv(data, index=False)
        spec = {
            "method": method,
            "epsilon": epsilon,
            "delta": delta,
            "seed": seed,
            "columns": enc.names,
            "sizes": [int(k) for k in enc.sizes],
            "data": str(data),
            "out": str(out),
            "out_iid": str(Path(tmp, "synthetic_iid.csv")) if iid else None,
            "params": params,
        }
        spec_path.write_text(json.dumps(spec))
        python = peer_python()
        if not Path(python).exists():
            return [row | {"error": f"no smartnoise interpreter at {python} (make bench-peers)"}]
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                [python, str(HERE / "_smartnoise_peer.py"), str(spec_path)],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return [
                row | {"error": f"timed out after {timeout:g} s (wall {time.perf_counter() - start:.0f} s)"}
            ]
        try:
            res = json.loads(proc.stdout.strip().splitlines()[-1])
        except (json.JSONDecodeError, IndexError):
            tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
            return [row | {"error": f"exit {proc.returncode}: {tail[0][:200]}"}]
        if "error" in res:
            return [row | {"error": res["error"][:200]}]
        fakes = {"": pd.read_csv(out, dtype="int64")[enc.names].to_numpy()}
        if iid and "sample_iid_s" in res:
            fakes["iid"] = pd.read_csv(spec["out_iid"], dtype="int64")[enc.names].to_numpy()
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out, Path(keep, f"smartnoise-{method}-eps{epsilon:g}-codes.csv"))
    errors = {}
    for key, fake in fakes.items():
        errors[key] = _errors(df, schema, enc.decode(fake, np.random.default_rng(seed + 1)), True)
    tv2, tv3 = errors[""]
    rows = []
    if "iid" in errors:
        rows.append(
            row
            | {
                "method": f"smartnoise-{method}, i.i.d. sampling",
                "params": params | {"sampler": "mbi method=sample (diagnostic, not smartnoise's default)"},
                "fit_s": round(res["fit_s"], 1),
                "sample_s": round(res["sample_iid_s"], 1),
                "peak_mb": round(res["peak_mb"]),
                "tv2": round(errors["iid"][0], 4),
                "tv3": round(errors["iid"][1], 4),
                "note": "same fitted model as the row above; fit time, CPU and peak memory are that fit's",
            }
        )
    return [
        row
        | {
            "fit_s": round(res["fit_s"], 1),
            "sample_s": round(res["sample_s"], 1),
            "rows": res["rows"],
            "peak_mb": round(res["peak_mb"]),
            "tv2": round(tv2, 4),
            "tv3": round(tv3, 4),
            "versions": res["versions"],
        }
    ] + rows


def _plan(args) -> list[tuple[str, float | None, dict]]:
    plan: list[tuple[str, float | None, dict]] = []
    if not args.append:
        plan += [("independent", None, {}), ("resample", None, {})]
    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise SystemExit(f"unknown methods {unknown}; choose from {', '.join(METHODS)}")
    for eps in [float(e) for e in args.epsilons.split(",")]:
        for m in METHODS:
            if m not in methods:
                continue
            params: dict = {}
            if m == "aim" and args.aim_max_time is not None:
                params = {"max_time": args.aim_max_time}
            elif m == "smartnoise-aim" and args.smartnoise_aim_degree is not None:
                params = {"degree": args.smartnoise_aim_degree}
            plan.append((m, eps, params))
    return plan


def _note(args) -> str:
    return (
        f"Full Adult (32,561 rows x 15 columns, numbers in 32 bins on the public schema's bounds, a missing code "
        f"per column); delta {args.delta:g}; seed {args.seed} (anonlab: the fit's seeded samplers, sampling seed "
        f"+1; smartnoise: numpy.random seeded, but its Gaussian noise comes from OpenDP's unseeded samplers). "
        f"Timeouts per fit: MST {args.mst_timeout:g} s, AIM {args.aim_timeout:g} s. Each library with its own "
        "defaults: anonlab AIM has a 3-way workload, model cap 200,000 cells and a 480 s time cap; smartnoise AIM "
        "a 2-way workload (private-pgm's reference default), max_model_size 80 MB and no time cap; smartnoise MST "
        "compresses rare codes of the 1-way marginals (private-pgm's domain compression), anonlab's MST does not. "
        "Peak RSS is each fit's own process, imports included (smartnoise's venv imports torch and JAX); process "
        "CPU is that process's user + system CPU seconds, start to exit (imports, data, fit, sample), less "
        "sensitive to contention than wall time (blank for rows measured before it was recorded). "
        "Rows 'i.i.d. sampling' are a diagnostic: the same fitted smartnoise model, sampled with mbi's "
        "`synthetic_data(method='sample')` instead of smartnoise's default `'round'`, which in mbi 1.1.0 (the "
        "newest smartnoise-synth 1.0.8 allows: mbi<2) fills each column in row order within each group of its "
        "parents' values without shuffling, so columns the model keeps independent come out correlated through "
        "the row index (mbi 2.0.0 shuffles within groups). "
        "**Timings are inflated**: the machine has 2 CPU cores shared with other engineers' jobs; the 1-minute "
        "load average before/after each run is in the table. Compare within one run."
    )


def _write(rows: list[dict], note: str, versions: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{NAME}.json").write_text(
        json.dumps({"note": note, "versions": versions, "runs": rows}, indent=1) + "\n"
    )
    lines = [
        "# anonlab vs smartnoise-synth: MST and AIM on UCI Adult",
        "",
        note,
        "",
        "Versions: " + "; ".join(f"{k}: " + json.dumps(v).replace('"', "") for k, v in versions.items()),
        "",
        "| method | epsilon | params | fit (s) | process CPU (s) | peak RSS (MB) | mean 2-way TV | mean 3-way TV "
        "| load before / after | measured (UTC) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        eps = "-" if r.get("epsilon") is None else f"{r['epsilon']:g}"
        par = ", ".join(f"{k}={v}" for k, v in (r.get("params") or {}).items()) or "defaults"
        load = f"{r.get('load_before', '')} / {r.get('load_after', '')}"
        when = r.get("started", "")
        cpu = r.get("process_cpu_s", "")
        if "error" in r:
            lines.append(
                f"| {r['method']} | {eps} | {par} | failed: {r['error']} | {cpu} | | | | {load} | {when} |"
            )
            continue
        lines.append(
            f"| {r['method']} | {eps} | {par} | {r['fit_s']} | {cpu} | {r['peak_mb']} | {r['tv2']:.4f} | {r['tv3']:.4f} "
            f"| {load} | {when} |"
        )
    (RESULTS / f"{NAME}.md").write_text("\n".join(lines) + "\n")


def _run_anonlab(method: str, eps: float | None, seed: int, params: dict, timeout: float) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.synth_adult", "--one", method, "--seed", str(seed)]
    cmd += ["--params", json.dumps(params)]
    if eps is not None:
        cmd += ["--epsilon", str(eps)]
    start = time.perf_counter()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=HERE.parent)
    except subprocess.TimeoutExpired:
        wall = time.perf_counter() - start
        msg = f"timed out after {timeout:g} s (wall {wall:.0f} s)"
        return {"method": method, "epsilon": eps, "data": DATA, "params": params, "error": msg}
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        tail = out.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"method": method, "epsilon": eps, "data": DATA, "params": params, "error": tail[0][:200]}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", default=",".join(METHODS), help=f"any of {', '.join(METHODS)}")
    p.add_argument("--epsilons", default="1,0.3,3")
    p.add_argument("--delta", type=float, default=1e-9)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--mst-timeout", type=float, default=1200.0, help="seconds allowed per MST fit")
    p.add_argument("--aim-timeout", type=float, default=1800.0, help="seconds allowed per AIM fit")
    p.add_argument("--aim-max-time", type=float, default=None, help="anonlab AIM max_time (default its own)")
    p.add_argument("--smartnoise-aim-degree", type=int, default=None, help="smartnoise AIM workload degree")
    p.add_argument(
        "--append", action="store_true", help="keep the rows already in the results (no baselines)"
    )
    p.add_argument(
        "--no-iid",
        action="store_true",
        help="skip the diagnostic i.i.d. resample of smartnoise's fitted model",
    )
    p.add_argument("--keep", default=None, help="folder to keep smartnoise's synthetic codes in (diagnosis)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.delta != 1e-9:
        raise SystemExit(
            "anonlab's rows come from benchmarks.synth_adult, which uses delta 1e-9 on full Adult"
        )
    note = _note(args)
    versions = {"anonlab venv": _anonlab_versions(), "smartnoise venv": _peer_versions(peer_python())}
    rows: list[dict] = []
    if args.append and (RESULTS / f"{NAME}.json").exists():
        rows = json.loads((RESULTS / f"{NAME}.json").read_text())["runs"]
    for method, eps, params in _plan(args):
        timeout = args.aim_timeout if method.endswith("aim") else args.mst_timeout
        print(f"running {method} epsilon={eps} params={params}", file=sys.stderr, flush=True)
        started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
        load_before = _load_avg()
        cpu_before = _children_cpu()
        if method.startswith("smartnoise-"):
            new = run_smartnoise(
                method.split("-", 1)[1],
                eps,
                args.delta,
                args.seed,
                timeout,
                params,
                args.keep,
                not args.no_iid,
            )
        else:
            new = [_run_anonlab(method, eps, args.seed, params, timeout)]
        cpu_s = round(_children_cpu() - cpu_before, 1)
        for row in new:
            row |= {
                "started": started,
                "load_before": load_before,
                "load_after": _load_avg(),
                "seed": args.seed,
            }
            row["process_cpu_s"] = cpu_s
            print(json.dumps(row), file=sys.stderr, flush=True)
            rows.append(row)
        _write(rows, note, versions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
