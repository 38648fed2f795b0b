"""DICOM to NIfTI without identifiers: dcm2niix into a BIDS-style folder, sidecars and headers reduced.

Each DICOM file under the input folder is read (header only) with pydicom to learn its subject, study and series;
images that may show burned-in text are withheld, as in DICOM de-identification. The rest are linked under neutral
names into a private temporary folder (mode 0700, removed at the end) and converted there by the dcm2niix binary that
the ``dcm2niix`` PyPI package ships. dcm2niix's raw sidecars, which hold every identifier it read, never leave that
folder: each output is written to

``OUT/sub-<subject>/ses-<session>/<datatype>/sub-<subject>_ses-<session>[_acq-<label>]_run-<n>_<suffix>.nii.gz``

with a sidecar reduced to an allow-list (:mod:`anonlab.deid.neuro.sidecar`) and a NIfTI header without free text
or extensions (:mod:`anonlab.deid.neuro.niftiheader`). ``<subject>`` is the keyed pseudonym of the DICOM PatientID,
the same string ``anonlab pseudonymize`` writes for that identifier and DICOM de-identification writes into
PatientID under the same key; ``<session>`` is the first 8 characters of the keyed pseudonym of the
StudyInstanceUID. Under a date shift, dates move by the subject's keyed offset, the one DICOM de-identification uses
with ``retain-longitudinal-modified-dates``.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from anonlab.deid.keys import SecretKey
from anonlab.errors import InputError, OutputError, OutputExistsError, UsageError

__all__ = ["ConvertResult", "convert_to_nifti", "BIDS_DATATYPES", "INCOMPLETE_MARKER", "SHIFTED_NOTE"]

INCOMPLETE_MARKER = ".anonlab-incomplete"
BIDS_DATATYPES = frozenset({"anat", "func", "dwi", "fmap", "perf", "pet"})
BIDS_VERSION = "1.10.0"
#: Written into dataset_description.json's GeneratedBy when dates were shifted; the audit honours it.
SHIFTED_NOTE = "dates shifted per subject by a keyed offset"
SESSION_LENGTH = 8


@dataclass
class ConvertResult:
    """What :func:`convert_to_nifti` did: counts, outputs (relative paths), inputs not converted and why, and the
    names of the sidecar fields dropped (never a value, never the key)."""

    in_dir: str
    out_dir: str
    dates_shifted: bool
    keep_descriptions: bool
    dicom_files: int = 0
    series: int = 0
    subjects: int = 0
    sessions: int = 0
    outputs: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    withheld: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    dropped_fields: dict[str, int] = field(default_factory=dict)
    cleared_header_fields: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 when every DICOM series was converted or deliberately skipped, 1 when any was withheld or failed."""
        return 1 if self.withheld or self.failed else 0

    def to_dict(self) -> dict:
        from anonlab import __version__

        return {
            "anonlab_version": __version__,
            "in_dir": self.in_dir,
            "out_dir": self.out_dir,
            "dates_shifted": self.dates_shifted,
            "keep_descriptions": self.keep_descriptions,
            "dicom_files": self.dicom_files,
            "series": self.series,
            "nifti_files": len(self.outputs),
            "subjects": self.subjects,
            "sessions": self.sessions,
            "outputs": self.outputs,
            "skipped": self.skipped,
            "withheld": self.withheld,
            "failed": self.failed,
            "dropped_fields": dict(sorted(self.dropped_fields.items())),
            "cleared_header_fields": dict(sorted(self.cleared_header_fields.items())),
            "seconds": round(self.seconds, 3),
        }

    def _repr_html_(self) -> str:
        from anonlab.deid.report import html_table

        d = self.to_dict()
        rows = [(k, str(d[k])) for k in ("dicom_files", "series", "nifti_files", "subjects", "sessions")]
        rows += [
            (f"{kind} {item['input']}", item["reason"])
            for kind in ("withheld", "failed", "skipped")
            for item in d[kind]
        ]
        notes = [f"dropped from sidecars: {', '.join(d['dropped_fields']) or 'nothing'}"]
        return html_table("DICOM to NIfTI", rows, notes)


