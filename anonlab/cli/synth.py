"""`anonlab synth`: differentially private synthetic twins (AIM, MST, NAPSU-MQ, DPVI) and SDV baselines.

Two forms share one parser: `anonlab synth INPUT -o OUTPUT ...` fits and samples (the default action), and
`anonlab synth sample MODEL -o OUTPUT` draws more rows from a saved model. The first positional decides: the word
`sample` followed by a model file selects sampling (a table literally named `sample` is written `./sample`).
"""

from __future__ import annotations

from anonlab.cli._common import (
    DP_SECRET,
    add_command,
    add_deprecated_progress,
    add_force,
    add_json,
    add_quiet,
    add_scheduler,
    add_seed,
    positive_float,
    positive_int,
    show_progress,
)

USAGE = """\
anonlab synth INPUT -o OUTPUT [--method M] [--schema S] [--epsilon E] [--delta D]
                     (--ledger L | --no-ledger) [--rows N] [--seed S] [--save-model FILE]
                     [--binning public|quantile|density] [--diagnostics] [options]
       anonlab synth sample MODEL -o OUTPUT [--rows N] [--seed S] [--force] [--json]"""

DESCRIPTION = """\
Fit a synthesizer to INPUT (CSV/TSV/Parquet) and write synthetic rows to OUTPUT, with a sidecar OUTPUT.json
(method and parameters, epsilon, delta, rho, whether the noise was seeded, the ledger, schema hash, versions, a
privacy statement). Or, with `sample MODEL`, draw more rows from a model saved by --save-model: that is
post-processing and spends no privacy budget.

Methods:
  aim              AIM (default): adaptive, workload-aware marginal selection; the most accurate DP method here.
  mst              MST: 1-way marginals + a noisy spanning tree of 2-way marginals; fast (seconds on Adult).
  napsu            NAPSU-MQ (twinify's method): noise-aware posterior; for small tables (few columns, small domains).
  dpvi             DPVI (twinify's method): DP variational inference of a mixture model (DP-SGD, PLD accountant).
  gaussian-copula  SDV GaussianCopula: NO formal privacy guarantee (a non-private baseline).
  ctgan            SDV CTGAN: NO formal privacy guarantee (a non-private baseline).

Privacy: a DP method learns only through noisy measurements paid from (--epsilon, --delta); the guarantee covers
every row and column of INPUT that is synthesised. It relies on the schema's domains (categories, bounds) being
public. A domain read from the data (`from_data = true`, e.g. from `anonlab schema infer`) is discovered with
DP by default (--domains discover: categories by a thresholded noisy histogram, bounds on a public grid, paid
from the budget: --domain-share of rho, default 40% for mst and aim where a categorical column is discovered (they
reuse the kept categories' noisy counts), 20% otherwise, and 10% of delta; said on stderr and in the sidecar), or
trusted as public with --trust-domains (= --domains trust, recorded), or refused with --domains refuse. Without
--schema, a table with UCI Adult's columns uses the bundled public Adult schema; any other table gets an
inferred schema.
Wide numeric and date columns are cut into --bins bins; missing values are a category of their own; identifier
and free-text columns are never synthesised. A DP method spends --binning-share of the budget on placing the
cut points near each column's quantiles (DP quantiles inside the public bounds: --binning quantile, the
default), so skewed columns spread over their bins; the total stays (--epsilon, --delta). --binning public
cuts equal-width bins over the public bounds and spends nothing on them. With --seed the DP
noise is reproducible, and the release is private only while the seed stays secret: it is never written (the
sidecar says `seeded: true`).

A DP method needs --ledger (charged before any noise is drawn; create one with `anonlab budget init`), or
--no-ledger to release without one, which the sidecar records ("ledger": "none") and its statement says.
Everything written (sidecar, model, --json, this summary) holds public parameters and DP outputs only: no seed,
no exact count, no training loss, no run time. How many values fell outside the public domain (clamped or coded
missing) is an exact, non-private fact: --diagnostics prints it to standard error for you, never to a file.

Examples:
  anonlab datasets adult -o adult.csv
  anonlab budget init adult.ledger --epsilon 3
  anonlab synth adult.csv -o twin.csv --epsilon 1 --ledger adult.ledger --save-model twin.model
  anonlab synth adult.csv -o twin-mst.csv --method mst --epsilon 1 --ledger adult.ledger
  anonlab synth adult.csv -o twin-p.csv --method mst --epsilon 0.5 --ledger adult.ledger --binning public
  anonlab synth adult.csv -o try.csv --method mst --epsilon 1 --no-ledger --seed 7   # an experiment
  anonlab synth sample twin.model -o more.csv --rows 100000"""


