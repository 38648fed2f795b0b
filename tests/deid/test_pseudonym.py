"""Keyed pseudonyms: stable under one key, unlinkable across keys, keys never leak."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anonlab.deid.keys import SecretKey, generate_key, read_key, write_key
from anonlab.deid.pseudonym import Pseudonymizer, pseudonymize_table
from anonlab.errors import InputError, OutputExistsError

KEY = SecretKey(bytes(range(32)))

PEOPLE = pd.DataFrame(
    {
        "mrn": ["MRN-001", "MRN-002", "MRN-001", "MRN-003", None],
        "name": ["Ann Lee", "Bo Chan", "Ann Lee", "Cy Dorn", "Di Eve"],
        "visit": ["2021-03-01", "2021-04-15", "2021-03-31", "2022-01-01", "2022-02-02"],
        "note": [
            "Patient Ann Lee reports chest pain after the long walk home",
            "Bo Chan called about the results of his blood test today",
            "Follow-up for Ann Lee, pain much better since last visit",
            "Cy Dorn referred by the family doctor for a second opinion",
            "Di Eve missed the appointment and will call back next week",
        ],
        "age": [34, 51, 34, 29, 40],
    }
)


def test_keygen_file_mode_and_no_overwrite(tmp_path):
    path = write_key(tmp_path / "k.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) == 64
    with pytest.raises(OutputExistsError):
        write_key(path)
    assert read_key(path).material == bytes.fromhex(path.read_text().strip())
    assert "hidden" in repr(read_key(path)) and path.read_text().strip() not in repr(read_key(path))


def test_bad_key_file_never_echoes_content(tmp_path):
    bad = tmp_path / "bad.key"
    bad.write_text("s3cr3t-not-hex")
    with pytest.raises(InputError) as err:
        read_key(bad)
    assert "s3cr3t" not in str(err.value)
    with pytest.raises(InputError, match="keygen"):
        read_key(tmp_path / "missing.key")


def test_stable_per_key_unlinkable_across_keys():
    k1, k2 = generate_key(), generate_key()
    a, a_again, b = Pseudonymizer(k1), Pseudonymizer(k1), Pseudonymizer(k2)
    ids = [f"ID{i:05d}" for i in range(2000)]
    p1 = [a.pseudonym(i) for i in ids]
    assert p1 == [a_again.pseudonym(i) for i in ids]
    assert len(set(p1)) == len(ids)  # no collisions
    assert all(len(p) == 16 and p.isalnum() and p.islower() for p in p1)
    p2 = [b.pseudonym(i) for i in ids]
    assert not set(p1) & set(p2)


def test_not_an_unkeyed_hash():
    import hashlib

    p = Pseudonymizer(generate_key()).pseudonym("MRN-001")
    for algo in ("md5", "sha1", "sha256"):
        assert p not in hashlib.new(algo, b"MRN-001").hexdigest()


def test_date_shift_keeps_intervals_within_subject():
    pz = Pseudonymizer(generate_key(), max_shift_days=30)
    out, mapping, result = pseudonymize_table(
        PEOPLE, pz, id_columns=["mrn"], drop=["name"], shift_dates=["visit"], by="name"
    )
    assert list(out.columns) == ["mrn", "visit", "note", "age"]
    assert "note" in result.free_text_warnings
    orig = pd.to_datetime(PEOPLE["visit"])
    new = pd.to_datetime(out["visit"])
    shift = (new - orig).dt.days
    assert shift[0] == shift[2]  # same subject, same offset: the 30-day interval survives
    assert all(s != 0 and abs(s) <= 30 for s in shift)
    assert out["mrn"][0] == out["mrn"][2] != out["mrn"][1]
    assert pd.isna(out["mrn"][4])
    assert set(mapping.columns) == {"column", "original", "pseudonym"} and len(mapping) == 3
    assert PEOPLE["mrn"][0] == "MRN-001"  # input untouched


def test_offsets_cover_the_range_and_skip_zero():
    pz = Pseudonymizer(generate_key(), max_shift_days=3)
    offs = {pz.offset_days(f"s{i}") for i in range(500)}
    assert offs == {-3, -2, -1, 1, 2, 3}


def test_cli_pseudonymize_end_to_end(tmp_path, cli, key_file):
    src = tmp_path / "in.csv"
    PEOPLE.to_csv(src, index=False)
    before = src.read_bytes()
    out = tmp_path / "release" / "out.csv"
    code, stdout, stderr = cli(
        "pseudonymize",
        src,
        "-o",
        out,
        "--key-file",
        key_file,
        "--id",
        "mrn",
        "--shift-dates",
        "visit",
        "--by",
        "name",
        "--mapping",
        tmp_path / "private" / "map.csv",
    )
    assert code == 0, stderr
    assert src.read_bytes() == before
    text = out.read_text()
    key_hex = key_file.read_text().strip()
    assert "MRN-001" not in text and "Ann Lee" not in text.split("\n")[0]
    for blob in (text, stdout, stderr, (tmp_path / "private" / "map.csv").read_text()):
        assert key_hex not in blob
    assert "'note' looks like free text" in stderr
    assert "'name' looks like a direct identifier" in stderr
    # the same key gives the same pseudonyms in a second file and run
    src2 = tmp_path / "in2.csv"
    PEOPLE.iloc[::-1].to_csv(src2, index=False)
    out2 = tmp_path / "release" / "out2.csv"
    assert cli("pseudonymize", src2, "-o", out2, "--key-file", key_file, "--id", "mrn")[0] == 0
    assert set(pd.read_csv(out)["mrn"].dropna()) == set(pd.read_csv(out2)["mrn"].dropna())


def test_cli_mapping_refused_beside_release(tmp_path, cli, key_file):
    src = tmp_path / "in.csv"
    PEOPLE.to_csv(src, index=False)
    out = tmp_path / "release" / "out.csv"
    code, _, err = cli(
        "pseudonymize",
        src,
        "-o",
        out,
        "--key-file",
        key_file,
        "--id",
        "mrn",
        "--mapping",
        tmp_path / "release" / "map.csv",
    )
    assert code == 2 and "mapping" in err and not out.exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--id", "nope"], "--id names column 'nope'"),
        (["--shift-dates", "visit"], "--by"),
        (["--id", "mrn", "--drop", "mrn"], "in both --id and --drop"),
        (["--shift-dates", "note", "--by", "mrn"], "column 'note', row 1: value is not a date"),
        ([], "nothing to do"),
    ],
)
def test_cli_bad_inputs(tmp_path, cli, key_file, extra, message):
    src = tmp_path / "in.csv"
    PEOPLE.to_csv(src, index=False)
    code, out, err = cli("pseudonymize", src, "-o", tmp_path / "o.csv", "--key-file", key_file, *extra)
    assert code == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_console_script_keygen(tmp_path):
    exe = f"{sys.prefix}/bin/anonlab"
    path = tmp_path / "k"
    run = subprocess.run([exe, "keygen", str(path)], capture_output=True, text=True)
    assert run.returncode == 0
    again = subprocess.run([exe, "keygen", str(path)], capture_output=True, text=True)
    assert again.returncode == 2 and "never overwritten" in again.stderr
    assert path.read_text().strip() not in run.stdout + run.stderr + again.stderr


# -- pseudonyms link exactly, dates parse with one format (issue 12) --------------------------------------------


def test_cli_ids_link_exactly_across_files(tmp_path, cli, key_file):
    """00123 and 123 are two people; 123 gets one pseudonym whatever else is in the file; codes stay as written."""
    a = tmp_path / "a.csv"
    a.write_text("mrn,zip,v\n00123,02140,1\n123,1234,2\n9007199254740993,02141,3\n9007199254740992,02142,4\n")
    b = tmp_path / "b.csv"
    b.write_text("mrn,zip,v\n123,02140,1\n,02141,2\n")
    outs = {}
    for src in (a, b):
        out = tmp_path / "rel" / f"{src.stem}.csv"
        mapping = tmp_path / "private" / f"{src.stem}-map.csv"
        code, _, err = cli(
            "pseudonymize", src, "-o", out, "--key-file", key_file, "--id", "mrn", "--mapping", mapping
        )
        assert code == 0, err
        outs[src.stem] = (out.read_text().splitlines(), mapping.read_text().splitlines())
    rows_a, map_a = outs["a"]
    rows_b, map_b = outs["b"]
    token = {line.split(",")[1]: line.split(",")[2] for line in map_a[1:]}
    assert sorted(token) == sorted(["00123", "123", "9007199254740993", "9007199254740992"])  # as written
    assert len(set(token.values())) == 4
    assert map_b[1:] == [f"mrn,123,{token['123']}"]  # same pseudonym in a file with a blank cell
    assert [r.split(",")[1] for r in rows_a[1:]] == [
        "02140",
        "1234",
        "02141",
        "02142",
    ]  # codes written back exactly
    assert [r.split(",")[1] for r in rows_b[1:]] == ["02140", "02141"]


def test_pseudonymize_refuses_float_ids():
    p = Pseudonymizer(generate_key())
    with pytest.raises(InputError, match="floating-point"):
        p.pseudonymize_series(pd.Series([123.0, None], name="mrn"))
    assert p.pseudonymize_series(pd.Series([123], name="mrn")).iloc[0] == p.pseudonym("123")


def test_ambiguous_day_month_refused_unless_format_given():
    df = pd.DataFrame({"who": ["a", "a", "b"], "when": ["01/02/2020", "13/02/2020", None]})
    p = Pseudonymizer(generate_key())
    with pytest.raises(InputError, match=r"column 'when'.*ambiguous.*--date-format"):
        pseudonymize_table(df, p, [], shift_dates=["when"], by="who")
    out, _, _ = pseudonymize_table(df, p, [], shift_dates=["when"], by="who", date_format="%d/%m/%Y")
    shifted = pd.to_datetime(out["when"], format="%d/%m/%Y")
    assert (shifted.iloc[1] - shifted.iloc[0]).days == 12  # 1 Feb -> 13 Feb, not 2 Jan -> 13 Feb
    assert out["when"].iloc[0][2] == "/" and pd.isna(out["when"].iloc[2])
    with pytest.raises(InputError, match=r"row 2: value does not match the date format '%m/%d/%Y'"):
        pseudonymize_table(df, p, [], shift_dates=["when"], by="who", date_format="%m/%d/%Y")


def test_iso_and_named_month_dates_need_no_format():
    from anonlab.deid.pseudonym import parse_dates

    dates, fmt = parse_dates(pd.Series(["2020-01-02", "2020-12-31T10:00:00", None]), "d")
    assert fmt is None and dates.iloc[1].hour == 10
    dates, fmt = parse_dates(pd.Series(["2 Jan 2020", "13 Feb 2020"]), "d")
    assert fmt == "%d %b %Y" and dates.iloc[1].month == 2
    with pytest.raises(InputError, match="row 2"):
        parse_dates(pd.Series(["2 Jan 2020", "2020-02-13"]), "d")


def test_cli_shift_dates_date_format(tmp_path, cli, key_file):
    src = tmp_path / "v.csv"
    src.write_text("mrn,visit\n007,01/02/2020\n007,13/02/2020\n")
    out = tmp_path / "rel" / "o.csv"
    code, _, err = cli(
        "pseudonymize", src, "-o", out, "--key-file", key_file, "--shift-dates", "visit", "--by", "mrn"
    )
    assert code == 2 and "ambiguous" in err and "Traceback" not in err and not out.exists()
    code, _, err = cli(
        "pseudonymize", src, "-o", out, "--key-file", key_file, "--shift-dates", "visit", "--by", "mrn",
        "--date-format", "%d/%m/%Y",
    )  # fmt: skip
    assert code == 0, err
    rows = [line.split(",") for line in out.read_text().splitlines()[1:]]
    assert rows[0][0] == "007"  # the subject column is text: written back exactly
    d = [pd.to_datetime(r[1], format="%d/%m/%Y") for r in rows]
    assert (d[1] - d[0]).days == 12


def test_iso_dates_are_written_back_in_the_shape_each_was_written():
    """`2020-01-02 10:30` came back as `2019-12-01T10:30:00` and a plain `2020-02-13` in the same column as
    `2020-01-12T00:00:00` (a time it never had): each ISO value keeps its own shape (date only, space or T,
    minutes, seconds), and the interval within a subject survives."""
    import re

    df = pd.DataFrame(
        {
            "who": ["a", "a", "a", "a", "b"],
            "when": ["2020-01-02 10:30", "2020-02-13", "2020-03-01T08:15:59", "2020-03-02T08:15", None],
        }
    )
    out, _, _ = pseudonymize_table(df, Pseudonymizer(generate_key()), [], shift_dates=["when"], by="who")
    shapes = [r"\d{4}-\d\d-\d\d \d\d:\d\d", r"\d{4}-\d\d-\d\d", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"]
    shapes.append(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
    for value, shape in zip(out["when"].iloc[:4], shapes, strict=True):
        assert re.fullmatch(shape, value), (value, shape)
    assert pd.isna(out["when"].iloc[4])
    assert out["when"].iloc[0][11:] == "10:30" and out["when"].iloc[2][11:] == "08:15:59"
    new = [pd.Timestamp(v) for v in out["when"].iloc[:4]]
    old = [pd.Timestamp(v) for v in df["when"].iloc[:4]]
    assert len({n - o for n, o in zip(new, old, strict=True)}) == 1


def test_keyword_function_report_and_mapping(tmp_path):
    from anonlab.deid import PseudonymizationReport, pseudonym_mapping, pseudonymize

    key = generate_key()
    df = pd.DataFrame(
        {
            "mrn": ["00123", "123", "00123", None],
            "name": ["Ann", "Bo", "Ann", "Cy"],
            "when": ["2020-01-02"] * 4,
        }
    )
    out, rep = pseudonymize(
        df, key=key, ids=["mrn"], drop=["name"], dates=["when"], by="name", date_format=None
    )
    assert isinstance(rep, PseudonymizationReport)
    assert (
        list(out.columns) == ["mrn", "when"]
        and out["mrn"].iloc[0] == out["mrn"].iloc[2] != out["mrn"].iloc[1]
    )
    assert out["mrn"].isna().iloc[3] and out["when"].iloc[0] == out["when"].iloc[2] != "2020-01-02"
    assert rep.distinct_ids == {"mrn": 2} and rep.dropped == ["name"] and rep.shifted == ["when"]
    text = json.dumps(rep.to_dict()) + repr(rep) + rep._repr_html_()
    for secret in ("00123", "Ann", key.material.hex(), out["mrn"].iloc[0]):
        assert secret not in text  # no identifier, name, key or pseudonym in the report
    mapping = pseudonym_mapping(df, key=key, ids=["mrn"])
    assert list(mapping.columns) == ["column", "original", "pseudonym"] and len(mapping) == 2
    assert dict(zip(mapping["original"], mapping["pseudonym"], strict=True))["00123"] == out["mrn"].iloc[0]
    path = tmp_path / "k.key"
    write_key(path, key)
    out2, _ = pseudonymize(df, key=path, ids="mrn")  # a key file's path works too
    assert out2["mrn"].iloc[0] == out["mrn"].iloc[0]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({}, "UsageError", "nothing to do: give ids=, drop= or dates="),
        ({"ids": ["nope"]}, "InputError", "ids= names column 'nope'"),
        ({"ids": ["mrn"], "drop": ["mrn"]}, "UsageError", "in both ids= and drop="),
        ({"dates": ["when"]}, "UsageError", "dates= needs by="),
        ({"ids": ["mrn"], "by": "mrn"}, "UsageError", "by= is only used with dates="),
        ({"ids": ["mrn"], "date_format": "%d"}, "UsageError", "date_format= is only used with dates="),
        ({"ids": ["mrn"], "max_shift_days": 0}, "UsageError", "max_shift_days=0"),
        ({"ids": ["mrn"], "key": "not a key"}, "InputError", "no such key file"),
        ({"ids": ["mrn"], "key": 42}, "UsageError", "key= must be a SecretKey"),
    ],
)
def test_keyword_function_bad_inputs(kwargs, error, message):
    import anonlab.errors
    from anonlab.deid import pseudonymize

    df = pd.DataFrame({"mrn": ["1", "2"], "when": ["2020-01-01", "2020-02-01"]})
    kwargs.setdefault("key", generate_key())
    with pytest.raises(getattr(anonlab.errors, error), match=message):
        pseudonymize(df, **kwargs)


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.one_of(st.none(), st.text(max_size=70)), min_size=1, max_size=30),
    span=st.integers(1, 2000),
)
def test_vectorised_hmac_equals_one_by_one(ids, span):
    """The batched HMAC (inner and outer states computed once per sub-key) gives, per value, the pseudonym and
    the date offset that the one-by-one `hmac.new` gives: pseudonyms link with every earlier release."""
    pz = Pseudonymizer(KEY, max_shift_days=span)
    s = pd.Series(ids, dtype=object, name="id")
    got = pz.pseudonymize_series(s).tolist()
    offs = pz.offsets_for(s).tolist()
    for value, token, off in zip(ids, got, offs, strict=True):
        if value is None:
            assert token is None and pd.isna(off)
        else:
            assert token == pz.pseudonym(value) and off == pz.offset_days(value)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "00123", "123", "é"]),
            st.one_of(st.none(), st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1))),
            st.sampled_from(["", " %H:%M", "T%H:%M", "T%H:%M:%S", " %H:%M:%S.%f"]),
            st.integers(0, 86_399_999_999),
        ),
        min_size=1,
        max_size=25,
    ),
    fmt=st.sampled_from([None, "%d/%m/%Y", "%Y%m%d"]),
)
def test_dates_shifted_per_distinct_value_equal_row_by_row(rows, fmt):
    """Dates parsed once per distinct text and formatted once per distinct shifted date give each row what
    shifting it alone gives: its subject's offset, written back in its own ISO shape (or the one format)."""
    pz = Pseudonymizer(KEY, max_shift_days=400)
    texts, want = [], []
    for who, day, shape, micros in rows:
        if day is None:
            texts.append(None)
            want.append(None)
            continue
        when = pd.Timestamp(day) + pd.Timedelta(microseconds=micros)
        shape = "%Y-%m-%d" + shape if fmt is None else fmt
        text = when.strftime(shape)
        texts.append(text)
        moved = pd.Timestamp(pd.to_datetime(text, format=fmt or "ISO8601")) + pd.Timedelta(
            days=pz.offset_days(who)
        )
        want.append(moved.strftime(shape))
    df = pd.DataFrame({"who": [r[0] for r in rows], "when": texts})
    out, _, _ = pseudonymize_table(df, pz, [], shift_dates=["when"], by="who", date_format=fmt)
    got = [None if pd.isna(v) else v for v in out["when"]]
    assert got == want