@dataclass
class _Series:
    patient: str
    study: str
    files: list[str] = field(default_factory=list)
    terms: set[str] = field(default_factory=set)


def _as_key(key, strict_key: bool) -> SecretKey:
    from anonlab.deid.keys import read_key

    if isinstance(key, SecretKey):
        return key
    if isinstance(key, str | os.PathLike):
        return read_key(key, strict=strict_key)
    raise UsageError(f"key= must be a SecretKey or a key file, not {type(key).__name__}")


def check_folders(src: Path, dst: Path, force: bool) -> None:
    """The input is a folder, the output lies neither inside nor around it, and is empty unless ``force``."""
    if not src.is_dir():
        raise UsageError(f"{src}: no such folder")
    i, o = src.resolve(), dst.resolve()
    if i == o or i in o.parents or o in i.parents:
        raise UsageError(f"{dst}: the output folder must not lie inside or contain the input folder ({src})")
    if dst.exists() and not dst.is_dir():
        raise OutputExistsError(f"{dst}: exists and is not a folder")
    if dst.is_dir() and any(dst.iterdir()) and not force:
        raise OutputExistsError(f"{dst}: exists and is not empty; refusing to write into it (use force=True)")


def _walk(src: Path, result: ConvertResult):
    for dirpath, dirs, files in os.walk(src):
        dirs.sort()
        for name in sorted(files):
            p = Path(dirpath) / name
            if p.is_symlink():
                result.skipped.append({"input": str(p), "reason": "symbolic link; not followed"})
            elif p.is_file():
                yield p


def _scan(src: Path, result: ConvertResult, allow_burned_in: bool, progress: bool) -> dict[str, _Series]:
    """Read every file's header; group DICOM images by SeriesInstanceUID."""
    import warnings

    import pydicom
    from pydicom.errors import InvalidDicomError

    from anonlab.deid.dicom.apply import identifying_terms
    from anonlab.deid.dicom.burnedin import burned_in_reason

    series: dict[str, _Series] = {}
    files = list(_walk(src, result))
    if progress:
        from tqdm import tqdm

        files = tqdm(files, desc="nifti convert: reading", unit="file", leave=False)
    for p in files:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(p, stop_before_pixels=True)
        except InvalidDicomError:
            result.skipped.append({"input": str(p), "reason": "not DICOM"})
            continue
        except Exception as exc:
            result.failed.append({"input": str(p), "reason": f"unreadable DICOM: {type(exc).__name__}"})
            continue
        result.dicom_files += 1
        if "DirectoryRecordSequence" in ds:
            result.skipped.append({"input": str(p), "reason": "DICOMDIR (a media index); not converted"})
            continue
        reason = burned_in_reason(ds)
        if reason and not allow_burned_in:
            result.withheld.append({"input": str(p), "reason": reason})
            continue
        uid = str(ds.get("SeriesInstanceUID", "") or "").strip()
        if not uid:
            result.failed.append({"input": str(p), "reason": "no SeriesInstanceUID"})
            continue
        s = series.setdefault(
            uid,
            _Series(str(ds.get("PatientID", "") or ""), str(ds.get("StudyInstanceUID", "") or "").strip()),
        )
        s.files.append(str(p))
        s.terms.update(t for t in identifying_terms(ds) if len(t) >= 3)
    return series


