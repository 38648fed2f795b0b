"""Release recipes (anonlab.run_recipe, `anonlab run`) and secret seed files (anonlab.seedfile)."""

from __future__ import annotations

import os
import stat

import pytest

import anonlab
import anonlab.errors
from anonlab.cli import main
from anonlab.errors import InputError, OutputExistsError, UsageError
from anonlab.release_recipe import ReleaseRecipe, run_recipe
from anonlab.seedfile import read_seed_file, write_seed_file

KANON = """\
[release]
kind = "kanonymity"
input = "adult.csv"

[anonymize]
quasi = ["age", "sex", "race"]
k = 5
method = "mondrian"
"""


@pytest.fixture
def folder(tmp_path):
    anonlab.load_adult().head(600).to_csv(tmp_path / "adult.csv", index=False)
    (tmp_path / "recipe.toml").write_text(KANON)
    return tmp_path


def test_a_kanonymity_recipe_gives_the_same_bytes_as_anonymize(folder, monkeypatch):
    monkeypatch.chdir(folder)
    assert main(["run", "recipe.toml", "-o", "again.csv"]) == 0
    assert main(["anonymize", "adult.csv", "-o", "cli.csv", "--quasi", "age,sex,race", "--k", "5"]) == 0
    assert (folder / "again.csv").read_bytes() == (folder / "cli.csv").read_bytes()
    assert main(["run", "recipe.toml", "-o", "again.csv"]) == 2  # never over an output without --force
    result = run_recipe(folder / "recipe.toml", root=folder)
    assert result.output is None and result.recipe.exact and result.to_dict()["rows"] == 600


def test_the_recipe_round_trips_through_toml():
    recipe = ReleaseRecipe(
        "synth",
        "t.csv",
        {"method": "mst", "epsilon": 1.0, "ledger": "l.ledger", "params": {"iters": 5}},
        seed_file="s.seed",
        release={"id": "x"},
    )
    import tomllib

    again = ReleaseRecipe.from_dict(tomllib.loads(recipe.to_toml("# head\n")))
    assert again == recipe and not again.exact and again.with_entry(3).exact


