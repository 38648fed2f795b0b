"""`anonlab audio voice`: voices in recordings anonymised by signal processing, per speaker under a key; no
metadata carried over."""

from __future__ import annotations

import argparse

from anonlab.cli._common import (
    add_command,
    add_force,
    add_group,
    add_json,
    add_quiet,
    add_seed,
    add_strict_key,
    positive_int,
    print_json,
    show_progress,
)

VOICE_DESCRIPTION = """\
Write IN (a recording, or a folder of them) to OUT with the voice changed by signal processing (no model,
nothing downloaded) and no metadata: every output is written fresh from the samples as 16-bit mono WAV or FLAC
(.flac stays FLAC, other formats become WAV), so tags, comments, dates and device fields (ID3, RIFF INFO, bext,
iXML, Vorbis comments) are gone. The report names what the input held, never its values.

Methods:
  mcadams   the VoicePrivacy Challenge's baseline B2: every frame's formants moved by raising the angles of
            its linear-prediction poles to a McAdams coefficient alpha (pitch kept)
  cascade   Kai et al. (SLT 2022): resampling (pitch, formants and tempo), vocal-tract-length warping,
            modulation-spectrum smoothing, chorus

Each speaker gets settings drawn at random but keyed: HMAC of the speaker id under --key-file (the key of
`anonlab keygen`, as for `anonlab pseudonymize`), so a speaker keeps one voice across recordings and runs. Name
the speaker with --speaker (all recordings) or --speakers FILE (CSV file,speaker; paths relative to IN); without
them each recording is its own speaker. Without a key, settings come from --seed or fresh entropy (consistent
within this run only). Drawn settings are never printed: they help to undo the change.

Not a guarantee: an attacker who anonymises their own recordings the same way still links voices above chance
(benchmarks/results/voice.md). Words said aloud (names, places) stay: redact the transcript separately."""


def _alpha(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def add_parser(sub) -> None:
    _, actions = add_group(
        sub,
        "audio",
        help="anonymise voices in recordings (McAdams, cascaded modifications) and strip audio metadata",
        description="Speech recordings: `anonlab audio voice IN OUT`.",
    )
    p = add_command(
        actions,
        "voice",
        help="change each speaker's voice (keyed per speaker) and write fresh WAV/FLAC without tags",
        description=VOICE_DESCRIPTION,
        func=run_voice,
    )
    p.add_argument(
        "input", metavar="IN", help="a recording (WAV, FLAC, Ogg, AIFF, MP3), or a folder; only read"
    )
    p.add_argument("output", metavar="OUT", help="output file (.wav or .flac), or folder when IN is a folder")
    p.add_argument(
        "--method", choices=("mcadams", "cascade"), default="mcadams", help="how voices are changed"
    )
    p.add_argument(
        "--key-file", metavar="FILE", help="secret key from `anonlab keygen`: one voice per speaker"
    )
    p.add_argument("--speaker", metavar="ID", help="the speaker of every recording")
    p.add_argument("--speakers", metavar="FILE", help="CSV with columns file,speaker (paths relative to IN)")
    p.add_argument(
        "--alpha",
        type=_alpha,
        default=None,
        help="mcadams: one fixed coefficient for every speaker (0.8 in the Challenge's 2020 B2); draws nothing",
    )
    add_seed(
        p,
        "the speakers' settings when no --key-file is given",
        same="the same seed gives each speaker the same voice",
        secret="whoever knows it can recompute the settings and undo part of the change",
    )
    p.add_argument("--workers", type=positive_int, default=1, help="processes for a folder")
    add_strict_key(p)
    add_quiet(p)
    add_force(p)
    add_json(p)


def run_voice(args: argparse.Namespace) -> int:
    from anonlab.deid.audio import anonymize_voice
    from anonlab.deid.keys import read_key

    key = read_key(args.key_file, strict=args.strict_key) if args.key_file else None
    result = anonymize_voice(
        args.input,
        args.output,
        method=args.method,
        key=key,
        seed=args.seed,
        alpha=args.alpha,
        speaker=args.speaker,
        speakers=args.speakers,
        workers=args.workers,
        force=args.force,
        progress=show_progress(args),
    )
    if args.json:
        print_json(result.to_dict())
        return 0
    for r in result.written:
        removed = f"removed {', '.join(r.metadata_removed)}" if r.metadata_removed else "no metadata found"
        print(f"{r.input} -> {r.output}: {r.duration_s:.1f} s; {removed}")
    for s in result.skipped:
        print(f"skipped {s['input']}: {s['reason']}")
    how = {
        "keyed": "keyed per speaker",
        "seeded": "from --seed",
        "random": "random for this run",
        "fixed": "fixed",
    }
    source = how.get(result.written[0].settings_from, "") if result.written else ""
    print(
        f"{len(result.written)} recordings ({result.audio_seconds:.1f} s of audio) anonymised with {result.method}"
        f"{f' ({source} settings)' if source else ''} in {result.seconds:.1f} s; {len(result.skipped)} files skipped"
    )
    return 0