def add_parser(sub) -> None:
    p = add_command(
        sub,
        "synth",
        help="DP synthetic twins (AIM, MST, NAPSU-MQ, DPVI) and SDV baselines",
        description=DESCRIPTION,
        func=run,
    )
    p.usage = USAGE
    p.add_argument(
        "input", metavar="INPUT", help="the table to learn from, or the word `sample` (see the usage above)"
    )
    p.add_argument("model", metavar="MODEL", nargs="?", help="with `sample`: the saved model to draw from")
    p.add_argument(
        "-o", "--output", required=True, help="where to write the synthetic table (.csv, .parquet)"
    )
    p.add_argument(
        "--rows",
        type=positive_int,
        default=None,
        help="rows to write (default: a DP estimate of INPUT's size; for a saved model, the same)",
    )
    fit = p.add_argument_group("fitting (not for `sample`)")
    fit.add_argument(
        "--method",
        default=None,
        metavar="M",
        help="synthesis method: a built-in one (above) or one registered with anonlab.synth.register "
        "(default: aim)",
    )
    fit.add_argument(
        "--schema",
        default=None,
        help="schema TOML with public domains, or `adult` for the bundled Adult schema. Without it a table with "
        "Adult's columns uses the bundled schema; any other table needs --schema for a DP method (a schema "
        "inferred from the table itself takes its types from the data; --trust-domains uses it anyway)",
    )
    fit.add_argument(
        "--epsilon",
        type=positive_float,
        default=None,
        help="privacy budget epsilon of the whole release (DP methods); smaller is more private",
    )
    fit.add_argument(
        "--delta",
        type=positive_float,
        default=None,
        help="privacy budget delta (default 1e-9); keep it far below 1 / number of people",
    )
    fit.add_argument(
        "--ledger",
        default=None,
        help="privacy ledger to charge (refused, with no noise drawn, past its total); a DP method needs it "
        "unless --no-ledger is given",
    )
    fit.add_argument(
        "--no-ledger",
        action="store_true",
        help="release a DP method without charging any ledger (an experiment: nothing then limits what releases "
        'of these people add up to); recorded in the sidecar as "ledger": "none" and in its statement',
    )
    fit.add_argument(
        "--diagnostics",
        action="store_true",
        help="print to standard error how many values of each column fell outside the schema's public domain. "
        "NOT private (exact counts from the data): for your eyes only, never written to a file",
    )
    fit.add_argument(
        "--save-model",
        default=None,
        metavar="FILE",
        help="also save the fitted model, to sample more later without spending budget",
    )
    fit.add_argument(
        "--trust-domains",
        action="store_true",
        help="accept schema domains read from the data as public (breaks the guarantee unless they are; recorded). "
        "Same as --domains trust",
    )
    fit.add_argument(
        "--domains",
        choices=["discover", "trust", "refuse"],
        default=None,
        help="schema domains read from the data (from_data = true) in a DP fit: `discover` (default) finds them "
        "with DP, paid from the budget (categories seen by too few people are not released); `trust` uses them "
        "as public (breaks the guarantee unless they are); `refuse` refuses the fit",
    )
    fit.add_argument(
        "--domain-share",
        type=float,
        default=None,
        metavar="SHARE",
        help="with domain discovery, the share of the budget (of rho; of epsilon for dpvi) spent on it, strictly "
        "between 0 and 1 (default 0.4 for mst and aim where a categorical column is discovered, as they reuse "
        "the kept categories' noisy counts as one-way measurements; 0.2 otherwise); the total stays (--epsilon, "
        "--delta)",
    )
    fit.add_argument(
        "--bins",
        type=positive_int,
        default=None,
        help="bins per numeric column over its public bounds (default 32; aim: 16)",
    )
    fit.add_argument(
        "--binning",
        choices=["public", "quantile", "density"],
        default=None,
        help="how wide numeric/date columns are cut: `quantile`: cut points at DP quantiles inside the public "
        "bounds, paid from the budget (see --binning-share); `density` (aim, mst, napsu): cut points at the "
        "quantiles of the DP point-mass densities, nothing spent on them; `public`: equal-width bins over the "
        "public bounds, no budget spent (default: quantile for DP methods, public for the non-private baselines)",
    )
    fit.add_argument(
        "--binning-share",
        default=None,
        metavar="F",
        help="with --binning quantile: the fraction (0 < F < 1) of the budget spent on the cut points (of rho for "
        "aim/mst/napsu, of epsilon for dpvi); the synthesizer gets the rest, the total stays --epsilon/--delta "
        "(default 0.1)",
    )
    fit.add_argument(
        "--binning-columns",
        default=None,
        metavar="COLS",
        help="with --binning quantile: comma-separated columns to bin on quantiles (default: every numeric or "
        "date column whose public range is wider than --bins); each needs public bounds",
    )
    fit.add_argument(
        "--no-missing",
        action="store_true",
        help="state (as public knowledge) that no value is missing: no 'missing' category, smaller domains; "
        "a missing value is then an error",
    )
    fit.add_argument(
        "--no-point-masses",
        action="store_true",
        help="DP methods: decode values uniformly inside each bin and spend nothing on it (default: 10%% of the "
        "synthesis budget buys DP densities inside binned columns, so values such as a capital gain of exactly 0 "
        "keep their share)",
    )
    fit.add_argument(
        "--max-memory",
        dest="max_memory_gb",
        type=positive_float,
        default=None,
        metavar="GB",
        help="refuse, before reading or charging anything, a fit whose public domain needs more memory than this "
        "(an estimate; default 4)",
    )
    fit.add_argument(
        "--max-minutes",
        type=positive_float,
        default=None,
        metavar="M",
        help="refuse, before reading or charging anything, a fit estimated to take longer than this on 2 cores "
        "(default 5)",
    )
    fit.add_argument(
        "--max-time",
        type=positive_float,
        default=None,
        help="aim: seconds after which the remaining budget goes to one last round (default: no wall-clock cap; "
        "rounds are capped by a public count). Makes the release depend on machine speed",
    )
    fit.add_argument(
        "--max-cells",
        type=positive_int,
        default=None,
        help="aim: cap on the model's table cells (memory and time; default 200000); napsu: the largest joint "
        "domain (default 2000000)",
    )
    fit.add_argument(
        "--workload",
        dest="workload_k",
        type=positive_int,
        default=None,
        help="aim: size k of the workload marginals it targets (default 3)",
    )
    fit.add_argument(
        "--rows-hint",
        type=positive_int,
        default=None,
        metavar="N",
        help="aim / mst: a public order of magnitude of INPUT's row count (say so only if it is public: it is "
        "recorded). The small-table check uses it instead of a DP row count paid from 5%% of the budget",
    )
    fit.add_argument(
        "--small-table",
        choices=["fallback", "warn", "off", "1-way"],
        default=None,
        help="aim / mst: when the table is too small for the budget (expected rows per 2-way cell below the "
        "noise), `fallback` (default) warns and measures fewer pairs or only 1-way marginals; `warn` only warns; "
        "`off` skips the check and spends nothing on a row count; `1-way` measures only the 1-way marginals "
        "(the DP 1-way baseline, each column independent)",
    )
    fit.add_argument(
        "--select-share",
        type=float,
        default=None,
        metavar="SHARE",
        help="aim / mst: share of the budget spent on held-out noisy 2-way marginals on which the fitted model "
        "and the 1-way model (each column independent) are compared after the fit; the better one is released "
        "(default 0.1; 0 turns the choice off)",
    )
    fit.add_argument(
        "--epochs", type=positive_int, default=None, help="dpvi / ctgan: passes over the data (50 / 300)"
    )
    fit.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        help="dpvi / ctgan: rows per step (200 / 500); for dpvi the expected rows of a Poisson-sampled step (q = batch / rows)",
    )
    fit.add_argument(
        "--learning-rate", type=positive_float, default=None, help="dpvi: Adam's learning rate (default 0.05)"
    )
    fit.add_argument(
        "--components", type=positive_int, default=None, help="dpvi: mixture components (default 5)"
    )
    fit.add_argument(
        "--queries",
        default=None,
        help="napsu: marginals to measure, e.g. 'a+b,b+c' (default: every pair for up to four columns, else "
        "each column with the next)",
    )
    fit.add_argument(
        "--posterior",
        choices=["nuts", "laplace"],
        default=None,
        help="napsu: `nuts` (default: a Laplace step, then NUTS) or `laplace` (the Laplace approximation alone: "
        "seconds, but a rough posterior)",
    )
    fit.add_argument(
        "--tree-depth",
        dest="max_tree_depth",
        type=positive_int,
        default=None,
        help="napsu: NUTS's largest tree depth, at most 2^depth steps per draw (default 6; twinify uses 12)",
    )
    fit.add_argument(
        "--jax-cache",
        default=None,
        metavar="DIR",
        help="napsu / dpvi: JAX compilation cache folder (default ~/.cache/anonlab/jax or $ANONLAB_JAX_CACHE)",
    )
    fit.add_argument(
        "--param",
        action="append",
        default=None,
        metavar="NAME=VALUE",
        help="any other parameter of the method's class (repeatable; VALUE read as JSON when it parses, else as "
        "text), e.g. --param rounds=40 for aim, or a registered method's own parameters",
    )
    add_scheduler(fit)
    fit._group_actions[-1].help += (
        "; for --method mst and aim only: their marginals are counted on the cluster, the noise, the ledger and "
        "the model stay here"
    )
    p.set_defaults(_fit_flags=[(a.dest, a.option_strings[0], a.default) for a in fit._group_actions])
    add_quiet(p)
    add_deprecated_progress(p, "--no-progress")
    add_force(p)
    add_seed(p, "the DP noise and the sampling", secret=DP_SECRET + " (the sidecar says `seeded: true`)")
    p.add_argument(
        "--seed-file",
        default=None,
        metavar="FILE",
        help="read the seed from FILE (one whole number; see anonlab.seedfile) instead of the command line, where "
        "it would show in the shell history and process list; the file is never copied into an output",
    )
    add_json(p)
    for (
        action
    ) in p._actions:  # options left unset say their real default in their help; hide "(default: None)"
        if action.default is None and action.help and "%(default)" not in action.help:
            action.help += "%(default).0s"


