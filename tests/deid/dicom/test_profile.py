"""Table E.1-1 as shipped, and how its action codes and options resolve."""

from __future__ import annotations

import pytest

from anonlab.deid.dicom.profile import OPTIONS, Profile, load_table, options_from_codes
from anonlab.errors import UsageError


def test_table_is_whole():
    rows = load_table()
    assert len(rows) == 621
    codes = {r["basicProfile"] for r in rows}
    assert {"D", "Z", "X", "K", "C", "U", "X/Z", "X/D", "Z/D", "X/Z/D", "X/Z/U*"} >= codes
    assert {"X", "Z", "D", "U", "X/Z", "X/D", "Z/D", "X/Z/D", "X/Z/U*"} <= codes


def test_every_table_attribute_gets_one_simple_action():
    p = Profile.build()
    assert len(p.actions) == 621 - 4  # less the three repeating-group rows and the private row
    assert set(p.actions.values()) <= {"X", "Z", "D", "K", "C", "U"}


def test_compound_codes_follow_type_where_known_else_strictest_valid():
    p = Profile.build()
    assert p.actions[0x00080080] == "X"  # Institution Name X/Z/D, Type 3
    assert p.actions[0x00080023] == "Z"  # Content Date Z/D, Type 2C
    assert p.actions[0x00400555] == "Z"  # Acquisition Context Sequence X/Z, Type 2
    assert (
        p.actions[0x00189919] == "D"
    )  # Instruction Performed DateTime Z/D, type unknown -> valid for Type 1
    assert p.actions[0x00100020] == "D"  # Patient ID: the keyed pseudonym
    assert p.actions[0x00082112] == "U"  # Source Image Sequence X/Z/U*: kept, UIDs inside replaced
    assert p.actions[0x00100010] == "Z"
    assert p.actions[0x0020000D] == "U"
    assert p.private == "X" and p.curve == "X" and p.overlay_data == "X"


def test_options_change_actions():
    p = Profile.build(["retain-uids", "retain-patient-characteristics", "clean-graphics"])
    assert p.actions[0x0020000D] == "K"
    assert p.actions[0x00400554] == "K"  # Specimen UID
    assert p.actions[0x04000100] == "U"  # Digital Signature UID has no retain-UIDs column
    assert p.actions[0x00100040] == "K"  # Patient's Sex
    assert p.overlay_data == "C" and p.curve == "C"
    dates = Profile.build(["retain-longitudinal-modified-dates"])
    assert dates.actions[0x00080020] == "C"
    assert Profile.build(["retain-longitudinal-full-dates"]).actions[0x00080020] == "K"
    assert Profile.build(["retain-safe-private"]).private == "C"


def test_clean_wins_over_keep():
    # Allergies: retain-patient-characteristics C, clean-descriptors C; Patient State likewise
    p = Profile.build(["retain-device-identity", "clean-descriptors"])
    assert p.actions[0x00080055] == "C"  # Station AE Title: device identity C


def test_codes_record_each_option():
    p = Profile.build(["clean-descriptors", "retain-uids"])
    assert p.codes[0] == ("113100", "Basic Application Confidentiality Profile")
    assert [c for c, _ in p.codes] == ["113100", "113110", "113105"]  # canonical order
    assert options_from_codes(["113100", "113110", "113105"]) == ("retain-uids", "clean-descriptors")


def test_bad_options_are_refused():
    with pytest.raises(UsageError, match="unknown option"):
        Profile.build(["retain-everything"])
    with pytest.raises(UsageError, match="exclude each other"):
        Profile.build(["retain-longitudinal-full-dates", "retain-longitudinal-modified-dates"])


def test_cli_option_list_matches_library():
    from anonlab.cli.dicom import OPTION_HELP

    assert list(OPTION_HELP) == list(OPTIONS)
