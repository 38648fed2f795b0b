"""Brain imaging and M/EEG without identifiers (issue 21): what each command removes, what its audit finds before
and after, whether samples survive, and how long it takes.

- nifti: pydicom's and pydicom-data's real MR series (Doe^Peter's DICOMDIR series, the enhanced multi-frame MR in
  six transfer syntaxes with identifiers planted), converted by plain dcm2niix and by `nifti convert`; the audit
  run on both; planted identifiers searched for in every output byte.
- eeg: 32-channel, 60-second recordings at 512 Hz written here in each format with identifiers planted in the
  header and annotations (MNE's wheel ships no raw recordings); `eeg anonymize` on each.
- deface: the only whole head image in a wheel here, pydeface's template (1 mm, 176x256x256; DIPY's wheel holds no
  T1 image, nilearn's holds the MNI152 T1 with skull and face removed, their fetchers download), moved by random
  affine transforms (rotation up to 15 degrees, scaling 0.93-1.07, shift up to 10 mm) onto a new grid; the face
  mask and brain region carried by the same known transform are the truth `nifti deface` is scored against.

Run: `python -m benchmarks neuro`.
"""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

PLANTED = [
    "DOE^JANE",
    "Jane",
    "MRN-4471",
    "19610304",
    "St Elsewhere",
    "SN-99812",
    "ACC77120",
    "Peter",
    "98890234",
]


def _blob(folder: Path) -> bytes:
    parts = []
    for p in sorted(folder.rglob("*")):
        parts.append(str(p.relative_to(folder)).encode())
        if p.is_file():
            parts.append(gzip.decompress(p.read_bytes()) if p.name.endswith(".gz") else p.read_bytes())
    return b"\n".join(parts).lower()


def _left(blob: bytes, planted) -> int:
    return sum(s.lower().encode() in blob for s in planted)


def _dicom_input(root: Path) -> Path:
    import pydicom

    base = Path(pydicom.__file__).parent
    store = base.parent / "data_store" / "data"
    patient = base / "data" / "test_files" / "dicomdirtests" / "98892003"
    src = root / "incoming"
    for series in ("MR700", "MR2", "MR1"):
        shutil.copytree(patient / series, src / "Peter_Doe" / series)
    for i, name in enumerate(["emri_small.dcm", "emri_small_RLE.dcm", "emri_small_jpeg_ls_lossless.dcm",
                              "emri_small_jpeg_2k_lossless.dcm", "emri_small_big_endian.dcm"]):  # fmt: skip
        ds = pydicom.dcmread(store / name)
        ds.PatientName, ds.PatientID, ds.PatientBirthDate = "DOE^JANE", "MRN-4471", "19610304"
        ds.InstitutionName, ds.DeviceSerialNumber, ds.AccessionNumber = "St Elsewhere", "SN-99812", "ACC77120"
        ds.SeriesInstanceUID = pydicom.uid.generate_uid()  # copies of one image: new UIDs, or dcm2niix
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()  # drops dups
        ds.SeriesNumber = 301 + i
        (src / "DOE_JANE").mkdir(parents=True, exist_ok=True)
        ds.save_as(src / "DOE_JANE" / f"{i}.dcm")
    return src


