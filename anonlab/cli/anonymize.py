"""`anonlab anonymize`: k-anonymise a table (Mondrian, global recoding, local suppression, MDAV) with l / t and
suppression, or perturb it (PRAM, noise, rank swapping)."""

from __future__ import annotations

import argparse

from anonlab.cli._common import (
    add_command,
    add_deprecated_progress,
    add_force,
    add_json,
    add_quiet,
    add_scheduler,
    add_seed,
    columns,
    positive_float,
    positive_int,
    print_json,
    show_progress,
)

DESCRIPTION = """\
Generalise the quasi-identifiers of INPUT so that every record shares them with at least k-1 others
(k-anonymity), optionally with l-diversity and t-closeness on sensitive columns, and write OUTPUT.

Output keeps every column and its order; only the quasi-identifiers change, to readable generalised values
(30-39, {Divorced,Separated}, or a hierarchy's label). Suppressed records are removed (and counted in the
report) or, with --suppress-mark, kept with * in their quasi-identifiers.

Methods:
  mondrian  multidimensional partitioning (LeFevre et al. 2006): each class gets its own ranges; least loss
  global    one recoding per column from hierarchies (ARX-format CSV via --hierarchy, e.g. from
            `anonlab hierarchy build`, else built in: intervals for numbers, day/month/year for dates,
            right-to-left masking for codes such as ZIP or ICD codes, adjacent grouping for ordered
            categories (--order, a schema's ordered list, integer codes), frequency-balanced grouping for
            other categories); the lattice of levels is searched for the optimum
  suppression  blanks (*) the fewest importance-weighted quasi-identifier cells to reach k (sdcMicro's
            localSuppression); --param importance='{"age": 3}'
  mdav      replaces numeric quasi-identifiers by the means of groups of k similar records (MDAV)
Perturbative methods (no k; they change the --quasi columns at random; no guarantee, not DP):
  pram      re-draws categorical values from an invariant transition matrix, released in the report so
            analysts can correct their estimates; --param pd=0.8 --param alpha=0.5
  noise     adds noise to numeric columns; --param kind=additive|correlated|correlated2 --param noise=150
            (additive, correlated: noise sd as a percentage) --param delta=0.1 (correlated2)
  rankswap  exchanges numeric values between records within p% of ranks; --param p=15
ARX's other models (full-domain generalisation, the lattice searched for the least loss; --k 1: the model alone):
  presence  delta-presence against a public --population table the sample was drawn from;
            --param delta_min=0.05 --param delta_max=0.5
  kmap      k-map: every class matches >= k population individuals: --population FILE (exact), or an estimate:
            --param estimator=poisson|zero-truncated-poisson --param sampling_fraction=0.01
  likeness  beta-likeness of the --sensitive columns: --param beta=1 [--param enhanced=true]
  safepub   (epsilon, delta)-DP: random sampling, k-anonymity, exponential-mechanism search (SafePub);
            --param epsilon=1 --param delta=1e-6, a --hierarchy for every --quasi column (only those columns
            are released), --ledger FILE or --no-ledger
Set-valued data:
  km        km-anonymity of one column of item sets (--quasi COLUMN, items ';'-separated): an attacker knowing
            up to m items finds >= k records; --param m=2, --hierarchy COLUMN=items.csv (item;parent;...;*)

With --schema FILE (or `adult` for the bundled Adult schema), the schema's roles give the quasi-identifiers and
sensitive columns when --quasi / --sensitive are not given, and its domains shape the built-in hierarchies
(numeric bounds align the intervals; a category list written in a non-alphabetical order is the values' order).

Warnings (stderr, and in the report): a column left in clear that is a deterministic function of a
quasi-identifier, or determines one, on this data (education-num beside education) undoes the generalisation:
add it to --quasi or drop it.

Privacy meaning: protects against an attacker who links on the named quasi-identifiers (re-identification at
most 1/k) and, with --l / --t, against learning a sensitive value from a class. The output is still personal
data; this is not differential privacy.

Examples:
  anonlab anonymize adult.csv -o adult-k10.csv --quasi age,sex,race,native-country --k 10
  anonlab anonymize adult.csv -o adult-g.csv --schema adult --k 10 --method global
  anonlab anonymize adult.csv -o out.csv --quasi age,education --sensitive income-per-year --k 5 --l 2 --t 0.2
  anonlab anonymize in.csv -o out.csv --recipe study.toml --report report.json
  anonlab anonymize adult.csv -o adult-pram.csv --method pram --quasi race,marital-status --param pd=0.7
  anonlab anonymize adult.csv -o adult-ns.csv --method noise --quasi age,hours-per-week --param kind=correlated2
  anonlab anonymize sample.csv -o out.csv --method presence --population census.csv --quasi age,sex,zip --k 1 \
      --param delta_min=0.05 --param delta_max=0.5
  anonlab anonymize claims.csv -o out.csv --method km --quasi diagnoses --k 5 --param m=2 \
      --hierarchy diagnoses=icd.csv"""