def _dcm2niix(series: dict[str, _Series], work: Path) -> Path:
    """Run dcm2niix once per series, on its files linked under neutral names into ``stage/<n>/``, writing into
    ``raw/<n>/``: an output belongs to the series of its folder, whatever dcm2niix merges or names."""
    import subprocess

    import dcm2niix

    raw = work / "raw"
    raw.mkdir()
    for i, s in enumerate(series.values()):
        stage, out = work / "stage" / f"{i}", raw / f"{i}"
        stage.mkdir(parents=True)
        out.mkdir()
        for n, f in enumerate(s.files):
            os.symlink(os.path.abspath(f), stage / f"f{n:07d}.dcm")
        cmd = [dcm2niix.bin, "-b", "y", "-ba", "n", "-z", "n", "-f", "s%s", "-o", str(out), str(stage)]
        proc = subprocess.run(cmd, capture_output=True, check=False)
        if proc.returncode < 0:  # killed by a signal; other codes (2 no images, 8 some files): series failed
            # dcm2niix's messages name protocols and may echo header values: only its status is reported
            raise InputError(f"dcm2niix stopped (signal {-proc.returncode}) on a series of the input folder")
    return raw


def _bids_name(guess) -> tuple[str, str, str]:
    """(datatype, acq label, suffix) from dcm2niix's BidsGuess; anything unrecognised goes to ``misc``."""
    datatype, acq, suffix = "misc", "", "unknown"
    if isinstance(guess, list) and len(guess) == 2 and all(isinstance(g, str) for g in guess):
        datatype = guess[0] if guess[0] in BIDS_DATATYPES else "misc"
        parts = [p for p in guess[1].split("_") if p]
        if parts:
            suffix = re.sub(r"[^A-Za-z0-9]", "", parts[-1]) or "unknown"
        for p in parts[:-1]:
            if p.startswith("acq-"):
                acq = re.sub(r"[^A-Za-z0-9]", "", p[4:])
    return datatype, acq, suffix


def _safe_terms(sidecar: dict, terms: set[str]) -> list[str]:
    """Fields of an already reduced sidecar whose text still holds one of the patient's own identifiers."""
    bad = []
    for name, value in sidecar.items():
        text = json.dumps(value).lower()
        if any(t.lower() in text for t in terms):
            bad.append(name)
    return bad


def convert_to_nifti(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    key: SecretKey | str | os.PathLike,
    shift_dates: bool = False,
    max_shift_days: int = 365,
    keep_descriptions: bool = False,
    allow_burned_in: bool = False,
    compress: bool = True,
    force: bool = False,
    progress: bool = False,
    strict_key: bool = False,
) -> ConvertResult:
    """Convert every DICOM series under ``src`` to NIfTI in the BIDS-style folder ``dst``, without identifiers.

    key : the secret key (a :class:`~anonlab.deid.keys.SecretKey` or a key file from ``anonlab keygen``): subject
        labels are the keyed pseudonyms of PatientID (as ``anonlab pseudonymize`` and ``anonlab dicom deidentify``
        write them under the same key), session labels keyed from StudyInstanceUID. Never written anywhere.
    shift_dates : keep acquisition dates shifted by the subject's keyed offset in ``[-max_shift_days,
        max_shift_days]`` (never 0; the offset DICOM de-identification uses), with the time of day, in sidecars
        and in ``scans.tsv``; intervals within a subject survive. Default: no date or time is written.
    keep_descriptions : keep SeriesDescription and ProtocolName, cleaned of dates, long numbers, e-mail addresses
        and the patient's own names and IDs. They are typed by people: review them.
    allow_burned_in : also convert images that may show identifying text in their pixels (withheld by default).
    compress : write ``.nii.gz`` (``.nii`` otherwise).
    force : write into a non-empty ``dst``.
    progress : a progress bar on standard error.
    strict_key : refuse a key file others can read.

    Returns a :class:`ConvertResult`. ``src`` is never modified; dcm2niix's raw output (with every identifier)
    stays in a private temporary folder that is removed at the end.
    """
    import tempfile

    from anonlab.errors import require_extra

    require_extra("dicom", "pydicom", "DICOM to NIfTI conversion")
    require_extra("neuro", "nibabel", "DICOM to NIfTI conversion")
    require_extra("neuro", "dcm2niix", "DICOM to NIfTI conversion")
    from anonlab.deid.pseudonym import Pseudonymizer
    from anonlab.io import ensure_folder, mark_incomplete

    if isinstance(max_shift_days, bool) or not isinstance(max_shift_days, int) or max_shift_days < 1:
        raise UsageError(f"max_shift_days={max_shift_days!r}: must be a whole number of days, at least 1")
    src, dst = Path(src), Path(dst)
    pz = Pseudonymizer(_as_key(key, strict_key), max_shift_days=max_shift_days)
    check_folders(src, dst, force)
    t0 = time.perf_counter()
    result = ConvertResult(str(src), str(dst), shift_dates, keep_descriptions)
    series = _scan(src, result, allow_burned_in, progress)
    result.series = len(series)
    ensure_folder(dst)
    marker = dst / INCOMPLETE_MARKER
    try:
        marker.write_text("anonlab nifti convert is writing this folder, or a run writing it failed.\n")
    except OSError as exc:
        raise OutputError(f"{dst}: cannot write into the output folder: {exc.strerror}") from None
    mark_incomplete(dst)
    with tempfile.TemporaryDirectory(prefix="anonlab-nifti-") as work:
        raw = _dcm2niix(series, Path(work)) if series else None
        plans = _plan(series, raw, pz, result) if raw else []
        _write(plans, dst, result, shift_dates, keep_descriptions, compress, force)
    _write_dataset_files(dst, plans, result, shift_dates, force)
    result.subjects = len({p["subject"] for p in plans})
    result.sessions = len({(p["subject"], p["session"]) for p in plans})
    marker.unlink()
    mark_incomplete(dst, done=True)
    result.seconds = time.perf_counter() - t0
    return result


