"""Free-text redaction: real prose with planted personal data, national IDs written by Faker (an independent
generator with valid check digits), pseudonyms and date shifts that agree with `anonlab pseudonymize`."""

from __future__ import annotations

import json
import stat
from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("presidio_analyzer", reason="text redaction needs the text extra (presidio-analyzer)")
pytest.importorskip("presidio_anonymizer", reason="text redaction needs the text extra (presidio-anonymizer)")

from anonlab.deid.keys import generate_key  # noqa: E402
from anonlab.deid.pseudonym import Pseudonymizer, pseudonymize  # noqa: E402
from anonlab.deid.text import TextRedactor, redact_file  # noqa: E402
from anonlab.deid.text.dates import find_dates, shift_date  # noqa: E402
from anonlab.errors import InputError, UsageError  # noqa: E402

KEY = generate_key()


@pytest.fixture(scope="module")
def tagger():
    red = TextRedactor()
    red.analyzer  # noqa: B018 - built once for the module (loading the name lists takes seconds)
    return red


@pytest.fixture(scope="module")
def keyed(tagger):
    red = TextRedactor(operators={"*": "tag", "PERSON": "pseudonym", "DATE": "shift"}, key=KEY)
    red._analyzer = tagger.analyzer
    return red


def test_planted_corpus_recall_and_precision(tagger):
    from benchmarks.text_pii import build_corpus, score

    docs = build_corpus(30, seed=7)
    preds = [[(d.start, d.end, d.entity_type) for d in tagger.detect(t) if d.replaced] for t, _ in docs]
    got = score(docs, preds)["ALL"]["overlap"]
    assert got["recall"] >= 0.85 and got["precision"] >= 0.85, got


def test_carrier_prose_has_few_false_positives(tagger):
    from benchmarks.text_pii import carrier_sentences

    sentences = carrier_sentences()[:150]
    hits = [d for s in sentences for d in tagger.detect(s) if d.replaced]
    assert len(hits) <= 3, [(d.entity_type, d.text) for d in hits]


@pytest.mark.parametrize("locale", ["fi_FI", "sv_SE", "no_NO", "pl_PL", "it_IT", "et_EE", "fr_FR"])
def test_national_ids_written_by_faker_are_found(tagger, locale):
    from faker import Faker

    fake = Faker(locale)
    fake.seed_instance(3)
    for _ in range(5):
        nid = fake.ssn().replace(" ", "") if locale == "fr_FR" else fake.ssn()
        dets = [d for d in tagger.detect(f"Her identity number {nid} was checked.") if d.replaced]
        assert [(d.entity_type, d.text) for d in dets] == [("NATIONAL_ID", nid)]


def test_dutch_bsn_needs_context_and_checksum(tagger):
    from faker import Faker

    fake = Faker("nl_NL")
    fake.seed_instance(1)
    bsn = fake.ssn()
    assert [d.text for d in tagger.detect(f"BSN {bsn} checked.") if d.entity_type == "NATIONAL_ID"] == [bsn]
    bad = bsn[:-1] + str((int(bsn[-1]) + 1) % 10)
    assert not [d for d in tagger.detect(f"BSN {bad} checked.") if d.entity_type == "NATIONAL_ID"]


def test_henkilotunnus_check_character(tagger):
    assert [d.entity_type for d in tagger.detect("hetu 131052-308T") if d.replaced] == ["NATIONAL_ID"]
    assert not [d for d in tagger.detect("hetu 131052-308U") if d.entity_type == "NATIONAL_ID"]


def test_tags_and_masks(tagger):
    out = tagger.redact("Matti Virtanen, puh. +358 40 123 4567, matti@example.fi")
    assert out.text == "<PERSON>, puh. <PHONE_NUMBER>, <EMAIL_ADDRESS>"
    masked = TextRedactor(operators="mask")
    masked._analyzer = tagger.analyzer
    assert masked.redact("Call +358 40 123 4567 now").text == "Call +*** ** *** **** now"


