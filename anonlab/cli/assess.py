"""`anonlab assess`: re-identification and attribute-disclosure risk of a table."""

from __future__ import annotations

from anonlab.cli._common import add_command, add_json, add_scheduler, columns, print_json


def add_parser(sub) -> None:
    p = add_command(
        sub,
        "assess",
        help="measure re-identification risk: k, uniques, prosecutor/journalist/marketer risk, l, t",
        description=(
            "Group the records by their quasi-identifiers (what an attacker may know about a person: age, sex,\n"
            "ZIP code...) into equivalence classes and report:\n"
            "  k                 size of the smallest class: every person hides among at least k records\n"
            "  sample uniques    records alone in their class (re-identified by anyone who knows their QIs)\n"
            "  prosecutor risk   attacker knows the person is in the table: 1 / class size (ARX)\n"
            "  journalist risk   attacker does not know: 1 / population class size (estimated f / pi)\n"
            "  marketer risk     share of records re-identified by linking them all\n"
            "  l-diversity       fewest distinct (and entropy-effective) sensitive values in a class\n"
            "  t-closeness       largest distance (EMD) between a class's sensitive values and the table's\n"
            "With --sampling-fraction, population uniqueness is estimated (Zayatz 1991; Pitman, Hoshino 2001).\n"
            "sdcMicro's measures (in an `sdc` section):\n"
            "  --suda            SUDA2: minimal sample uniques (records singled out by few values), SUDA and\n"
            "                    DIS-SUDA scores, each quasi-identifier's share of the score\n"
            "  --weights COL     individual risk from sampling weights (indivRisk, Benedetti-Franconi) and global\n"
            "                    risk (expected re-identifications); also shown with --suda\n"
            "Locations (--lat, --lon, --original REAL): IN's coordinates are the masked ones (`anonlab geo mask`)\n"
            "of REAL's, row for row; for each masked point, the real points nearer to it than its own (an\n"
            "attacker's candidates) and the share re-identified by nearest-neighbour matching. Without --quasi\n"
            "the published coordinates are the quasi-identifiers (k: fewest records sharing a location).\n"
            "Missing values count as a value of their own."
        ),
        func=run,
    )
    p.add_argument("input", help="table to assess (.csv, .csv.gz, .tsv, .parquet)")
    p.add_argument("--quasi", type=columns, metavar="COLS", help="comma-separated quasi-identifiers")
    p.add_argument(
        "--sensitive", type=columns, default=None, metavar="COLS", help="comma-separated sensitive columns"
    )
    p.add_argument(
        "--schema",
        metavar="FILE",
        help="take --quasi and --sensitive from the roles in this schema when they are not given",
    )
    p.add_argument(
        "--sampling-fraction",
        type=float,
        metavar="PI",
        help="share of the population this table holds (0 < PI <= 1); default: the table is the population",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=0.2,
        help="a record is at risk when its re-identification probability exceeds this",
    )
    p.add_argument(
        "--suda",
        action="store_true",
        help="SUDA2 special uniques and scores (sdcMicro's suda2); with --suda-max-size, MSUs of at most N columns",
    )
    p.add_argument(
        "--suda-max-size",
        type=int,
        default=None,
        metavar="N",
        help="largest MSU SUDA2 looks for (implies --suda) [default: all the quasi-identifiers]",
    )
    p.add_argument(
        "--weights",
        default=None,
        metavar="COL",
        help="column of sampling weights (people each record stands for): individual and global risk",
    )
    p.add_argument("--lat", metavar="COL", help="latitude column of IN and --original (location risk)")
    p.add_argument("--lon", metavar="COL", help="longitude column of IN and --original (location risk)")
    p.add_argument("--original", metavar="REAL", help="the real table IN's coordinates were masked from")
    add_json(p)
    add_scheduler(p)


def run(args) -> int:
    from anonlab.deid import assess
    from anonlab.errors import UsageError
    from anonlab.io import read_table

    schema = None
    if args.schema:
        from anonlab.schema import Schema

        schema = Schema.read(args.schema)
    located = args.lat or args.lon or args.original
    if located and not (args.lat and args.lon and args.original):
        raise UsageError("--lat, --lon and --original go together (the masked and the real coordinates)")
    if not args.quasi and (schema is None or not schema.with_role("quasi")) and not located:
        raise UsageError("give --quasi COLS (or a --schema with quasi-identifier roles)")
    if args.scheduler:
        if args.suda or args.suda_max_size is not None or args.weights or located:
            raise UsageError("--suda, --weights and --original run in-process only: leave out --scheduler")
        return run_on_cluster(args, schema)
    # read only the columns assessed, unless the schema's roles are still to be matched with the table's
    named = args.quasi and (args.sensitive is not None or schema is None)
    weights = [args.weights] if args.weights and args.weights not in (args.quasi or ()) else []
    coords = [c for c in (args.lat, args.lon) if c and c not in (args.quasi or ())]
    df = read_table(
        args.input, columns=[*args.quasi, *(args.sensitive or ()), *weights, *coords] if named else None
    )
    original = read_table(args.original, columns=[args.lat, args.lon]) if located else None
    report = assess(
        df,
        quasi=args.quasi,
        sensitive=args.sensitive,
        sampling_fraction=args.sampling_fraction,
        threshold=args.threshold,
        schema=schema,
        source=args.input,
        suda=args.suda,
        suda_max_size=args.suda_max_size,
        weights=args.weights,
        lat=args.lat,
        lon=args.lon,
        original=original,
    )
    return _show(args, report)