def _one_plan(js: Path, s: _Series, pz) -> dict | None:
    nii = js.with_suffix(".nii")
    if not nii.is_file():
        return None
    try:
        sidecar = json.loads(js.read_text(encoding="utf-8", errors="replace"))
    except ValueError:
        sidecar = {}
    datatype, acq, suffix = _bids_name(sidecar.get("BidsGuess"))
    number = sidecar.get("SeriesNumber")
    return {
        "raw": nii,
        "sidecar": sidecar,
        "series": s,
        "subject": pz.pseudonym(s.patient),
        "session": pz.pseudonym(s.study)[:SESSION_LENGTH],
        "offset": pz.offset_days(s.patient),
        "datatype": datatype,
        "acq": acq,
        "suffix": suffix,
        "order": (number if isinstance(number, int) else 0, js.name),
    }


def _plan(series: dict[str, _Series], raw: Path, pz, result: ConvertResult) -> list[dict]:
    """One plan per dcm2niix output: its series, BIDS entities and final relative path."""
    plans = []
    converted = set()
    for i, (uid, s) in enumerate(series.items()):
        for js in sorted((raw / f"{i}").glob("*.json")):
            plan = _one_plan(js, s, pz)
            if plan is not None:
                converted.add(uid)
                plans.append(plan)
    for uid, s in series.items():
        if uid not in converted:
            result.failed.append(
                {
                    "input": s.files[0],
                    "reason": f"dcm2niix wrote no image for this series ({len(s.files)} files)",
                }
            )
    plans.sort(key=lambda p: (p["subject"], p["session"], p["datatype"], p["acq"], p["suffix"], p["order"]))
    counts: dict[tuple, int] = {}
    for p in plans:
        group = (p["subject"], p["session"], p["datatype"], p["acq"], p["suffix"])
        counts[group] = counts.get(group, 0) + 1
        acq = f"_acq-{p['acq']}" if p["acq"] else ""
        stem = f"sub-{p['subject']}_ses-{p['session']}{acq}_run-{counts[group]}_{p['suffix']}"
        p["dir"] = f"sub-{p['subject']}/ses-{p['session']}/{p['datatype']}"
        p["stem"] = stem
    return plans