def _hierarchy(text: str) -> tuple[str, str]:
    col, sep, path = text.partition("=")
    if not sep or not col.strip() or not path.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: write COLUMN=FILE")
    return col.strip(), path.strip()


def _order(text: str) -> tuple[str, tuple[str, ...]]:
    col, sep, values = text.partition("=")
    vals = tuple(v.strip() for v in values.split(",") if v.strip())
    if not sep or not col.strip() or len(vals) < 2:
        raise argparse.ArgumentTypeError(f"{text!r}: write COLUMN=VALUE1,VALUE2,... (two values at least)")
    return col.strip(), vals


def _fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= v <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must lie between 0 and 1 (a fraction of the records)")
    return v


def add_parser(sub) -> None:
    p = add_command(
        sub,
        "anonymize",
        help="k-anonymise a table (Mondrian or optimal global generalisation), with l-diversity / t-closeness",
        description=DESCRIPTION,
        func=run,
    )
    p.add_argument("input", help="table to anonymise (.csv, .csv.gz, .tsv, .parquet); never modified")
    p.add_argument("-o", "--output", required=True, help="where to write the anonymised table")
    p.add_argument(
        "--quasi",
        type=columns,
        default=None,
        help="quasi-identifiers, comma-separated: the columns an attacker may know from elsewhere",
    )
    p.add_argument(
        "--sensitive",
        type=columns,
        default=None,
        help="sensitive columns, comma-separated, whose disclosure --l and --t protect",
    )
    p.add_argument(
        "--k",
        type=positive_int,
        default=None,
        help="minimum class size (re-identification <= 1/k; kmap: population individuals per class; 1 allowed for "
        "presence, kmap, likeness); not taken by pram, noise, rankswap, safepub",
    )
    p.add_argument(
        "--l",
        type=positive_float,
        default=None,
        help="l-diversity: well-represented sensitive values per class",
    )
    p.add_argument(
        "--l-kind",
        choices=["distinct", "entropy", "recursive"],
        default=None,
        help="distinct: l different values; entropy: entropy >= log(l); recursive: (c,l)-diversity "
        "[default: distinct]",
    )
    p.add_argument(
        "--c",
        type=positive_float,
        default=None,
        help="c of recursive (c,l)-diversity: the commonest value is rarer than c times the l-th and rarer "
        "ones together [default: 2]",
    )
    p.add_argument(
        "--t",
        type=_fraction,
        default=None,
        help="t-closeness: largest Earth Mover's Distance of a class's sensitive distribution from the whole "
        "release's (ordered distance for numbers, equal or --hierarchy distance for categories)",
    )
    from anonlab.deid.registry import method_names

    p.add_argument("--method", choices=method_names(), default=None, help="[default: mondrian]")
    p.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help="Mondrian: strict cuts (equal values never on both sides; classes never overlap)",
    )
    p.add_argument(
        "--max-suppression",
        type=_fraction,
        default=None,
        help="fraction of records that may be withheld to avoid coarse classes [default: 0]",
    )
    p.add_argument(
        "--suppress-mark",
        action="store_true",
        default=None,
        help="keep suppressed records, with * in their quasi-identifiers, instead of removing them",
    )
    p.add_argument(
        "--hierarchy",
        dest="hierarchies",
        type=_hierarchy,
        action="append",
        default=None,
        metavar="COL=FILE",
        help="ARX-format hierarchy CSV for a column (one row per value, one column per level); repeatable",
    )
    p.add_argument(
        "--order",
        dest="orders",
        type=_order,
        action="append",
        default=None,
        metavar="COL=V1,V2,...",
        help="the order of a categorical quasi-identifier's values: classes then group adjacent values (Mondrian "
        "cuts between them, global's built-in hierarchy groups them); repeatable",
    )
    p.add_argument(
        "--schema",
        default=None,
        metavar="FILE|adult",
        help="schema TOML (or `adult`, bundled): its roles give --quasi / --sensitive when not given, its domains "
        "(bounds, category order) shape the built-in hierarchies",
    )
    p.add_argument(
        "--loss", choices=["gcp", "discernibility"], default=None, help="what global minimises [default: gcp]"
    )
    p.add_argument(
        "--recipe", default=None, help="TOML recipe ([anonymize] table); options given here override it"
    )
    p.add_argument(
        "--param",
        action="append",
        default=None,
        metavar="NAME=VALUE",
        help="any other parameter of the method's class (repeatable; VALUE read as JSON when it parses, else as "
        "text), e.g. --param pd=0.7 for pram, --param kind=correlated for noise, --param p=10 for rankswap",
    )
    p.add_argument(
        "--population",
        default=None,
        metavar="FILE",
        help="presence, kmap: the public population table the input was drawn from (it holds every input "
        "record's quasi-identifiers)",
    )
    p.add_argument(
        "--ledger",
        default=None,
        metavar="FILE",
        help="safepub: privacy ledger to charge (epsilon, delta) before anything is drawn (`anonlab budget init`)",
    )
    p.add_argument(
        "--no-ledger",
        action="store_true",
        help="safepub: release without charging a ledger (an experiment; nothing then limits what releases add up to)",
    )
    p.add_argument("--report", default=None, help="also write the report as JSON to this file")
    add_seed(
        p,
        "pram, noise and rankswap's random draws, and safepub's sample (its selection is never seeded; without "
        "--seed the sample comes from the operating system's CSPRNG)",
        secret="with it and the input the perturbation is undone, and safepub's sample is known",
    )
    add_quiet(p)
    add_deprecated_progress(p, "--progress")
    add_force(p)
    add_json(p)
    add_scheduler(p)


