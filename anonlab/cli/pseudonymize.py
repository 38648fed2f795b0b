"""`anonlab pseudonymize`: keyed pseudonyms, dropped identifiers, per-subject date shifts."""

from __future__ import annotations

from anonlab.cli._common import (
    add_command,
    add_force,
    add_json,
    add_scheduler,
    add_strict_key,
    columns,
    print_json,
    warn,
)


def add_parser(sub) -> None:
    p = add_command(
        sub,
        "pseudonymize",
        help="replace identifiers by keyed pseudonyms, drop direct identifiers, shift dates",
        description=(
            "Replace each value of the --id columns by HMAC-SHA256 under your key, written as a 16-character\n"
            "token. Unlike a plain hash, it cannot be reversed by hashing every possible identifier unless the key\n"
            "leaks. The same key and identifier give the same pseudonym in every file and run (records stay\n"
            "linkable); another key gives unrelated pseudonyms.\n\n"
            "--drop removes direct identifiers (names, addresses) outright. --shift-dates moves every date of one\n"
            "subject (--by) by the same secret number of days derived from the key, so intervals within a subject\n"
            "survive and calendar dates do not. Columns that look like free text are warned about: they often hold\n"
            "names and must be reviewed by hand.\n\n"
            "Pseudonymised data is still personal data: the key holder (and anyone who can link the remaining\n"
            "columns, see `anonlab assess`) can re-identify people."
        ),
        func=run,
    )
    p.add_argument("input", help="table to read (.csv, .csv.gz, .tsv, .parquet); never modified")
    p.add_argument("-o", "--output", required=True, help="table to write (format by extension)")
    p.add_argument("--key-file", required=True, help="secret key from `anonlab keygen`")
    p.add_argument(
        "--id",
        dest="ids",
        type=columns,
        default=[],
        metavar="COLS",
        help="comma-separated identifier columns to pseudonymise",
    )
    p.add_argument(
        "--drop", type=columns, default=[], metavar="COLS", help="comma-separated columns to remove"
    )
    p.add_argument(
        "--shift-dates",
        dest="dates",
        type=columns,
        default=[],
        metavar="COLS",
        help="date columns to shift per subject",
    )
    p.add_argument("--by", metavar="COL", help="the column that identifies the subject, for --shift-dates")
    p.add_argument(
        "--date-format",
        metavar="FMT",
        help="the one format of every --shift-dates column, e.g. '%%d/%%m/%%Y' (strftime codes); needed for "
        "day/month dates such as 01/02/2020, whose order is ambiguous; default: ISO dates (YYYY-MM-DD); shifted "
        "dates are written in the same format",
    )
    p.add_argument(
        "--max-shift-days", type=int, default=365, help="date shifts are drawn in [-N, N] days, never 0"
    )
    p.add_argument(
        "--mapping",
        metavar="FILE",
        help="also write original -> pseudonym pairs here (a re-identification table: refused inside the "
        "output's folder; store it as securely as the key)",
    )
    add_strict_key(p)
    add_force(p)
    add_json(p)
    add_scheduler(p)


def run(args) -> int:
    from pathlib import Path

    from anonlab.deid import pseudonym_mapping, pseudonymize, read_key
    from anonlab.errors import UsageError
    from anonlab.io import check_output, guard_outputs, read_table, refuse_inside, table_format, write_table

    if not (args.ids or args.drop or args.dates):
        raise UsageError("nothing to do: give --id, --drop or --shift-dates")
    guard_outputs([args.output, args.mapping], {"input": args.input, "key file": args.key_file})
    table_format(args.output)
    check_output(args.output, args.force)
    if args.mapping:
        table_format(args.mapping)
        refuse_inside(args.mapping, Path(args.output).resolve().parent, "mapping", "the output's folder")
        check_output(args.mapping, args.force)
    if Path(args.output).resolve() == Path(args.input).resolve():
        raise UsageError(f"{args.output}: the output would replace the input; inputs are never modified")
    key = read_key(args.key_file, strict=args.strict_key)
    if args.scheduler:
        return run_on_cluster(args, key)
    # identifiers, dropped columns, the subject and the dates are read as text, exactly as written: 00123 and 123
    # are different people, and an ID gets the same pseudonym whatever else is in the file
    text = [*args.ids, *args.drop, *args.dates, *([args.by] if args.by else [])]
    df = read_table(args.input, text_columns=text)
    out, result = pseudonymize(
        df,
        key=key,
        ids=args.ids,
        drop=args.drop,
        dates=args.dates,
        by=args.by,
        date_format=args.date_format,
        max_shift_days=args.max_shift_days,
        source=args.input,
    )
    write_table(out, args.output, force=args.force)
    if args.mapping:
        write_table(pseudonym_mapping(df, key=key, ids=args.ids), args.mapping, force=args.force)
    return _report(args, result, "")


def run_on_cluster(args, key) -> int:
    """``--scheduler``: the same rows, released partition by partition on a Dask cluster into a folder of Parquet
    parts (anonlab.distributed.pseudonymize); the key reaches the workers in memory only."""
    from anonlab.distributed import pseudonymize

    result = pseudonymize(
        args.input,
        args.output,
        key=key,
        ids=args.ids,
        drop=args.drop,
        dates=args.dates,
        by=args.by,
        date_format=args.date_format,
        max_shift_days=args.max_shift_days,
        mapping=args.mapping,
        force=args.force,
        source=args.input,
        scheduler=args.scheduler,
    )
    return _report(args, result, " (a folder of Parquet parts)")


def _report(args, result, written_as: str) -> int:
    """Warnings, then the summary (or ``--json``): the same for the in-process and the cluster run."""
    for col in result.free_text_warnings:
        warn(
            "pseudonymize", f"column {col!r} looks like free text; it may contain names or other identifiers"
        )
    for col in result.identifier_warnings:
        warn(
            "pseudonymize",
            f"column {col!r} looks like a direct identifier and is kept as it is (--id or --drop?)",
        )
    if args.json:
        print_json({**result.to_dict(), "output": args.output, "mapping_written": bool(args.mapping)})
        return 0
    print(f"wrote {result.rows:,} rows to {args.output}{written_as}")
    for col in result.pseudonymized:
        print(f"  pseudonymised {col!r}: {result.distinct_ids[col]:,} distinct identifiers")
    for col in result.dropped:
        print(f"  dropped {col!r}")
    for col in result.shifted:
        print(f"  shifted dates in {col!r} per subject ({args.by!r})")
    if args.mapping:
        print(f"  mapping written to {args.mapping}: keep it as secret as the key")
    return 0