#: options that configure every method (constructor parameters of the same name)
_COMMON = (
    "epsilon",
    "delta",
    "seed",
    "bins",
    "binning",
    "binning_share",
    "binning_columns",
    "domains",
    "domain_share",
    "max_memory_gb",
    "max_minutes",
)
#: options for some methods only: each is the parameter of the same name (or of the name in ``_RENAMED``), where a
#: method's class has it
_METHOD = (
    "max_time",
    "max_cells",
    "workload_k",
    "rows_hint",
    "small_table",
    "select_share",
    "epochs",
    "batch_size",
    "learning_rate",
    "components",
    "queries",
    "posterior",
    "max_tree_depth",
)

#: option dests that are not the parameter's name (``--components`` is DPVI's ``k``: synth has no ``--k``)
_RENAMED = {"components": "k"}


def run(args) -> int:
    if args.seed_file is not None:
        from anonlab.errors import UsageError
        from anonlab.seedfile import read_seed_file

        if args.seed is not None:
            raise UsageError("--seed and --seed-file exclude each other")
        args.seed = read_seed_file(args.seed_file)
    if args.input == "sample" and args.model is not None:
        res = _sample(args)
    else:
        res = _fit(args)
    _report(res.to_dict(), args)  # everything printed comes from the published result
    return 0