def test_pseudonyms_agree_with_the_table_and_across_notes(keyed):
    table = pd.DataFrame({"name": ["Matti Virtanen", "Anna Korhonen"]})
    released, _ = pseudonymize(table, key=KEY, ids=["name"])
    a = keyed.redact("Matti Virtanen called.", subject="P1").text
    b = keyed.redact("Later Matti  Virtanen wrote to Anna Korhonen.", subject="P2").text
    assert a == f"<PERSON:{released.name[0]}> called."
    assert b == f"Later <PERSON:{released.name[0]}> wrote to <PERSON:{released.name[1]}>."
    other = TextRedactor(operators={"PERSON": "pseudonym"}, key=generate_key())
    other._analyzer = keyed.analyzer
    assert released.name[0] not in other.redact("Matti Virtanen called.").text


def test_date_shift_agrees_with_the_tabular_shift(keyed):
    table = pd.DataFrame({"id": ["P1", "P2"], "visit": ["2021-03-12", "2020-01-05"]})
    shifted, _ = pseudonymize(table, key=KEY, dates=["visit"], by="id")
    for subject, visit, new in zip(table.id, table.visit, shifted.visit, strict=True):
        assert keyed.redact(f"Seen on {visit}.", subject=subject).text == f"Seen on {new}."
    offset = Pseudonymizer(KEY).offset_days("P1")
    expect = date(2021, 3, 12) + timedelta(days=offset)
    text = keyed.redact("Seen 12.3.2021 and on March 12th, 2021.", subject="P1").text
    assert f"{expect.day:02d}.{expect.month}.{expect.year}" in text  # numbers keep their width
    assert f"{expect:%B} {expect.day}" in text


def test_shift_without_subject_is_refused(keyed):
    with pytest.raises(UsageError, match="subject="):
        keyed.redact("Seen on 2021-03-12.")


_SHAPES = ["%Y-%m-%d", "%d.%m.%Y", "%d %B %Y", "%B %d, %Y", "%d/%m/%Y", "%b %Y", "%Y-%m-%dT10:30"]


@settings(max_examples=150, deadline=None)
@given(
    day=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
    shape=st.sampled_from(_SHAPES),
    days=st.integers(-365, 365),
)
def test_shift_date_reads_back_as_the_same_shape(day, shape, days):
    text = f"on {day.strftime(shape)} ok"
    (span,) = find_dates(text)
    new = shift_date(span, days)
    (again,) = find_dates(new)
    assert again.shape == span.shape
    if shape == "%b %Y":  # month and year: moved as the 15th
        assert (again.value.year, again.value.month) == (
            (d := date(day.year, day.month, 15) + timedelta(days)).year,
            d.month,
        )
    else:
        assert again.value == day + timedelta(days=days)
        assert len(new) == len(text[span.start : span.end]) or "%B" in shape


def test_operator_and_parameter_errors():
    with pytest.raises(UsageError, match="key="):
        TextRedactor(operators="pseudonym")
    with pytest.raises(UsageError, match="DATE only"):
        TextRedactor(operators={"PERSON": "shift"}, key=KEY)
    with pytest.raises(UsageError, match="not an operator"):
        TextRedactor(operators="blur")
    with pytest.raises(UsageError, match="entities="):
        TextRedactor(entities=("PERSONS",))
    with pytest.raises(UsageError, match="no such spaCy pipeline"):
        TextRedactor(nlp_model="en_core_web_lg").analyzer  # noqa: B018