def run(args) -> int:
    import json

    from anonlab.deid import anonymize, read_recipe
    from anonlab.deid.recipe import load_schema
    from anonlab.deid.registry import get_method
    from anonlab.errors import UsageError
    from anonlab.io import check_output, guard_outputs, read_table, table_format, write_table, write_text

    table_format(args.output)
    guard_outputs(
        [args.output, args.report],
        {
            "input": args.input,
            "recipe": args.recipe,
            "hierarchy": [f for _, f in args.hierarchies or ()],
            "schema": args.schema if args.schema != "adult" else None,
            "population": args.population,
            "ledger": args.ledger,
        },
    )
    check_output(args.output, args.force)
    if args.report:
        check_output(args.report, args.force)
    given = {
        "quasi": args.quasi,
        "sensitive": args.sensitive,
        "k": args.k,
        "l": args.l,
        "l_kind": args.l_kind,
        "c": args.c,
        "t": args.t,
        "method": args.method,
        "strict": args.strict,
        "max_suppression": args.max_suppression,
        "suppress_mark": args.suppress_mark,
        "hierarchies": dict(args.hierarchies) if args.hierarchies else None,
        "loss": args.loss,
        "orders": dict(args.orders) if args.orders else None,
        "progress": show_progress(args) or None,
        "seed": args.seed,
        "population": args.population,
        **_param_options(args.param or []),
    }
    params = (
        read_recipe(args.recipe, **given)
        if args.recipe
        else {k: v for k, v in given.items() if v is not None}
    )
    takes = get_method(params.get("method") or "mondrian")._param_names()
    if "progress" in params and "progress" not in takes:
        params.pop("progress")
    if params.get("k") is None and "k" in takes:
        raise UsageError("give --k (or a --recipe that names it)")
    if params.get("quasi") is None and not args.schema:
        raise UsageError("give --quasi (or a --recipe or --schema that names the quasi-identifiers)")
    if args.scheduler and (params.get("method") or "mondrian") != "mondrian":
        raise UsageError(
            f"--method {params['method']} runs in-process only: --scheduler supports --method mondrian"
        )
    if params.get("method") == "safepub":
        if args.ledger and args.no_ledger:
            raise UsageError("--ledger and --no-ledger exclude each other")
        if not args.ledger and not args.no_ledger:
            raise UsageError(
                "safepub is differentially private: give --ledger FILE (create one with `anonlab budget init`), or "
                "--no-ledger to release without one"
            )
        if args.ledger:
            from anonlab.privacy.ledger import Ledger

            params["ledger"] = Ledger.open(args.ledger)
    elif args.ledger or args.no_ledger:
        raise UsageError("--ledger / --no-ledger apply to --method safepub only")
    schema = load_schema(args.schema) if args.schema else None
    if args.scheduler:  # a folder of Parquet parts, released region by region on a Dask cluster
        from anonlab.distributed import anonymize as anonymize_on_cluster

        result = anonymize_on_cluster(
            args.input, args.output, schema=schema, source=args.input, force=args.force,
            scheduler=args.scheduler, **params,
        )  # fmt: skip
    else:
        df = read_table(args.input)
        released, result = anonymize(df, schema=schema, source=args.input, **params)
        write_table(released, args.output, force=args.force)
    report = result.to_dict()
    report["input"] = str(args.input)
    report["output"] = str(args.output)
    if args.schema:
        report["schema"] = str(args.schema)
    if args.report:
        write_text(args.report, json.dumps(report, indent=2, default=str) + "\n", force=args.force)
    if args.json:
        print_json(report)
    else:
        print(_render_any(report))
    return 0


def _render_any(report: dict) -> str:
    if "perturbed" in report:
        return _render_perturbed(report)
    if "guarantee" in report:
        return _render_safepub(report)
    if report.get("method") == "km":
        return _render_km(report)
    return _render(report)


