"""De-identifying a folder of DICOM files: per file, and in parallel over a batch.

Each input file is read whole, checked for burned-in text, de-identified by :mod:`anonlab.deid.dicom.apply` and
written to ``OUT/<new StudyInstanceUID>/<new SeriesInstanceUID>/<new SOPInstanceUID>.dcm``, so no part of an input
path (folder and file names often hold patient names) reaches the output. Pixel data bytes are copied unchanged.
Every write is atomic; two inputs with the same SOP Instance UID never overwrite each other (the second gets a
``.2.dcm`` suffix).

Workers are processes (:class:`concurrent.futures.ProcessPoolExecutor`) fed a bounded number of chunks at a time,
so memory stays flat however many files the folder holds. Each worker derives its sub-keys once; the key itself is
passed to workers in memory and never written anywhere. Workers die with their parent (Linux
``PR_SET_PDEATHSIG``; elsewhere a watchdog thread), so a killed run leaves no process holding the key.

A run marks its output folder with :data:`INCOMPLETE_MARKER` before writing anything and removes the mark only
when every input has been handled: a folder left by a killed or failed run says so, and
:func:`anonlab.deid.dicom.auditing.audit` refuses it. Temporaries (of each output file and of the manifest,
which is secret) are anonymous files that cannot outlive the process.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from anonlab.deid.dicom.profile import Profile, profile_for
from anonlab.deid.keys import SecretKey
from anonlab.errors import OutputError, OutputExistsError, UsageError

__all__ = [
    "FileOutcome",
    "DeidentifyResult",
    "Deidentifier",
    "deidentify",
    "deidentify_folder",
    "parallel_map",
    "MANIFEST_COLUMNS",
    "INCOMPLETE_MARKER",
]

INCOMPLETE_MARKER = ".anonlab-incomplete"
# write errors that no later file escapes: the run stops at the first one instead of failing every file in turn
_STOPPING_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}

MANIFEST_COLUMNS = ["input", "output", "attribute", "original", "replacement"]
CHUNK = 4


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one input file.

    status : ``written``, ``skipped`` (not DICOM, or a DICOMDIR index), ``failed`` (unreadable, nothing written) or
        ``withheld`` (may show burned-in text; listed for pixel review).
    manifest : (attribute, original, replacement) rows, filled only when a manifest was asked for.
    stop : the cause, when the output's file system refused the write (full, over quota, read-only): no later
        file can be written either, so the run stops (the folder stays marked incomplete).
    """

    input: str
    status: str
    reason: str | None = None
    output: str | None = None
    manifest: tuple = ()
    stop: str | None = None
    pixels: dict | None = None

    def to_dict(self) -> dict:
        return {"input": self.input, "status": self.status, "reason": self.reason, "output": self.output}