def test_redact_table_file_with_review(tmp_path, tagger, key_file):
    src = tmp_path / "notes.csv"
    src.write_text('id,note\n007,"Matti Virtanen seen 2021-03-12, hetu 131052-308T."\n008,\n')
    out, review = tmp_path / "release" / "notes.csv", tmp_path / "private" / "review.csv"
    rep = redact_file(src, out, redactor=tagger, columns=["note"], subject="id", review=review)
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(got.id) == ["007", "008"]
    assert got.note[0] == "<PERSON> seen <DATE>, hetu <NATIONAL_ID>." and got.note[1] == ""
    assert rep.documents == 1 and rep.replaced == {"DATE": 1, "NATIONAL_ID": 1, "PERSON": 1}
    assert "Virtanen" not in json.dumps(rep.to_dict())
    rows = pd.read_csv(review, dtype=str)
    assert set(rows.text) >= {"Matti Virtanen", "2021-03-12", "131052-308T"}
    assert stat.S_IMODE(review.stat().st_mode) == 0o600
    with pytest.raises(UsageError, match="review file inside"):
        redact_file(src, out, redactor=tagger, columns=["note"], review=out.parent / "r.csv", force=True)
    with pytest.raises(InputError, match="nope"):
        redact_file(src, tmp_path / "x.csv", redactor=tagger, columns=["nope"])


def test_jsonl_and_text_folder(tmp_path, keyed):
    jl = tmp_path / "t.jsonl"
    jl.write_text(json.dumps({"who": "P1", "text": "Seen on 2021-03-12 by Dr. Smith.", "n": 3}) + "\n")
    redact_file(jl, tmp_path / "o.jsonl", redactor=keyed, subject="who")
    rec = json.loads((tmp_path / "o.jsonl").read_text())
    assert rec["n"] == 3 and "2021-03-12" not in rec["text"] and "Smith" not in rec["text"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a"}\n{oops\n')
    with pytest.raises(InputError, match="line 2"):
        redact_file(bad, tmp_path / "b.jsonl", redactor=keyed, subject=None)
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text("Visit 2021-03-12.")
    (folder / "b.txt").write_text("Visit 2021-03-12.")
    redact_file(folder, tmp_path / "out", redactor=keyed, subjects={"a.txt": "P1", "b.txt": "P2"})
    a, b = (tmp_path / "out" / "a.txt").read_text(), (tmp_path / "out" / "b.txt").read_text()
    pz = Pseudonymizer(KEY)
    assert a == f"Visit {date(2021, 3, 12) + timedelta(days=pz.offset_days('P1')):%Y-%m-%d}."
    assert b == f"Visit {date(2021, 3, 12) + timedelta(days=pz.offset_days('P2')):%Y-%m-%d}."


def test_cli_never_prints_what_it_found(tmp_path, cli, key_file):
    src = tmp_path / "n.txt"
    src.write_text("Anna Korhonen, anna@example.fi, 12.3.2021.")
    subjects = tmp_path / "s.csv"
    subjects.write_text("file,subject\nn.txt,P9\n")
    code, out, err = cli("text", "redact", src, tmp_path / "o" / "n.txt", "--operator", "PERSON=pseudonym",
                         "--operator", "DATE=shift", "--key-file", key_file, "--subjects", subjects,
                         "--review", tmp_path / "rev.csv", "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["replaced"] == {"DATE": 1, "EMAIL_ADDRESS": 1, "PERSON": 1}
    for secret in ("Korhonen", "anna@example", "12.3.2021", key_file.read_text().strip()):
        assert secret not in out + err
    code, _, err = cli("text", "redact", src, tmp_path / "o2.txt", "--operator", "pseudonym")
    assert code == 2 and "--key-file" in err
    code, _, err = cli(
        "text", "redact", src, tmp_path / "o3.txt", "--operator", "PERSON=shift", "--key-file", key_file
    )
    assert code == 2 and "DATE only" in err


@pytest.mark.parametrize(
    "text, days, expect",
    [
        ("on 12.3.2021 ok", -4, "08.3.2021"),  # all-numeric dates keep each number's width
        ("on 9.3.2021 ok", 4, "13.3.2021"),
        ("on March 12th, 2021 ok", -4, "March 8th, 2021"),
        ("on March 05th, 2021 ok", 3, "March 08th, 2021"),
        ("on 2021-03-12 ok", -4, "2021-03-08"),
    ],
)
def test_a_shifted_date_keeps_its_padding_and_no_more(text, days, expect):
    (span,) = find_dates(text)
    assert shift_date(span, days) == expect
