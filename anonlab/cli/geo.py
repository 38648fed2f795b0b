"""`anonlab geo mask` and `anonlab geo risk`: location masking and what a masked location still tells."""

from __future__ import annotations

from anonlab.cli._common import (
    add_command,
    add_force,
    add_group,
    add_json,
    add_seed,
    positive_float,
    positive_int,
    print_json,
)


def add_parser(sub) -> None:
    _, actions = add_group(
        sub,
        "geo",
        help="mask coordinates (rounding, grids, H3, displacement, areal k, geo-indistinguishability)",
        description="Location privacy: `anonlab geo mask IN OUT`, `anonlab geo risk ORIGINAL MASKED`.",
    )
    p = add_command(
        actions,
        "mask",
        help="move every point of a table's latitude/longitude columns",
        description=(
            "Methods and their parameters:\n"
            "  round     --digits D        latitude and longitude to D decimals\n"
            "  grid      --cell-m M        centre of square cells of M metres\n"
            "  h3        --resolution R    centre of the H3 hexagon (0 coarse .. 15 fine; needs anonlab[geo])\n"
            "  random    --max-m M         uniform over a disc of radius M\n"
            "  donut     --min-m, --max-m  uniform over a ring: never left near the true place\n"
            "  adaptive  --k K             areal masking: every published location is shared by >= K points\n"
            "  laplace   --epsilon E --radius-m R  geo-indistinguishability (planar Laplace): a per-point\n"
            "            guarantee exp(E * d / R) for true places d metres apart; NOT differential privacy over\n"
            "            the table, and never added to a ledger's epsilon\n\n"
            "Other columns are kept as they are: pseudonymise or drop identifiers separately. Measure the result\n"
            "with `anonlab geo risk`."
        ),
        func=run_mask,
    )
    p.add_argument("input", help="table to read (.csv, .tsv, .parquet); never modified")
    p.add_argument("output", help="table to write (format by extension)")
    p.add_argument("--lat", required=True, metavar="COL", help="latitude column (degrees, WGS84)")
    p.add_argument("--lon", required=True, metavar="COL", help="longitude column (degrees, WGS84)")
    p.add_argument(
        "--method", required=True, choices=("round", "grid", "h3", "random", "donut", "adaptive", "laplace")
    )
    p.add_argument("--digits", type=int, help="round: decimals kept")
    p.add_argument("--cell-m", type=positive_float, help="grid: cell size in metres")
    p.add_argument("--resolution", type=int, help="h3: resolution 0..15")
    p.add_argument("--min-m", type=positive_float, help="donut: smallest displacement in metres")
    p.add_argument("--max-m", type=positive_float, help="random, donut: largest displacement in metres")
    p.add_argument("--k", type=positive_int, help="adaptive: points per published location, at least")
    p.add_argument("--epsilon", type=positive_float, help="laplace: privacy level at --radius-m")
    p.add_argument("--radius-m", type=positive_float, help="laplace: the distance --epsilon protects")
    add_seed(
        p,
        "the random displacement (random, donut, laplace)",
        secret="whoever knows it can undo the displacement",
    )
    add_force(p)
    add_json(p)

    r = add_command(
        actions,
        "risk",
        help="how many real points lie nearer to each masked point than its own; nearest-neighbour re-identification",
        description=(
            "ORIGINAL and MASKED hold the same rows in the same order (MASKED from `anonlab geo mask`). For each\n"
            "masked point: the real points nearer to it than its true point (an attacker's candidates), and the\n"
            "share an attacker re-identifies by linking each masked point to its nearest real point."
        ),
        func=run_risk,
    )
    r.add_argument("original", help="the real table; never modified")
    r.add_argument("masked", help="the masked table, row for row")
    r.add_argument("--lat", required=True, metavar="COL", help="latitude column")
    r.add_argument("--lon", required=True, metavar="COL", help="longitude column")
    r.add_argument(
        "--k", type=positive_int, default=5, help="also report the share with fewer than K candidates"
    )
    add_json(r)


def run_mask(args) -> int:
    from anonlab.deid.geo import mask_table
    from anonlab.io import check_output, guard_outputs, read_table, write_table

    guard_outputs([args.output], {"input": args.input})
    check_output(args.output, args.force)
    df = read_table(args.input, columns=[args.lat, args.lon])
    params = {
        n: getattr(args, n)
        for n in ("digits", "cell_m", "resolution", "min_m", "max_m", "k", "epsilon", "radius_m", "seed")
        if getattr(args, n) is not None
    }
    out, report = mask_table(df, lat=args.lat, lon=args.lon, method=args.method, source=args.input, **params)
    write_table(out, args.output, force=args.force)
    if args.json:
        print_json({**report.to_dict(), "output": args.output})
        return 0
    print(f"masked {report.points:,} points ({report.method}) into {args.output}")
    print(f"  displacement: mean {report.mean_displacement_m:,.0f} m, median {report.median_displacement_m:,.0f} m, "
          f"max {report.max_displacement_m:,.0f} m")  # fmt: skip
    print(f"  fewest points sharing one published location: {report.min_points_per_location:,}")
    if report.claim:
        print(f"  claim: {report.claim.statement()}")
    return 0


def run_risk(args) -> int:
    from anonlab.deid.geo import _coords, location_risk
    from anonlab.errors import InputError
    from anonlab.io import read_table

    real = read_table(args.original, columns=[args.lat, args.lon])
    masked = read_table(args.masked, columns=[args.lat, args.lon])
    if len(real) != len(masked):
        raise InputError(
            f"{args.masked}: {len(masked):,} rows, but {args.original} has {len(real):,}; give them row for row"
        )
    la, lo = _coords(real, args.lat, args.lon, args.original)
    mla, mlo = _coords(masked, args.lat, args.lon, args.masked)
    risk = location_risk(la, lo, mla, mlo, k=args.k)
    if args.json:
        print_json(risk.to_dict())
        return 0
    print(f"{risk.points:,} points, mean displacement {risk.mean_displacement_m:,.0f} m")
    print(f"  re-identified by nearest-neighbour matching: {risk.reidentified_share:.1%}")
    print(f"  real points nearer than the true one: median {risk.median_candidates:g}; "
          f"fewer than {risk.k}: {risk.share_below_k:.1%} of points")  # fmt: skip
    return 0
