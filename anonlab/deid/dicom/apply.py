"""Applying a resolved profile to one pydicom Dataset, recursively through every sequence.

One function, :func:`deidentify_dataset`, walks a dataset once. Each element's action comes from the profile by tag,
at any depth: an attribute listed in Table E.1-1 is treated the same in the top level, inside a nested sequence, or
inside a kept private sequence. Beyond the table, anonlab also empties every person name (PN) it meets, and inside a
sequence the profile replaces by a dummy (``D``, such as SR Content Sequence) it replaces free text (ST, LT, UT, UC)
by the placeholder, or cleans it where an option asks for cleaning. Elements the walk does not act on are never
decoded, which keeps it fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from anonlab.deid.dicom.actions import (
    FREE_TEXT_VRS,
    NUMERIC_VRS,
    PLACEHOLDER,
    TEXT_VRS,
    Scrubber,
    dummy_value,
    empty_value,
    shift_date,
    shift_datetime,
)
from anonlab.deid.dicom.profile import Profile
from anonlab.deid.dicom.uids import UIDMapper

__all__ = ["Context", "deidentify_dataset", "identifying_terms", "PATIENT_ID"]

PATIENT_ID = 0x00100020
_SEQ = "SQ"

# Values of the file that identify the patient; cleaning cuts them out of free text.
_TERM_TAGS = (
    0x00100010,  # PatientName
    0x00100020,  # PatientID
    0x00101000,  # OtherPatientIDs
    0x00101001,  # OtherPatientNames
    0x00101005,  # PatientBirthName
    0x00101060,  # PatientMotherBirthName
    0x00100030,  # PatientBirthDate
    0x00080050,  # AccessionNumber
    0x00101040,  # PatientAddress
    0x00102154,  # PatientTelephoneNumbers
    0x00380010,  # AdmissionID
    0x00080090,  # ReferringPhysicianName
    0x00081050,  # PerformingPhysicianName
    0x00081070,  # OperatorsName
    0x00200010,  # StudyID
)


@dataclass
class Context:
    """What the walk needs for one file.

    profile : the resolved profile.
    uids : keyed UID mapper (used for ``U`` and for UIDs under ``D``).
    pseudonym : function from an original PatientID to its keyed pseudonym.
    offset_days : this patient's date shift (used only under retain-longitudinal-modified-dates).
    scrub : the file's cleaner for free text (used only under ``C``).
    record : when not None, original -> new for every UID and PatientID replaced (for the manifest).
    """

    profile: Profile
    uids: UIDMapper
    pseudonym: object
    offset_days: int = 0
    scrub: Scrubber = field(default_factory=lambda: Scrubber(()))
    record: dict | None = None


def identifying_terms(ds) -> list[str]:
    """The patient's identifying strings in the top level of ``ds``, split into name parts and words."""
    terms: list[str] = []
    for tag in _TERM_TAGS:
        if tag not in ds._dict:
            continue
        try:
            value = ds[tag].value
        except Exception:
            continue
        values = (
            value if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value]
        )
        for v in values:
            text = str(v or "")
            if not text:
                continue
            terms.append(text)
            for part in text.replace("=", "^").replace(",", "^").replace(" ", "^").split("^"):
                if len(part.strip()) >= 2:
                    terms.append(part.strip())
    return terms


def _vr(ds, tag: int) -> str:
    raw = ds._dict[tag]
    vr = raw.VR
    if vr is None or vr == "UN":
        try:
            from pydicom.datadict import dictionary_VR

            known = dictionary_VR(tag)
        except KeyError:
            known = None
        if known:
            vr = known.split(" or ")[0]
        elif vr is None:
            vr = ds[tag].VR  # implicit private element: pydicom's private dictionary or UN
    return vr


def _map_uids(elem, ctx: Context) -> None:
    value = elem.value
    if value is None or value == "":
        return
    if isinstance(value, str):
        new = ctx.uids(value)
        if ctx.record is not None:
            ctx.record[value.strip(" \x00")] = new
        elem.value = new
        return
    out = []
    for v in value:
        new = ctx.uids(str(v))
        if ctx.record is not None:
            ctx.record[str(v).strip(" \x00")] = new
        out.append(new)
    elem.value = out


def _clean(elem, vr: str, ctx: Context) -> bool:
    """Apply ``C``; returns False when the element must be removed instead."""
    value = elem.value
    if value is None or value == "":
        return True
    if vr == "DA":
        if ctx.profile.has("retain-longitudinal-modified-dates"):
            elem.value = shift_date(str(value), ctx.offset_days)
        return True
    if vr == "DT":
        if ctx.profile.has("retain-longitudinal-modified-dates"):
            elem.value = shift_datetime(str(value), ctx.offset_days)
        return True
    if vr in ("TM", "AS") or vr in NUMERIC_VRS:
        return True
    if vr == "PN":
        elem.value = ""
        return True
    if vr == "UI":
        _map_uids(elem, ctx)
        return True
    if vr in TEXT_VRS:
        if isinstance(value, str):
            elem.value = ctx.scrub(value)
        else:
            elem.value = [ctx.scrub(str(v)) for v in value]
        return True
    return False  # bytes and unknown values cannot be cleaned