def run_on_cluster(args, schema) -> int:
    """``--scheduler``: the same report, its classes counted on a Dask cluster (anonlab.distributed.assess)."""
    from anonlab.distributed import assess

    report = assess(
        args.input,
        quasi=args.quasi,
        sensitive=args.sensitive,
        sampling_fraction=args.sampling_fraction,
        threshold=args.threshold,
        schema=schema,
        source=args.input,
        scheduler=args.scheduler,
    )
    return _show(args, report)


def _show(args, report) -> int:
    """The report as JSON or as a table: the same for the in-process and the cluster run."""
    if args.json:
        from anonlab import __version__

        print_json({"input": args.input, "anonlab_version": __version__, **report.to_dict()})
    else:
        print(render(report, args.input))
    return 0


def render(report, source: str) -> str:
    """A readable risk table."""
    pct = lambda x: f"{100 * x:.2f}%"  # noqa: E731
    lines = [
        f"Risk assessment of {source}: {report.rows:,} records",
        f"Quasi-identifiers: {', '.join(report.quasi)}",
        "",
        f"  equivalence classes      {report.classes:,}",
        f"  k (smallest class)       {report.k:,}",
        f"  sample uniques           {report.sample_uniques:,} ({pct(report.sample_uniques_share)} of records)",
        "",
        f"  {'attacker model':<22}{'highest':>10}{'average':>10}{'records > ' + format(report.threshold, 'g'):>16}",
    ]
    for name, t in (("prosecutor", report.prosecutor), ("journalist", report.journalist)):
        lines.append(f"  {name:<22}{pct(t.highest):>10}{pct(t.average):>10}{pct(t.records_at_risk):>16}")
    lines.append(f"  {'marketer':<22}{'':>10}{pct(report.marketer):>10}")
    lines += ["", "  class size   classes    records"]
    for h in report.histogram:
        lines.append(f"  {h['size']:>10} {h['classes']:>9,} {h['records']:>10,}")
    if report.sensitive:
        lines += [
            "",
            f"  {'sensitive column':<24}{'values':>7}{'l (distinct)':>14}{'l (entropy)':>13}{'t':>9}  distance",
        ]
        for s in report.sensitive:
            lines.append(
                f"  {s.column:<24}{s.distinct_values:>7}{s.l_distinct:>14}{s.l_entropy:>13.2f}{s.t_closeness:>9.3f}  {s.distance}"
            )
    if report.population:
        pop = report.population
        lines += [
            "",
            f"  population (sampling fraction {pop.sampling_fraction:g}, about {pop.population_size:,} people)",
            f"    population uniques, Zayatz   {pop.zayatz_uniques:,.0f} ({pct(pop.zayatz_share)})",
        ]
        if pop.pitman_uniques is not None:
            lines.append(
                f"    population uniques, Pitman   {pop.pitman_uniques:,.0f} ({pct(pop.pitman_share)})"
            )
        else:
            lines.append("    population uniques, Pitman   not estimable for these class sizes")
    if getattr(report, "sdc", None) is not None:
        lines += ["", "  sdcMicro measures"]
        lines += [f"    {label:<52} {value}" for label, value in report.sdc.rows()]
        if report.sdc.suda:
            shares = ", ".join(f"{c} {v:.1f}%" for c, v in report.sdc.suda["contributions"].items())
            lines.append(f"    {'SUDA2 contribution of each quasi-identifier':<52} {shares}")
    if getattr(report, "location", None) is not None:
        loc = report.location
        lines += [
            "",
            f"  locations (masked against the real ones; mean displacement {loc.mean_displacement_m:,.0f} m)",
            f"    re-identified by nearest-neighbour matching   {pct(loc.reidentified_share)}",
            f"    real points nearer than the true one          median {loc.median_candidates:g}; "
            f"fewer than {loc.k}: {pct(loc.share_below_k)} of points",
        ]
    return "\n".join(lines)