def nifti_rows(work: Path) -> list[dict]:
    import dcm2niix

    from anonlab.deid.keys import generate_key
    from anonlab.deid.neuro import audit_nifti, convert_to_nifti

    src = _dicom_input(work)
    raw = work / "dcm2niix"
    raw.mkdir()
    t0 = time.perf_counter()
    subprocess.run([dcm2niix.bin, "-b", "y", "-ba", "n", "-z", "y", "-o", str(raw), str(src)], check=False,
                   capture_output=True)  # fmt: skip
    t_raw = time.perf_counter() - t0
    a_raw = audit_nifti(raw)
    rows = [{
        "step": "dcm2niix alone (-ba n)", "nifti_files": len(list(raw.glob("*.nii.gz"))), "seconds": round(t_raw, 2),
        "audit_findings": len(a_raw.findings), "by_rule": a_raw.by_rule, "planted_left": _left(_blob(raw), PLANTED),
    }]  # fmt: skip
    raw2 = work / "dcm2niix_ba"
    raw2.mkdir()
    subprocess.run([dcm2niix.bin, "-b", "y", "-ba", "y", "-z", "y", "-o", str(raw2), str(src)], check=False,
                   capture_output=True)  # fmt: skip
    a2 = audit_nifti(raw2)
    rows.append({
        "step": "dcm2niix's own anonymisation (-ba y)", "nifti_files": len(list(raw2.glob("*.nii.gz"))),
        "audit_findings": len(a2.findings), "by_rule": a2.by_rule, "planted_left": _left(_blob(raw2), PLANTED),
    })  # fmt: skip
    key = generate_key()
    for shift in (False, True):
        out = work / f"bids{int(shift)}"
        t0 = time.perf_counter()
        r = convert_to_nifti(src, out, key=key, shift_dates=shift)
        secs = time.perf_counter() - t0
        a = audit_nifti(out)
        rows.append({
            "step": "nifti convert" + (" --shift-dates" if shift else ""), "nifti_files": len(r.outputs),
            "seconds": round(secs, 2), "series": r.series, "subjects": r.subjects, "sessions": r.sessions,
            "fields_dropped": len(r.dropped_fields), "audit_findings": len(a.findings), "by_rule": a.by_rule,
            "planted_left": _left(_blob(out), PLANTED),
        })  # fmt: skip
    return rows


def _eeg_inputs(work: Path) -> dict[str, tuple[Path, str | None]]:
    import edfio
    import mne
    import numpy as np

    rng = np.random.default_rng(0)
    sfreq, n = 512, 32
    x = rng.normal(0, 10e-6, (n, 60 * sfreq))
    names = [f"E{i + 1}" for i in range(n)]
    start = dt.datetime(2020, 1, 15, 10, 30, tzinfo=dt.UTC)
    anns = [(1.0, "Jane eyes closed"), (20.0, "seizure 2020-01-15"), (40.0, "photic 10 Hz")]
    out: dict[str, tuple[Path, str | None]] = {}
    for fmt, klass, sig in (("edf", edfio.Edf, edfio.EdfSignal), ("bdf", edfio.Bdf, edfio.BdfSignal)):
        rec = klass(
            [sig(x[i] * 1e6, sfreq, label=c, physical_range=(-500, 500)) for i, c in enumerate(names)],
            patient=edfio.Patient(code="MRN-4471", sex="F", birthdate=dt.date(1961, 3, 4), name="Jane_Doe"),
            recording=edfio.Recording(startdate=start.date(), hospital_administration_code="ACC77120",
                                      equipment_code="SN-99812"),
            annotations=[edfio.EdfAnnotation(o, None, t) for o, t in anns],
        )  # fmt: skip
        rec.write(work / f"Jane.{fmt}")
        out[fmt] = (work / f"Jane.{fmt}", None)
    raw = mne.io.RawArray(x, mne.create_info(names, sfreq, "eeg"), verbose="error")
    raw.set_meas_date(start)
    with raw.info._unlock():
        raw.info["subject_info"] = {"his_id": "MRN-4471", "first_name": "Jane", "last_name": "Doe",
                                    "birthday": dt.date(1961, 3, 4)}  # fmt: skip
        raw.info["device_info"] = {"serial": "SN-99812", "site": "St Elsewhere"}
        raw.info["proj_name"] = "ACC77120"
    raw.set_annotations(mne.Annotations([o for o, _ in anns], [0] * 3, [t for _, t in anns], start))
    raw.save(work / "jane_raw.fif", fmt="single", verbose="error")
    out["fif"] = (work / "jane_raw.fif", None)
    (work / "Jane.eeg").write_bytes((x * 1e6).astype("<f4").T.tobytes())
    chans = "\n".join(f"Ch{i + 1}={c},,1,µV" for i, c in enumerate(names))
    (work / "Jane.vhdr").write_text(
        "Brain Vision Data Exchange Header File Version 1.0\n\n[Common Infos]\nCodepage=UTF-8\nDataFile=Jane.eeg\n"
        "MarkerFile=Jane.vmrk\nDataFormat=BINARY\nDataOrientation=MULTIPLEXED\n"
        f"NumberOfChannels={n}\nSamplingInterval={1e6 / sfreq}\n\n[Binary Infos]\nBinaryFormat=IEEE_FLOAT_32\n\n"
        f"[Channel Infos]\n{chans}\n\n[Comment]\nAmplifier Serial Number: SN-99812, St Elsewhere\n"
    )
    (work / "Jane.vmrk").write_text(
        "Brain Vision Data Exchange Marker File, Version 1.0\n\n[Common Infos]\nCodepage=UTF-8\nDataFile=Jane.eeg\n\n"
        "[Marker Infos]\nMk1=New Segment,,1,1,0,20200115103000000000\nMk2=Comment,Jane moved,512,1,0\n"
    )
    out["brainvision"] = (work / "Jane.vhdr", "MRN-4471")  # BrainVision headers hold no subject: given
    return out