def _write(plans, dst: Path, result: ConvertResult, shift_dates, keep_descriptions, compress, force) -> None:
    from anonlab.deid.neuro.niftiheader import clean_nifti
    from anonlab.deid.neuro.sidecar import scrub_sidecar
    from anonlab.io import atomic_path, write_text

    ext = ".nii.gz" if compress else ".nii"
    for p in plans:
        s: _Series = p["series"]
        sidecar, dropped = scrub_sidecar(
            p["sidecar"],
            offset_days=p["offset"] if shift_dates else None,
            keep_descriptions=keep_descriptions,
            terms=s.terms,
        )
        for name in _safe_terms(sidecar, s.terms):
            del sidecar[name]
            dropped.append(name)
        for name in dropped:
            result.dropped_fields[name] = result.dropped_fields.get(name, 0) + 1
        p["acq_time"] = sidecar.get("AcquisitionDateTime")
        rel = f"{p['dir']}/{p['stem']}{ext}"
        try:
            (dst / p["dir"]).mkdir(parents=True, exist_ok=True)  # inside OUT: not a folder the user named
        except OSError as exc:
            raise OutputError(f"{dst / p['dir']}: cannot create: {exc.strerror}") from None
        with atomic_path(dst / rel, force) as tmp:
            cleared = clean_nifti(p["raw"], tmp, compress=compress)
        for name in cleared:
            result.cleared_header_fields[name] = result.cleared_header_fields.get(name, 0) + 1
        write_text(dst / f"{p['dir']}/{p['stem']}.json", json.dumps(sidecar, indent=2) + "\n", force)
        for side in ("bval", "bvec"):
            extra = p["raw"].with_suffix(f".{side}")
            if extra.is_file():
                text = extra.read_text(encoding="ascii", errors="replace")
                if re.fullmatch(r"[\s0-9eE.+-]*", text):  # numbers only
                    write_text(dst / f"{p['dir']}/{p['stem']}.{side}", text, force)
        p["rel"] = rel
        result.outputs.append(rel)


def _write_dataset_files(dst: Path, plans, result: ConvertResult, shift_dates: bool, force: bool) -> None:
    """dataset_description.json, participants.tsv, per-session scans.tsv (acquisition times, only when shifted)."""
    from anonlab import __version__
    from anonlab.io import write_text

    note = "NIfTI and sidecars from DICOM by dcm2niix; identifiers removed by anonlab (allow-listed sidecars)"
    if shift_dates:
        note += f"; {SHIFTED_NOTE}"
    description = {
        "Name": "anonlab nifti convert",
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "raw",
        "GeneratedBy": [
            {"Name": "anonlab", "Version": __version__, "Description": note},
            {"Name": "dcm2niix"},
        ],
    }
    write_text(dst / "dataset_description.json", json.dumps(description, indent=2) + "\n", force)
    subjects = sorted({p["subject"] for p in plans})
    write_text(dst / "participants.tsv", "participant_id\n" + "".join(f"sub-{s}\n" for s in subjects), force)
    if any(p["datatype"] == "misc" for p in plans):
        write_text(dst / ".bidsignore", "sub-*/ses-*/misc/\n", force)
    if not shift_dates:
        return
    sessions: dict[str, list[dict]] = {}
    for p in plans:
        sessions.setdefault(f"sub-{p['subject']}/ses-{p['session']}", []).append(p)
    for folder, items in sessions.items():
        name = folder.replace("/", "_")
        rows = "".join(
            f"{p['rel'].split('/', 2)[2]}\t{p['acq_time'] or 'n/a'}\n"
            for p in sorted(items, key=lambda p: p["rel"])
        )
        write_text(dst / folder / f"{name}_scans.tsv", "filename\tacq_time\n" + rows, force)
