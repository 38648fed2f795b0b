"""Privacy of recipe replays (audit of 2026-12-01): a replay never draws fresh noise under a ledger entry that paid
for one draw (another seed file or none is refused; the entry keeps a commitment to its seed in the ledger file
only), a wall-clock-capped AIM fit is never replayed, and a DP recipe names its ledger or says no_ledger = true."""

from __future__ import annotations

import json

import pytest

import anonlab
from anonlab.cli import main
from anonlab.errors import InputError, UsageError
from anonlab.privacy.noise import seed_commitment, seed_matches
from anonlab.release_recipe import ReleaseRecipe, run_recipe
from anonlab.seedfile import read_seed_file, write_seed_file

PARAMS = {"method": "mst", "epsilon": 1.0, "ledger": "a.ledger", "schema": "adult", "params": {"iters": 5}}


@pytest.fixture
def folder(tmp_path):
    anonlab.load_adult().head(300).to_csv(tmp_path / "adult.csv", index=False)
    anonlab.Ledger.create(tmp_path / "a.ledger", epsilon=3, delta=1e-6)
    write_seed_file(tmp_path / "s.seed")
    write_seed_file(tmp_path / "other.seed")
    return tmp_path


@pytest.fixture
def charged(folder):
    """A seeded MST release charged as entry 1; the ledger's bytes after it."""
    first = run_recipe(
        ReleaseRecipe("synth", "adult.csv", PARAMS, seed_file="s.seed"), folder / "one.csv", root=folder
    )
    assert first.ledger_entry == 1 and not first.replayed
    return (folder / "a.ledger").read_bytes()


def _replay(seed_file):
    return ReleaseRecipe("synth", "adult.csv", {**PARAMS, "ledger_entry": 1}, seed_file=seed_file)


def test_a_replay_with_another_seed_file_or_none_is_refused(folder, charged, capsys):
    with pytest.raises(InputError, match="entry 1 was made with another seed"):
        run_recipe(_replay("other.seed"), folder / "two.csv", root=folder)
    with pytest.raises(UsageError, match="needs \\[secrets\\] seed_file="):
        run_recipe(_replay(None), folder / "three.csv", root=folder)
    (folder / "r.toml").write_text(_replay("other.seed").to_toml())
    assert main(["run", str(folder / "r.toml"), "-o", str(folder / "four.csv"), "--root", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "another seed" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not any((folder / n).exists() for n in ("two.csv", "three.csv", "four.csv"))
    assert (folder / "a.ledger").read_bytes() == charged
    # the right seed file still replays to the same bytes, and the CLI says "replayed"
    (folder / "ok.toml").write_text(_replay("s.seed").to_toml())
    assert main(["run", str(folder / "ok.toml"), "-o", str(folder / "five.csv"), "--root", str(folder)]) == 0
    assert "replayed ledger entry 1" in capsys.readouterr().out
    assert (folder / "five.csv").read_bytes() == (folder / "one.csv").read_bytes()
    assert (folder / "a.ledger").read_bytes() == charged


def test_an_entry_without_a_seed_commitment_is_never_replayed(folder):
    """An unseeded entry (fresh OS noise each time) has nothing to check a replay against: refused."""
    run_recipe(ReleaseRecipe("synth", "adult.csv", PARAMS), folder / "one.csv", root=folder)
    before = (folder / "a.ledger").read_bytes()
    with pytest.raises(InputError, match="no commitment to a seed"):
        run_recipe(_replay("s.seed"), folder / "two.csv", root=folder)
    assert not (folder / "two.csv").exists() and (folder / "a.ledger").read_bytes() == before


def test_the_seed_commitment_stays_in_the_ledger_file(folder, charged):
    seed = read_seed_file(folder / "s.seed")
    raw = json.loads(charged.decode().splitlines()[1])
    commitment = raw["seed_commitment"]
    assert seed_matches(seed, commitment) and not seed_matches(
        read_seed_file(folder / "other.seed"), commitment
    )
    assert str(seed) not in charged.decode()
    ledger = anonlab.Ledger.open(folder / "a.ledger")
    assert ledger.entries[0].seed_commitment == commitment
    shown = json.dumps(ledger.to_dict()) + json.dumps(ledger.entries[0].to_dict())
    assert commitment not in shown and '"seed_commitment"' not in shown
    # nothing written beside the release carries it (nor does the release itself)
    result = run_recipe(_replay("s.seed"), folder / "two.csv", root=folder)
    parts = [
        json.dumps(result.to_dict(), default=str),
        result.recipe.to_toml(),
        (folder / "two.csv").read_text(),
    ]
    assert not any(commitment in p or commitment.split("$")[-1] in p for p in parts)


def test_seed_commitments_are_salted_and_check_small_seeds():
    a, b = seed_commitment(7), seed_commitment(7)
    assert a != b and seed_matches(7, a) and seed_matches(7, b)
    assert not seed_matches(8, a) and not seed_matches(7, None) and not seed_matches(7, "scrypt$1$2")


def test_an_aim_recipe_with_a_time_limit_is_never_replayed(folder):
    """A new AIM release capped by max_time is made and charged; replaying its entry is refused (wall-clock time
    decides its rounds, so the replay would be another release under the same entry)."""
    params = {**PARAMS, "method": "aim", "params": {"rounds": 2, "max_time": 600}}
    recipe = ReleaseRecipe("synth", "adult.csv", params, seed_file="s.seed")
    assert run_recipe(recipe, folder / "one.csv", root=folder).ledger_entry == 1
    before = (folder / "a.ledger").read_bytes()
    with pytest.raises(UsageError, match="max_time= caps the fit by wall-clock time"):
        run_recipe(recipe.with_entry(1), folder / "two.csv", root=folder)
    assert not (folder / "two.csv").exists() and (folder / "a.ledger").read_bytes() == before


def test_a_dp_recipe_names_its_ledger_or_says_no_ledger(folder, capsys):
    no_ledger = {k: v for k, v in PARAMS.items() if k != "ledger"}
    with pytest.raises(UsageError, match="ledger= is required"):
        run_recipe(ReleaseRecipe("synth", "adult.csv", no_ledger), folder / "o.csv", root=folder)
    (folder / "r.toml").write_text(ReleaseRecipe("synth", "adult.csv", no_ledger).to_toml())
    assert main(["run", str(folder / "r.toml"), "-o", str(folder / "o.csv"), "--root", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "no_ledger = true" in err and "Traceback" not in err and not (folder / "o.csv").exists()
    with pytest.raises(UsageError, match="contradict"):
        run_recipe(ReleaseRecipe("synth", "adult.csv", {**PARAMS, "no_ledger": True}), root=folder)
    with pytest.raises(UsageError, match="true or false"):
        run_recipe(ReleaseRecipe("synth", "adult.csv", {**no_ledger, "no_ledger": "yes"}), root=folder)
    with pytest.warns(anonlab.errors.PrivacyWarning, match="no ledger"):
        out = run_recipe(ReleaseRecipe("synth", "adult.csv", {**no_ledger, "no_ledger": True}), root=folder)
    assert out.ledger_entry is None and len(out.data) > 0