def test_identifiers_differing_after_a_nul_get_their_own_pseudonyms():
    """pandas' string hashing stops at a NUL: "a\\0b" and "a\\0c" were one identifier (one pseudonym, one date
    offset, one in the distinct count), linking two subjects."""
    from anonlab.deid import pseudonymize

    pz = Pseudonymizer(KEY)
    s = pd.Series(["a\0b", "a\0c", None, "a\0b", "a\\0b"], dtype=object, name="id")
    want = [None if v is None else pz.pseudonym(v) for v in s]
    assert pz.pseudonymize_series(s).tolist() == want and len(set(want) - {None}) == 3
    offsets = pz.offsets_for(s).tolist()
    assert [offsets[i] for i in (0, 1, 4)] == [pz.offset_days(s[i]) for i in (0, 1, 4)]
    _, report = pseudonymize(pd.DataFrame({"id": s}), key=KEY, ids=["id"])
    assert report.distinct_ids == {"id": 3}


def test_a_date_a_shift_could_carry_past_pandas_range_is_refused_naming_its_row():
    """numpy's datetime arithmetic wraps around silently past 2262-04-11: such a date is refused, not garbled."""
    df = pd.DataFrame({"id": ["1", "2", "3"], "d": ["2020-01-01", None, "2262-04-01"]})
    from anonlab.deid.pseudonym import pseudonymize

    with pytest.raises(InputError, match=r"column 'd', row 3: a date within 30 days"):
        pseudonymize(df, key=KEY, ids=["id"], dates=["d"], by="id", max_shift_days=30)
    out, _ = pseudonymize(df.iloc[:2], key=KEY, ids=["id"], dates=["d"], by="id", max_shift_days=30)
    assert out["d"].iloc[0] != "2020-01-01"