def _sequence(elem, ctx: Context, mode: str | None) -> None:
    for item in elem.value:
        _dataset(item, ctx, mode)


_UNSAFE_WORDS = re.compile(
    r"date|time|\bids?\b|name|uid|serial|patient|operator|physician|institution|station|address|birth|age\b|"
    r"comment|text|accession|study id|location|user|checksum|unknown",
    re.IGNORECASE,
)


def _safe_private(ds, tag: int) -> bool:
    """A numeric private element is kept only when pydicom's private dictionary knows it (by its creator) and its
    name does not say date, time, ID, name, UID, serial or the like (a date stored as seconds is still a date)."""
    from pydicom.datadict import private_dictionary_description

    group, elem_no = tag >> 16, tag & 0xFFFF
    creator_tag = (group << 16) | (elem_no >> 8)
    if creator_tag not in ds._dict:
        return False
    try:
        creator = str(ds[creator_tag].value or "")
        description = private_dictionary_description(tag, creator)
    except (KeyError, ValueError, TypeError):
        return False
    return bool(description) and not _UNSAFE_WORDS.search(description)


def _private(ds, tag: int, ctx: Context, kept_blocks: set) -> None:
    elem_no = tag & 0xFFFF
    if elem_no < 0x0010 or elem_no > 0x00FF:
        if ctx.profile.private != "C":
            del ds[tag]
            return
        vr = _vr(ds, tag)
        if vr in NUMERIC_VRS and _safe_private(ds, tag):
            kept_blocks.add((tag >> 16, (elem_no >> 8) & 0xFF))
        elif vr == _SEQ and _safe_private(ds, tag):
            _sequence(ds[tag], ctx, None)
            kept_blocks.add((tag >> 16, (elem_no >> 8) & 0xFF))
        else:
            del ds[tag]


def _repeating(ds, tag: int, group: int, ctx: Context, overlay_groups: set) -> bool:
    """Curves (50xx) and overlays (60xx). Returns True when the tag was handled here."""
    p = ctx.profile
    if 0x5000 <= group <= 0x501E:
        if p.curve == "X":
            del ds[tag]
        return True
    if 0x6000 <= group <= 0x601E:
        elem_no = tag & 0xFFFF
        if p.overlay_data == "X":
            overlay_groups.add(group)  # the whole overlay plane goes with its data
            return True
        if elem_no == 0x4000 and p.overlay_comments in ("C", "X"):
            if p.overlay_comments == "X":
                del ds[tag]
            else:
                elem = ds[tag]
                elem.value = ctx.scrub(str(elem.value or ""))
        return True
    return False


def _replace_raw(ds, tag: int, action: str, ctx: Context) -> bool:
    """Apply Z, U or D to an undecoded element without decoding it first (the common, fast case).

    Returns False when the element needs the general path (decoded already, a sequence, Patient ID, a VR whose raw
    bytes are not plain text)."""
    raw = ds._dict[tag]
    if not getattr(raw, "is_raw", False) or tag == PATIENT_ID or not isinstance(raw.value, bytes):
        return False
    vr = _vr(ds, tag)
    if vr == _SEQ or raw.length == 0xFFFFFFFF:
        return False
    if not raw.value.strip(b" \x00"):
        return True  # already empty: nothing to replace
    if action == "Z":
        ds.add_new(tag, vr, empty_value(vr))
        return True
    if vr == "UI":
        originals = raw.value.decode("ascii", "replace").strip(" \x00").split("\\")
        new = [ctx.uids(u) for u in originals]
        if ctx.record is not None:
            for o, n in zip(originals, new, strict=True):
                ctx.record[o.strip(" \x00")] = n
        ds.add_new(tag, "UI", new[0] if len(new) == 1 else new)
        return True
    if action == "U":
        return False
    if vr in ("OB", "OW", "OF", "OD", "OL", "OV", "UN"):
        ds.add_new(tag, vr, dummy_value(vr, raw.value))
    else:
        ds.add_new(tag, vr, dummy_value(vr, None))
    return True


def _untabled(ds, tag: int, ctx: Context, mode: str | None) -> None:
    """An element Table E.1-1 does not list: sequences are walked, person names emptied, and free text inside a
    sequence the profile replaces (``mode="dummy"``) or cleans (``mode="clean"``) is replaced or cleaned."""
    vr = _vr(ds, tag)
    if vr == _SEQ:
        _sequence(ds[tag], ctx, mode)
    elif vr == "PN":
        elem = ds[tag]
        if elem.value not in (None, ""):
            elem.value = ""
    elif mode is not None and vr in FREE_TEXT_VRS:
        elem = ds[tag]
        if elem.value not in (None, ""):
            elem.value = PLACEHOLDER if mode == "dummy" else ctx.scrub(str(elem.value))


