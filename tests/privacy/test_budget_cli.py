"""`anonlab budget init|show`: populations, neighbour relations, never replacing a ledger, composed versus
per-release figures, one-line errors, truncated ledgers and partial lines."""

import json
import shutil
from pathlib import Path

import pytest

from anonlab.cli import main
from anonlab.privacy.accounting import rho_for
from anonlab.privacy.ledger import Ledger, dataset_fingerprint, head_path

V1 = Path(__file__).parent / "data" / "ledger-v1.jsonl"


def _budget(*args):
    return main(["budget", *map(str, args)])


def _one_error(err):
    return (
        err.startswith("anonlab budget")
        and ": error: " in err
        and err.count("\n") == 1
        and "Traceback" not in err
    )


def test_init_records_population_and_relation_and_show_states_them(tmp_path, capsys):
    led = tmp_path / "adult.jsonl"
    assert _budget("init", led, "--epsilon", "1", "--delta", "1e-6", "--population", "Adult 1994") == 0
    out = capsys.readouterr().out
    assert "population 'Adult 1994'" in out and "add/remove" in out
    assert _budget("show", led) == 0
    out = capsys.readouterr().out
    assert "population  Adult 1994" in out and "neighbours  add/remove" in out and "is private" in out
    assert "created fresh" in out
    r = tmp_path / "r.jsonl"
    assert (
        _budget("init", r, "--epsilon", "1", "--neighbours", "replace-one", "--population-size", "1000") == 0
    )
    capsys.readouterr()
    assert _budget("show", r, "--json") == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["population"], info["neighbours"], info["population_size"]) == ("r", "replace-one", 1000)
    assert _budget("show", r) == 0
    assert "replace-one (one person's record replaced; n = 1000 is public)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--neighbours", "replace-one"], "--population-size"),
        (["--population-size", "100"], "only for --neighbours replace-one"),
        (["--population", ""], "population"),
    ],
)
def test_bad_relation_options_are_one_line_errors(tmp_path, capsys, extra, says):
    led = tmp_path / "l.jsonl"
    assert _budget("init", led, "--epsilon", "1", *extra) == 2
    err = capsys.readouterr().err
    assert _one_error(err) and says in err
    assert not led.exists() and not head_path(led).exists()


def test_init_never_replaces_a_ledger_and_has_no_force_or_seed(tmp_path, capsys):
    led = tmp_path / "l.jsonl"
    assert _budget("init", led, "--epsilon", "1") == 0
    Ledger.open(led).charge(what="x", mechanism="laplace", epsilon=0.5, delta=0.0)
    before = led.read_bytes()
    capsys.readouterr()
    assert _budget("init", led, "--epsilon", "5") == 2
    err = capsys.readouterr().err
    assert _one_error(err) and str(led) in err and "--force or not" in err and "remove the file" in err
    for flag in (["--force"], ["--seed", "1"]):
        with pytest.raises(SystemExit) as done:
            _budget("init", led, "--epsilon", "5", *flag)
        assert done.value.code == 2
    with pytest.raises(SystemExit):
        _budget("show", led, "--seed", "1")
    assert led.read_bytes() == before


def test_starting_over_after_removing_the_file_is_recorded(tmp_path, capsys):
    led = tmp_path / "l.jsonl"
    assert _budget("init", led, "--epsilon", "1") == 0
    Ledger.open(led).charge(what="x", mechanism="laplace", epsilon=0.5, delta=0.0)
    led.unlink()
    capsys.readouterr()
    assert _budget("init", led, "--epsilon", "1") == 0
    assert "replaces that ledger" in capsys.readouterr().out
    assert _budget("show", led) == 0
    assert "replacing a removed ledger" in capsys.readouterr().out
    header = json.loads(led.read_text().splitlines()[0])
    assert header["fresh"] is True and header["replaces"]["removed_ledger_entries"] == 1


def test_dataset_is_only_a_content_record(tmp_path, capsys):
    data = tmp_path / "people.csv"
    data.write_text("id,age\n00123,30\n00124,41\n")
    led = tmp_path / "l.jsonl"
    assert _budget("init", led, "--epsilon", "1", "--dataset", data, "--json") == 0
    out = capsys.readouterr().out
    fp = Ledger.open(led).dataset
    assert fp and fp in led.read_text() and fp not in out  # kept in the ledger, never shown
    from anonlab.io import read_table

    assert fp == dataset_fingerprint(read_table(data))
    with pytest.warns(Warning, match="content differs"):
        Ledger.open(led).charge(what="y", mechanism="laplace", epsilon=0.1, delta=0.0, dataset="f" * 64)
    assert _budget("show", led, "--json") == 0
    assert fp not in capsys.readouterr().out


