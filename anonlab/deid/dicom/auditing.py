"""Auditing a folder of DICOM files for what the confidentiality profile would not have let through.

For any folder (anonlab's output or another tool's) the audit lists, per file and at every depth:

- ``present``: an attribute the Basic Profile removes or empties (``X``, ``Z``, ``X/Z``) that still has a value;
- ``not-replaced``: an attribute the profile replaces by a dummy (``D`` and the compounds with ``D``) that has a
  value in a file that does not declare PatientIdentityRemoved = YES (a replaced value cannot be told from an
  original by looking at it, so the audit trusts the declaration only for these);
- ``original-uid``: a UID the profile replaces (``U``) that is still under an organisation's root (not a
  UUID-derived 2.25 UID, nor a root arc followed by one long random number);
- ``private``: a private attribute (private creators included);
- ``person-name``: a person name (PN) with a value that is not a recognisable placeholder, anywhere;
- ``curve`` / ``overlay``: curve data, overlay bitmaps or overlay comments;
- ``burned-in``: BurnedInAnnotation YES, or (without a NO flag) a SOP class that commonly holds burned-in text, or
  pixel data without any SOP Class UID;
- ``unreadable``: a DICOM file that cannot be read whole;
- ``link``: a symbolic link (to a file or a folder, inside or outside, broken too): the audit does not follow it,
  but a copy or an archive of the folder may, so a release folder should hold none.

Options a file declares in DeidentificationMethodCodeSequence are honoured: what such an option keeps or cleans is
not reported. Values are never printed, only where they are and how long they are, so an audit report can be shared
without leaking what it found.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Finding", "FileAudit", "AuditResult", "Auditor", "audit", "audit_folder", "CATEGORIES"]

_HTML_FILES = 50  # files with findings shown in a notebook (to_dict holds them all)

CATEGORIES = (
    "present",
    "not-replaced",
    "original-uid",
    "private",
    "person-name",
    "curve",
    "overlay",
    "burned-in",
    "unreadable",
    "link",
)


@dataclass(frozen=True)
class Finding:
    """One leftover: where it is (``tag`` and a dotted ``path`` through sequences), what rule it breaks.

    rule : one of :data:`CATEGORIES`.
    code : the profile's action code for the attribute (empty where the rule is not from the table).
    length : the value's length in characters or bytes (the value itself is never reported).
    """

    tag: str
    path: str
    rule: str
    code: str = ""
    length: int = 0

    def to_dict(self) -> dict:
        return {
            "tag": self.tag,
            "path": self.path,
            "rule": self.rule,
            "code": self.code,
            "length": self.length,
        }


@dataclass(frozen=True)
class FileAudit:
    """The findings of one file; ``declared_options`` are the options its code sequence states."""

    path: str
    findings: tuple[Finding, ...] = ()
    declared_options: tuple[str, ...] = ()
    skipped: str | None = None

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "declared_options": list(self.declared_options),
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass
class AuditResult:
    """An audit of a folder: counts per rule and the findings of each file that has any."""

    folder: str
    files: int = 0
    dicom_files: int = 0
    not_dicom: int = 0
    files_with_findings: int = 0
    by_rule: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    reports: list[FileAudit] = field(default_factory=list)

    @property
    def findings(self) -> int:
        """How many findings, over every file and rule."""
        return sum(self.by_rule.values())

    @property
    def exit_code(self) -> int:
        """1 when anything was found, 0 when the folder is clean (the CLI's exit status)."""
        return 1 if self.findings else 0

    def _repr_html_(self) -> str:
        import html

        counts = ", ".join(f"{k} {v}" for k, v in self.by_rule.items() if v) or "none"
        head = (
            f"{self.folder}: {self.dicom_files} DICOM files audited ({self.not_dicom} other files ignored), "
            f"{self.files_with_findings} with findings; {self.findings} findings ({counts})"
        )
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(c))}</td>" for c in (r.path, f.rule, f.tag, f.path, f.code, f.length)
            )
            + "</tr>"
            for r in self.reports[:_HTML_FILES]
            for f in r.findings
        )
        more = len(self.reports) - _HTML_FILES
        tail = f"<p>... {more:,} more files with findings (to_dict() has them all)</p>" if more > 0 else ""
        header = "".join(f"<th>{h}</th>" for h in ("file", "rule", "tag", "where", "code", "length"))
        table = f"<table><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>" if rows else ""
        return f"<p>{html.escape(head)}</p>{table}{tail}"

    def add(self, fa: FileAudit) -> None:
        self.files += 1
        if fa.skipped:
            self.not_dicom += 1
            return
        self.dicom_files += 1
        if fa.findings:
            self.files_with_findings += 1
            for f in fa.findings:
                self.by_rule[f.rule] += 1
            self.reports.append(fa)

    def add_link(self, path: str) -> None:
        """A symbolic link in the folder: a finding of its own (what it points at is not audited)."""
        self.files += 1
        self.files_with_findings += 1
        self.by_rule["link"] += 1
        self.reports.append(
            FileAudit(path, (Finding(tag="", path="symbolic link, not followed", rule="link"),))
        )

    def to_dict(self) -> dict:
        from anonlab import __version__

        return {
            "anonlab_version": __version__,
            "folder": self.folder,
            "files": self.files,
            "dicom_files": self.dicom_files,
            "not_dicom": self.not_dicom,
            "files_with_findings": self.files_with_findings,
            "findings": self.findings,
            "by_rule": self.by_rule,
            "reports": [r.to_dict() for r in self.reports],
        }


