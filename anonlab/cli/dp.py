"""`anonlab dp stats`: differentially private counts, contingency tables, sums, means and quantiles."""

from __future__ import annotations

from anonlab.cli._common import add_command, add_force, add_group, add_json, add_seed, print_json, warn


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
    add_seed(p, "the DP noise (private only while the seed is secret; the seed itself is never recorded)")
    add_json(p)


def run_stats(args) -> int:
    from pathlib import Path

    from anonlab.errors import UsageError
    from anonlab.io import check_output, guard_outputs, read_table, write_text
    from anonlab.privacy.accounting import check_delta, check_epsilon
    from anonlab.privacy.ledger import Ledger
    from anonlab.privacy.noise import SEEDED_WARNING, NoiseSource
    from anonlab.privacy.stats import parse_query, plan_stats
    from anonlab.privacy.stats import run_stats as _run
    from anonlab.schema import Schema

    if args.ledger and args.no_ledger:
        raise UsageError("give either --ledger LEDGER or --no-ledger, not both")
    if not args.ledger and not args.no_ledger:
        raise UsageError(
            "give --ledger LEDGER (the population's budget, from `anonlab budget init`), or --no-ledger to release "
            'without any accounting (recorded in the output as "no ledger")'
        )
    eps = check_epsilon(args.epsilon, "--epsilon")
    delta = check_delta(args.delta, "--delta")
    queries = [parse_query(q) for q in args.query]
    plan_stats(queries, eps, delta)
    guard_outputs(
        [args.output],
        {
            "input": args.input,
            "schema": None if args.schema == "adult" else args.schema,
            "ledger": args.ledger,
        },
    )
    if args.output:
        suffix = Path(args.output).suffix.lower()
        if suffix not in (".json", ".csv"):
            raise UsageError(f"{args.output}: write the answers to a .json or .csv file")
        check_output(args.output, args.force)
    ledger = Ledger.open(args.ledger) if args.ledger else None
    if args.schema == "adult":
        from anonlab.datasets import adult_schema

        schema = adult_schema()
    else:
        schema = Schema.read(args.schema)
    df = read_table(args.input)
    if args.dry_run:
        from anonlab.privacy.stats import preview_stats

        preview = preview_stats(
            df, schema, queries, epsilon=eps, delta=delta, ledger=ledger, trust_domains=args.trust_domains
        )
        if args.json:
            print_json(preview)
        else:
            pv = preview["privacy"]
            print(
                f"dry run: would spend epsilon {pv['epsilon']:g}, delta {pv['delta']:g} ({pv['mode']})"
                + ("; it fits" if ledger is not None else "; no ledger")
            )
            if "ledger" in preview:
                left = preview["ledger"]["remaining_before"]
                print(
                    f"ledger {args.ledger}: epsilon {left['epsilon']:.4g}, delta {left['delta']:.4g} left now"
                )
            for n in preview["noise"]:
                detail = (
                    f"scale {n['scale']:.4g}"
                    if "scale" in n
                    else f"epsilon {n['epsilon_per_level']:.4g} per level"
                )
                print(f"  {n['query']}: {n['mechanism']}, {detail}")
        return 0
    noise = NoiseSource(args.seed)
    params = {
        "input": args.input,
        "schema": args.schema,
        "ledger": args.ledger,
        "no_ledger": bool(args.no_ledger),
        "epsilon": eps,
        "delta": delta,
        "queries": list(args.query),
        "trust_domains": bool(args.trust_domains),
        "seeded": noise.seeded,
    }
    result = _run(
        df,
        schema,
        queries,
        epsilon=eps,
        delta=delta,
        ledger=ledger,
        trust_domains=args.trust_domains,
        noise=noise,
        source=args.input,
        parameters=params,
    )
    out = result.to_dict()  # every artifact below is built from this allow-listed report only
    if args.output:
        if args.output.lower().endswith(".json"):
            import json

            write_text(
                args.output, json.dumps(out, indent=2, allow_nan=False, default=str) + "\n", args.force
            )
        else:
            from anonlab.io import write_table

            write_table(_long_table(out), args.output, args.force)
    if noise.seeded:
        warn("dp stats", SEEDED_WARNING)
    trusted = out["privacy"]["trusted_domains"]
    if trusted:
        warn("dp stats", f"domains read from the data were trusted as public: {', '.join(trusted)}")
    if args.json:
        print_json(out)
        return 0
    _print(out)
    if args.output:
        print(f"wrote the answers to {args.output}")
    return 0


def _long_table(out):
    """One row per released number, from the allow-listed report."""
    import pandas as pd

    rows = []
    for a in out["answers"]:
        for r in a["rows"]:
            ci = r.get("ci95")
            group = r.get("group") or {}
            rows.append(
                {
                    "query": a["query"],
                    "group": ";".join(f"{k}={v}" for k, v in group.items()),
                    "level": r.get("level"),
                    "value": r["value"],
                    "ci95_low": ci[0] if ci else None,
                    "ci95_high": ci[1] if ci else None,
                    "rank_error95": r.get("rank_error95"),
                    "mechanism": a["mechanism"],
                    "scale": a["scale"],
                }
            )
    table = pd.DataFrame(rows)
    table["value"] = table["value"].astype(object)  # keep counts as whole numbers beside float answers
    return table


def _num(v) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _print(out) -> None:
    """The readable summary, from the allow-listed report."""
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
            label = ""
            if "group" in r:
                label = ", ".join(f"{k}={v}" for k, v in r["group"].items()) + ": "
            elif "level" in r:
                label = f"q{r['level']:g}: "
            ci = r.get("ci95")
            extra = f"  (95% noise interval {_num(ci[0])} .. {_num(ci[1])})" if ci else ""
            if r.get("rank_error95") is not None:
                extra = f"  (95%: rank off by at most {r['rank_error95']:.3g} records beyond the best)"
            print(f"  {label}{_num(r['value'])}{extra}")
        if len(a["rows"]) > 200:
            print(f"  ... {len(a['rows']) - 200:,} more cells (use -o or --json)")
