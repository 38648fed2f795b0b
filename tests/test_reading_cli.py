"""The reading rule seen from the commands: codes written back exactly, schema drafts with reasons, subsets."""

from __future__ import annotations

import json

import pytest

ZIPS = "zip,age,dx\n02140,34,flu\n02140,35,cold\n02141,36,flu\n02141,37,cold\n02142,38,flu\n02142,39,cold\n"


def test_anonymize_writes_codes_back_exactly(tmp_path, cli):
    src = tmp_path / "z.csv"
    src.write_text(ZIPS)
    out = tmp_path / "out.csv"
    code, _, err = cli("anonymize", src, "-o", out, "--quasi", "zip,age", "--k", "2")
    assert code == 0, err
    zips = [line.split(",")[0] for line in out.read_text().splitlines()[1:]]
    assert set(zips) <= {"02140", "02141", "02142", "0214*", "021**", "02***", "0****", "*"}
    assert not any(len(z) == 4 for z in zips)


def test_schema_infer_types_codes_and_says_why(tmp_path, cli):
    src = tmp_path / "z.csv"
    src.write_text(ZIPS.replace("34,flu", ",flu"))
    out = tmp_path / "s.toml"
    code, stdout, err = cli("schema", "infer", src, "-o", out)
    assert code == 0, err
    assert "why:" in stdout and "type code" in stdout
    text = out.read_text()
    assert 'type = "code"' in text and "# zip:" in text
    from anonlab.schema import Schema

    schema = Schema.read(out)
    assert schema["zip"].type == "code" and schema["zip"].categories == ("02140", "02141", "02142")
    assert schema["age"].missing is True and schema["dx"].missing is False
    code, stdout, _ = cli("schema", "infer", src, "-o", tmp_path / "s2.toml", "--json")
    assert code == 0 and "reason" in json.loads(stdout)["columns"]["zip"]
    # schema check: codes read as written fit the categories; a missing value where missing = false is a problem
    assert cli("schema", "check", out, src)[0] == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(ZIPS.replace("cold\n02141", "\n02141"))
    code, stdout, err = cli("schema", "check", out, bad)
    assert code == 1 and "missing = false" in stdout, err


@pytest.mark.parametrize("method", ["mst"])
def test_synth_uses_a_subset_of_a_bigger_schema(tmp_path, cli, method):
    from anonlab.datasets import load_adult

    src = tmp_path / "small.csv"
    load_adult().sample(500, random_state=0)[["age", "sex", "race", "income-per-year"]].to_csv(
        src, index=False
    )
    out = tmp_path / "syn.csv"
    code, _, err = cli(
        "synth", src, "-o", out, "--schema", "adult", "--method", method, "--epsilon", "1", "--no-ledger",
        "--seed", "1",
    )  # fmt: skip
    assert code == 0, err
    assert out.read_text().splitlines()[0] == "age,sex,race,income-per-year"
