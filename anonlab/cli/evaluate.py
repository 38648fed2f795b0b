"""`anonlab evaluate`: utility and re-identification risk of one release, with a verdict per metric."""

from __future__ import annotations

import argparse

from anonlab.cli._common import add_command, add_force, add_seed, columns, positive_int

DESCRIPTION = """\
Measure what a release (synthetic data, or a generalised / k-anonymous table) keeps of the real data and what
it gives away about the people in it.

REAL is the table the release was made from (its "training" records); RELEASE is the release. Give --holdout:
real records from the same population that the release never saw (for example the part of your data you kept
back before releasing). Risk can only be measured against them: membership inference, the distance-to-closest-
record share and anonymeter's attacks ask whether the release reveals more about its own records than about
strangers. Without --holdout those are skipped and TSTR tests on part of REAL (optimistic).

Utility: 1-, 2-, 3-way marginal total variation distance; correlation, Cramer's V and Theil's U differences;
train-on-release / test-on-real (gradient boosting, logistic regression) against train-on-real; SDMetrics'
quality score. Risk: distance to closest record, distance and density (DOMIAS-style) membership inference (AUC
with a 95% interval), anonymeter's singling-out, linkability and inference risk (Giomi et al. 2023; anonlab's
implementation, on a sample), and, for a generalised release, assess's k and prosecutor risk. Generalised cells (30-39, {a,b}, *) are read by
drawing uniformly within each cell before the utility metrics; the report says so.

Every table is read through the schema's column types (--schema, else the types inferred from REAL), so a value
compares equal whatever its formatting (1, 1.0, "1"). A numeric target with two values or a few whole-number codes
is a class label. Each utility verdict is relative to baselines computed in the same run on the same binning:
independent columns, the sampling floor (holdout against REAL) and, for a DP release with a known epsilon, the same
budget spent on 1-way marginals only; a release worse than independent columns is POOR. Any column whose 1-way
total variation distance exceeds 0.2 is flagged with a warning. A metric that cannot be computed is reported as
such, with the reason. anonymeter's singling-out search is bounded to a number of attempts proportional to the
table and each attack to --anonymeter-seconds; on holdouts under 1,000 records the attacks are repeated over 5
seeds and the verdict takes the most pessimistic. docs/evaluation.md states the rule in full.

These are empirical attacks: they can show that a release is unsafe, never prove that it is safe. Only a
differentially private release carries a guarantee, and that guarantee is its maker's (see --privacy-report).

Examples:
  anonlab evaluate train.csv synth.csv --holdout holdout.csv --report report.html --json metrics.json
  anonlab evaluate train.csv release.csv --holdout holdout.csv --quasi age,sex,zip --json"""


