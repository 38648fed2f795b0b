"""The DICOM PS3.15 Annex E confidentiality profile: Table E.1-1 and the resolution of its action codes.

The table ships with anonlab (``anonlab/deid/data/annex-e-confidentiality-profile.json``, from the
innolitics/dicom-standard project, MIT licence, DICOM edition 2024b). Each row gives an attribute's action under the
Basic Application Level Confidentiality Profile and, where an option changes it, under that option.

A :class:`Profile` is the table resolved for one set of options to a single action per attribute:

``X`` remove, ``Z`` empty, ``D`` replace by a dummy valid for the VR, ``K`` keep, ``C`` clean (keep the meaning,
drop what identifies), ``U`` replace a UID by a keyed one. Compound codes (``X/Z``, ``X/D``, ``Z/D``, ``X/Z/D``)
leave the choice to the attribute's type in the object's IOD: a Type 3 attribute may be removed, a Type 2 one
must stay (empty), a Type 1 one must keep a value. Where anonlab knows the type (:data:`KNOWN_TYPES`, the modules
these attributes usually come from) it picks the strictest action the type allows; where it does not, it picks the
strictest action that is valid for any type (``X/Z`` -> ``Z``, anything with ``D`` -> ``D``), so the output stays a
valid object. ``X/Z/U*`` (a sequence of references) keeps the sequence and replaces every UID inside it.

When several options touch one attribute, a clean (``C``) wins over a keep (``K``): cleaning removes only what
identifies, so it honours both requests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from anonlab.errors import UsageError

__all__ = [
    "OPTIONS",
    "Option",
    "Profile",
    "BASIC_PROFILE_CODE",
    "load_table",
    "parse_tag",
    "option_names",
]

BASIC_PROFILE_CODE = ("113100", "Basic Application Confidentiality Profile")


@dataclass(frozen=True)
class Option:
    """One option of the profile.

    name : what the user types (``--option retain-uids``).
    column : the key of the option's column in the table.
    code : its code in DCM (CID 7050), written to DeidentificationMethodCodeSequence.
    meaning : the code meaning written beside it.
    help : what the option gives away, in a sentence.
    """

    name: str
    column: str
    code: str
    meaning: str
    help: str


OPTIONS: dict[str, Option] = {
    o.name: o
    for o in [
        Option(
            "retain-safe-private",
            "rtnSafePrivOpt",
            "113111",
            "Retain Safe Private Option",
            "keep numeric private attributes that pydicom's private dictionary knows and whose names do not "
            "say date, time, ID, name, UID or serial; every other private attribute is still removed",
        ),
        Option(
            "retain-uids",
            "rtnUIDsOpt",
            "113110",
            "Retain UIDs Option",
            "keep the original UIDs: the release links back to the source archive (output folders use them)",
        ),
        Option(
            "retain-device-identity",
            "rtnDevIdOpt",
            "113109",
            "Retain Device Identity Option",
            "keep device serial numbers, station names and AE titles: they can point to a site",
        ),
        Option(
            "retain-institution-identity",
            "rtnInstIdOpt",
            "113112",
            "Retain Institution Identity Option",
            "keep institution names, addresses and departments",
        ),
        Option(
            "retain-patient-characteristics",
            "rtnPatCharsOpt",
            "113108",
            "Retain Patient Characteristics Option",
            "keep age, sex, size, weight, smoking and pregnancy status: quasi-identifiers",
        ),
        Option(
            "retain-longitudinal-full-dates",
            "rtnLongFullDatesOpt",
            "113106",
            "Retain Longitudinal Temporal Information Full Dates Option",
            "keep every date and time as it is: calendar dates are quasi-identifiers",
        ),
        Option(
            "retain-longitudinal-modified-dates",
            "rtnLongModifDatesOpt",
            "113107",
            "Retain Longitudinal Temporal Information Modified Dates Option",
            "shift every date of a patient by one offset derived from the key and the patient ID, so intervals "
            "survive and calendar dates do not",
        ),
        Option(
            "clean-descriptors",
            "cleanDescOpt",
            "113105",
            "Clean Descriptors Option",
            "keep descriptions and comments with the patient's names, IDs, dates and long numbers cut out "
            "(a pattern-based clean: free text can still hold identifiers it does not recognise)",
        ),
        Option(
            "clean-structured-content",
            "cleanStructContOpt",
            "113104",
            "Clean Structured Content Option",
            "keep structured report content, with free text cleaned as for clean-descriptors",
        ),
        Option(
            "clean-graphics",
            "cleanGraphOpt",
            "113103",
            "Clean Graphics Option",
            "keep curves, overlays and graphic annotations, with their text cleaned; overlay bitmaps are kept "
            "as they are and may show burned-in text",
        ),
    ]
}

EXCLUSIVE = [("retain-longitudinal-full-dates", "retain-longitudinal-modified-dates")]


def option_names() -> list[str]:
    return list(OPTIONS)


# Attribute types (PS3.3) in the modules where these compound-coded attributes usually live: 3 = optional,
# 2 = required but may be empty, 1 = required with a value. Only attributes with a compound code are listed.
KNOWN_TYPES: dict[int, int] = {
    0x00400555: 2,  # Acquisition Context Sequence (Acquisition Context module)
    0x00080022: 3,  # Acquisition Date (General Image)
    0x0008002A: 3,  # Acquisition DateTime (General Image)
    0x00181400: 3,  # Acquisition Device Processing Description
    0x00080032: 3,  # Acquisition Time (General Image)
    0x22000005: 3,  # Barcode Value
    0x00700084: 2,  # Content Creator's Name (Presentation State Identification)
    0x00080023: 2,  # Content Date (General Image, Type 2C)
    0x00080033: 2,  # Content Time (General Image, Type 2C)
    0x00180010: 2,  # Contrast/Bolus Agent (Contrast/Bolus module)
    0x0018700C: 3,  # Date of Last Detector Calibration
    0x0018700A: 3,  # Detector ID
    0x00181000: 3,  # Device Serial Number (General Equipment)
    0x00189517: 3,  # End Acquisition DateTime
    0x30080054: 3,  # First Treatment Date
    0x00080012: 3,  # Instance Creation Date (SOP Common)
    0x00080013: 3,  # Instance Creation Time (SOP Common)
    0x00080082: 3,  # Institution Code Sequence (General Equipment)
    0x00080080: 3,  # Institution Name (General Equipment)
    0x3010004D: 3,  # Intended Phase End Date
    0x3010004C: 3,  # Intended Phase Start Date
    0x22000002: 3,  # Label Text
    0x30080056: 3,  # Most Recent Treatment Date
    0x00081072: 3,  # Operator Identification Sequence (General Series)
    0x00081070: 3,  # Operators' Name (General Series)
    0x00102203: 2,  # Patient's Sex Neutered (Type 2C)
    0x00181030: 3,  # Protocol Name (General Series)
    0x00081111: 3,  # Referenced Performed Procedure Step Sequence
    0x00081110: 3,  # Referenced Study Sequence (General Study)
    0x00321060: 3,  # Requested Procedure Description
    0x300E0008: 2,  # Reviewer Name (Approval module, Type 2C)
    0x300A0006: 2,  # RT Plan Date (RT General Plan)
    0x300A0007: 2,  # RT Plan Time (RT General Plan)
    0x30100056: 3,  # RT Treatment Approach Label
    0x00080021: 3,  # Series Date (General Series)
    0x00080031: 3,  # Series Time (General Series)
    0x30080105: 3,  # Source Serial Number
    0x00189516: 3,  # Start Acquisition DateTime
    0x00081010: 3,  # Station Name (General Equipment)
    0x0018700E: 3,  # Time of Last Detector Calibration
    0x30080250: 2,  # Treatment Date (RT Treatment Record modules)
    0x300A00B2: 2,  # Treatment Machine Name (RT Beams)
    0x30100077: 3,  # Treatment Site
    0x30080251: 2,  # Treatment Time
}


def parse_tag(text: str) -> int | None:
    """``"(0008,0050)"`` -> ``0x00080050``; None for repeating-group and private-block rows."""
    body = text.strip().strip("()")
    try:
        group, elem = body.split(",")
        return (int(group, 16) << 16) | int(elem, 16)
    except ValueError:
        return None


@cache
def load_table() -> tuple[dict, ...]:
    """The rows of Table E.1-1 as shipped with anonlab (cached; read once per process)."""
    text = (
        resources.files("anonlab.deid")
        .joinpath("data/annex-e-confidentiality-profile.json")
        .read_text("utf-8")
    )
    return tuple(json.loads(text))


def _resolve_compound(code: str, tag: int | None) -> str:
    """One action for a compound code, from the attribute's type where known, else the strictest valid choice."""
    if tag == 0x00100020:
        return "D"  # Patient ID: replaced by the keyed pseudonym, which keeps patients linkable under one key
    if code == "X/Z/U*":
        return "U"  # keep the reference sequence; every UID inside it is replaced
    if "/" not in code:
        return code
    choices = code.split("/")
    typ = KNOWN_TYPES.get(tag) if tag is not None else None
    if typ == 3 and "X" in choices:
        return "X"
    if typ in (2, 3) and "Z" in choices:
        return "Z"
    if "D" in choices:
        return "D"
    return "Z"