@dataclass
class DeidentifyResult:
    """Summary of a batch: counts and every input that was not written (no identifiers, no key)."""

    in_dir: str
    out_dir: str
    options: list[str]
    workers: int
    files: int = 0
    written: int = 0
    skipped: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    withheld: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    manifest: str | None = None
    pixels_cleaned: list[dict] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every DICOM file was written, 1 when any failed or was withheld (the CLI's exit status)."""
        return 1 if self.failed or self.withheld else 0

    def _repr_html_(self) -> str:
        import html

        d = self.to_dict()
        head = (
            f"{d['files']} files: {d['written']} written, {d['skipped']} skipped, {d['failed']} failed, "
            f"{d['withheld']} withheld; profile PS3.15 Annex E basic, options: {', '.join(d['options']) or 'none'}"
        )
        rows = "".join(
            f"<tr><td>{kind}</td><td>{html.escape(str(item['input']))}</td>"
            f"<td>{html.escape(str(item['reason']))}</td></tr>"
            for kind in ("withheld", "failed", "skipped")
            for item in d[f"{kind}_files"]
        )
        table = (
            f"<table><thead><tr><th></th><th>input</th><th>reason</th></tr></thead><tbody>{rows}</tbody></table>"
            if rows
            else ""
        )
        return f"<p>{html.escape(head)}</p>{table}"

    def to_dict(self) -> dict:
        """The summary (``--json``): versions, profile and options, folders, counts, speed, and each input that was
        not written with its reason. Holds no identifier from inside the files and never the key."""
        from anonlab import __version__

        return {
            "anonlab_version": __version__,
            "profile": "DICOM PS3.15 Annex E basic application level confidentiality profile",
            "options": self.options,
            "in_dir": self.in_dir,
            "out_dir": self.out_dir,
            "workers": self.workers,
            "files": self.files,
            "written": self.written,
            "skipped": len(self.skipped),
            "failed": len(self.failed),
            "withheld": len(self.withheld),
            "seconds": round(self.seconds, 3),
            "files_per_second": round(self.files / self.seconds, 2) if self.seconds > 0 else None,
            "manifest": self.manifest,
            "skipped_files": self.skipped,
            "failed_files": self.failed,
            "withheld_files": self.withheld,
            "pixels_cleaned": self.pixels_cleaned,
        }


class Deidentifier:
    """De-identifies single files under one key and profile (one per worker process).

    key : the secret key; UIDs use its ``dicom-uid`` sub-key, PatientID its pseudonym sub-key, dates its date-shift
        sub-key. Never stored in outputs.
    options : profile option names.
    out_dir : where files go.
    allow_burned_in : write images that may show burned-in text instead of withholding them.
    manifest : collect original -> new rows for a manifest.
    started : run start (epoch ns); an existing output older than this is overwritten only with ``force``.
    force : allow replacing outputs of an earlier run.
    clean_pixels : clean burned-in text from the images that would be withheld
        (:class:`~anonlab.deid.dicom.pixels.PixelCleaner`); those it cannot clean and check stay withheld.
    ocr_policy : the cleaner's policy (``"all"`` or ``"identifying"``).
    """

    def __init__(
        self,
        key: SecretKey,
        options=(),
        out_dir: str | os.PathLike = ".",
        allow_burned_in: bool = False,
        manifest: bool = False,
        started: int = 0,
        force: bool = False,
        clean_pixels: bool = False,
        ocr_policy: str = "all",
    ) -> None:
        from anonlab.deid.dicom.uids import UID_PURPOSE, UIDMapper
        from anonlab.deid.pseudonym import Pseudonymizer

        self.profile: Profile = profile_for(tuple(options))
        self._uids = UIDMapper(key.derive(UID_PURPOSE))
        self._pseudo = Pseudonymizer(key)
        self.out_dir = Path(out_dir)
        self.allow_burned_in = allow_burned_in
        self.manifest = manifest
        self.started = started
        self.force = force
        self.cleaner = None
        if clean_pixels:
            from anonlab.deid.dicom.pixels import PixelCleaner

            self.cleaner = PixelCleaner(ocr_policy=ocr_policy)

    def __repr__(self) -> str:
        return f"Deidentifier(options={self.profile.options!r})"

    def process(self, path: str | os.PathLike) -> FileOutcome:
        """De-identify one file; never raises for a bad input (the outcome says what happened)."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warns on every non-conformant value of real-world files
            return self._process(Path(path))

    def _process(self, path: Path) -> FileOutcome:
        from anonlab.deid.dicom.actions import Scrubber
        from anonlab.deid.dicom.apply import Context, deidentify_dataset, identifying_terms
        from anonlab.deid.dicom.burnedin import burned_in_reason
        from anonlab.deid.dicom.reading import DICOMDIR_SOP_CLASS, NotDicom, Unreadable, read_whole

        name = str(path)
        try:
            ds = read_whole(path)
        except NotDicom:
            return FileOutcome(name, "skipped", "not DICOM")
        except Unreadable as exc:
            return FileOutcome(name, "failed", str(exc))
        meta = getattr(ds, "file_meta", None)
        sop_class = str(
            ds.get("SOPClassUID", "") or (meta.get("MediaStorageSOPClassUID", "") if meta else "")
        )
        if sop_class.strip() == DICOMDIR_SOP_CLASS or "DirectoryRecordSequence" in ds:
            return FileOutcome(name, "skipped", "DICOMDIR (a media index with original paths); not copied")
        reason = burned_in_reason(ds)
        pixels = None
        if reason and self.cleaner is not None:
            cleaned = self.cleaner.clean(ds, identifying_terms(ds))
            if cleaned.cleaned:
                reason, pixels = None, {"input": name, **cleaned.to_dict()}
            else:
                reason = f"{reason}; pixels not cleaned: {cleaned.reason}"
        if reason and not self.allow_burned_in:
            return FileOutcome(name, "withheld", reason)
        try:
            patient = str(ds.get("PatientID", "") or "")
            p = self.profile
            needs_scrub = bool(p.options)  # only options bring the clean action (C)
            ctx = Context(
                profile=p,
                uids=self._uids,
                pseudonym=self._pseudo.pseudonym,
                offset_days=self._pseudo.offset_days(patient)
                if p.has("retain-longitudinal-modified-dates")
                else 0,
                scrub=Scrubber(identifying_terms(ds)) if needs_scrub else Scrubber(()),
                record={} if self.manifest else None,
            )
            originals = (
                {
                    k: str(ds.get(k, "") or "")
                    for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
                }
                if self.manifest
                else {}
            )
            deidentify_dataset(ds, ctx)
            self._stamp(ds, pixels_cleaned=pixels is not None)
            target = self._target(ds)
            written = self._write(target, ds)
        except OSError as exc:
            cause = exc.strerror or type(exc).__name__
            stop = cause if exc.errno in _STOPPING_ERRORS else None
            return FileOutcome(name, "failed", f"cannot write output: {cause}", stop=stop)
        except Exception as exc:  # a value pydicom cannot decode or encode: fail this file, keep going
            return FileOutcome(
                name, "failed", f"cannot de-identify: {type(exc).__name__}: {_first_line(exc)}"
            )
        rows: tuple = ()
        if self.manifest:
            out = str(written)
            found = [("path", name, out)]
            if patient:
                found.append(("PatientID", patient, ctx.record.get(patient, patient)))
            for kw, uid in originals.items():
                if uid:
                    found.append((kw, uid, ctx.record.get(uid.strip(" \x00"), uid)))
            seen = {row[1] for row in found[1:]}
            found += [("UID", o, n) for o, n in ctx.record.items() if o not in seen and o != patient]
            rows = tuple(found)
        return FileOutcome(name, "written", None, str(written), rows, pixels=pixels)

    def _stamp(self, ds, pixels_cleaned: bool = False) -> None:
        """Record what was done: PatientIdentityRemoved, DeidentificationMethod(CodeSequence), temporal info."""
        from pydicom.dataset import Dataset, FileMetaDataset
        from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

        from anonlab import __version__

        p = self.profile
        if getattr(ds, "preamble", None):
            ds.preamble = b"\x00" * 128  # a preamble can hold anything (a TIFF header, a vendor's text)
        ds.add_new(0x00120062, "CS", "YES")  # PatientIdentityRemoved
        method = [f"anonlab {__version__}", "DICOM PS3.15 E.1-1 Basic Profile"] + list(p.options)
        codes = list(p.codes)
        if pixels_cleaned:
            method.append("clean-pixel-data")
            codes.append(("113101", "Clean Pixel Data Option"))
        ds.add_new(0x00120063, "LO", method)  # DeidentificationMethod
        items = []
        for code, meaning in codes:
            item = Dataset()
            item.add_new(0x00080100, "SH", code)  # CodeValue
            item.add_new(0x00080102, "SH", "DCM")  # CodingSchemeDesignator
            item.add_new(0x00080104, "LO", meaning)  # CodeMeaning
            items.append(item)
        ds.add_new(0x00120064, "SQ", items)  # DeidentificationMethodCodeSequence
        if p.has("retain-longitudinal-full-dates"):
            temporal = "UNMODIFIED"
        elif p.has("retain-longitudinal-modified-dates"):
            temporal = "MODIFIED"
        else:
            temporal = "REMOVED"
        ds.add_new(0x00280303, "CS", temporal)  # LongitudinalTemporalInformationModified
        meta = getattr(ds, "file_meta", None)
        if meta is None:
            meta = ds.file_meta = FileMetaDataset()
        for tag in (0x00020016, 0x00020017, 0x00020018, 0x00020100, 0x00020102):
            if tag in meta:
                del meta[tag]  # AE titles of the sending site; private meta information
        sop = ds.get(0x00080018)
        if sop is not None:
            _set(meta, 0x00020003, "UI", sop.value)  # MediaStorageSOPInstanceUID follows SOPInstanceUID
        elif 0x00020003 in meta:
            _set(meta, 0x00020003, "UI", self._uids(str(meta[0x00020003].value)))
        sop_class = ds.get(0x00080016)
        if sop_class is not None:
            _set(meta, 0x00020002, "UI", sop_class.value)
        if 0x00020010 not in meta:
            implicit, little = getattr(ds, "original_encoding", (True, True))
            implicit = True if implicit is None else implicit
            little = True if little is None else little
            if implicit:
                ts = "1.2.840.10008.1.2"
            else:
                ts = "1.2.840.10008.1.2.1" if little else "1.2.840.10008.1.2.2"
            _set(meta, 0x00020010, "UI", ts)
        _set(meta, 0x00020012, "UI", PYDICOM_IMPLEMENTATION_UID)
        _set(meta, 0x00020013, "SH", "ANONLAB")

    def _target(self, ds) -> Path:
        def part(kw: str, fallback: str) -> str:
            v = str(ds.get(kw, "") or "").strip(" \x00")
            return v if v and all(c.isdigit() or c == "." for c in v) else fallback

        study = part("StudyInstanceUID", "no-study-uid")
        series = part("SeriesInstanceUID", "no-series-uid")
        sop = part("SOPInstanceUID", "")
        if not sop:
            sop = str(ds.file_meta.get("MediaStorageSOPInstanceUID", "") or "no-sop-uid")
        return self.out_dir / study / series / f"{sop}.dcm"

    def _write(self, target: Path, ds) -> Path:
        """Encode ``ds`` into an anonymous temporary beside ``target`` (it cannot outlive the process) and link it
        into place without overwriting."""
        from anonlab.deid.dicom.writing import write_file
        from anonlab.io import Temporary

        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Temporary(target.parent, target.name)
        try:
            with open(tmp.path, "wb") as fh:
                write_file(fh, ds)
            n = 1
            while True:
                candidate = target if n == 1 else target.with_name(f"{target.stem}.{n}.dcm")
                try:
                    tmp.link(candidate, sync=False)  # fails if the name is taken: no overwrite, no race
                    return candidate
                except FileExistsError:
                    if self.force and candidate.stat().st_mtime_ns < self.started:
                        tmp.replace(candidate, sync=False)  # an output of an earlier run
                        return candidate
                    n += 1
        finally:
            tmp.close()


def _set(ds, tag: int, vr: str, value) -> None:
    """Set an element by tag, replacing any old one without decoding it (pydicom's keyword attributes decode the
    old value first, which costs a tenth of a millisecond per element and file)."""
    ds.add_new(tag, vr, value)


def _first_line(exc: Exception) -> str:
    """The first line of an error, with quoted values blanked: a summary must not echo a patient's data."""
    import re

    text = str(exc).strip().splitlines()
    return re.sub(r"'[^']*'|\"[^\"]*\"", "'...'", text[0])[:160] if text else ""


# -- parallel machinery ---------------------------------------------------------------------------------------------

_WORKER: dict = {}


def _die_with_parent(parent: int) -> None:
    """Make this worker end when its parent does: a killed run must leave no process holding the key.

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, then a check that the parent did not die before that call.
    Elsewhere: a daemon thread that polls the parent's process id once a second.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        armed = libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        armed = False
    if os.getppid() != parent:
        os._exit(1)
    if not armed:
        import threading

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, name="anonlab-parent-watch", daemon=True).start()


def _init_worker(factory: Callable, args: tuple, parent: int | None = None) -> None:
    if parent is not None:
        _die_with_parent(parent)
    # the parent's SIGTERM handler (an orderly exit) must not run in a worker: the parent stops the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER["obj"] = factory(*args)


def _run_chunk(method: str, items: list) -> list:
    obj = _WORKER["obj"]
    fn = getattr(obj, method)
    return [fn(x) for x in items]


def run_files(factory: Callable, args: tuple, items: list, workers: int, result, *, desc: str, unit: str,
              progress: bool) -> None:  # fmt: skip
    """Run ``factory(*args).run(item)`` over a folder's files (:func:`parallel_map`, one file per chunk) with a
    progress bar (:func:`anonlab.progress.bar`), appending each outcome to ``result.written`` or, when it is a
    dict (a file skipped, with its reason), to ``result.skipped``; ``result.written`` ends sorted by input."""
    from anonlab.progress import bar

    with bar(len(items), desc=desc, unit=unit, enabled=progress) as b:
        for out in parallel_map(factory, args, "run", items, workers, chunk=1):
            (result.skipped if isinstance(out, dict) else result.written).append(out)
            b.update(1)
    result.written.sort(key=lambda r: r.input)


def parallel_map(
    factory: Callable, args: tuple, method: str, items: Iterable, workers: int, chunk: int = CHUNK
) -> Iterator:
    """Yield ``factory(*args).method(item)`` for each item, in worker processes when ``workers > 1``.

    At most ``2 * workers`` chunks are in flight, so memory does not grow with the number of items. Results come
    in completion order. Workers die with this process; if the caller stops early or an exception (SIGTERM,
    Ctrl-C) ends the run, the workers are terminated at once rather than left to finish their chunks.
    """
    if workers <= 1:
        obj = factory(*args)
        fn = getattr(obj, method)
        for x in items:
            yield fn(x)
        return
    import multiprocessing

    # fork: workers start in milliseconds and need no importable __main__ (scripts, notebooks)
    ctx = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    )
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(factory, args, os.getpid())
    )
    try:
        pending: set = set()
        batch: list = []
        it = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < 2 * workers:
                batch = []
                for x in it:
                    batch.append(x)
                    if len(batch) >= chunk:
                        break
                if not batch:
                    exhausted = True
                    break
                pending.add(pool.submit(_run_chunk, method, batch))
                if len(batch) < chunk:
                    exhausted = True
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield from fut.result()
    except BaseException:
        _stop_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate a pool's worker processes now (they hold the key): used when a run ends early."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.terminate()
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.join(5)
            if proc.is_alive():
                proc.kill()


def _small_batches_in_process(items: Iterator, workers: int) -> tuple[Iterator, int]:
    """A batch too small to keep the workers busy runs in this process: starting workers would cost more."""
    import itertools

    head = list(itertools.islice(items, 2 * workers * CHUNK))
    if len(head) < 2 * workers * CHUNK:
        return iter(head), 1
    return itertools.chain(head, items), workers


def _check_dirs(in_dir: Path, out_dir: Path, force: bool) -> None:
    if not in_dir.is_dir():
        raise UsageError(f"{in_dir}: no such folder")
    i, o = in_dir.resolve(), out_dir.resolve()
    if i == o or i in o.parents:
        raise UsageError(f"{out_dir}: the output folder must not lie inside the input folder ({in_dir})")
    if o in i.parents:
        raise UsageError(f"{out_dir}: the output folder must not contain the input folder ({in_dir})")
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputExistsError(f"{out_dir}: exists and is not a folder")
    if (out_dir / INCOMPLETE_MARKER).exists() and not force:
        raise OutputExistsError(
            f"{out_dir}: holds the output of an incomplete run (killed or failed; {INCOMPLETE_MARKER} is there); "
            "rerun with force=True to complete it, or use a new folder"
        )
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise OutputExistsError(
            f"{out_dir}: exists and is not empty; refusing to write into it (use force=True)"
        )


def deidentify(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    key: SecretKey | str | os.PathLike,
    profile: Profile | str | Iterable[str] = (),
    workers: int | None = None,
    allow_burned_in: bool = False,
    manifest: str | os.PathLike | None = None,
    force: bool = False,
    progress: bool = False,
    strict_key: bool = False,
    clean_pixels: bool = False,
    ocr_policy: str = "all",
) -> DeidentifyResult:
    """De-identify every DICOM file under the folder ``src`` into the folder ``dst`` with the DICOM PS3.15 Annex E
    Basic Application Level Confidentiality Profile (see the module docstring; ``src`` is never modified).

    key : the secret key (:class:`~anonlab.deid.keys.SecretKey`) or its key file (from ``anonlab keygen``) for keyed
        UIDs, pseudonymous PatientIDs and date shifts. Same key, same outputs; another key, unlinkable outputs.
        Whoever holds it can link the release back to identifiers; it never appears in any output.
    profile : the profile's options: a :class:`~anonlab.deid.dicom.profile.Profile`, one option name or a list of
        them (:data:`anonlab.deid.dicom.profile.OPTIONS`, such as ``"retain-longitudinal-modified-dates"``); each
        gives something away. Default: the Basic Profile alone.
    workers : processes (default: one per core).
    allow_burned_in : also write images that may show identifying text in their pixels (withheld otherwise, and
        listed for pixel review).
    manifest : a CSV path for original -> new UIDs, pseudonymous PatientIDs and paths. It re-identifies the release:
        refused inside ``dst`` or ``src`` and over the key file, written with owner-only permissions.
    force : write into a non-empty ``dst`` (or complete one an interrupted run left marked incomplete), and replace
        an existing manifest.
    progress : show a progress bar on stderr.
    strict_key : refuse a key file that others can read or write (otherwise a warning).
    clean_pixels : clean burned-in text from the images that would be withheld: known regions from the deid filter
        rules, then OCR, then a check by other detectors that must find nothing
        (:mod:`anonlab.deid.dicom.pixels`; needs the ``media`` extra). Cleaned images get BurnedInAnnotation NO;
        the others stay withheld with the reason.
    ocr_policy : ``"all"`` blanks every region with text, ``"identifying"`` only text read as identifying.

    Returns a :class:`DeidentifyResult` (counts and every input not written, with the reason; no identifier, no
    key). Raises :class:`~anonlab.errors.UsageError` for bad folders or options,
    :class:`~anonlab.errors.OutputExistsError` for an output that exists without ``force=True``.
    """
    from anonlab.deid.keys import read_key

    key_file = None
    if isinstance(key, str | os.PathLike):
        key_file = key
        key = read_key(key, strict=strict_key)
    elif not isinstance(key, SecretKey):
        raise UsageError(f"key= must be a SecretKey or a key file, not {type(key).__name__}")
    return _deidentify(
        src,
        dst,
        key,
        _options(profile),
        workers=workers,
        allow_burned_in=allow_burned_in,
        manifest=manifest,
        force=force,
        progress=progress,
        key_file=key_file,
        clean_pixels=clean_pixels,
        ocr_policy=ocr_policy,
    )


def _options(profile: Profile | str | Iterable[str]) -> tuple[str, ...]:
    """The option names of ``profile=`` (checked later by :meth:`Profile.build`)."""
    if isinstance(profile, Profile):
        return profile.options
    if isinstance(profile, str):
        return (profile,)
    try:
        options = tuple(profile)
    except TypeError:
        raise UsageError(
            f"profile= must be a Profile, an option name or a list of them, not {type(profile).__name__}"
        ) from None
    if any(not isinstance(o, str) for o in options):
        raise UsageError("profile= must hold option names (text)")
    return options


def deidentify_folder(
    in_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    key: SecretKey,
    options=(),
    *,
    workers: int | None = None,
    allow_burned_in: bool = False,
    manifest: str | os.PathLike | None = None,
    force: bool = False,
    progress: bool = False,
    key_file: str | os.PathLike | None = None,
) -> DeidentifyResult:
    """The earlier name of :func:`deidentify`, with the key and options positional; ``key_file`` names the key's
    file so that the manifest may never overwrite it."""
    return _deidentify(
        in_dir,
        out_dir,
        key,
        _options(options),
        workers=workers,
        allow_burned_in=allow_burned_in,
        manifest=manifest,
        force=force,
        progress=progress,
        key_file=key_file,
    )


def _deidentify(
    in_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    key: SecretKey,
    options: tuple[str, ...],
    *,
    workers: int | None,
    allow_burned_in: bool,
    manifest: str | os.PathLike | None,
    force: bool,
    progress: bool,
    key_file: str | os.PathLike | None,
    clean_pixels: bool = False,
    ocr_policy: str = "all",
) -> DeidentifyResult:
    """The batch: checks, the incomplete marker, the workers, the manifest (see :func:`deidentify`).

    Symbolic links under ``in_dir`` are never followed out of it: a link to a file or folder inside ``in_dir``
    is listed as skipped (its target is de-identified once, under its own name), a link that leaves ``in_dir`` or
    is broken is listed as skipped with that reason. ``out_dir`` carries :data:`INCOMPLETE_MARKER` until the
    run has handled every input.
    """
    from anonlab.errors import require_extra

    require_extra("dicom", "pydicom", "DICOM de-identification")
    from anonlab.io import (
        atomic_path,
        check_output,
        ensure_folder,
        guard_outputs,
        mark_incomplete,
        refuse_inside,
    )

    in_dir, out_dir = Path(in_dir), Path(out_dir)
    profile = Profile.build(options)  # validates option names before any work
    if clean_pixels:
        from anonlab.deid.dicom.pixels import PixelCleaner

        PixelCleaner(ocr_policy=ocr_policy)  # validates the policy
        require_extra("media", "rapidocr_onnxruntime", "DICOM pixel cleaning (clean_pixels=True)")
        require_extra("media", "deid", "DICOM pixel cleaning (clean_pixels=True)")
    _check_dirs(in_dir, out_dir, force)
    if manifest is not None:
        guard_outputs([manifest], {"key file": key_file})
        refuse_inside(manifest, out_dir, "manifest", "the output folder")
        refuse_inside(manifest, in_dir, "manifest", "the input folder")
        check_output(manifest, force)
    workers = workers or os.cpu_count() or 1
    ensure_folder(out_dir)
    marker = out_dir / INCOMPLETE_MARKER
    try:
        marker.write_text(
            "anonlab dicom deidentify is writing this folder, or a run writing it was killed or failed.\n"
            "Until this file is gone the folder is incomplete: do not release it; rerun with force=True\n"
            "(`anonlab dicom deidentify --force`).\n",
            encoding="utf-8",
        )
    except OSError as exc:
        raise OutputError(
            f"{out_dir}: cannot write into the output folder: {exc.strerror or type(exc).__name__}"
        ) from None
    mark_incomplete(out_dir)
    result = DeidentifyResult(
        in_dir=str(in_dir), out_dir=str(out_dir), options=list(profile.options), workers=workers
    )
    started = time.time_ns()
    t0 = time.perf_counter()
    args = (key, profile.options, str(out_dir), allow_burned_in, manifest is not None, started, force)
    args += (clean_pixels, ocr_policy)
    links: list[dict] = []
    unreadable: list[dict] = []
    files, workers_used = _small_batches_in_process(_inputs(in_dir, links, unreadable), workers)
    bar = None
    if progress:
        from tqdm import tqdm

        from anonlab.progress import bar as progress_bar

        tqdm.monitor_interval = 0  # no monitor thread in a process that forks workers
        bar = progress_bar(desc="dicom deidentify", unit="file")
    try:
        with contextlib.ExitStack() as stack:
            writer = None
            if manifest is not None:
                tmp = stack.enter_context(atomic_path(manifest, force, mode=0o600))
                fh = stack.enter_context(open(tmp, "w", newline="", encoding="utf-8"))
                writer = csv.writer(fh)
                writer.writerow(MANIFEST_COLUMNS)
            outcomes = stack.enter_context(
                contextlib.closing(parallel_map(Deidentifier, args, "process", files, workers_used))
            )
            for outcome in outcomes:
                if outcome.stop is not None:
                    raise OutputError(
                        f"{out_dir}: cannot write: {outcome.stop}; stopped after {result.written} files, the "
                        f"folder stays marked incomplete ({INCOMPLETE_MARKER}): free space and rerun with force=True"
                    )
                result.files += 1
                if outcome.status == "written":
                    result.written += 1
                    if outcome.pixels is not None:
                        result.pixels_cleaned.append(outcome.pixels)
                    if writer is not None:
                        for attribute, original, new in outcome.manifest:
                            writer.writerow([outcome.input, outcome.output, attribute, original, new])
                else:
                    getattr(result, outcome.status).append({"input": outcome.input, "reason": outcome.reason})
                if bar is not None:
                    bar.update(1)
        if manifest is not None:
            result.manifest = str(manifest)
    finally:
        if bar is not None:
            bar.close()
    result.files += len(links) + len(unreadable)
    result.skipped.extend(links)
    result.failed.extend(unreadable)
    marker.unlink()  # every input handled: the folder is complete
    mark_incomplete(out_dir, done=True)
    result.seconds = time.perf_counter() - t0
    return result


def _inputs(in_dir: Path, links: list[dict], unreadable: list[dict]) -> Iterator[str]:
    """Every regular file under ``in_dir`` in a stable order; each symbolic link goes to ``links`` with the reason
    it is not read through (a link inside ``in_dir`` would make a second copy of its target, which is read under
    its own name; one that leaves ``in_dir`` is not followed)."""
    root = in_dir.resolve()

    def cannot_read(exc: OSError) -> None:  # a subfolder that cannot be listed: failed, never silently missed
        unreadable.append(
            {"input": str(exc.filename), "reason": f"cannot read folder: {exc.strerror or exc}"}
        )

    for dirpath, dirs, files in os.walk(in_dir, onerror=cannot_read):
        dirs.sort()
        for name in sorted(files + [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]):
            p = Path(dirpath) / name
            if not p.is_symlink():
                if p.is_file():
                    yield str(p)
                continue
            try:
                target = p.resolve(strict=True)
            except (OSError, RuntimeError):
                links.append({"input": str(p), "reason": "broken symbolic link"})
                continue
            kind = "folder" if target.is_dir() else "file"
            if target == root or root in target.parents:
                links.append(
                    {
                        "input": str(p),
                        "reason": f"symbolic link to a {kind} inside the input folder "
                        f"({target.relative_to(root)}), which is de-identified under its own name",
                    }
                )
            else:
                links.append(
                    {
                        "input": str(p),
                        "reason": f"symbolic link to a {kind} outside the input folder; not followed",
                    }
                )
