"""`anonlab schema infer`: draft a schema (roles, types, domains) from a table."""

from __future__ import annotations

from anonlab.cli._common import add_command, add_force, add_group, add_json, print_json


def add_parser(sub) -> None:
    _, actions = add_group(
        sub,
        "schema",
        help="draft and check the schema: each column's role, type and public domain",
        description=(
            "A schema (TOML) gives each column a role (identifier, quasi, sensitive, other), a type\n"
            "(categorical, code, integer, float, date, text), a domain (categories, or lower/upper bounds) and\n"
            "whether it may hold missing values (missing = true|false). `code` is for text codes: ZIPs, IDs, phone\n"
            "and ICD codes, anything with leading zeros; they are categorical and kept exactly as written.\n\n"
            "Differential privacy needs PUBLIC domains: categories and bounds known without looking at the data\n"
            "(a questionnaire's answer list, a plausible age range). A domain read from the data leaks information\n"
            "no noise pays for, so `schema infer` marks every domain it reads as from_data = true and the DP\n"
            "commands refuse such columns unless you pass --trust-domains. Edit the draft: replace read domains\n"
            "by public ones and delete the from_data line."
        ),
    )
    p = add_command(
        actions,
        "infer",
        help="draft a schema from a table",
        description=(
            "Read INPUT and write a draft schema: roles guessed from column names and values (person names,\n"
            "e-mails, phone numbers, national ID numbers, URLs, IP addresses, free text, IDs -> identifier; age,\n"
            "sex, zip, dates -> quasi; diagnoses, income -> sensitive), types from the values (digits with leading\n"
            "zeros -> code), and domains and missing read from the data, marked from_data = true. Why each role\n"
            "and type was guessed is printed and written as a comment above each column. Identifier and\n"
            "free-text columns get no domain, so their values never reach the schema file."
        ),
        func=run_infer,
    )
    p.add_argument("input", help="table to read (.csv, .csv.gz, .tsv, .parquet)")
    p.add_argument("-o", "--output", required=True, help="schema file to write (.toml)")
    p.add_argument(
        "--max-categories",
        type=int,
        default=1000,
        help="categorical columns with more distinct values get no category list",
    )
    add_force(p)
    add_json(p)

    c = add_command(
        actions,
        "check",
        help="check a schema file against a table",
        description="Validate SCHEMA and check that every column exists in INPUT and its values fit the types.",
        func=run_check,
    )
    c.add_argument("schema", help="schema file (.toml)")
    c.add_argument("input", help="table to check")
    add_json(c)


def run_infer(args) -> int:
    from anonlab.io import check_output, guard_outputs, read_table
    from anonlab.schema import infer_schema

    guard_outputs([args.output], {"input": args.input})
    check_output(args.output, args.force)
    df = read_table(args.input)
    schema = infer_schema(df, max_categories=args.max_categories)
    schema.write(args.output, force=args.force)
    if args.json:
        out = schema.to_dict()
        for col in schema:
            out["columns"][col.name]["reason"] = col.reason
        print_json({"output": args.output, **out})
        return 0
    print(f"wrote a draft schema for {len(schema)} columns to {args.output}")
    width = max(len(c.name) for c in schema)
    for col in schema:
        if col.categories is not None:
            domain = f"{len(col.categories)} categories"
        elif col.lower is not None:
            domain = f"[{col.lower}, {col.upper}]"
        else:
            domain = "no domain"
        note = " (read from the data: not public)" if col.from_data else ""
        gaps = (
            "" if col.missing is None else ("; has missing values" if col.missing else "; no missing values")
        )
        print(f"  {col.name:<{width}}  {col.role:<10} {col.type:<11} {domain}{gaps}{note}")
        if col.reason:
            print(f"  {'':<{width}}    why: {col.reason}")
    print("Review it: roles are guesses, and DP commands refuse domains marked from_data.")
    return 0


def run_check(args) -> int:
    from anonlab.io import read_table
    from anonlab.schema import Schema

    schema = Schema.read(args.schema)
    df = read_table(args.input, columns=schema.names, schema=schema)  # every value converted by its type
    problems = schema.problems(df)
    if args.json:
        print_json({"schema": args.schema, "input": args.input, "ok": not problems, "problems": problems})
    else:
        for p in problems:
            print(f"  {p}")
        print("schema fits the table" if not problems else f"{len(problems)} problem(s)")
    return 0 if not problems else 1