def eeg_rows(work: Path) -> list[dict]:
    from anonlab.deid.keys import generate_key
    from anonlab.deid.neuro import anonymize_eeg

    key = generate_key()
    planted = [
        "Jane",
        "Doe",
        "MRN-4471",
        "ACC77120",
        "SN-99812",
        "St Elsewhere",
        "1961",
        "2020-01-15",
        "20200115",
    ]
    rows = []
    for fmt, (src, subject) in _eeg_inputs(work).items():
        before = sum(
            _left(p.read_bytes().lower(), [s]) for s in planted for p in src.parent.glob(f"{src.stem}.*")
        )
        dst = work / "out" / src.name.replace("Jane", "sub").replace("jane", "sub")
        t0 = time.perf_counter()
        # BrainVision has no name field to learn the name from: it is given as a term, as a user would
        terms = ["Jane", "Doe"] if fmt == "brainvision" else []
        r = anonymize_eeg(src, dst, key=key, subject=subject, terms=terms)
        secs = time.perf_counter() - t0
        blob = b"".join(Path(f).read_bytes() for f in r.files).lower()
        rows.append({
            "format": fmt, "seconds": round(secs, 2), "planted_in_input": before,
            "planted_left": _left(blob, planted), "annotations_cleaned": f"{r.annotations_cleaned}/{r.annotations}",
            "signals_identical": r.signals_identical, "fields_cleared": len(r.fields_cleared),
        })  # fmt: skip
    return rows


def _moved_template(seed: int, factor: int = 1):
    """pydeface's template (block means over ``factor``) under a random affine; with the true face and brain."""
    import nibabel as nib
    import numpy as np
    from dipy.align.imaffine import AffineMap

    from anonlab.deid.neuro.defacing import _brain_region, _Volume, template_files

    tpl_path, mask_path = template_files()
    tpl = _Volume.load(tpl_path).coarse(factor)
    face = _Volume.load(mask_path, face=True).coarse(factor)
    brain = _brain_region(_Volume.load(tpl_path).coarse(3))
    rng = np.random.default_rng(seed)
    c, s = np.cos(np.deg2rad(rng.uniform(-15, 15, 3))), np.sin(np.deg2rad(rng.uniform(-15, 15, 3)))
    rot = (np.array([[1, 0, 0], [0, c[0], -s[0]], [0, s[0], c[0]]])
           @ np.array([[c[1], 0, s[1]], [0, 1, 0], [-s[1], 0, c[1]]])
           @ np.array([[c[2], -s[2], 0], [s[2], c[2], 0], [0, 0, 1]]))  # fmt: skip
    w = np.eye(4)
    w[:3, :3] = rot @ np.diag(rng.uniform(0.93, 1.07, 3))
    w[:3, 3] = rng.uniform(-10, 10, 3)
    shape = tuple(int(n * 1.1) for n in tpl.data.shape)
    grid = tpl.affine.copy()
    grid[:3, 3] -= 5

    def carry(vol, interp="linear"):
        return AffineMap(w, domain_grid_shape=shape, domain_grid2world=grid, codomain_grid_shape=vol.data.shape,
                         codomain_grid2world=vol.affine).transform(vol.data, interpolation=interp)  # fmt: skip

    image = np.clip(carry(tpl), 0, None).astype(np.int16)
    return nib.Nifti1Image(image, grid), carry(face) >= 0.5, carry(brain, "nearest") > 0.5


