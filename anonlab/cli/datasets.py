"""`anonlab datasets`: write a bundled real dataset to a file, to try the other commands on."""

from __future__ import annotations

from anonlab.cli._common import add_command, add_force, add_json, print_json


def add_parser(sub) -> None:
    p = add_command(
        sub,
        "datasets",
        help="write a bundled real dataset (UCI Adult) to a file",
        description=(
            "Write a dataset shipped inside anonlab to OUTPUT (CSV or Parquet by extension).\n\n"
            "adult: UCI Adult, 32,561 census records x 15 columns (CC BY 4.0, Becker & Kohavi 1996).\n"
            "It is real microdata about people, already public; use it to try the other commands."
        ),
        func=run,
    )
    p.add_argument("name", choices=["adult"], help="which dataset")
    p.add_argument("-o", "--output", required=True, help="where to write it (.csv, .csv.gz, .parquet)")
    add_force(p)
    add_json(p)


def run(args) -> int:
    from anonlab.datasets import load_adult
    from anonlab.io import table_format, write_table

    table_format(args.output)
    df = load_adult()
    write_table(df, args.output, force=args.force)
    if args.json:
        print_json(
            {"dataset": args.name, "output": args.output, "rows": len(df), "columns": list(df.columns)}
        )
    else:
        print(f"wrote {args.name}: {len(df):,} rows x {df.shape[1]} columns to {args.output}")
    return 0