def _sample(args):
    from anonlab.errors import UsageError
    from anonlab.synth.release import sample_model

    for dest, flag, default in args._fit_flags:
        if getattr(args, dest) != default:
            raise UsageError(f"{flag} does not apply to `synth sample` (the saved model fixes it)")
    return sample_model(args.model, args.output, rows=args.rows, seed=args.seed, force=args.force)


def _fit(args):
    import functools

    from anonlab.errors import UsageError
    from anonlab.synth.base import get_method
    from anonlab.synth.release import synthesize

    if args.model is not None:
        raise UsageError(f"unexpected second argument {args.model!r} (only `synth sample MODEL` takes two)")
    method = args.method or "aim"
    klass = get_method(method)
    params = _parameters(args, klass)
    if args.ledger is not None and args.no_ledger:
        raise UsageError("--ledger and --no-ledger exclude each other")
    if klass.private and args.ledger is None and not args.no_ledger:
        raise UsageError(
            f"method {method!r} is differentially private: give --ledger FILE (create one with `anonlab budget "
            "init`), or --no-ledger to release without one (recorded in the sidecar)"
        )
    if args.no_ledger and not klass.private:
        raise UsageError(f"--no-ledger applies to DP methods, not to --method {method}")
    if args.scheduler:  # the marginals counted on a Dask cluster (anonlab.distributed.marginals)
        from anonlab.distributed.marginals import CLUSTER_METHODS
        from anonlab.distributed.marginals import synthesize as on_cluster

        if klass.name not in CLUSTER_METHODS:
            raise UsageError(f"--scheduler: only --method mst and aim fit on a cluster, not {method}")
        synthesize = functools.partial(on_cluster, scheduler=args.scheduler)
    return synthesize(
        args.input,
        args.output,
        klass(**params),
        schema=args.schema,
        ledger=args.ledger,
        rows=args.rows,
        save_model=args.save_model,
        force=args.force,
        trust_domains=args.trust_domains,
        diagnostics=args.diagnostics,
    )