def deface_rows(work: Path, seeds=(1, 2, 3, 4, 5)) -> list[dict]:
    import nibabel as nib
    import numpy as np

    from anonlab.deid.neuro import deface

    rows = []
    for seed in seeds:
        img, face, brain = _moved_template(seed)
        src, dst = work / f"head{seed}.nii.gz", work / f"head{seed}_defaced.nii.gz"
        nib.save(img, src)
        t0 = time.perf_counter()
        r = deface(src, dst, png=work / f"head{seed}.png" if seed == seeds[0] else None)
        secs = time.perf_counter() - t0
        a, b = np.asanyarray(img.dataobj), np.asanyarray(nib.load(dst).dataobj)
        truth = face & (a > 0)
        removed = a != b
        rows.append({
            "image": f"template moved, seed {seed}", "shape": "x".join(map(str, a.shape)), "seconds": round(secs, 1),
            "face_removed_share": round(float((removed & truth).sum() / truth.sum()), 4),
            "removed_outside_true_face": int((removed & ~face).sum()), "brain_changed": int((removed & brain).sum()),
            "brain_voxels": int(brain.sum()), "reported_brain_changed": r.brain_changed, "brain_coverage": round(r.brain_coverage, 3),
            "similarity": round(r.similarity, 4), "ok": r.ok,
        })  # fmt: skip
        if seed == seeds[0] and r.png:
            shutil.copyfile(r.png, Path(__file__).parent / "results" / "neuro_deface.png")
    return rows


def main(argv: list[str] | None = None) -> None:
    from benchmarks._report import save

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "n").mkdir()
        (work / "e").mkdir()
        (work / "e" / "out").mkdir()
        rows = [{"part": "nifti", **r} for r in nifti_rows(work / "n")]
        rows += [{"part": "eeg", **r} for r in eeg_rows(work / "e")]
        (work / "d").mkdir()
        rows += [{"part": "deface", **r} for r in deface_rows(work / "d")]
    notes = (
        "nifti: real MR series from pydicom (DICOMDIR test patient Doe^Peter, 3 series) and pydicom-data (enhanced "
        "MR in 5 transfer syntaxes, identifiers planted); planted_left counts planted identifiers found anywhere "
        "in the output (paths, sidecars, decompressed NIfTI). eeg: 32 channels x 60 s x 512 Hz written here per "
        "format with 9 planted identifiers; signals_identical = MNE reads the output and its samples equal the "
        "input's exactly; BrainVision (no name field) is given the name with terms=. deface: pydeface's template (the only "
        "head image in a wheel here) under 5 random affines at 1 mm; face_removed_share = share of the true face "
        "mask's non-zero voxels set to 0; brain_changed = voxels of the true brain region (template interior >= 25 "
        "mm deep, carried by the known transform) that differ; neuro_deface.png is the first image's rendering. "
        "2 shared CPU cores."
    )
    print(save("neuro", rows, notes).read_text())


if __name__ == "__main__":
    main()