def _combine(basic: str, option_actions: list[str]) -> str:
    if not option_actions:
        return basic
    return "C" if "C" in option_actions else option_actions[0]


@dataclass(frozen=True)
class Profile:
    """Table E.1-1 resolved for a set of options: one action per attribute.

    options : option names (see :data:`OPTIONS`), in a canonical order.
    actions : tag -> action (``X``, ``Z``, ``D``, ``K``, ``C``, ``U``) for attributes named by tag.
    basic : tag -> the Basic Profile code before any option or resolution (for audit reports).
    curve, overlay_data, overlay_comments : actions for the repeating groups (50xx,xxxx), (60xx,3000), (60xx,4000).
    private : action for private attributes: ``X`` (remove) or ``C`` (keep the numeric ones).
    """

    options: tuple[str, ...] = ()
    actions: dict[int, str] = field(default_factory=dict, repr=False)
    basic: dict[int, str] = field(default_factory=dict, repr=False)
    names: dict[int, str] = field(default_factory=dict, repr=False)
    curve: str = "X"
    overlay_data: str = "X"
    overlay_comments: str = "X"
    private: str = "X"

    @classmethod
    def build(cls, options=()) -> Profile:
        """Resolve the table for ``options`` (names). Unknown or conflicting options raise :class:`UsageError`."""
        chosen = []
        for name in options:
            if name not in OPTIONS:
                raise UsageError(f"unknown option {name!r} (choose from: {', '.join(OPTIONS)})")
            if name not in chosen:
                chosen.append(name)
        for a, b in EXCLUSIVE:
            if a in chosen and b in chosen:
                raise UsageError(f"options {a} and {b} exclude each other; choose one")
        ordered = tuple(n for n in OPTIONS if n in chosen)
        columns = [OPTIONS[n].column for n in ordered]
        actions: dict[int, str] = {}
        basic: dict[int, str] = {}
        names: dict[int, str] = {}
        special: dict[str, str] = {}
        for row in load_table():
            code = row["basicProfile"]
            opt = [row[c] for c in columns if c in row]
            tag = parse_tag(row["tag"])
            action = _combine(_resolve_compound(code, tag), opt)
            if tag is None:
                special[row["tag"].upper()] = action
                continue
            actions[tag] = action
            basic[tag] = code
            names[tag] = row["name"]
        private = next((v for k, v in special.items() if k.startswith("(GGGG,EEEE)")), "X")
        return cls(
            options=ordered,
            actions=actions,
            basic=basic,
            names=names,
            curve=special.get("(50XX,XXXX)", "X"),
            overlay_data=special.get("(60XX,3000)", "X"),
            overlay_comments=special.get("(60XX,4000)", "X"),
            private=private,
        )

    @property
    def codes(self) -> list[tuple[str, str]]:
        """(code, meaning) for DeidentificationMethodCodeSequence: the basic profile, then each option."""
        return [BASIC_PROFILE_CODE] + [(OPTIONS[n].code, OPTIONS[n].meaning) for n in self.options]

    def has(self, option: str) -> bool:
        return option in self.options

    def to_dict(self) -> dict:
        return {"profile": "DICOM PS3.15 Annex E basic", "options": list(self.options)}


@cache
def profile_for(options: tuple[str, ...]) -> Profile:
    """A cached :class:`Profile` per option tuple (the table is resolved once per process)."""
    return Profile.build(options)


def options_from_codes(codes) -> tuple[str, ...]:
    """Option names declared by DeidentificationMethodCodeSequence code values (unknown codes ignored)."""
    by_code = {o.code: o.name for o in OPTIONS.values()}
    names = {by_code[c] for c in codes if c in by_code}
    for a, b in EXCLUSIVE:
        if a in names and b in names:
            names.discard(a)
    return tuple(n for n in OPTIONS if n in names)
