"""`anonlab evaluate`: utility and re-identification risk of one release, with a verdict per metric."""

from __future__ import annotations

import argparse

from anonlab.cli._common import (
    add_command,
    add_force,
    add_json,
    add_json_out,
    add_quiet,
    add_seed,
    columns,
    positive_int,
)

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
  anonlab evaluate train.csv synth.csv --holdout holdout.csv --report report.html --json-out metrics.json
  anonlab evaluate --json train.csv release.csv --holdout holdout.csv --quasi age,sex,zip > metrics.json"""


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
        help="schema (a TOML file, or `adult` for the bundled one): column types, and roles (identifier columns "
        "are left out; quasi and sensitive "
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
    add_json(p)
    add_json_out(p, "every metric")
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
    add_quiet(p)
    add_seed(p, "every sample and split of the evaluation")
    add_force(p)


def _config(args: argparse.Namespace):
    from anonlab.evaluation import EvaluationConfig

    return EvaluationConfig(
        dcr_rows=args.dcr_rows,
        mia_candidates=args.mia_candidates,
        anonymeter_rows=args.anonymeter_rows,
        anonymeter_attacks=args.anonymeter_attacks,
        anonymeter_seconds=args.anonymeter_seconds,
        skip=tuple(args.skip),
    )


def _check_outputs(args: argparse.Namespace, json_file: str | None) -> None:
    from anonlab.io import check_output, guard_outputs

    protected = {"input": [args.real, args.release, args.holdout], "schema": args.schema}
    protected["privacy report"] = [args.privacy_report, args.release + ".json"]
    guard_outputs([args.report, json_file], protected)
    for o in (args.report, json_file):
        if o:
            check_output(o, args.force)
    if args.report:
        from anonlab.evaluation.report.plots import check_installed

        check_installed()


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from anonlab.cli._common import print_json, show_progress
    from anonlab.evaluation import evaluate
    from anonlab.evaluation.privacy_report import read_privacy_report, sidecar
    from anonlab.io import read_table, write_text
    from anonlab.schema import Schema

    json_file = args.json_out
    _check_outputs(args, json_file)
    report = args.privacy_report
    if report is None and (report := sidecar(args.release)) is not None and not args.quiet:
        print(f"anonlab evaluate: reading the privacy spent from {report}", file=sys.stderr)
    config, privacy = _config(args), read_privacy_report(report)
    schema = Schema.load(args.schema) if args.schema else None
    ev = evaluate(
        read_table(args.real),
        read_table(args.release),
        read_table(args.holdout) if args.holdout else None,
        schema=schema,
        target=args.target,
        quasi=args.quasi,
        sensitive=args.sensitive,
        config=config,
        seed=args.seed,
        label=args.label or Path(args.release).name,
        privacy=privacy,
        progress=show_progress(args),
    )
    for f in ev.flags:
        print(f"anonlab evaluate: warning: {f}", file=sys.stderr)
    if args.report:
        ev.to_html(args.report, force=args.force)
    if json_file:
        write_text(
            json_file, json.dumps(ev.to_dict(), indent=2, default=str, allow_nan=False) + "\n", args.force
        )
    if args.json:
        print_json(ev.to_dict())
        return 0
    head, *lines = ev.summary_lines()
    print(f"anonlab evaluate: {head}", *lines, sep="\n")
    for o, what in ((args.report, "report"), (json_file, "metrics")):
        if o:
            print(f"wrote {what} to {o}")
    return 0