@pytest.mark.parametrize(
    "text, words",
    [
        ('[release]\nkind = "magic"\ninput = "a.csv"\n', "kind= must be one of"),
        (
            '[release]\nkind = "synth"\ninput = "a.csv"\n[synth]\nepsilon = 1\nseed = 7\n',
            "seed= is not a key",
        ),
        (
            '[release]\nkind = "synth"\ninput = "a.csv"\n[synth]\nepsilon = 1\n[secrets]\nseed = 7\n',
            "never belongs",
        ),
        ('[release]\nkind = "synth"\ninput = "a.csv"\n[synth]\nmethod = "mst"\n', "epsilon= is required"),
        (
            '[release]\nkind = "pseudonymize"\ninput = "a.csv"\n[pseudonymize]\nids = ["x"]\n',
            "key_file= is required",
        ),
        (
            '[release]\nkind = "kanonymity"\ninput = "a.csv"\n[anonymize]\nk = 5\n',
            "quasi= and k= are required",
        ),
        ("not = [toml", "not a valid TOML recipe"),
        ('[release]\nkind = "baseline"\ninput = "a.csv"\n[baseline]\nrows = 5\n', "method= is required"),
        (
            '[release]\nkind = "baseline"\ninput = "a.csv"\n[baseline]\nmethod = "copy"\nepsilon = 1\n',
            "epsilon= is not a key",
        ),
        (
            '[release]\nkind = "kanonymity"\ninput = "a.csv"\n[anonymize]\nk = 5\nquasi = ["a"]\n'
            '[secrets]\nseed_file = "s.seed"\n',
            "applies to synth and baseline recipes",
        ),
        (
            '[release]\nkind = "kanonymity"\ninput = "a.csv"\n[parameters]\nk = 5\n[reproduce]\ncommand = "x"\n',
            "run its [reproduce] command line instead",
        ),
    ],
)
def test_bad_recipes_are_one_line_errors(tmp_path, text, words, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError, match="bad.toml"):
        ReleaseRecipe.read(path)
    assert main(["run", str(path), "-o", str(tmp_path / "out.csv")]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and not (tmp_path / "out.csv").exists()


def test_a_replay_needs_the_ledger_entry(folder):
    anonlab.Ledger.create(folder / "a.ledger", epsilon=1, delta=1e-6)
    write_seed_file(folder / "s.seed")
    recipe = ReleaseRecipe(
        "synth",
        "adult.csv",
        {"method": "mst", "epsilon": 0.5, "ledger": "a.ledger", "ledger_entry": 4, "schema": "adult"},
        seed_file="s.seed",
    )
    with pytest.raises(InputError, match="no entry 4"):
        run_recipe(recipe, folder / "out.csv", root=folder)
    assert not (folder / "out.csv").exists()
    with pytest.raises(UsageError, match="would overwrite the input"):
        run_recipe(recipe, folder / "adult.csv", root=folder, force=True)


def test_an_output_never_lands_on_a_file_the_recipe_reads(folder):
    """The input by another name (a hard link), a hierarchy or the ledger: refused, --force or not."""
    anonlab.Ledger.create(folder / "a.ledger", epsilon=1, delta=1e-6)
    (folder / "age.csv").write_text("17,*\n")
    os.link(folder / "adult.csv", folder / "linked.csv")
    recipe = ReleaseRecipe(
        "kanonymity", "adult.csv", {"k": 5, "quasi": ["age"], "hierarchies": {"age": "age.csv"}}
    )
    for target, role in [("linked.csv", "input"), ("age.csv", "hierarchy")]:
        with pytest.raises(UsageError, match=f"would overwrite the {role}"):
            run_recipe(recipe, folder / target, root=folder, force=True)
    synth = ReleaseRecipe("synth", "adult.csv", {"method": "mst", "epsilon": 0.5, "ledger": "a.ledger"})
    with pytest.raises(UsageError, match="would overwrite the ledger"):
        run_recipe(synth, folder / "a.ledger", root=folder, force=True)
    assert (folder / "age.csv").read_text() == "17,*\n"


def test_seed_files_are_secret_and_never_overwritten(tmp_path):
    path = write_seed_file(tmp_path / "s.seed")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    seed = read_seed_file(path)
    assert seed >= 0 and seed.bit_length() > 64
    with pytest.raises(OutputExistsError):
        write_seed_file(path, 5)
    assert read_seed_file(path) == seed
    (tmp_path / "bad.seed").write_text("# a comment\nnot a number\n")
    with pytest.raises(InputError, match="not a seed file") as info:
        read_seed_file(tmp_path / "bad.seed")
    assert "not a number" not in str(info.value)  # the content is never shown
    with pytest.raises(InputError, match="no such seed file"):
        read_seed_file(tmp_path / "none.seed")


def test_synth_takes_the_seed_from_a_file(tmp_path, capsys):
    write_seed_file(tmp_path / "s.seed", 7)
    args = ["synth", str(tmp_path / "t.csv"), "-o", str(tmp_path / "o.csv"), "--method", "mst"]
    args += ["--epsilon", "1", "--no-ledger", "--seed", "7", "--seed-file", str(tmp_path / "s.seed")]
    assert main(args) == 2
    assert "--seed and --seed-file exclude each other" in capsys.readouterr().err
    assert main([*args[:-4], "--seed-file", str(tmp_path / "missing.seed")]) == 2
    assert "no such seed file" in capsys.readouterr().err


def test_synth_with_a_seed_file_reproduces_and_never_writes_the_seed(folder):
    seed = read_seed_file(write_seed_file(folder / "s.seed"))
    outs = []
    for name in ("one.csv", "two.csv"):
        args = ["synth", str(folder / "adult.csv"), "-o", str(folder / name), "--method", "mst", "--quiet"]
        args += ["--epsilon", "1", "--no-ledger", "--schema", "adult", "--seed-file", str(folder / "s.seed")]
        assert main([*args, "--param", "iters=10"]) == 0
        outs.append((folder / name).read_bytes())
        assert str(seed).encode() not in (folder / f"{name}.json").read_bytes()
    assert outs[0] == outs[1]


def test_a_dp_recipe_replays_its_ledger_entry_and_refuses_an_edit(folder):
    """Run as a new release (charged), then replayed from its entry: the same bytes, the ledger unchanged; an
    edited recipe (another epsilon) or table would be a release no ledger paid for: refused, nothing written."""
    anonlab.Ledger.create(folder / "a.ledger", epsilon=3, delta=1e-6)
    write_seed_file(folder / "s.seed")
    params = {
        "method": "mst",
        "epsilon": 1.0,
        "ledger": "a.ledger",
        "schema": "adult",
        "params": {"iters": 10},
    }
    recipe = ReleaseRecipe("synth", "adult.csv", params, seed_file="s.seed")
    first = run_recipe(recipe, folder / "one.csv", root=folder)
    assert first.ledger_entry == 1 and not first.replayed
    ledger = (folder / "a.ledger").read_bytes()
    again = run_recipe(recipe.with_entry(1), folder / "two.csv", root=folder)
    assert again.replayed and (folder / "two.csv").read_bytes() == (folder / "one.csv").read_bytes()
    assert (folder / "a.ledger").read_bytes() == ledger
    edited = ReleaseRecipe(
        "synth", "adult.csv", {**params, "epsilon": 0.9, "ledger_entry": 1}, seed_file="s.seed"
    )
    with pytest.raises(InputError, match="entry 1 was paid for another table or other parameters"):
        run_recipe(edited, folder / "three.csv", root=folder)
    anonlab.load_adult().head(599).to_csv(folder / "adult.csv", index=False)  # one person fewer
    with pytest.raises(InputError, match="entry 1 was paid for another table"):
        run_recipe(recipe.with_entry(1), folder / "four.csv", root=folder)
    assert not (folder / "three.csv").exists() and not (folder / "four.csv").exists()
    assert (folder / "a.ledger").read_bytes() == ledger


BASELINE = """\
[release]
kind = "baseline"
input = "adult.csv"

[baseline]
method = "{method}"
"""


def test_baseline_recipes_are_reproduced_and_say_they_are_not_releases(folder, capsys):
    """Independent columns from a seed file: the same bytes again, every column's values kept, rows reshuffled
    column by column; a copy is the table itself. `anonlab run` says a baseline is not a release."""
    import pandas as pd

    write_seed_file(folder / "s.seed")
    (folder / "indep.toml").write_text(
        BASELINE.format(method="independent") + '[secrets]\nseed_file = "s.seed"\n'
    )
    (folder / "copy.toml").write_text(BASELINE.format(method="copy"))
    for name in ("indep", "copy"):
        for out in ("a", "b"):
            assert (
                main(
                    [
                        "run",
                        str(folder / f"{name}.toml"),
                        "-o",
                        str(folder / f"{name}-{out}.csv"),
                        "--root",
                        str(folder),
                        "--quiet",
                    ]
                )
                == 0
            )
        assert (folder / f"{name}-a.csv").read_bytes() == (folder / f"{name}-b.csv").read_bytes()
    assert "not a release" in capsys.readouterr().out
    real = pd.read_csv(folder / "adult.csv", dtype=str, keep_default_na=False)
    indep = pd.read_csv(folder / "indep-a.csv", dtype=str, keep_default_na=False)
    assert list(indep.columns) == list(real.columns) and len(indep) == len(real)
    assert all(set(indep[c]) <= set(real[c]) for c in real.columns)
    assert not indep.equals(real)
    assert pd.read_csv(folder / "copy-a.csv", dtype=str, keep_default_na=False).equals(real)
    recipe = ReleaseRecipe.read(folder / "indep.toml")
    assert recipe.exact and not ReleaseRecipe("baseline", "adult.csv", {"method": "independent"}).exact
    with pytest.raises(UsageError, match="differentially private"):
        ReleaseRecipe("baseline", "adult.csv", {"method": "mst"}).run(folder)
    with pytest.raises(UsageError, match="does not apply"):
        ReleaseRecipe("baseline", "adult.csv", {"method": "copy", "rows": 5}).run(folder)


def test_a_fit_knows_its_own_ledger_entry(folder):
    """The recipe records the entry its own fit charged, not whatever entry is last when it reads the ledger."""
    ledger = anonlab.Ledger.create(folder / "a.ledger", epsilon=2, delta=1e-6)
    df = anonlab.load_adult().head(300)[["age", "sex", "race"]]
    first = anonlab.synth.MST(epsilon=0.2, iters=10).fit(df, "adult", ledger=ledger)
    second = anonlab.synth.MST(epsilon=0.2, iters=10).fit(df, "adult", ledger=ledger)
    seqs = [e.seq for e in anonlab.Ledger.open(folder / "a.ledger").entries]
    assert (first.ledger_entry_, second.ledger_entry_) == tuple(seqs)
    with pytest.warns(anonlab.errors.PrivacyWarning):
        unrecorded = anonlab.synth.MST(epsilon=0.2, iters=10).fit(df, "adult")
    assert unrecorded.ledger_entry_ is None


def test_a_killed_replay_leaves_no_ledger_copy(folder, monkeypatch, tmp_path_factory):
    """A replay's scratch copy of the ledger left by a process that no longer runs is removed by the next one."""
    import tempfile

    scratch_root = tmp_path_factory.mktemp("tmp")
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_root))
    dead = scratch_root / "anonlab-replay-999999999-abcd"  # no such process
    dead.mkdir()
    (dead / "a.ledger").write_text("entries")
    alive = scratch_root / f"anonlab-replay-{os.getpid()}-efgh"
    alive.mkdir()
    from anonlab.release_recipe import _remove_stale_scratch

    _remove_stale_scratch()
    assert not dead.exists() and alive.exists()
