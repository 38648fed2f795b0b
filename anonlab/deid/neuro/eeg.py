"""EEG and MEG recordings without identifiers: FIF (MNE), EDF/BDF (edfio), BrainVision (its text headers).

What identifies a recording is in its header, not its samples: the patient's name, ID, sex and birth date, the
measurement date, the experimenter and technician, the hospital's administration code, the device's serial
number, file IDs, and free text in annotations ("Jane asleep", "seizure 15/01/2020"). Per format:

- EDF/EDF+ and BDF/BDF+: the header's patient and recording identification and start date are rewritten by edfio,
  which keeps the digital samples as read, so every ordinary signal's samples are byte-identical; EDF+
  annotations are rewritten with their text cleaned.
- FIF: MNE's :meth:`mne.io.Raw.anonymize` (subject info, measurement date, experimenter, project, description,
  device and helium info, file and measurement IDs), then the subject ID set to the keyed pseudonym, birth date,
  sex and handedness removed and annotation descriptions cleaned; saved by MNE in the data's own format.
- BrainVision: ``.vhdr`` and ``.vmrk`` are text: file names replaced, the free-text ``[Comment]`` section (amplifier
  serial numbers, sometimes names) dropped, the New Segment date shifted or removed, marker descriptions cleaned;
  the binary ``.eeg`` file is copied byte for byte.

The subject ID becomes the keyed pseudonym of the recording's own ID (EDF+ patient code, FIF ``his_id``) or of
``subject=``: the string ``anonlab pseudonymize`` and DICOM de-identification write under the same key. Dates move
by the subject's keyed offset (``shift_dates=True``) or are removed. Annotation text is cleaned of the subject's
names and IDs read from the header, of ``terms=``, and of anything that looks like a date, an e-mail address or a
number of 5 or more digits. After writing, the output is read back with MNE and its samples compared with the
input's (:attr:`EegResult.signals_identical`).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from anonlab.deid.keys import SecretKey
from anonlab.errors import InputError, UsageError

__all__ = ["EegResult", "anonymize_eeg", "FORMATS"]

FORMATS = {".fif": "fif", ".edf": "edf", ".bdf": "bdf", ".vhdr": "brainvision"}
_FIF_ENDINGS = ("raw.fif", "raw_sss.fif", "raw_tsss.fif", "_meg.fif", "_eeg.fif", "_ieeg.fif", ".fif")


@dataclass
class EegResult:
    """What :func:`anonymize_eeg` did; holds the released subject pseudonym, never an original value or the key."""

    input: str
    output: str
    format: str
    subject: str
    dates_shifted: bool
    fields_cleared: list[str] = field(default_factory=list)
    annotations: int = 0
    annotations_cleaned: int = 0
    signals_identical: bool = False
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "input": self.input,
            "output": self.output,
            "format": self.format,
            "subject": self.subject,
            "dates_shifted": self.dates_shifted,
            "fields_cleared": self.fields_cleared,
            "annotations": self.annotations,
            "annotations_cleaned": self.annotations_cleaned,
            "signals_identical": self.signals_identical,
            "files": self.files,
        }

    def _repr_html_(self) -> str:
        from anonlab.deid.report import html_table

        rows = [(k, str(v)) for k, v in self.to_dict().items()]
        return html_table("EEG/MEG anonymisation", rows, [])


def _terms(*values) -> set[str]:
    """Names and IDs split into their parts (``Jane_Doe`` -> ``Jane_Doe``, ``Jane``, ``Doe``)."""
    out: set[str] = set()
    for v in values:
        text = str(v or "").strip()
        if not text or text.upper() == "X":
            continue
        out.add(text)
        out.update(p for p in re.split(r"[\s_^,]+", text) if len(p) >= 3)
    return out


def _clean(texts, terms) -> tuple[list[str], int]:
    from anonlab.deid.neuro.sidecar import clean_text

    out = [clean_text(t, terms) for t in texts]
    return out, sum(a != b for a, b in zip(texts, out, strict=True))


def _format(path: Path) -> str:
    name = path.name.lower()
    for ext, fmt in FORMATS.items():
        if name.endswith(ext):
            return fmt
    raise UsageError(f"{path}: unknown recording format (give a .fif, .edf, .bdf or .vhdr file)")


def anonymize_eeg(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    key: SecretKey | str | os.PathLike,
    subject: str | None = None,
    shift_dates: bool = False,
    max_shift_days: int = 365,
    terms=(),
    force: bool = False,
    strict_key: bool = False,
) -> EegResult:
    """Write the recording ``src`` (``.fif``, ``.edf``, ``.bdf`` or BrainVision ``.vhdr``) to ``dst`` (same format)
    without identifying header fields; see the module docstring for what each format loses.

    key : the secret key or its file; the subject ID becomes its keyed pseudonym, dates its keyed offset.
    subject : the subject's identifier (as in the other tables and images of the study). Default: the
        recording's own (EDF+ patient code, FIF ``his_id``); a BrainVision file has none, so it must be given.
    shift_dates : keep the measurement date moved by the subject's keyed offset in ``[-max_shift_days,
        max_shift_days]`` (never 0) and the time of day; default: the date is replaced by a fixed one (EDF's
        1985-01-01 with "Startdate X", MNE's 2000-01-01, none for BrainVision) and the time by midnight.
    terms : more names or identifiers to cut out of annotation text (the header's own are always used).
    force : replace an existing ``dst``.

    Returns an :class:`EegResult`. ``src`` is never modified. Raises :class:`~anonlab.errors.InputError` for a
    recording that cannot be read, :class:`~anonlab.errors.UsageError` when no subject ID is known.
    """
    from anonlab.deid.neuro.converting import _as_key
    from anonlab.deid.pseudonym import Pseudonymizer
    from anonlab.errors import require_extra
    from anonlab.io import check_output

    src, dst = Path(src), Path(dst)
    fmt = _format(src)
    if _format(dst) != fmt:
        raise UsageError(f"{dst}: must have the input's format ({fmt}, {src.suffix})")
    if not src.is_file():
        raise InputError(f"{src}: no such file")
    if src.resolve() == dst.resolve():
        raise UsageError(f"{dst}: the output must not replace the input")
    if isinstance(max_shift_days, bool) or not isinstance(max_shift_days, int) or max_shift_days < 1:
        raise UsageError(f"max_shift_days={max_shift_days!r}: must be a whole number of days, at least 1")
    if isinstance(terms, str):
        terms = [terms]
    require_extra("neuro", "mne", "EEG/MEG anonymisation")
    if fmt in ("edf", "bdf"):
        require_extra("neuro", "edfio", "EDF/BDF anonymisation")
    pz = Pseudonymizer(_as_key(key, strict_key), max_shift_days=max_shift_days)
    check_output(dst, force)
    job = _Job(src, dst, fmt, pz, subject, shift_dates, set(terms), force)
    {"edf": _edf, "bdf": _edf, "fif": _fif, "brainvision": _brainvision}[fmt](job)
    job.result.signals_identical = _same_signals(src, dst, fmt)
    return job.result


@dataclass
class _Job:
    src: Path
    dst: Path
    fmt: str
    pz: object
    subject: str | None
    shift: bool
    terms: set[str]
    force: bool
    result: EegResult = field(init=False)

    def __post_init__(self) -> None:
        self.result = EegResult(str(self.src), str(self.dst), self.fmt, "", self.shift)

    def begin(self, own_id: str | None) -> tuple[str, int]:
        """The released subject ID and the date offset, from ``subject=`` or the recording's own ID."""
        ident = self.subject if self.subject is not None else own_id
        if not ident or ident.strip().upper() == "X":
            raise UsageError(f"{self.src}: the recording holds no subject ID; give subject= (the study's ID)")
        self.terms |= _terms(ident)
        self.result.subject = self.pz.pseudonym(ident)
        return self.result.subject, self.pz.offset_days(ident)


def _edf(job: _Job) -> None:
    import edfio

    from anonlab.io import atomic_path

    read = edfio.read_bdf if job.fmt == "bdf" else edfio.read_edf
    try:
        edf = read(job.src)
    except Exception as exc:
        raise InputError(f"{job.src}: not a readable {job.fmt.upper()} file ({type(exc).__name__})") from None
    own = None
    try:
        p = edf.patient
        own = p.code
        job.terms |= _terms(p.code, p.name, *p.additional)
    except Exception:  # a plain EDF (not EDF+): the field is free text
        job.terms |= _terms(edf.local_patient_identification)
    try:
        r = edf.recording
        job.terms |= _terms(r.hospital_administration_code, r.investigator_technician_code, *r.additional)
    except Exception:
        job.terms |= _terms(edf.local_recording_identification)
    sub, offset = job.begin(own)
    start = edf.startdate
    edf.patient = edfio.Patient(code=sub)
    if job.shift and start is not None:
        edf.recording = edfio.Recording(startdate=start + _dt.timedelta(days=offset))
    else:
        edf.recording = edfio.Recording(startdate=None)
        edf.starttime = _dt.time(0, 0, 0)
    job.result.fields_cleared += [
        "patient",
        "recording",
        "startdate" if not job.shift else "startdate shifted",
    ]
    anns = list(edf.annotations)
    texts, cleaned = _clean([a.text for a in anns], job.terms)
    if anns:
        edf.set_annotations(
            [edfio.EdfAnnotation(a.onset, a.duration, t) for a, t in zip(anns, texts, strict=True)]
        )
    job.result.annotations, job.result.annotations_cleaned = len(anns), cleaned
    for s in edf.signals:  # per-signal free text: transducer and prefiltering descriptions
        for attr in ("transducer_type", "prefiltering"):
            value = getattr(s, attr, "")
            if value and _clean([value], job.terms)[1]:
                setattr(s, attr, "")
                job.result.fields_cleared.append(f"{s.label}: {attr}")
    with atomic_path(job.dst, job.force) as tmp:
        edf.write(tmp)
    job.result.files = [str(job.dst)]


def _fif(job: _Job) -> None:
    import tempfile

    import mne
    import numpy as np

    try:
        raw = mne.io.read_raw_fif(job.src, preload=True, allow_maxshield=True, verbose="error")
    except Exception as exc:
        raise InputError(f"{job.src}: not a readable FIF file ({type(exc).__name__})") from None
    info = raw.info
    si = dict(info.get("subject_info") or {})
    job.terms |= _terms(
        si.get("his_id"),
        si.get("first_name"),
        si.get("middle_name"),
        si.get("last_name"),
        info.get("experimenter"),
    )
    sub, offset = job.begin(si.get("his_id"))
    if job.shift and info["meas_date"] is not None:
        raw.anonymize(daysback=-offset, verbose="error")
    else:
        raw.anonymize(daysback=None, verbose="error")  # 2000-01-01
    with raw.info._unlock():
        raw.info["subject_info"] = {"his_id": sub}
        for name in ("device_info", "helium_info"):
            if raw.info.get(name) is not None:
                raw.info[name] = None
    job.result.fields_cleared += [
        "subject_info", "meas_date" if not job.shift else "meas_date shifted", "experimenter", "proj_name",
        "description", "device_info", "helium_info", "file_id", "meas_id",
    ]  # fmt: skip
    descriptions = list(raw.annotations.description)
    texts, cleaned = _clean(descriptions, job.terms)
    if cleaned:
        raw.annotations.description = np.array(texts, dtype=object)
    job.result.annotations, job.result.annotations_cleaned = len(descriptions), cleaned
    with tempfile.TemporaryDirectory(dir=job.dst.parent, prefix=".anonlab-eeg-") as work:
        tmp = Path(work) / "out_raw.fif"
        fmt = {"int": "int", "short": "short", "single": "single", "double": "double"}.get(
            getattr(raw, "orig_format", "single"), "single"
        )
        raw.save(tmp, fmt=fmt, overwrite=True, verbose="error")
        _move(tmp, job.dst, job.force)
    job.result.files = [str(job.dst)]


def _move(tmp: Path, dst: Path, force: bool) -> None:
    from anonlab.errors import OutputExistsError

    if dst.exists() and not force:
        raise OutputExistsError(f"{dst}: exists; refusing to overwrite it (use force=True)")
    os.replace(tmp, dst)


def _vhdr_value(text: str, name: str) -> str | None:
    m = re.search(rf"^{name}=(.*)$", text, flags=re.MULTILINE)
    return m.group(1).strip() if m else None


def _brainvision(job: _Job) -> None:
    from anonlab.io import write_text

    sub, offset = job.begin(None)
    try:
        vhdr = job.src.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"{job.src}: cannot read: {exc.strerror}") from None
    data_name, marker_name = _vhdr_value(vhdr, "DataFile"), _vhdr_value(vhdr, "MarkerFile")
    if not data_name:
        raise InputError(f"{job.src}: not a BrainVision header (no DataFile=)")
    data = job.src.parent / data_name
    if not data.is_file():
        raise InputError(f"{job.src}: its data file is missing")
    stem = job.dst.name[: -len(".vhdr")]
    new_data, new_marker = job.dst.parent / f"{stem}.eeg", job.dst.parent / f"{stem}.vmrk"
    for p in (new_data, new_marker):
        if p.exists() and not job.force:
            from anonlab.errors import OutputExistsError

            raise OutputExistsError(f"{p}: exists; refusing to overwrite it (use force=True)")
    head, _, comment = vhdr.partition("[Comment]")
    head = re.sub(r"^DataFile=.*$", f"DataFile={new_data.name}", head, flags=re.MULTILINE)
    head = re.sub(r"^MarkerFile=.*$", f"MarkerFile={new_marker.name}", head, flags=re.MULTILINE)
    if comment:
        job.result.fields_cleared.append("[Comment]")
    lines = head.splitlines()
    cleaned_lines = []
    for line in lines:  # channel names and resolutions stay; any other line holding a name or a date is cut
        if line.startswith(";") and _clean([line], job.terms)[1]:
            job.result.fields_cleared.append("comment line")
            continue
        cleaned_lines.append(line)
    from anonlab.io import atomic_path

    with atomic_path(new_data, job.force) as tmp:
        shutil.copyfile(data, tmp)
    if marker_name and (job.src.parent / marker_name).is_file():
        vmrk = (job.src.parent / marker_name).read_text(encoding="utf-8", errors="replace")
        write_text(new_marker, _vmrk(vmrk, new_data.name, job, offset), job.force)
    write_text(job.dst, "\n".join(cleaned_lines) + "\n", job.force)
    job.result.files = [str(job.dst), str(new_marker), str(new_data)]


def _vmrk(text: str, data_name: str, job: _Job, offset: int) -> str:
    """Markers: DataFile renamed, New Segment dates shifted (or removed), descriptions cleaned."""
    out, n, cleaned = [], 0, 0
    for line in text.splitlines():
        if line.startswith("DataFile="):
            line = f"DataFile={data_name}"
        elif re.match(r"^Mk\d+=", line):
            name, _, value = line.partition("=")
            parts = value.split(",")
            n += 1
            if len(parts) >= 2:
                new, changed = _clean([parts[1]], job.terms)
                parts[1] = new[0]
                cleaned += changed
            if parts[0] == "New Segment" and len(parts) >= 6:
                parts[5] = _shift_vmrk_date(parts[5], offset) if job.shift else ""
            line = f"{name}={','.join(parts)}"
        elif line.startswith(";") and _clean([line], job.terms)[1]:
            continue
        out.append(line)
    job.result.annotations, job.result.annotations_cleaned = n, cleaned
    job.result.fields_cleared.append("New Segment date" + (" shifted" if job.shift else ""))
    return "\n".join(out) + "\n"


def _shift_vmrk_date(value: str, offset: int) -> str:
    """``YYYYMMDDhhmmssuuuuuu`` moved by ``offset`` days; anything else removed."""
    if not re.fullmatch(r"\d{20}", value.strip()):
        return ""
    d = _dt.date(int(value[:4]), int(value[4:6]), int(value[6:8])) + _dt.timedelta(days=offset)
    return d.strftime("%Y%m%d") + value.strip()[8:]


def _same_signals(src: Path, dst: Path, fmt: str) -> bool:
    """Read both with MNE (the output must be readable) and compare the samples exactly."""
    import numpy as np

    a, b = _read(src, fmt), _read(dst, fmt)
    return a.ch_names == b.ch_names and np.array_equal(a.get_data(), b.get_data())


def _read(path: Path, fmt: str):
    import mne

    try:
        if fmt == "fif":
            return mne.io.read_raw_fif(path, preload=True, allow_maxshield=True, verbose="error")
        if fmt == "edf":
            return mne.io.read_raw_edf(path, preload=True, verbose="error")
        if fmt == "bdf":
            return mne.io.read_raw_bdf(path, preload=True, verbose="error")
        return mne.io.read_raw_brainvision(path, preload=True, verbose="error")
    except Exception as exc:
        raise InputError(f"{path}: MNE cannot read it ({type(exc).__name__})") from None