def _length(value) -> int:
    if value is None:
        return 0
    if isinstance(value, (bytes, bytearray, str)):
        return len(value)
    try:
        return sum(len(str(v)) for v in value)
    except TypeError:
        return len(str(value))


_REPLACED_UID = re.compile(r"^(?:2\.25\.\d+|[0-2]\.\d{20,})$")


def _original_uid(uid: str) -> bool:
    """True for a UID under an organisation's root. A UUID-derived UID (2.25) or a root arc followed by one long
    random number (the form some de-identifiers write) counts as replaced."""
    return not _REPLACED_UID.match(uid.strip(" \x00"))


def _values(value) -> list:
    """The values of a possibly multi-valued element (a PersonName or str is one value)."""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return list(value)
    return [value]


def _empty(value) -> bool:
    if value is None:
        return True
    if isinstance(value, (bytes, bytearray)):
        return len(value) == 0
    if isinstance(value, str):
        return value.strip(" \x00") == ""
    try:
        return len(value) == 0 or all(_empty(v) for v in value)
    except TypeError:
        return False


def _person_name(elem, tag: int, tagtext: str, path: str, profile) -> Finding | None:
    """A person name with a value that is not a recognisable placeholder."""
    from anonlab.deid.dicom.actions import is_placeholder

    if all(is_placeholder(str(v)) for v in _values(elem.value)):
        return None
    return Finding(tagtext, path, "person-name", profile.basic.get(tag, ""), _length(elem.value))


def _table_finding(elem, tag: int, tagtext: str, path: str, profile, removed: bool) -> Finding | None:
    """What the profile's action for the element says about its value: still present (X, Z), an original UID
    (U, or D on a UID), or not replaced (D, in a file that does not declare PatientIdentityRemoved)."""
    from anonlab.deid.dicom.actions import is_placeholder

    action = profile.actions.get(tag)
    value = elem.value
    if action is None or action in ("K", "C") or _empty(value):
        return None
    code = profile.basic.get(tag, "")
    if action in ("X", "Z"):
        return Finding(tagtext, path, "present", code, _length(value))
    if action == "U" or (action == "D" and elem.VR == "UI"):
        if any(_original_uid(str(v)) for v in _values(value) if str(v).strip(" \x00")):
            return Finding(tagtext, path, "original-uid", code, _length(value))
        return None
    if action == "D" and not removed and not (isinstance(value, str) and is_placeholder(value)):
        return Finding(tagtext, path, "not-replaced", code, _length(value))
    return None


