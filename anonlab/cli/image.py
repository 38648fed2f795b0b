"""`anonlab image strip`: remove identifying metadata (EXIF, GPS, serial numbers, XMP, IPTC, comments) from photos."""

from __future__ import annotations

import argparse

from anonlab.cli._common import add_command, add_force, add_group, add_json, print_json

STRIP_DESCRIPTION = """\
Write IN (a photo, or a folder of photos) to OUT without identifying metadata: EXIF (GPS position, camera body and
lens serial numbers, owner, artist, maker notes, dates), XMP, IPTC and comments. JPEG, PNG, TIFF and WebP.

- JPEG, PNG and WebP keep their compressed pixel data byte for byte: metadata segments and chunks are dropped,
  nothing is re-encoded. Colour profiles stay. TIFF is rewritten losslessly with only the tags the pixels need.
- Orientation is kept: a rotated photo keeps a minimal EXIF block with the orientation tag alone (TIFF: the
  rotation is applied to the pixels).
- With a folder, every photo is written to the same relative path under OUT; other files are skipped and listed.
- The report names what was removed and which notable EXIF tags were present, never their values.

Pixels themselves can identify (faces, name badges, screens, landmarks): this command does not look at them."""


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