def _render_safepub(r: dict) -> str:
    """SafePub's summary: the guarantee and figures of the release only."""
    p = r["privacy"]
    lines = [
        f"released {r['records']['released']:,} sampled records with safepub -> {r['output']}",
        f"  epsilon, delta      {p['epsilon']:g}, {p['delta']:g} (anon {p['epsilon_anon']:g}, search "
        f"{p['epsilon_search']:g} over {p['steps']} steps)",
        f"  beta (sampling)     {p['beta']:.6f}",
        f"  k (derived)         {p['k']}",
        f"  classes             {r['classes']:,} (smallest {r['achieved']['k']})",
        "  generalisation:",
    ]
    for col, g in r["generalisation"].items():
        lines.append(f"    {col:<18} level {g['level']}/{g['levels'] - 1}")
    lines.append(f"  guarantee: {r['guarantee']}")
    return "\n".join(lines)


def _render_km(r: dict) -> str:
    a = r["achieved"]
    lines = [
        f"km-anonymised column {r['column']} of {r['records']['input']:,} records -> {r['output']}",
        f"  m (items known)     {a['m']}",
        f"  achieved k          {a['k']} (smallest support of an itemset of at most m items)",
        f"  items               {r['items']['original']:,} -> {r['items']['released']:,}",
        f"  NCP (per item)      {r['information_loss']['ncp']:.4f}",
        f"  time                {r['seconds']:.2f} s",
    ]
    return "\n".join(lines)


def _param_options(items: list[str]) -> dict:
    """``--param NAME=VALUE`` options: VALUE as JSON when it parses (numbers, true/false, lists, tables), else as
    text. Whether the method takes NAME is the library's check (its message names the parameter)."""
    import json

    from anonlab.errors import UsageError

    out = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise UsageError(f"--param {item!r}: write NAME=VALUE")
        if name in {"k", "l", "t", "c", "quasi", "sensitive", "method", "seed", "progress"}:
            raise UsageError(f"--param {name}: give it as --{name.replace('_', '-')}")
        try:
            out[name] = json.loads(text)
        except ValueError:
            out[name] = text
    return out


def _render_perturbed(r: dict) -> str:
    """The summary of a perturbative release (PRAM, noise, rank swapping): no k is promised."""
    rec, loss = r["records"], r["information_loss"]
    lines = [
        f"perturbed {rec['input']:,} records with {r['method']} -> {r['output']}",
        "  column              cells changed",
    ]
    for col, c in r["perturbed"].items():
        lines.append(f"    {col:<18} {c['cells_changed']:>8,} ({100 * c['share_changed']:.1f}%)")
    for name, v in loss.items():
        lines.append(f"  {name:<19} {'-' if v is None else format(v, '.4g')}")
    for col in r["released_for_analysts"].get("pram_transition_matrices", {}):
        lines.append(f"  transition matrix of {col} released in the report (--json / --report) for analysts")
    lines += [
        f"  measured k          {r['measured']['k']} (on the release; not a guarantee)",
        f"  time                {r['seconds']:.2f} s",
        f"  note: {r['privacy_note']}",
    ]
    lines += [f"  warning: {w}" for w in r["warnings"]]
    return "\n".join(lines)


def _render(r: dict) -> str:
    a, rec, loss = r["achieved"], r["records"], r["information_loss"]
    lines = [
        f"anonymised {rec['input']:,} records with {r['method']} -> {r['output']}",
        f"  achieved k          {a['k']}",
    ]
    for name, s in a["per_sensitive"].items():
        lines.append(
            f"  {name:<19} l (distinct) {s['l_distinct']}, l (entropy) {s['l_entropy']:.3g}, t {s['t']:.4g}"
        )
    mark = " (kept, marked *)" if rec["suppressed_marked"] else " (removed)"
    lines += [
        f"  suppressed          {rec['suppressed']:,}{mark if rec['suppressed'] else ''}",
        f"  classes             {r['classes']:,}",
        f"  GCP (NCP mean)      {loss['gcp']:.4f}",
        f"  discernibility      {loss['discernibility']:.4g}",
        f"  C_AVG               {loss['c_avg']:.3f}"
        if loss["c_avg"] is not None
        else "  C_AVG               -",
        "  generalisation:",
    ]
    for col, g in r["generalisation"].items():
        extra = f" level {g['level']}/{g['levels'] - 1}" if "level" in g else ""
        lines.append(
            f"    {col:<18} {g['kind']}{extra}: {g['distinct_original']} values -> {g['distinct_released']} labels,"
            f" NCP {loss['ncp_per_column'][col]:.4f}"
        )
    lines.append(f"  time                {r['seconds']:.2f} s")
    return "\n".join(lines)