def _parameters(args, klass) -> dict:
    """The constructor parameters of ``klass`` that the options set (an option the class lacks is refused)."""

    from anonlab.errors import UsageError

    known = set(klass.param_names())
    values = {_RENAMED.get(name, name): getattr(args, name) for name in (*_COMMON, *_METHOD)}
    if args.binning in ("public", "density") and args.binning_share is not None:
        raise UsageError("--binning-share applies only with --binning quantile")
    if args.binning_share is not None:
        from anonlab.synth.binning import check_share

        values["binning_share"] = check_share(args.binning_share)
    if args.binning_columns is not None:
        values["binning_columns"] = [c.strip() for c in args.binning_columns.split(",") if c.strip()]
        if not values["binning_columns"]:
            raise UsageError("--binning-columns: give at least one column name")
    if args.queries is not None:
        values["queries"] = [
            tuple(c.strip() for c in q.split("+")) for q in args.queries.split(",") if q.strip()
        ]
    if (
        args.jax_cache is not None and "jax_cache" in known
    ):  # a folder: ignored by methods that compile nothing
        values["jax_cache"] = args.jax_cache
    values.update(missing=not args.no_missing, point_masses=not args.no_point_masses)
    values["progress"] = show_progress(args)
    values.update(_param_options(args.param or [], known, klass.name))
    out = {}
    for name, value in values.items():
        if (
            value is None
            or (name in ("missing", "point_masses") and value)
            or (name == "progress" and not value)
        ):
            continue
        if name not in known:
            raise UsageError(_not_a_parameter(name, klass))
        out[name] = value
    return out


