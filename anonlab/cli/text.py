"""`anonlab text redact`: personal data in free text replaced by tags, masks, keyed pseudonyms or shifted dates."""

from __future__ import annotations

import argparse

from anonlab.cli._common import (
    add_command,
    add_force,
    add_group,
    add_json,
    add_quiet,
    add_strict_key,
    columns,
    print_json,
    show_progress,
)

ENTITIES = (
    "PERSON, LOCATION, ORGANIZATION, DATE, EMAIL_ADDRESS, PHONE_NUMBER, IBAN_CODE, CREDIT_CARD, IP_ADDRESS, URL, "
    "NATIONAL_ID, RECORD_NUMBER"
)


def _operator(text: str) -> tuple[str, str]:
    ent, sep, op = text.partition("=")
    if not sep:
        return "*", text.strip()
    if not ent.strip() or not op.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: give OPERATOR or TYPE=OPERATOR")
    return ent.strip().upper(), op.strip()


def add_parser(sub) -> None:
    _, actions = add_group(
        sub,
        "text",
        help="find and replace personal data in free text (notes, transcripts)",
        description="Free-text de-identification with Presidio: `anonlab text redact IN OUT`.",
    )
    p = add_command(
        actions,
        "redact",
        help="replace names, dates, IDs, contacts in text files, text columns or JSON Lines",
        description=(
            "Detects personal data with Presidio's analyzer (pattern recognizers for e-mail, phone, IBAN, card,\n"
            "IP, URL, national IDs incl. the Finnish henkilötunnus and other EU formats; names and places from\n"
            "Faker's per-locale lists, or an installed spaCy pipeline with --nlp-model; nothing is downloaded) and\n"
            "replaces each detection:\n\n"
            "  tag        <PERSON>\n"
            "  mask       letters and digits as *\n"
            "  pseudonym  <PERSON:token>, the token `anonlab pseudonymize` gives that text under the same key\n"
            "  shift      dates moved by the subject's secret offset, the same days as\n"
            "             `anonlab pseudonymize --shift-dates --by` gives the subject's rows under the same key\n"
            "  keep       left as written\n\n"
            "IN: a .txt file, a folder of .txt files, a CSV/TSV/Parquet table (--columns) or a .jsonl file\n"
            "(--columns: fields, default text). OUT: the same kind. Detection is not perfect: read the review\n"
            "file (--review: every detection with span, type and score; as secret as the input) before release."
        ),
        func=run,
    )
    p.add_argument("input", help="text file, folder of .txt files, table or .jsonl file; never modified")
    p.add_argument("output", help="where to write the redacted copy (same kind as the input)")
    p.add_argument("--columns", type=columns, default=None, metavar="COLS",
                   help="text columns of a table, or text fields of a .jsonl file (default for .jsonl: text)")  # fmt: skip
    p.add_argument("--subject", metavar="COL",
                   help="column or field naming each record's subject, whose dates are shifted (--operator DATE=shift)")  # fmt: skip
    p.add_argument("--subjects", metavar="FILE",
                   help="for .txt files: a CSV with columns file,subject giving each file's subject")  # fmt: skip
    p.add_argument("--operator", dest="operators", type=_operator, action="append", default=None,
                   metavar="[TYPE=]OP", help="operator for every type (tag, mask, pseudonym, shift, keep) or for one "
                   "type (PERSON=pseudonym); repeatable (default: tag)")  # fmt: skip
    p.add_argument("--entities", type=columns, default=None, metavar="TYPES",
                   help=f"entity types to detect, comma-separated (default: all of {ENTITIES})")  # fmt: skip
    p.add_argument(
        "--key-file", metavar="FILE", help="secret key from `anonlab keygen` (for pseudonym and shift)"
    )
    p.add_argument("--threshold", type=float, default=0.5, help="minimum detection score, 0..1")
    p.add_argument("--language", default="en", help="language code of the texts")
    p.add_argument("--nlp-model", metavar="NAME",
                   help="an installed spaCy pipeline (package or folder) whose NER adds names; never downloaded")  # fmt: skip
    p.add_argument("--date-order", choices=("dmy", "mdy"), default="dmy", help="how 01/02/2020 reads")
    p.add_argument("--max-shift-days", type=int, default=365,
                   help="date offsets in [-N, N] days; must match `anonlab pseudonymize` for the same offsets")  # fmt: skip
    p.add_argument("--review", metavar="FILE",
                   help="write every detection here (CSV: document, span, type, score, text); refused inside the "
                   "output's folder; keep it as secret as the input")  # fmt: skip
    add_strict_key(p)
    add_force(p)
    add_quiet(p)
    add_json(p)


def run(args) -> int:
    from anonlab.deid.keys import read_key
    from anonlab.deid.text import TextRedactor, redact_file
    from anonlab.errors import UsageError

    ops = dict(args.operators or [("*", "tag")])
    if len(ops) != len(args.operators or [1]):
        raise UsageError("--operator: a type is given twice")
    keyed = sorted({op for op in ops.values() if op in ("pseudonym", "shift")})
    if keyed and not args.key_file:
        raise UsageError(f"--operator {' and '.join(keyed)} needs --key-file (the key of `anonlab keygen`)")
    key = read_key(args.key_file, strict=args.strict_key) if args.key_file else None
    redactor = TextRedactor(
        entities=tuple(e.upper() for e in args.entities) if args.entities else None,
        operators=ops,
        key=key,
        threshold=args.threshold,
        language=args.language,
        nlp_model=args.nlp_model,
        date_order=args.date_order,
        max_shift_days=args.max_shift_days,
    )
    report = redact_file(
        args.input,
        args.output,
        redactor=redactor,
        columns=args.columns,
        subject=args.subject,
        subjects=args.subjects,
        review=args.review,
        force=args.force,
        progress=show_progress(args),
    )
    if args.json:
        print_json({**report.to_dict(), "output": args.output, "review_written": bool(args.review)})
        return 0
    print(f"redacted {report.documents:,} documents ({report.characters:,} characters) into {args.output}")
    for ent, n in report.replaced.items():
        print(f"  {ent}: {n:,} replaced ({report.operators[ent]})")
    if args.review:
        print(f"  review file: {args.review} (every detection with its text: keep it as secret as the input)")
    print("  detection is not perfect: read the review file before releasing the output")
    return 0
