"""`anonlab audio voice` and anonlab.deid.audio: the methods on real speech (a CMU ARCTIC utterance bundled in
tests/audio/data), keyed per-speaker settings, metadata gone, files and folders, bad input (issue 20)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

sf = pytest.importorskip("soundfile")

from anonlab.cli import main  # noqa: E402
from anonlab.deid.audio import (  # noqa: E402
    CascadeSettings,
    McAdamsSettings,
    VoiceAnonymizer,
    anonymize_voice,
    metadata_found,
)
from anonlab.deid.audio.lpc import lpc, modify_poles, poles_of  # noqa: E402
from anonlab.deid.keys import generate_key, write_key  # noqa: E402
from anonlab.errors import InputError, UsageError  # noqa: E402

ARCTIC = Path(__file__).parent / "data" / "arctic_a0007.wav"
PROMPT = "and you always want to see it in the superlative degree"


@pytest.fixture(scope="module")
def speech():
    x, sr = sf.read(ARCTIC, dtype="float64")
    return x, sr


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _spectral_centroid(x, sr):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / sr)
    return float((spec * f).sum() / spec.sum())


# -- signal processing ---------------------------------------------------------------------------------------------


def test_lpc_matches_the_autocorrelation_normal_equations():
    from scipy.linalg import solve_toeplitz

    rng = np.random.default_rng(0)
    frame = rng.standard_normal(400)
    r = np.correlate(frame, frame, "full")[399 : 399 + 11]
    ref = solve_toeplitz(r[:10] * np.r_[1 + 1e-9, np.ones(9)], -r[1:11])
    assert np.allclose(lpc(frame[None, :], 10)[0, 1:], ref, atol=1e-6)
    a = lpc(frame[None, :], 10)
    assert np.all(np.abs(poles_of(a)) < 1)  # the autocorrelation method gives a stable filter


def test_unchanged_poles_give_the_signal_back(speech):
    x, sr = speech
    y = modify_poles(x, sr, lambda phi: phi)
    assert len(y) == len(x)
    assert np.max(np.abs(y - x)) < 0.01 * np.max(np.abs(x))


@pytest.mark.parametrize(
    "settings",
    [
        McAdamsSettings(alpha=0.8),
        CascadeSettings(1.08, 0.08, 15.0, (14.0, 22.0), 2.0, 0.8, 0.4),
    ],
    ids=["mcadams", "cascade"],
)
def test_methods_change_the_voice_and_keep_the_loudness(speech, settings):
    x, sr = speech
    y = VoiceAnonymizer(type(settings) is McAdamsSettings and "mcadams" or "cascade", settings=settings)
    out = y.anonymize_array(x, sr, "s1")
    assert np.isfinite(out).all() and np.abs(out).max() <= 0.99
    assert np.sqrt(np.mean(out**2)) == pytest.approx(np.sqrt(np.mean(x**2)), rel=0.05)
    if isinstance(settings, McAdamsSettings):
        assert len(out) == len(x)
    else:
        assert len(out) == pytest.approx(len(x) / 1.08, rel=0.01)
    # formants moved up: the spectral centroid rises (alpha < 1, resampling and warping upwards)
    assert _spectral_centroid(out, sr) > 1.1 * _spectral_centroid(x, sr)


@pytest.mark.slow  # loading pocketsphinx's language model and two decodes: 6-25 s on 2 shared cores
def test_mcadams_keeps_the_words(speech):
    """The real utterance stays intelligible to an offline recogniser (pocketsphinx's bundled en-us model)."""
    pocketsphinx = pytest.importorskip("pocketsphinx")
    x, sr = speech
    dec = pocketsphinx.Decoder(samprate=sr, loglevel="FATAL")

    def words(y):
        dec.start_utt()
        dec.process_raw((np.clip(y, -1, 1) * 32767).astype("<i2").tobytes(), full_utt=True)
        dec.end_utt()
        return dec.hyp().hypstr.split() if dec.hyp() else []

    assert words(x) == PROMPT.split()
    heard = words(VoiceAnonymizer("mcadams", alpha=0.85).anonymize_array(x, sr, "s"))
    assert len(set(heard) & set(PROMPT.split())) >= 6, heard


# -- keyed settings --------------------------------------------------------------------------------------------------


def test_settings_are_keyed_per_speaker():
    key = generate_key()
    for method in ("mcadams", "cascade"):
        a, b = VoiceAnonymizer(method, key=key), VoiceAnonymizer(method, key=key)
        assert a.settings_for("P07") == b.settings_for("P07")  # the same in every run
        assert a.settings_for("P07") != a.settings_for("P08")
        assert VoiceAnonymizer(method, key=generate_key()).settings_for("P07") != a.settings_for("P07")
        assert VoiceAnonymizer(method, seed=5).settings_for("x") == VoiceAnonymizer(
            method, seed=5
        ).settings_for("x")
        assert VoiceAnonymizer(method).settings_for("x") != VoiceAnonymizer(method).settings_for("x")
    alphas = [VoiceAnonymizer("mcadams", key=key).settings_for(f"s{i}").alpha for i in range(200)]
    assert 0.7 <= min(alphas) and max(alphas) <= 0.9 and np.std(alphas) > 0.04


def test_parameters_are_checked():
    with pytest.raises(UsageError, match="method="):
        VoiceAnonymizer("pitch")
    with pytest.raises(UsageError, match="alpha="):
        VoiceAnonymizer("cascade", alpha=0.8)
    with pytest.raises(UsageError, match="alpha="):
        VoiceAnonymizer("mcadams", alpha=0.1)
    with pytest.raises(UsageError, match="seed="):
        VoiceAnonymizer("mcadams", key=generate_key(), seed=1)
    with pytest.raises(UsageError, match="vtln_alpha="):
        CascadeSettings(1.1, 0.9, 15.0, (14.0,), 2.0, 0.8, 0.4)


# -- files: metadata, consistency, atomic outputs, inputs untouched ------------------------------------------------


def _tagged_wav(path: Path, x, sr):
    """A WAV with RIFF INFO (title, artist, date, software) and an ID3 chunk, as recorders and editors write."""
    with sf.SoundFile(path, "w", sr, 1, "PCM_16", format="WAV") as f:
        f.title, f.artist, f.date, f.software = "Interview Jane Roe", "Jane Roe", "2024-03-01", "Zoom H5 v2.1"
        f.write(x)
    pytest.importorskip("mutagen")
    from mutagen.id3 import TDRC, TIT2
    from mutagen.wave import WAVE

    w = WAVE(path)
    w.add_tags()
    w.tags.add(TIT2(encoding=3, text="Jane Roe, clinic visit"))
    w.tags.add(TDRC(encoding=3, text="2024"))
    w.save()


def test_metadata_is_gone_and_never_echoed(speech, tmp_path):
    x, sr = speech
    src = tmp_path / "in.wav"
    _tagged_wav(src, x, sr)
    found = metadata_found(src)
    assert any("LIST/INFO" in f and "IART" in f for f in found) and any("id3" in f for f in found)
    flac = tmp_path / "in.flac"
    sf.write(flac, x, sr)
    from mutagen.flac import FLAC

    f = FLAC(flac)
    f["ARTIST"], f["DATE"], f["LOCATION"] = "Jane Roe", "2024-03-01", "Helsinki"
    f.save()
    before = {p: _sha(p) for p in (src, flac)}
    result = anonymize_voice(tmp_path, tmp_path.parent / "out", key=generate_key(), speaker="P1")
    assert {p: _sha(p) for p in (src, flac)} == before
    out_wav, out_flac = tmp_path.parent / "out" / "in.wav", tmp_path.parent / "out" / "in.flac"
    assert metadata_found(out_wav) == [] and metadata_found(out_flac) == []
    assert not FLAC(out_flac).tags or not dict(FLAC(out_flac).tags)
    assert b"Jane" not in out_wav.read_bytes() and b"Zoom" not in out_flac.read_bytes()
    text = json.dumps(result.to_dict())
    assert "Jane" not in text and "Zoom" not in text and "P1" not in text and "alpha" not in text
    info = sf.info(out_wav)
    assert (info.samplerate, info.channels, info.subtype) == (sr, 1, "PCM_16")


def _with_chunks(path: Path, chunks: dict[bytes, bytes]) -> None:
    """Append RIFF chunks (Broadcast Wave bext, iXML) to a WAV file, fixing the RIFF size, as field recorders do."""
    data = bytearray(path.read_bytes())
    for cid, body in chunks.items():
        data += cid + len(body).to_bytes(4, "little") + body + (b"\0" if len(body) % 2 else b"")
    data[4:8] = (len(data) - 8).to_bytes(4, "little")
    path.write_bytes(bytes(data))


def test_broadcast_wave_and_ixml_chunks_are_gone(speech, tmp_path):
    x, sr = speech
    src = tmp_path / "field.wav"
    sf.write(src, x, sr, subtype="PCM_16")
    bext = (
        b"Jane Roe interview".ljust(256, b"\0") + b"ZOOM H5 SN 0042".ljust(32, b"\0") + b"2024-03-0114:05:00"
    )
    _with_chunks(src, {b"bext": bext, b"iXML": b"<BWFXML><PROJECT>Clinic 4</PROJECT></BWFXML>"})
    assert sf.read(src)[0].shape == x.shape  # still a readable WAV
    assert metadata_found(src) == ["WAV chunk bext", "WAV chunk iXML"]
    r = anonymize_voice(src, tmp_path / "out.wav", seed=1)
    assert r.written[0].metadata_removed == ("WAV chunk bext", "WAV chunk iXML")
    out = (tmp_path / "out.wav").read_bytes()
    assert metadata_found(tmp_path / "out.wav") == [] and b"ZOOM" not in out and b"Clinic" not in out


def test_one_speaker_one_voice_across_files(speech, tmp_path):
    x, sr = speech
    (tmp_path / "in" / "visit2").mkdir(parents=True)
    sf.write(tmp_path / "in" / "a.wav", x, sr)
    sf.write(tmp_path / "in" / "visit2" / "b.wav", x, sr)
    sf.write(tmp_path / "in" / "c.wav", x, sr)
    key = generate_key()
    mapping = {"a.wav": "P1", "visit2/b.wav": "P1", "c.wav": "P2"}
    anonymize_voice(tmp_path / "in", tmp_path / "out", key=key, speakers=mapping, workers=2)
    a, b, c = (sf.read(tmp_path / "out" / n)[0] for n in ("a.wav", "visit2/b.wav", "c.wav"))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # a later run under the same key gives P1 the same voice
    anonymize_voice(tmp_path / "in" / "a.wav", tmp_path / "again.wav", key=key, speaker="P1")
    assert np.array_equal(sf.read(tmp_path / "again.wav")[0], a)
    with pytest.raises(InputError, match="no speaker for 'c.wav'"):
        anonymize_voice(tmp_path / "in", tmp_path / "out2", key=key, speakers={"a.wav": "P1"})


def test_stereo_and_other_rates(tmp_path):
    rng = np.random.default_rng(1)
    t = np.arange(44100) / 44100
    tone = 0.3 * np.sin(2 * np.pi * 180 * t) * (
        1 + 0.5 * np.sin(2 * np.pi * 3 * t)
    ) + 0.01 * rng.standard_normal(len(t))
    sf.write(tmp_path / "s.flac", np.stack([tone, tone], axis=1), 44100)
    r = anonymize_voice(tmp_path / "s.flac", tmp_path / "o.flac", seed=1, method="cascade")
    assert r.written[0].channels == 2 and sf.info(tmp_path / "o.flac").channels == 1
    assert sf.info(tmp_path / "o.flac").samplerate == 44100


def test_bad_inputs(tmp_path, speech):
    x, sr = speech
    (tmp_path / "notes.wav").write_text("not audio")
    with pytest.raises(InputError, match="notes.wav: not an audio file"):
        anonymize_voice(tmp_path / "notes.wav", tmp_path / "o.wav")
    sf.write(tmp_path / "empty.wav", np.zeros(0), sr)
    with pytest.raises(InputError, match="no samples"):
        anonymize_voice(tmp_path / "empty.wav", tmp_path / "o.wav")
    sf.write(tmp_path / "ok.wav", x, sr)
    with pytest.raises(UsageError, match=r"\.wav or \.flac"):
        anonymize_voice(tmp_path / "ok.wav", tmp_path / "o.mp3")
    with pytest.raises(InputError, match="no such file"):
        anonymize_voice(tmp_path / "missing.wav", tmp_path / "o.wav")


def test_cli(tmp_path, speech, capsys):
    x, sr = speech
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(ARCTIC, src / "p1_visit1.wav")
    sf.write(src / "p1_visit2.flac", x[: sr * 2], sr)
    (src / "readme.txt").write_text("hello")
    (tmp_path / "speakers.csv").write_text("file,speaker\np1_visit1.wav,P1\np1_visit2.flac,P1\n")
    key = write_key(tmp_path / "k.key")
    before = _sha(src / "p1_visit1.wav")
    args = ["audio", "voice", str(src), str(tmp_path / "out"), "--key-file", str(key), "--quiet"]
    assert main([*args, "--speakers", str(tmp_path / "speakers.csv"), "--workers", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["recordings"] == 2 and len(out["skipped"]) == 1 and out["real_time_factor"] > 0
    assert {w["speaker_from"] for w in out["written"]} == {"mapped"}
    assert _sha(src / "p1_visit1.wav") == before
    # outputs are never overwritten without --force
    assert main([*args, "--speaker", "P1"]) == 2
    err = capsys.readouterr().err
    assert "exists" in err and err.count("\n") == 1
    assert main([*args, "--speaker", "P1", "--force"]) == 0
    assert "2 recordings" in capsys.readouterr().out
    # bad input: one line, exit 2
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x00")
    assert main(["audio", "voice", str(tmp_path / "bad.wav"), str(tmp_path / "o.wav")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("anonlab audio: error:") and "bad.wav" in err and err.count("\n") == 1
    assert main(["audio", "voice", str(src / "p1_visit1.wav"), str(tmp_path / "o.wav"), "--method", "cascade",
                 "--alpha", "0.8"]) == 2  # fmt: skip
    assert "--alpha" in capsys.readouterr().err
    assert main(["audio", "voice", str(src / "p1_visit1.wav"), str(tmp_path / "o.wav"), "--key-file", str(key),
                 "--seed", "3"]) == 2  # fmt: skip
    assert "--seed" in capsys.readouterr().err


# -- synthetic speakers (espeak-ng) --------------------------------------------------------------------------------


def _espeak(voice: str, text: str, path: Path) -> None:
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)


@pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt-get install espeak-ng)"
)
def test_speakers_move_apart_from_their_originals(tmp_path):
    """Synthetic speakers (espeak-ng's voices, a stand-in for real ones): after anonymisation a speaker's recording
    lies further from their own original, by MFCC-mean cosine similarity, than another original of theirs."""
    librosa = pytest.importorskip("librosa")
    texts = ["The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background."]
    voices = ["en-us+m3", "en-us+f2", "en-gb+m5"]

    def emb(y, sr):
        m = librosa.feature.mfcc(y=y.astype(np.float32), sr=sr, n_mfcc=20)[1:]
        return m.mean(axis=1)

    key = generate_key()
    embs = {}
    for v in voices:
        for i, t in enumerate(texts):
            _espeak(v, t, tmp_path / f"{v}_{i}.wav")
            y, sr = sf.read(tmp_path / f"{v}_{i}.wav")
            embs[v, i, "orig"] = emb(y, sr)
            embs[v, i, "anon"] = emb(VoiceAnonymizer("mcadams", key=key).anonymize_array(y, sr, v), sr)
    allv = np.array(list(embs.values()))
    mu = allv.mean(axis=0)

    def cos(a, b):
        a, b = a - mu, b - mu
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    same = np.mean([cos(embs[v, 0, "orig"], embs[v, 1, "orig"]) for v in voices])
    anon = np.mean([cos(embs[v, 0, "orig"], embs[v, 1, "anon"]) for v in voices])
    assert anon < same


def test_without_the_audio_extra(monkeypatch, tmp_path, capsys):
    import sys

    for m in [k for k in sys.modules if k == "soundfile" or k.startswith("soundfile.")]:
        monkeypatch.delitem(sys.modules, m)
    monkeypatch.setitem(sys.modules, "soundfile", None)
    assert main(["audio", "voice", str(ARCTIC), str(tmp_path / "o.wav"), "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert "'audio'" in err and "soundfile" in err and err.count("\n") == 1
    assert not (tmp_path / "o.wav").exists()
