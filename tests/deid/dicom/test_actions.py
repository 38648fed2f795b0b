"""Dummy values, cleaned text and shifted dates."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from anonlab.deid.dicom.actions import (
    DUMMY_DATE,
    Scrubber,
    dummy_value,
    is_placeholder,
    shift_date,
    shift_datetime,
)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)), st.integers(-365, 365))
def test_shift_date_moves_by_exactly_the_offset(day, offset):
    shifted = shift_date(day.strftime("%Y%m%d"), offset)
    assert dt.datetime.strptime(shifted, "%Y%m%d").date() - day == dt.timedelta(days=offset)


def test_shift_date_forms():
    assert shift_date("20200115\\20200301", 10) == "20200125\\20200311"
    assert shift_date("20200101-20200110", -1) == "20191231-20200109"
    assert shift_date("2020", 5) == DUMMY_DATE  # not a full date: nothing of it survives
    assert shift_datetime("20200115101500.123+0100", 1) == "20200116101500.123+0100"


def test_dummies_are_valid_for_their_vr():
    assert dummy_value("DA", "20200101") == "19000101"
    assert dummy_value("PN", "DOE^JANE") == "ANONYMIZED"
    assert dummy_value("US", 7) == 0
    assert dummy_value("OB", b"\x01\x02\x03") == b"\x00\x00\x00\x00"
    assert len(dummy_value("SH", "x")) <= 16 and len(dummy_value("CS", "x")) <= 16


def test_scrubber_cuts_the_files_identifiers_and_patterns():
    scrub = Scrubber(["DOE^JANE", "DOE", "JANE", "MRN-4471"])
    text = "Follow-up of Jane Doe (MRN-4471), seen 2020-01-15, call +44 20 7946 0958 or jd@example.org, acc 77120"
    out = scrub(text)
    for gone in ("Jane", "Doe", "MRN-4471", "2020-01-15", "7946", "jd@example.org", "77120"):
        assert gone not in out
    assert "Follow-up of" in out
    assert Scrubber([])("CT head without contrast") == "CT head without contrast"


def test_placeholders():
    assert (
        is_placeholder("") and is_placeholder("ANONYMIZED") and is_placeholder("XXXX") and is_placeholder("^")
    )
    assert not is_placeholder("DOE^JANE") and not is_placeholder("Smith")
