"""`anonlab budget init|show`: create a population's privacy-budget ledger and show what it has spent."""

from __future__ import annotations

from anonlab.cli._common import add_command, add_group, add_json, positive_int, print_json


def add_parser(sub) -> None:
    _, actions = add_group(
        sub,
        "budget",
        help="a population's privacy budget: create its ledger, show what is spent and left",
        description=(
            "A ledger holds the total privacy budget (epsilon, delta) a data owner allows for one population (the\n"
            "people in the data, named by you), its one neighbour relation, and every DP release charged against\n"
            "it (what, when, mechanism, its own cost, what was charged, whether the noise was seeded). DP commands\n"
            "(`anonlab dp stats`, `anonlab synth`) charge it BEFORE drawing any noise and refuse a release that\n"
            "would pass the total, saying what is left. Releases compose in zCDP where they can (Gaussian noise),\n"
            "so many small releases cost less than the sum of their epsilons.\n\n"
            "Smaller epsilon = stronger privacy (1 is a common upper end for sensitive data); delta should be far\n"
            "below 1 / (number of people in the data), e.g. 1e-6 or smaller, or 0 for pure DP."
        ),
    )
    p = add_command(
        actions,
        "init",
        help="create a ledger with a total budget for one population",
        description=(
            "Create LEDGER (a JSON-lines file) with the total budget EPSILON, DELTA for one population, and its\n"
            "head anchor LEDGER.head (detects a ledger later cut short or replaced by an older copy). An existing\n"
            "ledger is never replaced or truncated: to start over, remove the file yourself; the new ledger's\n"
            "header records that it was created fresh (and that it replaces a removed ledger when that ledger's\n"
            "anchor is still beside it)."
        ),
        func=run_init,
    )
    p.add_argument("ledger", help="ledger file to create (.jsonl); must not exist")
    p.add_argument(
        "--epsilon",
        type=float,
        required=True,
        help="total privacy-loss bound over all releases about this population (> 0; smaller is more private)",
    )
    p.add_argument(
        "--delta",
        type=float,
        default=0.0,
        help="total probability that the epsilon bound fails (0 <= delta < 1; keep it far below 1/people)",
    )
    p.add_argument(
        "--population",
        metavar="NAME",
        help="name of the population (the people) this budget protects; every table about them, however "
        "shuffled or re-serialised, charges this ledger (default: the ledger file's stem)",
    )
    p.add_argument(
        "--neighbours",
        choices=["add/remove", "replace-one"],
        default="add/remove",
        help="the ledger's one neighbour relation. add/remove: one person added or removed, the row count stays "
        "private; methods that use the exact n must release a DP estimate of it. replace-one: n is public "
        "(--population-size) and one person's record is replaced; add/remove releases then cost double "
        "(a replacement is a removal plus an addition)",
    )
    p.add_argument(
        "--population-size",
        type=positive_int,
        metavar="N",
        help="the public number of people n (required with --neighbours replace-one; refused with add/remove, "
        "where n is private)",
    )
    p.add_argument(
        "--dataset",
        metavar="INPUT",
        help="record this table's content fingerprint inside the ledger (only to warn when a later release is "
        "computed from a table with other content; never a refusal, never published)",
    )
    p.add_argument(
        "--accounting",
        choices=["zcdp", "basic"],
        default=None,
        help="how releases compose: zcdp (rhos add; tight for Gaussian noise; default when delta > 0) or basic "
        "(epsilons and deltas add; default when delta = 0; needed for releases with only an (epsilon, delta) "
        "cost such as DP-SGD). Fixed for the ledger's life.",
    )
    p.add_argument("--note", help="a free-text note kept in the ledger header (no secrets)")
    add_json(p)

    s = add_command(
        actions,
        "show",
        help="show a ledger's population, total, spent and remaining budget, and its releases",
        description=(
            "Read LEDGER, verify it (checksums, chain, sequence, head anchor), and show its population and\n"
            "neighbour relation, the total budget, what the releases have spent together (composed by the\n"
            "ledger's rule: zCDP or basic; the figure the budget limits), the plain sum of the releases' own\n"
            "epsilons (what each `dp stats` / `synth` run printed; not what the budget limits), what is left, and\n"
            "each release with its own cost and what was charged."
        ),
        func=run_show,
    )
    s.add_argument("ledger", help="ledger file (.jsonl)")
    add_json(s)