def _replace_uid(ds, tag: int, elem, ctx: Context, mode: str | None) -> None:
    """``U``: a sequence is walked (its UIDs replaced), a UID replaced by its keyed UID, anything else removed."""
    if elem.VR == _SEQ:
        _sequence(elem, ctx, mode)
    elif elem.VR == "UI":
        _map_uids(elem, ctx)
    else:
        del ds[tag]


def _empty(ds, tag: int, elem, ctx: Context, mode: str | None) -> None:
    """``Z``: the element stays with an empty value (an empty sequence for SQ)."""
    elem.value = [] if elem.VR == _SEQ else empty_value(elem.VR)


def _dummy(ds, tag: int, elem, ctx: Context, mode: str | None) -> None:
    """``D``: a dummy value; a keyed UID for UI, the keyed pseudonym for Patient ID, and for a sequence its items
    de-identified with their free text replaced (or cleaned, inside a cleaned sequence)."""
    vr = elem.VR
    if vr == _SEQ:
        _sequence(elem, ctx, "dummy" if mode != "clean" else mode)
    elif tag == PATIENT_ID:
        original = str(elem.value or "")
        if original:
            new = ctx.pseudonym(original)
            if ctx.record is not None:
                ctx.record[original] = new
            elem.value = new
    elif vr == "UI":
        _map_uids(elem, ctx)
    elif elem.value not in (None, "", b""):
        elem.value = dummy_value(vr, elem.value)


def _cleaned(ds, tag: int, elem, ctx: Context, mode: str | None) -> None:
    """``C``: a sequence is walked in clean mode; a value is cleaned, or removed when it cannot be."""
    if elem.VR == _SEQ:
        _sequence(elem, ctx, "clean")
    elif not _clean(elem, elem.VR, ctx):
        del ds[tag]


#: The actions that need the decoded element, by code (X and K are applied before decoding).
_DECODED_ACTIONS = {"U": _replace_uid, "Z": _empty, "D": _dummy, "C": _cleaned}


def _apply(ds, tag: int, action: str, ctx: Context, mode: str | None) -> None:
    """Apply the profile's ``action`` to one element."""
    if action == "X":
        del ds[tag]
        return
    if action == "K":
        if _vr(ds, tag) == _SEQ:
            _sequence(ds[tag], ctx, mode)
        return
    if action in ("Z", "U", "D") and _replace_raw(ds, tag, action, ctx):
        return
    step = _DECODED_ACTIONS.get(action)
    if step is not None:
        step(ds, tag, ds[tag], ctx, mode)


def _is_creator(tag: int) -> bool:
    """A private creator element (gggg,0010-00FF) of an odd group."""
    return 0x0010 <= (tag & 0xFFFF) <= 0x00FF


def _drop_overlays(ds, overlay_groups: set) -> None:
    """Remove whole overlay planes (60xx groups) whose data was removed."""
    for group in overlay_groups:
        for tag in [t for t in ds._dict if (t >> 16) == group]:
            del ds[tag]


def _drop_unused_creators(ds, creators: list[int], kept_blocks: set) -> None:
    """Remove the private creators whose block kept no element."""
    for tag in creators:
        if (tag >> 16, tag & 0xFF) not in kept_blocks:
            del ds[tag]


def _dataset(ds, ctx: Context, mode: str | None) -> None:
    """One level of ``ds`` (sequences recurse): private elements, group lengths, curves and overlays, then each
    element by its action in the profile (or the rules for elements the table does not list)."""
    actions = ctx.profile.actions
    kept_blocks: set = set()
    overlay_groups: set = set()
    creators: list[int] = []
    for tag in list(ds._dict):
        group = tag >> 16
        if group & 1:
            if _is_creator(tag):
                creators.append(tag)
            else:
                _private(ds, tag, ctx, kept_blocks)
        elif (tag & 0xFFFF) == 0 and group > 0x0002:
            del ds[tag]  # group lengths would be wrong after changes
        elif 0x5000 <= group <= 0x601E and _repeating(ds, tag, group, ctx, overlay_groups):
            continue
        elif (action := actions.get(tag)) is None:
            _untabled(ds, tag, ctx, mode)
        else:
            _apply(ds, tag, action, ctx, mode)
    _drop_overlays(ds, overlay_groups)
    _drop_unused_creators(ds, creators, kept_blocks)


def deidentify_dataset(ds, ctx: Context) -> None:
    """Apply ``ctx.profile`` to ``ds`` in place, at every depth. File meta is left to the caller."""
    _dataset(ds, ctx, None)
