"""`anonlab dp stats`: differentially private counts, contingency tables, sums, means and quantiles."""

from __future__ import annotations

from anonlab.cli._common import (
    DP_SECRET,
    add_command,
    add_force,
    add_group,
    add_json,
    add_scheduler,
    add_seed,
    print_json,
)


def add_parser(sub) -> None:
    _, actions = add_group(
        sub,
        "dp",
        help="differentially private statistics, charged to a budget ledger",
        description=(
            "Differentially private answers to simple questions about a table. Each run spends its (epsilon,\n"
            "delta) from a ledger (`anonlab budget init`), charged before any noise is drawn; --no-ledger releases\n"
            "without accounting, for experiments only."
        ),
    )
    p = add_command(
        actions,
        "stats",
        help="DP count, contingency tables, sums, means, quantiles",
        description=(
            "Answer each --query on INPUT with differential privacy; (EPSILON, DELTA) is the cost of the whole\n"
            "run, split equally between the queries. Neighbouring datasets differ by one record added or removed.\n\n"
            "Queries:\n"
            "  count                     number of records\n"
            "  counts:COL[,COL...]       a contingency table over the schema's public categories (integer columns:\n"
            "                            every value in the public bounds); every cell is released, empty ones\n"
            "                            too, so absent categories are not revealed\n"
            "  sum:COL   mean:COL        of a numeric column clamped to its public bounds (summed exactly on a\n"
            "                            public fixed-point grid, so float rounding cannot change the sensitivity)\n"
            "  quantile:COL:Q[,Q...]     quantiles (0 < Q < 1) chosen among public candidates in the bounds\n"
            "  median:COL                quantile:COL:0.5\n\n"
            "With --delta > 0 counts and sums get (discrete) Gaussian noise and the queries compose in zCDP;\n"
            "with --delta 0 they get (discrete) Laplace noise (pure DP). Each answer carries its noise scale and a\n"
            "95% interval for the noise (not for sampling error).\n\n"
            "Domains must be public: columns whose categories or bounds the schema marks from_data = true are\n"
            "refused unless you pass --trust-domains, which the ledger records. --schema adult is the bundled\n"
            "public Adult schema.\n\n"
            "A run is charged to --ledger before any noise is drawn; without a ledger give --no-ledger (the output\n"
            'then says "no ledger": nothing bounds the total privacy loss of repeated releases).\n\n'
            "What is written (-o, --json, the summary) holds public parameters and DP outputs only: never the seed,\n"
            "a fingerprint of the table, an exact count or a time. A value that does not fit its column's type is\n"
            "refused before any budget is spent, naming the column only.\n\n"
            "--seed makes the noise reproducible through a seeded keystream; the release is then private only\n"
            "while the seed stays secret and unguessable. The seed is never written to the output or ledger;\n"
            "both record that the noise was seeded. Each seeded release draws from its own stream, derived from\n"
            "the seed, all its parameters, the table's content and the ledger entry."
        ),
        func=run_stats,
    )
    p.add_argument("input", help="table to read (.csv, .csv.gz, .tsv, .parquet); never modified")
    p.add_argument(
        "--schema",
        required=True,
        help="schema (.toml) with public categories and bounds, or `adult` for the bundled public Adult schema "
        "(it serves any subset of Adult's columns)",
    )
    p.add_argument(
        "--epsilon", type=float, required=True, help="privacy cost of this run (> 0; smaller is more private)"
    )
    p.add_argument(
        "--delta",
        type=float,
        default=0.0,
        help="probability that the epsilon bound fails (0: pure DP, Laplace noise; > 0: zCDP, Gaussian noise)",
    )
    p.add_argument(
        "--ledger",
        help="the population's budget ledger (from `anonlab budget init`), charged before any noise is drawn; "
        "required unless --no-ledger",
    )
    p.add_argument(
        "--no-ledger",
        action="store_true",
        help="release without charging any ledger (experiments only: nothing then bounds the total privacy loss "
        'of repeated releases); the output\'s privacy statement says "no ledger"',
    )
    p.add_argument(
        "--query",
        "-q",
        dest="queries",  # the library's parameter: its messages say queries=, shown as --query
        action="append",
        required=True,
        metavar="Q",
        help="a statistic to release (repeatable); see above",
    )
    p.add_argument(
        "-o",
        "--output",
        help="write the answers to OUT (.json: full report; .csv: one row per number); public parameters and DP "
        "outputs only",
    )
    p.add_argument(
        "--trust-domains",
        action="store_true",
        help="use domains the schema marks from_data as if public (you vouch they are; recorded in the ledger)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="show the noise each query would get and check the ledger; spend nothing, release nothing",
    )
    add_force(p)
    add_seed(
        p,
        "the DP noise",
        same="each release draws its own stream from the seed, its queries and budget, the table and its ledger "
        "entry, so only a rerun of the same release (same ledger entry, or --no-ledger) repeats the noise",
        secret=DP_SECRET,
    )
    add_json(p)
    add_scheduler(p)


