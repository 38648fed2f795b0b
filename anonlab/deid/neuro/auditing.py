"""An audit of a NIfTI / BIDS folder: anything identifying left in sidecars, tables, headers or file names.

It applies the conversion's own tests to any folder (anonlab's output or another tool's): every sidecar field must be
on the allow-list of :mod:`anonlab.deid.neuro.sidecar` and its text free of dates, e-mail addresses and long
numbers; NIfTI headers must hold no text (``descrip``, ``aux_file``, ``intent_name``...) and no extensions, and a
gzip header no original file name; ``participants.tsv`` and ``scans.tsv`` only their known columns; file and
folder names no dates or long numbers; and nothing else (a DICOM file, a PDF) may lie in the folder. Dates are
accepted only where ``dataset_description.json`` declares anonlab's keyed date shift. Values are never reported,
only where they are.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from anonlab.errors import InputError, UsageError

__all__ = ["NiftiFinding", "NiftiAuditResult", "audit_nifti"]

_NEUTRAL_FILES = {".bidsignore", "README", "README.md", "CHANGES", "LICENSE"}
_TSV_COLUMNS = {"participants.tsv": {"participant_id"}, "_scans.tsv": {"filename", "acq_time"}}
_LABEL = re.compile(r"sub-[A-Za-z0-9]+")
# a subject or session label as the converter writes it: a keyed pseudonym (lower-case base32, 16 characters for a
# subject, the first 8 for a session). Its digits are drawn at random, so one in a few hundred holds a run of five
# (``pgd6ysmfmaf26353``): that is no record number, and is not flagged; a label of digits alone still is.
_PSEUDONYM_LABEL = re.compile(
    r"(?<![A-Za-z0-9])(sub|ses)-(?=[a-z2-7]*[a-z])([a-z2-7]{16}|[a-z2-7]{8})(?![A-Za-z0-9])"
)


@dataclass(frozen=True)
class NiftiFinding:
    """One problem: the file (relative to the audited folder), the rule, the field or column, a short detail."""

    path: str
    rule: str
    field: str = ""
    detail: str = ""

    def to_dict(self) -> dict:
        return {"path": self.path, "rule": self.rule, "field": self.field, "detail": self.detail}


@dataclass
class NiftiAuditResult:
    """Every finding in the folder; ``exit_code`` 1 when there is any."""

    folder: str
    files: int = 0
    dates_shifted: bool = False
    findings: list[NiftiFinding] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.findings else 0

    @property
    def by_rule(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.findings:
            out[f.rule] = out.get(f.rule, 0) + 1
        return dict(sorted(out.items()))

    def to_dict(self) -> dict:
        return {
            "folder": self.folder,
            "files": self.files,
            "dates_shifted": self.dates_shifted,
            "findings": len(self.findings),
            "by_rule": self.by_rule,
            "items": [f.to_dict() for f in self.findings],
        }

    def _repr_html_(self) -> str:
        from anonlab.deid.report import html_table

        rows = [(f"{f.path} {f.field}", f"{f.rule} {f.detail}") for f in self.findings[:200]]
        return html_table(f"NIfTI audit: {len(self.findings)} findings in {self.files} files", rows, [])


def _declared_shift(folder: Path) -> bool:
    from anonlab.deid.neuro.converting import SHIFTED_NOTE

    try:
        desc = json.loads((folder / "dataset_description.json").read_text(encoding="utf-8"))
        return any(SHIFTED_NOTE in str(g.get("Description", "")) for g in desc.get("GeneratedBy", []))
    except (OSError, ValueError, AttributeError):
        return False


def _sidecar(path: Path, rel: str, shifted: bool, descriptions: bool, out: list) -> None:
    from anonlab.deid.neuro.sidecar import field_problem, text_findings

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        out.append(NiftiFinding(rel, "unreadable", detail="not JSON"))
        return
    if not isinstance(data, dict):
        out.append(NiftiFinding(rel, "unreadable", detail="not a JSON object"))
        return
    if path.name == "dataset_description.json":
        for name, value in data.items():
            kinds = text_findings(json.dumps(value)) if name != "GeneratedBy" else []
            if kinds:
                out.append(NiftiFinding(rel, "text", name, ", ".join(kinds)))
        return
    for name, value in data.items():
        problem = field_problem(name, value, dates_shifted=shifted, descriptions=descriptions)
        if problem:
            out.append(NiftiFinding(rel, problem, name))


def _nifti(path: Path, rel: str, out: list) -> None:
    from anonlab.deid.neuro.niftiheader import _open, header_findings, read_header

    try:
        if path.name.endswith(".gz"):
            with open(path, "rb") as fh:
                head = fh.read(10)
                if len(head) == 10 and head[3] & 0x08:  # FNAME: the file name the writer gave
                    out.append(NiftiFinding(rel, "gzip-name", detail="the gzip header names a file"))
        with _open(path) as fh:
            hdr = read_header(fh, rel)
    except (OSError, EOFError, InputError):
        out.append(NiftiFinding(rel, "unreadable", detail="not a NIfTI file"))
        return
    for name in header_findings(hdr):
        rule = "extension" if name == "extensions" else "header-text"
        out.append(NiftiFinding(rel, rule, name))


def _tsv(path: Path, rel: str, shifted: bool, out: list) -> None:
    allowed = next((cols for end, cols in _TSV_COLUMNS.items() if path.name.endswith(end)), None)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        out.append(NiftiFinding(rel, "unreadable", detail="not UTF-8 text"))
        return
    if not lines:
        return
    header = lines[0].split("\t")
    for col in header:
        if allowed is None or col not in allowed:
            out.append(NiftiFinding(rel, "unlisted column", col))
    for i, line in enumerate(lines[1:], start=2):
        for col, cell in zip(header, line.split("\t"), strict=False):
            if col == "participant_id" and not _LABEL.fullmatch(cell):
                out.append(NiftiFinding(rel, "text", col, f"line {i}: not a sub-<label>"))
            elif col == "acq_time" and cell != "n/a" and not shifted:
                out.append(NiftiFinding(rel, "unshifted date", col, f"line {i}"))
            elif col not in ("acq_time",) and _findings(cell):
                out.append(NiftiFinding(rel, "text", col, f"line {i}: {', '.join(_findings(cell))}"))


def _findings(text: str) -> list[str]:
    """:func:`~anonlab.deid.neuro.sidecar.text_findings` of ``text`` with the converter's pseudonym labels left
    out (their random digits are no record number)."""
    from anonlab.deid.neuro.sidecar import text_findings

    return text_findings(_PSEUDONYM_LABEL.sub(r"\1-", text))


def _file(path: Path, rel: str, shifted: bool, descriptions: bool, out: list) -> None:
    for part in Path(rel).parts:
        kinds = _findings(part)
        if kinds:
            out.append(NiftiFinding(rel, "path", detail=", ".join(kinds)))
            break
    name = path.name
    if name.endswith(".json"):
        _sidecar(path, rel, shifted, descriptions, out)
    elif name.endswith((".nii", ".nii.gz")):
        _nifti(path, rel, out)
    elif name.endswith(".tsv"):
        _tsv(path, rel, shifted, out)
    elif name.endswith((".bval", ".bvec")):
        if not re.fullmatch(r"[\s0-9eE.+-]*", path.read_text(encoding="ascii", errors="replace")):
            out.append(NiftiFinding(rel, "text", detail="not numbers"))
    elif name not in _NEUTRAL_FILES:
        out.append(NiftiFinding(rel, "unexpected file", detail="not NIfTI, a sidecar or a BIDS table"))


def audit_nifti(folder: str | os.PathLike, *, descriptions: bool = False) -> NiftiAuditResult:
    """Audit the NIfTI / BIDS folder ``folder`` (only read); see the module docstring for the rules.

    descriptions : accept ``SeriesDescription`` and ``ProtocolName`` (still scanned for dates, e-mail addresses
        and long numbers), as written by ``convert_to_nifti(keep_descriptions=True)``.

    Returns a :class:`NiftiAuditResult`; its ``exit_code`` is 1 when anything was found. Raises
    :class:`~anonlab.errors.UsageError` for a missing folder or one a conversion left incomplete.
    """
    from anonlab.deid.neuro.converting import INCOMPLETE_MARKER
    from anonlab.errors import require_extra

    require_extra("neuro", "nibabel", "the NIfTI audit")
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder")
    if (folder / INCOMPLETE_MARKER).exists():
        raise UsageError(f"{folder}: holds the output of an incomplete run ({INCOMPLETE_MARKER} is there)")
    result = NiftiAuditResult(str(folder), dates_shifted=_declared_shift(folder))
    for dirpath, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(dirpath) / name
            rel = str(path.relative_to(folder))
            result.files += 1
            if path.is_symlink() or not path.is_file():
                result.findings.append(NiftiFinding(rel, "unexpected file", detail="a link or special file"))
                continue
            _file(path, rel, result.dates_shifted, descriptions, result.findings)
    return result