def test_show_explains_composed_versus_per_release_figures(tmp_path, capsys):
    led = tmp_path / "z.jsonl"
    assert _budget("init", led, "--epsilon", "2", "--delta", "1e-5") == 0
    rho = rho_for(0.5, 1e-6)
    for _ in range(2):  # two dp stats runs, each printing "epsilon 0.5"
        Ledger.open(led).charge(
            what="dp stats: count", mechanism="gaussian", epsilon=0.5, delta=1e-6, rho=rho
        )
    capsys.readouterr()
    assert _budget("show", led) == 0
    out = capsys.readouterr().out
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.strip()}
    assert "<- binding" in lines["composed"] and "(not binding)" in lines["per-release"]
    composed = float(lines["composed"].split()[2])
    per_release = float(lines["per-release"].split("epsilon")[1].split()[0])
    assert per_release == pytest.approx(1.0) and composed < per_release
    assert "do not add up under zCDP" in lines["binding"]
    assert "own eps" in out and "charged rho" in out and "left" in out


def test_show_marks_group_of_two_charges(tmp_path, capsys):
    led = tmp_path / "r.jsonl"
    assert (
        _budget(
            "init",
            led,
            "--epsilon",
            "3",
            "--neighbours",
            "replace-one",
            "--population-size",
            "50",
            "--accounting",
            "basic",
        )
        == 0
    )
    Ledger.open(led).charge(what="dp stats: count", mechanism="laplace", epsilon=0.5, delta=0.0)
    capsys.readouterr()
    assert _budget("show", led) == 0
    out = capsys.readouterr().out
    assert "1, 0 (x2 group)" in out and "composed    epsilon 1 " in out


def test_truncated_ledger_is_a_one_line_error_and_a_partial_line_a_warning(tmp_path, capsys):
    led = tmp_path / "l.jsonl"
    assert _budget("init", led, "--epsilon", "1") == 0
    for w in ("a", "b"):
        Ledger.open(led).charge(what=w, mechanism="laplace", epsilon=0.1, delta=0.0)
    full = led.read_text()
    led.write_text("\n".join(full.splitlines()[:2]) + "\n")
    capsys.readouterr()
    assert _budget("show", led) == 2
    err = capsys.readouterr().err
    assert _one_error(err) and "truncated or rolled back: the anchor says 2 entries" in err
    led.write_text(full + '{"seq": 3, "what": "c')  # a partial append after a crash
    assert _budget("show", led) == 0
    captured = capsys.readouterr()
    assert (
        captured.err.count("\n") == 1
        and "warning: " in captured.err
        and "uncommitted partial" in captured.err
    )
    assert "releases    2" in captured.out


def test_a_version_1_ledger_is_shown(tmp_path, capsys):
    led = tmp_path / "census.jsonl"
    shutil.copy(V1, led)
    assert _budget("show", led) == 0
    out = capsys.readouterr().out
    assert "format 1" in out and "population  census" in out and "neighbours  add/remove" in out
    assert "releases    2" in out


def test_a_full_disk_during_dp_stats_is_one_line_and_the_ledger_stays_valid(
    table, tmp_path, capsys, monkeypatch
):
    import errno
    import os

    _, path, schema = table
    led = tmp_path / "l.jsonl"
    assert _budget("init", led, "--epsilon", "2", "--delta", "1e-6") == 0
    before = led.read_bytes()
    real_write = os.write

    def write(fd, data):
        if b'"prev"' in bytes(data):  # the ledger line: the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    out = tmp_path / "answers.json"
    capsys.readouterr()
    with monkeypatch.context() as m:
        m.setattr(os, "write", write)
        code = main(
            ["dp", "stats", str(path), "--schema", str(schema), "--ledger", str(led), "--epsilon", "1", "--delta",
             "1e-7", "-q", "count", "-o", str(out)]
        )  # fmt: skip
    err = capsys.readouterr().err
    errors = [ln for ln in err.splitlines() if ": error: " in ln]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err
    assert str(led) in errors[0] and "No space left on device" in errors[0]
    assert led.read_bytes() == before and not out.exists()
    assert Ledger.open(led).entries == []
