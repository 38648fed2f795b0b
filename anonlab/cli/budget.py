"""`anonlab budget init|show`: create a dataset's privacy-budget ledger and show what it has spent."""

from __future__ import annotations

from anonlab.cli._common import add_command, add_force, add_group, add_json, add_seed, print_json, warn


def add_parser(sub) -> None:
    _, actions = add_group(
        sub,
        "budget",
        help="a dataset's privacy budget: create its ledger, show what is spent and left",
        description=(
            "A ledger holds the total privacy budget (epsilon, delta) a data owner allows for one dataset, and\n"
            "every DP release charged against it (what, when, mechanism, cost, whether the noise was seeded).\n"
            "DP commands (`anonlab dp stats`, `anonlab synth`) charge it BEFORE drawing any noise and refuse a\n"
            "release that would pass the total, saying what is left. Releases compose in zCDP where they can\n"
            "(Gaussian noise), so many small releases cost less than the sum of their epsilons.\n\n"
            "Smaller epsilon = stronger privacy (1 is a common upper end for sensitive data); delta should be far\n"
            "below 1 / (number of people in the data), e.g. 1e-6 or smaller, or 0 for pure DP."
        ),
    )
    p = add_command(
        actions,
        "init",
        help="create a ledger with a total budget",
        description=(
            "Create LEDGER (a JSON-lines file) with the total budget EPSILON, DELTA. The ledger binds to the\n"
            "dataset of its first release, or to --dataset INPUT now (a SHA-256 fingerprint of the table's\n"
            "content); releases from any other dataset are then refused."
        ),
        func=run_init,
    )
    p.add_argument("ledger", help="ledger file to create (.jsonl)")
    p.add_argument(
        "--epsilon",
        type=float,
        required=True,
        help="total privacy-loss bound over all releases from this dataset (> 0; smaller is more private)",
    )
    p.add_argument(
        "--delta",
        type=float,
        default=0.0,
        help="total probability that the epsilon bound fails (0 <= delta < 1; keep it far below 1/people)",
    )
    p.add_argument(
        "--dataset", metavar="INPUT", help="bind the ledger to this table now (else: to the first release's)"
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
    add_force(p)
    add_seed(p, "nothing: creating a ledger is deterministic (accepted for uniformity)")
    add_json(p)

    s = add_command(
        actions,
        "show",
        help="show a ledger's total, spent and remaining budget, and its releases",
        description=(
            "Read LEDGER, verify it (checksums, sequence), and show the total budget, what the releases have\n"
            "spent together (by the ledger's accounting rule: zCDP or basic), what is left, and each release."
        ),
        func=run_show,
    )
    s.add_argument("ledger", help="ledger file (.jsonl)")
    add_seed(s, "nothing (accepted for uniformity)")
    add_json(s)


def run_init(args) -> int:
    from pathlib import Path

    from anonlab.io import check_output, read_table
    from anonlab.privacy.accounting import check_delta, check_epsilon
    from anonlab.privacy.ledger import Ledger, dataset_fingerprint

    eps = check_epsilon(args.epsilon, "--epsilon")
    delta = check_delta(args.delta, "--delta")
    check_output(args.ledger, args.force)
    existed = Path(args.ledger).exists()
    dataset = dataset_fingerprint(read_table(args.dataset)) if args.dataset else None
    led = Ledger.create(
        args.ledger, epsilon=eps, delta=delta, dataset=dataset, force=args.force, note=args.note
    )
    if existed:
        warn("budget init", f"{args.ledger}: replaced an existing ledger; its recorded spending is forgotten")
    if args.json:
        print_json(led.to_dict())
    else:
        bound = (
            f", bound to {args.dataset}" if args.dataset else " (binds to the dataset of its first release)"
        )
        print(
            f"created ledger {args.ledger}: total epsilon {eps:g}, delta {delta:g}, {led.accounting} accounting{bound}"
        )
    return 0


def run_show(args) -> int:
    from anonlab.privacy.ledger import Ledger

    led = Ledger.open(args.ledger)
    info = led.to_dict()
    if args.json:
        print_json(info)
        return 0
    t, s, r = info["total"], info["spent"], info["remaining"]
    print(f"ledger   {args.ledger}  (created {info['created']})")
    print(f"dataset  {info['dataset'] or '(not yet bound)'}")
    print(f"rule     {info['accounting']} composition")
    print(f"total    epsilon {t['epsilon']:.6g}  delta {t['delta']:.6g}")
    print(f"spent    epsilon {s['epsilon']:.6g}  delta {s['delta']:.6g}")
    print(f"left     epsilon {r['epsilon']:.6g}  delta {r['delta']:.6g}  (zCDP rho {r['rho']:.6g})")
    rel = info["releases"]
    if not rel:
        print("releases none")
        return 0
    print(f"releases {len(rel)}")
    print(f"  {'#':>3}  {'time':<25}  {'epsilon':>9}  {'delta':>9}  {'rho':>9}  seeded  what")
    for e in rel:
        seeded = (e["details"].get("noise") or {}).get("seeded", e["details"].get("seeded"))
        rho = "" if e["rho"] is None else f"{e['rho']:.3g}"
        flag = "yes" if seeded else ("no" if seeded is False else "?")
        trusted = e["details"].get("trusted_domains")
        what = e["what"] + (f"  [trusted domains: {', '.join(trusted)}]" if trusted else "")
        print(
            f"  {e['seq']:>3}  {e['time']:<25}  {e['epsilon']:>9.3g}  {e['delta']:>9.3g}  {rho:>9}  {flag:<6}  {what}"
        )
    return 0