class Auditor:
    """Audits single files (one per worker process)."""

    def audit(self, path: str | os.PathLike) -> FileAudit:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._audit(Path(path))

    def _audit(self, path: Path) -> FileAudit:
        from anonlab.deid.dicom.burnedin import burned_in_reason
        from anonlab.deid.dicom.profile import options_from_codes, profile_for
        from anonlab.deid.dicom.reading import NotDicom, Unreadable, read_whole

        name = str(path)
        try:
            ds = read_whole(path)
        except NotDicom:
            return FileAudit(name, skipped="not DICOM")
        except Unreadable as exc:
            return FileAudit(name, (Finding("", str(exc), "unreadable"),))
        codes = [
            str(item.get("CodeValue", "")) for item in ds.get("DeidentificationMethodCodeSequence", []) or []
        ]
        declared = options_from_codes(codes)
        profile = profile_for(declared)
        removed = str(ds.get("PatientIdentityRemoved", "") or "").strip().upper() == "YES"
        findings: list[Finding] = []
        meta = getattr(ds, "file_meta", None)
        if meta is not None:
            self._walk(meta, "", profile, removed, findings)
        self._walk(ds, "", profile, removed, findings)
        reason = burned_in_reason(ds)
        if reason:
            findings.append(Finding("(0028,0301)", "BurnedInAnnotation", "burned-in", "", 0))
        return FileAudit(name, tuple(findings), declared)

    def _walk(self, ds, prefix: str, profile, removed: bool, out: list) -> None:
        """Every element of ``ds`` (and, through :meth:`_items`, of its sequences), each checked by the rule for
        its kind: private, curve or overlay, sequence, person name, or the profile's action for it."""
        for elem in ds:
            tag = int(elem.tag)
            group, el = tag >> 16, tag & 0xFFFF
            tagtext = f"({group:04X},{el:04X})"
            path = f"{prefix}{elem.keyword or tagtext}"
            if group & 1:
                self._private(elem, el, tagtext, path, profile, removed, out)
            elif 0x5000 <= group <= 0x501E and profile.curve != "C":
                if not _empty(elem.value):
                    out.append(Finding(tagtext, path, "curve", "X", _length(elem.value)))
            elif 0x6000 <= group <= 0x601E and el in (0x3000, 0x4000):
                code = profile.overlay_data if el == 0x3000 else profile.overlay_comments
                if code != "C" and not _empty(elem.value):
                    out.append(Finding(tagtext, path, "overlay", "X", _length(elem.value)))
            elif elem.VR == "SQ":
                self._sequence(elem, tag, tagtext, path, profile, removed, out)
            elif elem.VR == "PN" and not _empty(elem.value) and profile.actions.get(tag) not in ("K", "C"):
                finding = _person_name(elem, tag, tagtext, path, profile)
                if finding is not None:
                    out.append(finding)
            else:
                finding = _table_finding(elem, tag, tagtext, path, profile, removed)
                if finding is not None:
                    out.append(finding)

    def _private(self, elem, el: int, tagtext: str, path: str, profile, removed: bool, out: list) -> None:
        """A private element: a finding, unless the retain-safe-private option keeps numbers, sequences (walked)
        and their creators."""
        from anonlab.deid.dicom.actions import NUMERIC_VRS

        vr, value = elem.VR, elem.value
        if profile.private == "C" and (vr in NUMERIC_VRS or vr == "SQ"):
            if vr == "SQ":
                self._items(elem, path, profile, removed, out)
            return
        if profile.private == "C" and 0x0010 <= el <= 0x00FF:
            return
        out.append(Finding(tagtext, path, "private", "X", _length(value) if vr != "SQ" else len(value)))

    def _sequence(self, elem, tag: int, tagtext: str, path: str, profile, removed: bool, out: list) -> None:
        """A sequence the profile removes or empties is a finding when it has items; any other is walked."""
        if profile.actions.get(tag) in ("X", "Z") and len(elem.value):
            out.append(Finding(tagtext, path, "present", profile.basic.get(tag, ""), len(elem.value)))
            return
        self._items(elem, path, profile, removed, out)

    def _items(self, elem, path: str, profile, removed: bool, out: list) -> None:
        for i, item in enumerate(elem.value):
            self._walk(item, f"{path}[{i}].", profile, removed, out)


def audit(path: str | os.PathLike, *, workers: int | None = None, progress: bool = False) -> AuditResult:
    """Audit every file under the folder ``path`` for what the PS3.15 Basic Profile would not have let through (see
    the module docstring). The folder is only read; values are never reported, only where they are and their length.

    workers : processes (default: one per core).
    progress : show a progress bar on stderr.

    Returns an :class:`AuditResult` (counts per rule, and each file's findings). Raises
    :class:`~anonlab.errors.UsageError` when ``path`` is not a folder, :class:`~anonlab.errors.InputError` when it
    is the output of an interrupted de-identification (marked incomplete).
    """
    from anonlab.errors import require_extra

    require_extra("dicom", "pydicom", "DICOM auditing")
    from anonlab.deid.dicom.deidentifying import INCOMPLETE_MARKER, _small_batches_in_process, parallel_map
    from anonlab.deid.dicom.reading import walk_files
    from anonlab.errors import InputError, UsageError

    folder = Path(path)
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder")
    if (folder / INCOMPLETE_MARKER).exists():
        raise InputError(
            f"{folder}: incomplete: a de-identification writing it was killed or failed ({INCOMPLETE_MARKER} is "
            "there); complete it by rerunning the de-identification with force=True before auditing or releasing "
            "the folder"
        )
    result = AuditResult(folder=str(folder))
    workers = workers or os.cpu_count() or 1
    bar = None
    if progress:
        from tqdm import tqdm

        from anonlab.progress import bar as progress_bar

        tqdm.monitor_interval = 0  # no monitor thread in a process that forks workers
        bar = progress_bar(desc="dicom audit", unit="file")
    try:
        files, workers = _small_batches_in_process((str(p) for p in walk_files(folder)), workers)
        for fa in parallel_map(Auditor, (), "audit", files, workers):
            result.add(fa)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    for root, dirs, files in os.walk(folder):  # links are never followed, by the walk above nor here
        for name in dirs + files:
            if os.path.islink(os.path.join(root, name)):
                result.add_link(os.path.join(root, name))
    result.reports.sort(key=lambda r: r.path)
    return result


#: The earlier name of :func:`audit`.
audit_folder = audit