def add_parser(sub) -> None:
    p = add_command(
        sub,
        "evaluate",
        help="utility and re-identification risk of one release",
        description=DESCRIPTION,
        func=run,
    )
    p.add_argument("real", metavar="REAL", help="the real table the release was made from (CSV/TSV/Parquet)")
    p.add_argument("release", metavar="RELEASE", help="the release to evaluate (synthetic or generalised)")
    p.add_argument(
        "--holdout",
        metavar="HOLDOUT",
        help="real records the release never saw; needed for every risk metric that compares members "
        "with non-members",
    )
    p.add_argument(
        "--schema",
        metavar="TOML",
        help="schema: column types, and roles (identifier columns are left out; quasi and sensitive "
        "roles give the defaults of --quasi and --target)",
    )
    p.add_argument(
        "--target",
        metavar="COL",
        help="column TSTR predicts and the inference attack tries to learn (default: the schema's "
        "sensitive column, else the last column)",
    )
    p.add_argument(
        "--quasi",
        type=columns,
        metavar="COLS",
        help="comma-separated columns an attacker may know (linkability attack, k-anonymity classes); "
        "default: the schema's quasi-identifiers, else the generalised columns",
    )
    p.add_argument(
        "--sensitive",
        type=columns,
        metavar="COLS",
        help="sensitive columns for assess's l-diversity / t-closeness on a generalised release",
    )
    p.add_argument("--report", metavar="HTML", help="write a self-contained HTML report (plots embedded)")
    p.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="FILE",
        help="write every metric as JSON to FILE, or to standard output when no FILE is given "
        "(put it after REAL and RELEASE)",
    )
    p.add_argument(
        "--privacy-report",
        metavar="JSON",
        help="the JSON report of the command that made the release; its privacy spent (epsilon, delta) "
        "is copied into this report (default: RELEASE.json, the sidecar anonlab synth writes, when it exists)",
    )
    p.add_argument("--label", default=None, help="name of the release in the report (default: the file name)")
    p.add_argument(
        "--dcr-rows",
        type=positive_int,
        default=20_000,
        metavar="N",
        help="released records measured for distance to closest record (sampled)",
    )
    p.add_argument(
        "--mia-candidates",
        type=positive_int,
        default=10_000,
        metavar="N",
        help="members and non-members per class in membership inference (sampled)",
    )
    p.add_argument(
        "--anonymeter-rows",
        type=positive_int,
        default=3_000,
        metavar="N",
        help="rows of each table given to anonymeter's attacks; larger gives tighter intervals (and takes longer)",
    )
    p.add_argument(
        "--anonymeter-attacks",
        type=positive_int,
        default=300,
        metavar="N",
        help="attacks of each kind anonymeter runs",
    )
    p.add_argument(
        "--anonymeter-seconds",
        type=positive_int,
        default=60,
        metavar="S",
        help="wall-clock cap per anonymeter attack; an attack stopped by it is reported as not computed",
    )
    p.add_argument(
        "--skip",
        type=columns,
        default=[],
        metavar="PARTS",
        help="comma-separated parts to leave out: marginals, associations, tstr, quality, dcr, "
        "membership, anonymeter, assess",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_seed(p, "every sample and split of the evaluation")
    add_force(p)


def _privacy(path: str | None) -> dict | None:
    if path is None:
        return None
    import json

    from anonlab.errors import InputError

    try:
        data = json.loads(open(path, encoding="utf-8").read())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a JSON report ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    for key in ("privacy", "privacy_spent", "spent", "budget"):
        if isinstance(data.get(key), dict):
            return data[key]
    if isinstance(data.get("privacy"), str) or "privacy_note" in data:
        return None  # the maker states that no formal guarantee was spent (a non-DP method)
    found = {k: data[k] for k in ("epsilon", "delta", "rho", "mechanism", "accountant") if k in data}
    if not found:
        raise InputError(f"{path}: no privacy section (privacy / epsilon / delta) found")
    return found


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from anonlab.cli._common import print_json
    from anonlab.evaluation.evaluate import EvaluationConfig, evaluate, seed_text
    from anonlab.evaluation.report import evaluation_html
    from anonlab.io import check_output, guard_outputs, read_table, write_text
    from anonlab.schema import Schema

    outputs = [o for o in (args.report, None if args.json in (None, "-") else args.json) if o]
    guard_outputs(
        outputs,
        {
            "input": [args.real, args.release, args.holdout],
            "schema": args.schema,
            "privacy report": [args.privacy_report, args.release + ".json"],
        },
    )
    for o in outputs:
        check_output(o, args.force)
    if (
        args.report
        and args.json not in (None, "-")
        and Path(args.report).resolve() == Path(args.json).resolve()
    ):
        from anonlab.errors import UsageError

        raise UsageError("--report and --json name the same file")
    if args.report:
        from anonlab.evaluation.plots import check_installed

        check_installed()
    config = EvaluationConfig(
        dcr_rows=args.dcr_rows,
        mia_candidates=args.mia_candidates,
        anonymeter_rows=args.anonymeter_rows,
        anonymeter_attacks=args.anonymeter_attacks,
        anonymeter_seconds=args.anonymeter_seconds,
        skip=tuple(args.skip),
    )
    schema = Schema.read(args.schema) if args.schema else None
    report = args.privacy_report
    if report is None and Path(args.release + ".json").is_file():
        report = args.release + ".json"  # the sidecar `anonlab synth` writes beside its output
        if not args.quiet:
            print(f"anonlab evaluate: reading the privacy spent from {report}", file=sys.stderr)
    privacy = _privacy(report)
    real = read_table(args.real)
    release = read_table(args.release)
    holdout = read_table(args.holdout) if args.holdout else None
    ev = evaluate(
        real,
        release,
        holdout,
        schema=schema,
        target=args.target,
        quasi=args.quasi,
        sensitive=args.sensitive,
        config=config,
        seed=args.seed,
        label=args.label or Path(args.release).name,
        privacy=privacy,
        progress=not args.quiet and sys.stderr.isatty(),
    )
    for f in ev.flags:
        print(f"anonlab evaluate: warning: {f}", file=sys.stderr)
    if args.report:
        write_text(args.report, evaluation_html(ev), args.force)
    if args.json not in (None, "-"):
        import json

        write_text(
            args.json, json.dumps(ev.to_dict(), indent=2, default=str, allow_nan=False) + "\n", args.force
        )
    if args.json == "-":
        print_json(ev.to_dict())
        return 0
    print(
        f"anonlab evaluate: {ev.label}: {ev.rows_release:,} released rows against {ev.rows_real:,} real"
        + (f" and {ev.rows_holdout:,} holdout" if ev.rows_holdout else " (no holdout)")
        + f"; {seed_text(ev.seed, ev.seed_given)}"
    )
    for v in ev.verdicts:
        print("  " + v.line())
    for n in ev.notes:
        if not n.startswith("warning: "):  # the flags went to standard error above
            print(f"  note: {n}")
    print(
        "  verdicts are relative to baselines computed in this run (docs/evaluation.md, 'The verdict rule')"
    )
    for o, what in ((args.report, "report"), (args.json if args.json != "-" else None, "metrics")):
        if o:
            print(f"wrote {what} to {o}")
    return 0