def _param_options(items: list[str], known: set[str], method: str) -> dict:
    """``--param NAME=VALUE`` options: VALUE as JSON when it parses (numbers, true/false, lists), else as text."""
    import json

    from anonlab.errors import UsageError

    out = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--param {item!r}: write NAME=VALUE")
        if name not in known:
            raise UsageError(f"--param {name}: method {method!r} has no parameter {name!r}")
        try:
            out[name] = json.loads(text)
        except ValueError:
            out[name] = text
    return out


def _not_a_parameter(name: str, klass) -> str:
    """Which methods take option ``name`` (as the library's parameter; the CLI shows its flag)."""
    from anonlab.synth.artifacts import NO_GUARANTEE
    from anonlab.synth.registry import get, names

    if name in ("epsilon", "delta") and not klass.private:
        return f"method {klass.name!r} gives {NO_GUARANTEE}: epsilon= and delta= do not apply to it"
    takes = []
    for other in names():
        try:
            if name in get(other).param_names():
                takes.append(other)
        except Exception:  # a registered method that does not load: not one that takes it
            continue
    renamed = {param: dest for dest, param in _RENAMED.items()}
    what = f"--{renamed[name]}" if name in renamed else f"{name}="
    return f"{what} applies to {' and '.join(takes) or 'no method'}, not to method={klass.name!r}"


def _report(rec: dict, args) -> None:
    import sys

    from anonlab.cli._common import print_json

    _say_discovered_domains(rec)
    if args.json:
        print_json(rec)
        return
    for w in rec["warnings"]:
        print(f"anonlab synth: warning: {w}", file=sys.stderr)
    print(
        f"wrote {rec['rows']:,} synthetic rows ({rec['method']}) to {rec['output']}; sidecar {rec['sidecar']}"
    )
    print(f"privacy: {_spent(rec)}")
    if args.input == "sample" and args.model is not None:
        print(f"drawn from the saved model {rec['model']}: no further privacy budget spent")
    elif rec["model"]:
        print(
            f"model saved to {rec['model']} (sample more with: anonlab synth sample {rec['model']} -o FILE)"
        )


def _say_discovered_domains(rec: dict) -> None:
    import sys

    p = rec.get("privacy")
    if isinstance(p, dict) and "domains" in ((p.get("details") or {}).get("budget_parts") or {}):
        d = p["details"]["budget_parts"]["domains"]
        rare = (
            f"; a category held by fewer than about {d['threshold']} rows is written as (other) (or the schema's "
            "other label)"
            if d.get("categories_of") and d.get("threshold")
            else ""
        )
        print(
            f"anonlab synth: domains read from the data ({len(d['columns'])} column(s)) were discovered with DP, "
            f"paid from the budget (rho={d['rho']:.3g}, delta={d['delta_keys']:.3g}){rare}; --trust-domains "
            "uses them as public instead",
            file=sys.stderr,
        )


def _spent(rec: dict) -> str:
    """The one line on what the release spent, from its published privacy record."""
    if not isinstance(rec["privacy"], dict):
        return rec["privacy"]
    p = rec["privacy"]
    rho = f", rho={p['rho']:.4g}" if p.get("rho") is not None else ""
    spent = f"epsilon={p['epsilon']:g}, delta={p['delta']:g}{rho} ({p['neighbours']})"
    parts = (p.get("details") or {}).get("budget_parts") or {}
    if "density" in parts:
        d = parts["density"]
        spent += f"; of which densities inside bins ({', '.join(d['columns'])}): rho={d['rho']:.4g}"
    if "binning" in parts:
        b, s = parts["binning"], parts["synthesis"]
        cost = (
            f"rho={b['rho']:.4g}, synthesis rho={s['rho']:.4g}"
            if b.get("rho") is not None
            else f"epsilon={b['epsilon']:g}, synthesis epsilon={s['epsilon']:g}"
        )
        spent += f"; of which quantile cut points ({', '.join(b['columns'])}): {cost}"
    if rec["ledger"] == "none":
        spent += "; no ledger"
    elif rec["ledger"]:
        spent += f"; charged to {rec['ledger']}"
    return spent