def run_init(args) -> int:
    from anonlab.io import guard_outputs, read_table
    from anonlab.privacy.ledger import Ledger, dataset_fingerprint

    guard_outputs([args.ledger, f"{args.ledger}.head"], {"dataset": args.dataset})
    dataset = dataset_fingerprint(read_table(args.dataset)) if args.dataset else None
    led = Ledger.create(
        args.ledger,
        epsilon=args.epsilon,
        delta=args.delta,
        population=args.population,
        neighbours=args.neighbours,
        population_size=args.population_size,
        accounting=args.accounting,
        note=args.note,
        dataset=dataset,
    )
    if args.json:
        print_json(led.to_dict())
        return 0
    rel = _relation(led.neighbours, led.population_size)
    print(
        f"created ledger {args.ledger}: population {led.population!r}, neighbours {rel}; total epsilon "
        f"{led.total.epsilon:g}, delta {led.total.delta:g}, {led.accounting} accounting"
    )
    if args.dataset:
        print(f"recorded the content of {args.dataset} (a later release from other content warns)")
    if led.replaces:
        print(
            "note: the head anchor of a removed ledger was found beside it; the new header records that it "
            "replaces that ledger (whose spending is not carried over)"
        )
    return 0


def _relation(neighbours: str, n: int | None) -> str:
    if neighbours == "replace-one":
        return f"replace-one (one person's record replaced; n = {n} is public)"
    return "add/remove (one person added or removed; the number of people is private)"


def run_show(args) -> int:
    from anonlab.privacy.ledger import Ledger

    led = Ledger.open(args.ledger)
    info = led.to_dict()
    if args.json:
        print_json(info)
        return 0
    t, s, r, per = info["total"], info["spent"], info["remaining"], info["per_release_sum"]
    zcdp = info["accounting"] == "zcdp"
    origin = ""
    if info["replaces"]:
        origin = ", created fresh, replacing a removed ledger"
    elif info["created_fresh"]:
        origin = ", created fresh"
    print(f"ledger      {args.ledger}  (format {info['format_version']}, created {info['created']}{origin})")
    print(f"population  {info['population']}")
    print(f"neighbours  {_relation(info['neighbours'], info['population_size'])}")
    print(f"rule        {info['accounting']} composition")
    rho_total = f"  (rho {info['total_rho']:.6g})" if zcdp else ""
    print(f"total       epsilon {t['epsilon']:.6g}  delta {t['delta']:.6g}{rho_total}")
    rho_spent = f"  (rho {s['rho']:.6g})" if zcdp else ""
    print(f"composed    epsilon {s['epsilon']:.6g}  delta {s['delta']:.6g}{rho_spent}  <- binding")
    print(f"left        epsilon {r['epsilon']:.6g}  delta {r['delta']:.6g}  (zCDP rho {r['rho']:.6g})")
    print(
        f"per-release sum of the releases' own figures: epsilon {per['epsilon']:.6g}  delta {per['delta']:.6g}  "
        "(not binding)"
    )
    print(f"binding     {info['binding']}")
    rel = info["releases"]
    if not rel:
        print("releases    none")
        return 0
    print(
        f"releases    {len(rel)}  (own = the release's own cost, as its command printed it; charged = what the"
    )
    print(
        "            ledger composes: the same, or a group of two for an add/remove release on a replace-one"
    )
    print("            ledger)")
    charged_head = "charged rho" if zcdp else "charged eps, delta"
    print(
        f"  {'#':>3}  {'time':<25}  {'relation':<11}  {'own eps':>9}  {'own delta':>9}  {'own rho':>9}  "
        f"{charged_head:<20}  seeded  what"
    )
    for e in rel:
        seeded = (e["details"].get("noise") or {}).get("seeded", e["details"].get("seeded"))
        rho = "" if e["rho"] is None else f"{e['rho']:.3g}"
        c = e["charged"]
        charged = f"{c['rho'] or 0:.3g}" if zcdp else f"{c['epsilon']:.3g}, {c['delta']:.3g}"
        if e["group"] == 2:
            charged += " (x2 group)"
        flag = "yes" if seeded else ("no" if seeded is False else "?")
        trusted = e["details"].get("trusted_domains")
        if isinstance(trusted, list) and trusted:
            what = e["what"] + f"  [trusted domains: {', '.join(map(str, trusted))}]"
        else:
            what = e["what"] + ("  [trusted domains]" if trusted else "")
        print(
            f"  {e['seq']:>3}  {e['time']:<25}  {e['neighbours']:<11}  {e['epsilon']:>9.3g}  {e['delta']:>9.3g}  "
            f"{rho:>9}  {charged:<20}  {flag:<6}  {what}"
        )
    return 0
