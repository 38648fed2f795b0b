"""`anonlab run RECIPE -o OUTPUT`: make again the release a TOML release recipe describes (anonlab.run_recipe)."""

from __future__ import annotations

from anonlab.cli._common import add_command, add_force, add_json, add_quiet

DESCRIPTION = """\
Make the release that RECIPE (a TOML release recipe, as `anonlab serve` writes beside each release) describes,
and write its table to OUTPUT. Relative paths in the recipe are read from --root (default: the current folder;
for a recipe of `anonlab serve`, its workspace folder).

A recipe never holds a seed or a key: it names the files that hold them ([secrets] seed_file, key_file), which
stay beside the data. Exactly the same bytes come back for a k-anonymous or pseudonymised release, and for a DP
release whose recipe names its seed file and its ledger entry ([synth] ledger_entry): that entry is replayed on a
scratch copy of the ledger, the real one is not charged again, and a table or parameters other than what the entry
paid for are refused with nothing written. A DP recipe without ledger_entry makes a new release, charged to its
ledger (or, with no_ledger = true, to none). A replay needs the seed file its entry was made with: without it, with
another seed, or for a fit capped by wall-clock time (AIM max_time) it is refused. A baseline recipe ([baseline]
method = "copy" or "independent") makes a NON-PRIVATE reference for comparison (the same bytes given its seed
file), not a release. A folder recipe (kind = "dicom" or "images", as `anonlab serve` writes beside a DICOM or
photo folder release) writes the de-identified files to the folder OUTPUT (a new one; it appears whole or not at
all); a dicom recipe names its key file, and the same key gives the same bytes.

Examples:
  cd anonlab-workspace && anonlab run releases/ID/recipe.toml -o reproduced.csv
  anonlab run ~/Downloads/ID-recipe.toml -o again.csv --root anonlab-workspace
  cmp again.csv anonlab-workspace/releases/ID/release.csv     # the same bytes"""


def add_parser(sub) -> None:
    p = add_command(
        sub,
        "run",
        help="make a release again from its TOML recipe (as `anonlab serve` writes them)",
        description=DESCRIPTION,
        func=run,
    )
    p.add_argument("recipe", metavar="RECIPE", help="the release recipe (TOML)")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="where to write the release (.csv, .parquet; a folder for a dicom or images recipe)",
    )
    p.add_argument("--root", default=None, help="the folder the recipe's paths are relative to [default: .]")
    add_force(p)
    add_json(p)
    add_quiet(p)


def run(args) -> int:
    from anonlab.cli._common import print_json, show_progress
    from anonlab.release_recipe import run_recipe

    result = run_recipe(
        args.recipe, args.output, root=args.root, force=args.force, progress=show_progress(args)
    )
    if args.json:
        print_json(result.to_dict())
        return 0
    if result.data is None:  # a folder recipe
        print(
            f"wrote the {result.recipe.kind} release of {result.recipe.input} to the folder {result.output}"
        )
        return 0
    # "replayed" only for an exact replay: the library refuses any other (no seed file, another seed, an edit)
    exact_replay = result.replayed and result.recipe.exact
    how = "replayed ledger entry" if exact_replay else "charged as ledger entry"
    entry = f"; {how} {result.ledger_entry}" if result.ledger_entry is not None else ""
    print(f"wrote {len(result.data):,} rows ({result.recipe.kind}) to {result.output}{entry}")
    if result.recipe.kind == "baseline":
        print("a non-private baseline: for comparison only, not a release")
    if result.recipe.kind == "synth" and result.ledger_entry is None:
        print(
            "a new DP release charged to no ledger (no_ledger = true): nothing records or limits what it spent"
        )
    if not result.recipe.exact and not result.replayed:
        print(
            "a new release, not reproducible byte for byte: the recipe names no seed file or no ledger entry"
        )
    return 0
