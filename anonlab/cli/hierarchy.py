"""`anonlab hierarchy build`: ARX's hierarchy builders (intervals, masking, grouping) writing ARX-format CSV."""

from __future__ import annotations

import argparse

from anonlab.cli._common import add_command, add_force, add_group, add_json, print_json

DESCRIPTION = """\
Build a generalisation hierarchy and write it as an ARX-format CSV (one row per value, one column per level, `;`
separated, no header), the format `anonlab anonymize --hierarchy COL=FILE` reads.

Builders (as in ARX):
  intervals  numbers: level j puts each value in an interval of width WIDTHS[j] (each width a multiple of the
             one below), aligned on --lower; then *. With --lower/--upper and no --input, every integer of the
             public range is listed and no data is read.
  masking    codes (ZIP, ID, ICD codes): right-to-left masking, one character per level (02140, 0214*, 021**,
             ...), codes of unequal length padded with the mask character; codes are text, leading zeros kept.
  grouping   categories: the values in an order (--order; else integer codes by number, other text
             alphabetically), then groups of SIZES[0] adjacent values, groups of SIZES[1] adjacent groups, ...,
             then *. Without --sizes the groups are balanced by frequency, read from --input's column.

Privacy meaning: a hierarchy built from --input lists the column's values (and, for balanced grouping, depends on
their frequencies): fine for k-anonymity, but it is not a public fact; keep it with the data, and do not use it as
a public domain for a DP release. One built from bounds or an order given here reads no data.

Examples:
  anonlab hierarchy build intervals -o age.csv --lower 17 --upper 90 --widths 5,10,20
  anonlab hierarchy build masking -o zip.csv --input patients.csv --column zip
  anonlab hierarchy build grouping -o edu.csv --order Preschool,1st-4th,5th-6th,7th-8th,9th,10th,11th,12th,\\
      HS-grad,Some-college,Assoc-voc,Assoc-acdm,Bachelors,Masters,Prof-school,Doctorate --sizes 4,2
  anonlab anonymize adult.csv -o out.csv --quasi age,education --k 10 --method global \\
      --hierarchy age=age.csv --hierarchy education=edu.csv"""


def _numbers(text: str) -> list[float]:
    try:
        vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give numbers separated by commas, e.g. 5,10,20"
        ) from None
    if not vals:
        raise argparse.ArgumentTypeError("give at least one number")
    return vals


def _ints(text: str) -> list[int]:
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give whole numbers separated by commas, e.g. 2,2"
        ) from None
    if not vals:
        raise argparse.ArgumentTypeError("give at least one number")
    return vals


def _values(text: str) -> list[str]:
    vals = [v.strip() for v in text.split(",") if v.strip()]
    if not vals:
        raise argparse.ArgumentTypeError("give at least one value")
    return vals


def add_parser(sub) -> None:
    _, actions = add_group(
        sub,
        "hierarchy",
        help="build generalisation hierarchies (ARX builders: intervals, masking, grouping) as ARX-format CSV",
        description="Build generalisation hierarchies for `anonlab anonymize --hierarchy`.",
    )
    p = add_command(
        actions,
        "build",
        help="build a hierarchy (intervals, masking or grouping) and write it as ARX-format CSV",
        description=DESCRIPTION,
        func=run,
    )
    p.add_argument("kind", choices=["intervals", "masking", "grouping"], help="which builder")
    p.add_argument("-o", "--output", required=True, help="where to write the hierarchy CSV")
    p.add_argument("--input", default=None, help="table whose column's values to cover (never modified)")
    p.add_argument("--column", default=None, help="the column of --input")
    p.add_argument(
        "--values",
        type=_values,
        default=None,
        help="the values, comma-separated, instead of --input (no data read)",
    )
    p.add_argument(
        "--widths",
        type=_numbers,
        default=None,
        help="intervals: width per level, each a multiple of the one below [default: 5,10,20]",
    )
    p.add_argument("--lower", type=float, default=None, help="intervals: public lower bound (alignment)")
    p.add_argument("--upper", type=float, default=None, help="intervals: public upper bound")
    p.add_argument("--mask-char", default="*", help="masking: the mask character")
    p.add_argument(
        "--levels", type=int, default=None, help="masking: characters to mask at most [default: all]"
    )
    p.add_argument(
        "--order", type=_values, default=None, help="grouping: the values in order, comma-separated"
    )
    p.add_argument(
        "--sizes",
        type=_ints,
        default=None,
        help="grouping: group size per level, in groups of the level below (ARX); without it, "
        "frequency-balanced groups from --input",
    )
    add_force(p)
    add_json(p)


def run(args) -> int:
    from anonlab.deid import build_hierarchy, write_hierarchy_csv
    from anonlab.errors import UsageError
    from anonlab.io import check_output, guard_outputs

    guard_outputs([args.output], {"input": args.input})  # never the input (nor a link to it), --force or not
    check_output(args.output, args.force)

    extra = {
        "intervals": [
            ("--mask-char", args.mask_char != "*"),
            ("--levels", args.levels),
            ("--order", args.order),
        ],
        "masking": [("--widths", args.widths), ("--lower", args.lower), ("--order", args.order)],
        "grouping": [("--widths", args.widths), ("--lower", args.lower), ("--levels", args.levels)],
    }[args.kind]
    extra += [("--sizes", args.sizes)] if args.kind != "grouping" else []
    for flag, given in extra:
        if given not in (None, False):
            raise UsageError(f"{flag} does not apply to the {args.kind} builder")
    if args.input is not None and args.values is not None:
        raise UsageError("give --input/--column or --values, not both")
    h = build_hierarchy(
        args.kind,
        args.input,
        args.column,
        values=args.values,
        widths=args.widths,
        lower=args.lower,
        upper=args.upper,
        mask=args.mask_char,
        levels=args.levels,
        order=args.order,
        sizes=args.sizes,
    )
    write_hierarchy_csv(h, args.output, force=args.force, protect=(args.input,))
    result = {
        "output": str(args.output),
        "builder": args.kind,
        "column": h.column,
        "values": len(h.labels[0]),
        "levels": h.height + 1,
        "groups_per_level": [len(set(map(str, lv))) for lv in h.labels],
        "reads_data": args.input is not None,
        "reads_frequencies": args.kind == "grouping" and args.sizes is None and args.input is not None,
    }
    if args.json:
        print_json(result)
    else:
        print(
            f"wrote {result['values']} values x {result['levels']} levels ({args.kind}) -> {args.output}; "
            f"groups per level: {', '.join(map(str, result['groups_per_level']))}"
        )
    return 0
