"""`anonlab compare`: a study that releases one table by several methods and draws the privacy-utility frontier."""

from __future__ import annotations

import argparse

from anonlab.cli._common import add_command, add_force, add_json, add_json_out, add_quiet, add_seed

DESCRIPTION = """\
Run a study: split INPUT into training and holdout records (seeded), release the training records by each method
the recipe names (k-anonymity at several k and l; each synthesizer at several epsilon; the SDV baselines; the
untouched copy as the no-protection reference), evaluate every release exactly as `anonlab evaluate` does against
the same holdout, and draw the privacy-utility frontier: utility against risk, one point per release labelled with
its parameter, non-private baselines hollow, the Pareto frontier dashed.

Without --recipe the bundled default study runs (UCI Adult: copy, k-anonymity k=5/25/100 with l=2, MST at
epsilon 0.3/1/4, GaussianCopula; about 5-10 minutes on 2 cores). See docs/evaluation.md for the recipe format.

A study is an experiment, not a release: it releases the same training records many times on purpose. Each DP
release in it is a separate release of the same people, and the per-release epsilons do not compose into a
guarantee for the study's outputs; the study fits without a privacy ledger, knowingly, and its report says so.
Each synthesizer behaves as `anonlab synth` does (delta 1e-9 unless the recipe says otherwise; the method's
default row count, a DP estimate for DP methods). Verdicts follow the rule of `anonlab evaluate`, against
baselines computed once per study.

With --seed the DP releases of a study are seeded too, so the study can be rerun; a seeded DP release is private
only while its seed stays secret. Without --seed they draw their noise from the operating system's CSPRNG. The risk figures are empirical attacks: they can show a release is unsafe, never prove
it safe; only the DP releases carry a guarantee, shown as the privacy they spent.

Examples:
  anonlab datasets adult -o adult.csv
  anonlab compare adult.csv --report frontier.html --seed 0
  anonlab compare data.csv --recipe study.toml --report frontier.html --json-out frontier.json"""


def add_parser(sub) -> None:
    p = add_command(
        sub,
        "compare",
        help="release one table by several methods and draw the privacy-utility frontier",
        description=DESCRIPTION,
        func=run,
    )
    p.add_argument("input", metavar="INPUT", help="the table to study (CSV/TSV/Parquet)")
    p.add_argument(
        "--recipe",
        metavar="TOML",
        default=None,
        help="the study: methods and parameter grids, target, quasi-identifiers, schema (default: the "
        "bundled Adult study, anonlab/evaluation/recipes/default.toml)",
    )
    p.add_argument(
        "--report", metavar="HTML", help="write the self-contained HTML report (frontier, plots, tables)"
    )
    add_json(p)
    add_json_out(p, "every figure")
    add_quiet(p)
    add_seed(
        p,
        "the train / holdout split, every evaluation and every method's noise",
        secret="a seeded DP release is private only while its seed is secret; it is never written to outputs, "
        "reports or logs",
    )
    add_force(p)


def _progress_printer(args: argparse.Namespace, n: int):
    """``on_release`` for the study: one line per release on standard error as it finishes. A release's figures
    are progress (shown with the bars: on a terminal, without --quiet); a release that failed or was skipped (an
    optional extra not installed) is always said."""
    import sys

    from anonlab.cli._common import show_progress

    done, show = [0], show_progress(args)

    def on_release(label, ev, error):
        done[0] += 1
        if error:
            state = error if error.startswith("skipped: ") else f"FAILED: {error}"
            print(f"[{done[0]}/{n}] {label}: {state}", file=sys.stderr)
            return
        if not show:
            return
        h = ev.headline()
        fig = ", ".join(
            f"{k} {h[k]:.3f}" for k in ("utility_2way", "tstr_ratio", "mia_auc") if h[k] is not None
        )
        print(f"[{done[0]}/{n}] {label}: {fig} ({ev.timings.get('total', 0):.0f} s)", file=sys.stderr)

    return on_release


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from anonlab.cli._common import print_json, show_progress
    from anonlab.evaluation import Study
    from anonlab.io import check_output, guard_outputs, read_table, write_text

    json_file = args.json_out
    guard_outputs([args.report, json_file], {"input": args.input, "recipe": args.recipe})
    for o in (args.report, json_file):
        if o:
            check_output(o, args.force)
    if args.report:
        from anonlab.evaluation.report.plots import check_installed

        check_installed()
    study = Study(args.recipe)
    n = len(study.recipe.releases)
    df = read_table(args.input)
    if not args.quiet:  # what is about to run (minutes): said once, whatever standard error is
        print(f"anonlab compare: {study.recipe.name}: {n} releases of {args.input}", file=sys.stderr)
    result = study.run(
        df, seed=args.seed, progress=show_progress(args), on_release=_progress_printer(args, n)
    )
    if args.report:
        result.to_html(args.report, force=args.force)
    if json_file:
        write_text(
            json_file, json.dumps(result.to_dict(), indent=2, default=str, allow_nan=False) + "\n", args.force
        )
    if args.json:
        print_json(result.to_dict())
        return 0
    head, *lines = result.summary_lines()
    print(f"anonlab compare: {head}", *lines, sep="\n")
    for ev in result.evaluations:
        for f in ev.flags:
            print(f"anonlab compare: warning: {ev.label}: {f}", file=sys.stderr)
    for o, what in ((args.report, "report"), (json_file, "figures")):
        if o:
            print(f"wrote {what} to {o}")
    return 0
