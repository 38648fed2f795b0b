"""`anonlab eeg anonymize` on recordings written here with MNE, edfio and by hand (BrainVision), with identifiers
planted in headers and annotations: every one is gone, samples are unchanged, MNE reads the output."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

mne = pytest.importorskip("mne", reason="the neuro extra (mne) is not installed")
edfio = pytest.importorskip("edfio", reason="the neuro extra (edfio) is not installed")

from anonlab.cli import main  # noqa: E402
from anonlab.deid.keys import read_key, write_key  # noqa: E402
from anonlab.deid.neuro import anonymize_eeg  # noqa: E402
from anonlab.deid.pseudonym import Pseudonymizer  # noqa: E402
from anonlab.errors import OutputExistsError, UsageError  # noqa: E402

CHANNELS = ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "Cz", "Pz"]
SFREQ = 256
SECRETS = ["Jane", "Doe", "MRN-4471", "ACC77120", "Nobody", "SN-99812", "1961", "2020-01-15", "15/01/2020"]
START = dt.datetime(2020, 1, 15, 10, 30, 0, tzinfo=dt.UTC)


def _signals(seed: int = 0) -> np.ndarray:
    """Twelve 10-second channels: alpha over the back, eye blinks in front, noise everywhere (volts)."""
    rng = np.random.default_rng(seed)
    t = np.arange(10 * SFREQ) / SFREQ
    x = rng.normal(0, 5e-6, (len(CHANNELS), t.size))
    x[-4:] += 20e-6 * np.sin(2 * np.pi * 10 * t)
    x[:2] += 80e-6 * (np.sin(2 * np.pi * 0.3 * t) > 0.95)
    return x


@pytest.fixture
def key_file(tmp_path) -> Path:
    return write_key(tmp_path / "study.key")


@pytest.fixture
def edf_file(tmp_path) -> Path:
    x = _signals() * 1e6
    signals = [
        edfio.EdfSignal(x[i], SFREQ, label=f"EEG {c}", transducer_type="AgAgCl cup, Jane's cap",
                        physical_dimension="uV", physical_range=(-500, 500), prefiltering="HP:0.1Hz LP:70Hz")
        for i, c in enumerate(CHANNELS)
    ]  # fmt: skip
    edf = edfio.Edf(
        signals,
        patient=edfio.Patient(code="MRN-4471", sex="F", birthdate=dt.date(1961, 3, 4), name="Jane_Doe"),
        recording=edfio.Recording(
            startdate=START.date(),
            hospital_administration_code="ACC77120",
            investigator_technician_code="Dr_Nobody",
            equipment_code="SN-99812",
        ),  # fmt: skip
        starttime=START.time().replace(tzinfo=None),
        annotations=[
            edfio.EdfAnnotation(1.0, None, "Jane eyes closed"),
            edfio.EdfAnnotation(4.0, 1.5, "seizure 2020-01-15, call 0612345678"),
            edfio.EdfAnnotation(7.0, None, "photic 10 Hz"),
        ],
    )
    path = tmp_path / "Jane_Doe.edf"
    edf.write(path)
    return path


@pytest.fixture
def fif_file(tmp_path) -> Path:
    info = mne.create_info(CHANNELS, SFREQ, "eeg")
    raw = mne.io.RawArray(_signals(1), info, verbose="error")
    raw.set_meas_date(START)
    with raw.info._unlock():
        raw.info["subject_info"] = {
            "his_id": "MRN-4471", "first_name": "Jane", "last_name": "Doe", "birthday": dt.date(1961, 3, 4),
            "sex": 2, "hand": 1,
        }  # fmt: skip
        raw.info["experimenter"] = "Dr Nobody"
        raw.info["description"] = "Jane Doe resting state"
        raw.info["proj_name"] = "ACC77120"
        raw.info["device_info"] = {"type": "amp", "model": "X", "serial": "SN-99812", "site": "St Elsewhere"}
    raw.set_annotations(
        mne.Annotations([1.0, 4.0], [0, 1.5], ["Jane eyes closed", "seizure 15/01/2020"], START)
    )
    path = tmp_path / "jane_raw.fif"
    raw.save(path, fmt="single", verbose="error")
    return path


@pytest.fixture
def vhdr_file(tmp_path) -> Path:
    """A BrainVision recording written by hand (float32 samples in microvolts), as recorders write it."""
    x = (_signals(2) * 1e6).astype("<f4")
    (tmp_path / "Jane_Doe.eeg").write_bytes(x.T.tobytes())
    chans = "\n".join(f"Ch{i + 1}={c},,1,µV" for i, c in enumerate(CHANNELS))
    (tmp_path / "Jane_Doe.vhdr").write_text(
        "Brain Vision Data Exchange Header File Version 1.0\n; Data created for Jane Doe, MRN-4471\n\n"
        "[Common Infos]\nCodepage=UTF-8\nDataFile=Jane_Doe.eeg\nMarkerFile=Jane_Doe.vmrk\n"
        "DataFormat=BINARY\nDataOrientation=MULTIPLEXED\n"
        f"NumberOfChannels={len(CHANNELS)}\nSamplingInterval={1e6 / SFREQ}\n\n"
        "[Binary Infos]\nBinaryFormat=IEEE_FLOAT_32\n\n"
        f"[Channel Infos]\n{chans}\n\n[Comment]\nAmplifier Serial Number: SN-99812\nSubject: Jane Doe\n",
        encoding="utf-8",
    )
    (tmp_path / "Jane_Doe.vmrk").write_text(
        "Brain Vision Data Exchange Marker File, Version 1.0\n\n[Common Infos]\nCodepage=UTF-8\n"
        "DataFile=Jane_Doe.eeg\n\n[Marker Infos]\nMk1=New Segment,,1,1,0,20200115103000000000\n"
        "Mk2=Comment,Jane moved,512,1,0\nMk3=Stimulus,S  1,1024,1,0\n",
        encoding="utf-8",
    )
    return tmp_path / "Jane_Doe.vhdr"


def _leaks(paths) -> list[str]:
    blob = b"".join(Path(p).read_bytes() for p in paths).lower()
    return [s for s in SECRETS if s.lower().encode() in blob]


def test_edf_identifiers_gone_samples_byte_identical(edf_file, tmp_path, key_file):
    out = tmp_path / "out" / "sub.edf"
    r = anonymize_eeg(edf_file, out, key=key_file)
    assert not _leaks([out]) and r.signals_identical
    assert r.subject == Pseudonymizer(read_key(key_file)).pseudonym("MRN-4471")
    a, b = edfio.read_edf(edf_file), edfio.read_edf(out)
    for s, t in zip(a.signals, b.signals, strict=True):
        assert s.digital.tobytes() == t.digital.tobytes() and s.label == t.label
    assert b.patient.code == r.subject and b.local_recording_identification.startswith("Startdate X X X X")
    assert b.starttime == dt.time(0, 0)
    assert [x.text for x in b.annotations] == ["eyes closed", "seizure , call", "photic 10 Hz"]
    assert r.annotations == 3 and r.annotations_cleaned == 2
    raw = mne.io.read_raw_edf(out, preload=True, verbose="error")  # readable after
    assert raw.ch_names[0] == "EEG Fp1" and len(raw.annotations) == 3


def test_edf_dates_shift_by_the_subjects_keyed_offset(edf_file, tmp_path, key_file):
    out = tmp_path / "shifted.edf"
    r = anonymize_eeg(edf_file, out, key=key_file, shift_dates=True)
    offset = Pseudonymizer(read_key(key_file)).offset_days("MRN-4471")
    b = edfio.read_edf(out)
    assert b.startdate - START.date() == dt.timedelta(days=offset) and b.starttime == dt.time(10, 30)
    assert r.dates_shifted and r.signals_identical and not _leaks([out])


def test_bdf_too(tmp_path, key_file):
    x = _signals(3) * 1e6
    bdf = edfio.Bdf(
        [edfio.BdfSignal(x[i], SFREQ, label=c, physical_range=(-500, 500)) for i, c in enumerate(CHANNELS)],
        patient=edfio.Patient(code="MRN-4471", name="Jane_Doe"),
        recording=edfio.Recording(startdate=START.date(), equipment_code="SN-99812"),
    )
    src = tmp_path / "in.bdf"
    bdf.write(src)
    r = anonymize_eeg(src, tmp_path / "out.bdf", key=key_file)
    assert r.signals_identical and not _leaks([tmp_path / "out.bdf"])


def test_fif_identifiers_gone_samples_identical(fif_file, tmp_path, key_file):
    out = tmp_path / "out_raw.fif"
    r = anonymize_eeg(fif_file, out, key=key_file)
    assert r.signals_identical and r.format == "fif"
    assert not _leaks([out]), _leaks([out])
    raw = mne.io.read_raw_fif(out, verbose="error")
    assert raw.info["subject_info"] == {"his_id": r.subject}
    assert raw.info["meas_date"].date() == dt.date(2000, 1, 1) and raw.info["device_info"] is None
    assert list(raw.annotations.description) == ["eyes closed", "seizure"]


def test_fif_dates_shift(fif_file, tmp_path, key_file):
    out = tmp_path / "shift_raw.fif"
    anonymize_eeg(fif_file, out, key=key_file, shift_dates=True)
    offset = Pseudonymizer(read_key(key_file)).offset_days("MRN-4471")
    raw = mne.io.read_raw_fif(out, verbose="error")
    assert raw.info["meas_date"] - START == dt.timedelta(days=offset)


def test_brainvision_headers_rewritten_data_copied(vhdr_file, tmp_path, key_file):
    with pytest.raises(UsageError, match="subject="):
        anonymize_eeg(vhdr_file, tmp_path / "o" / "x.vhdr", key=key_file)
    out = tmp_path / "o" / "sub.vhdr"
    r = anonymize_eeg(vhdr_file, out, key=key_file, subject="MRN-4471", terms=["Jane", "Doe"])
    files = [out, out.with_suffix(".vmrk"), out.with_suffix(".eeg")]
    assert not _leaks(files), _leaks(files)
    assert out.with_suffix(".eeg").read_bytes() == vhdr_file.with_suffix(".eeg").read_bytes()
    assert r.signals_identical and r.annotations_cleaned == 1
    raw = mne.io.read_raw_brainvision(out, verbose="error")
    assert raw.info["meas_date"] is None and "Comment/moved" in list(raw.annotations.description)


def test_outputs_protected_and_bad_inputs(edf_file, tmp_path, key_file):
    out = tmp_path / "o.edf"
    anonymize_eeg(edf_file, out, key=key_file)
    with pytest.raises(OutputExistsError):
        anonymize_eeg(edf_file, out, key=key_file)
    anonymize_eeg(edf_file, out, key=key_file, force=True)
    with pytest.raises(UsageError, match="format"):
        anonymize_eeg(edf_file, tmp_path / "o.fif", key=key_file)
    with pytest.raises(UsageError, match="unknown recording format"):
        anonymize_eeg(tmp_path / "x.txt", tmp_path / "y.txt", key=key_file)
    bad = tmp_path / "bad.edf"
    bad.write_bytes(b"0       not an edf")
    from anonlab.errors import InputError

    with pytest.raises(InputError, match="bad.edf"):
        anonymize_eeg(bad, tmp_path / "bad_out.edf", key=key_file)


def test_cli(edf_file, tmp_path, key_file, capsys):
    out = tmp_path / "cli.edf"
    assert main(["eeg", "anonymize", str(edf_file), str(out), "--key-file", str(key_file), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["signals_identical"] and d["subject"] and not _leaks([out])
    assert read_key(key_file).material.hex() not in json.dumps(d)
    assert main(["eeg", "anonymize", str(edf_file), str(out), "--key-file", str(key_file)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--force" in err
    vhdr = tmp_path / "v.vhdr"
    vhdr.write_text("nothing")
    assert main(["eeg", "anonymize", str(vhdr), str(tmp_path / "w.vhdr"), "--key-file", str(key_file)]) == 2
    assert "--subject" in capsys.readouterr().err