def run_stats(args) -> int:
    from anonlab.privacy.stats import plan_stats

    ledger = _ledger_choice(args)
    plan_stats(args.queries, args.epsilon, args.delta)  # bad queries or budget fail before anything is read
    _check_output(args)
    if args.scheduler:
        # the exact aggregates on a Dask cluster (anonlab.distributed.dp_stats); the ledger is charged and the noise
        # drawn here, once
        from anonlab.distributed.stats import dp_stats, preview_dp_stats

        table, where = args.input, {"scheduler": args.scheduler}
    else:
        from anonlab.io import read_table
        from anonlab.privacy.stats import dp_stats, preview_dp_stats

        table, where = read_table(args.input), {}
    common = dict(
        epsilon=args.epsilon,
        delta=args.delta,
        schema=args.schema,
        ledger=ledger,
        trust_domains=args.trust_domains,
        **where,
    )
    if args.dry_run:
        preview = preview_dp_stats(table, args.queries, **common).to_dict()
        if args.json:
            print_json(preview)
        else:
            _print_preview(preview, args.ledger)
        return 0
    params = {
        "input": args.input,
        "schema": args.schema,
        "ledger": args.ledger,
        "queries": list(args.queries),
    }
    result = dp_stats(table, args.queries, seed=args.seed, source=args.input, parameters=params, **common)
    if args.output:
        result.write(args.output, force=args.force)
    out = result.to_dict()  # every artifact below is built from this allow-listed report only
    if args.json:
        print_json(out)
        return 0
    _print(out)
    if args.output:
        print(f"wrote the answers to {args.output}")
    return 0


def _ledger_choice(args):
    """The ledger's path, or ``None`` for an explicit --no-ledger (one of the two is required)."""
    from anonlab.errors import UsageError

    if args.ledger and args.no_ledger:
        raise UsageError("give either --ledger LEDGER or --no-ledger, not both")
    if not args.ledger and not args.no_ledger:
        raise UsageError(
            "give --ledger LEDGER (the population's budget, from `anonlab budget init`), or --no-ledger to release "
            'without any accounting (recorded in the output as "no ledger")'
        )
    return args.ledger or None


def _check_output(args) -> None:
    """Refuse a bad -o before anything is read or spent: an input, the schema or the ledger as output, a suffix
    other than .json / .csv, or an existing file without --force."""
    from pathlib import Path

    from anonlab.errors import UsageError
    from anonlab.io import check_output, guard_outputs

    guard_outputs(
        [args.output],
        {
            "input": args.input,
            "schema": None if args.schema == "adult" else args.schema,
            "ledger": args.ledger,
        },
    )
    if args.output:
        if Path(args.output).suffix.lower() not in (".json", ".csv"):
            raise UsageError(f"{args.output}: write the answers to a .json or .csv file")
        check_output(args.output, args.force)


def _print_preview(preview, ledger_path) -> None:
    pv = preview["privacy"]
    print(
        f"dry run: would spend epsilon {pv['epsilon']:g}, delta {pv['delta']:g} ({pv['mode']})"
        + ("; it fits" if "ledger" in preview else "; no ledger")
    )
    if "ledger" in preview:
        left = preview["ledger"]["remaining_before"]
        print(f"ledger {ledger_path}: epsilon {left['epsilon']:.4g}, delta {left['delta']:.4g} left now")
    for n in preview["noise"]:
        detail = (
            f"scale {n['scale']:.4g}" if "scale" in n else f"epsilon {n['epsilon_per_level']:.4g} per level"
        )
        print(f"  {n['query']}: {n['mechanism']}, {detail}")


def _print(out) -> None:
    """The readable summary, from the allow-listed report."""
    from anonlab.privacy.stats.result import row_cells

    p = out["privacy"]
    mode = f"zCDP rho {p['rho']:.4g}" if p["mode"] == "zcdp" else "pure DP"
    what = f"epsilon {p['epsilon']:g}, delta {p['delta']:g} ({mode}, {p['measurements']} measurement(s))"
    if "ledger" in out:
        print(f"spent {what}")
        left = out["ledger"]["remaining"]
        print(
            f"ledger {out['ledger']['path']}: epsilon {left['epsilon']:.4g}, delta {left['delta']:.4g} left"
        )
    else:
        print(f"released at {what}; {p['ledger']}: charged to no budget")
    for a in out["answers"]:
        print(f"\n{a['query']}  [{a['mechanism']}, scale {a['scale']:.4g}]")
        for r in a["rows"][:200]:
            label, value, extra = row_cells(r)
            print(f"  {label + ': ' if label else ''}{value}{'  (' + extra + ')' if extra else ''}")
        if len(a["rows"]) > 200:
            print(f"  ... {len(a['rows']) - 200:,} more cells (use -o or --json)")
