"""`anonlab dicom deidentify` and `anonlab dicom audit`: the PS3.15 Annex E profile over a folder, and its check."""

from __future__ import annotations

import argparse

from anonlab.cli._common import (
    add_deprecated_progress,
    add_force,
    add_group,
    add_json,
    add_quiet,
    add_strict_key,
    positive_int,
    print_json,
    show_progress,
)

# Kept here (not imported from the library) so that `anonlab dicom --help` stays fast; a test checks they match.
OPTION_HELP = {
    "retain-safe-private": "keep known numeric private attributes (no dates, IDs, names)",
    "retain-uids": "keep original UIDs (links back to the source archive)",
    "retain-device-identity": "keep device serial numbers, station names, AE titles",
    "retain-institution-identity": "keep institution names, addresses, departments",
    "retain-patient-characteristics": "keep age, sex, size, weight, smoking/pregnancy status",
    "retain-longitudinal-full-dates": "keep all dates and times unchanged",
    "retain-longitudinal-modified-dates": "shift each patient's dates by a keyed offset (intervals survive)",
    "clean-descriptors": "keep descriptions/comments with names, IDs, dates, long numbers cut out",
    "clean-structured-content": "keep SR content with free text cleaned",
    "clean-graphics": "keep curves, overlays and graphic annotations (text cleaned)",
}

DEID_DESCRIPTION = """\
De-identify every DICOM file under IN_DIR with the DICOM PS3.15 Annex E Basic Application Level
Confidentiality Profile (Table E.1-1, all 621 attributes, applied inside every sequence), and write each file to
OUT_DIR/<new StudyInstanceUID>/<new SeriesInstanceUID>/<new SOPInstanceUID>.dcm. No part of an input path reaches
the output. IN_DIR is never modified; pixel data bytes are copied unchanged.

- Private attributes, curves and overlays are removed; every person name is emptied.
- UIDs are replaced by keyed UIDs under 2.25: the same UID and key give the same new UID in every file and run,
  so studies, series and references stay consistent. PatientID becomes the keyed pseudonym (linkable under one
  key, unlinkable across keys). The key never appears in any output.
- Images that may show identifying text in their pixels (BurnedInAnnotation YES; secondary capture, ultrasound and
  scanned documents unless flagged NO) are withheld and listed for pixel review, unless --allow-burned-in.
- Files that are not DICOM are skipped and listed; DICOM files that cannot be read whole are listed as failed and
  nothing of them is written.
- Sets PatientIdentityRemoved YES, DeidentificationMethod, DeidentificationMethodCodeSequence (113100 and each
  option) and LongitudinalTemporalInformationModified.

Exit status: 0 when every DICOM file was written, 1 when any failed or was withheld, 2 for usage errors.

Options (--option NAME, repeatable); each gives something away:
""" + "\n".join(f"  {k:36s}{v}" for k, v in OPTION_HELP.items())

AUDIT_DESCRIPTION = """\
List, per file and at every depth of every sequence, what the PS3.15 Basic Profile would not have let through:
attributes it removes or empties that still have a value, UIDs still under an organisation's root, private attributes,
person names, curves and overlays, and images that may show burned-in text. Values are never printed, only where
they are and their length. Options a file declares in DeidentificationMethodCodeSequence are honoured.
Works on any folder (anonlab's output or another tool's). Exit status 1 when anything is found, 0 when clean."""


def add_parser(sub) -> None:
    _, actions = add_group(
        sub,
        "dicom",
        help="de-identify DICOM folders (PS3.15 Annex E) and audit them",
        description="De-identify DICOM files with the PS3.15 Annex E profile, and audit a release.",
    )
    from anonlab.cli._common import add_command

    p = add_command(
        actions,
        "deidentify",
        help="apply the PS3.15 Annex E profile to every DICOM file in a folder",
        description=DEID_DESCRIPTION,
        func=run_deidentify,
    )
    p.add_argument(
        "in_dir", metavar="IN_DIR", help="folder of DICOM files (walked recursively; never modified)"
    )
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder for the de-identified files (created)")
    p.add_argument(
        "--key-file",
        required=True,
        metavar="KEY",
        help="secret key (from `anonlab keygen`) for UIDs, pseudonymous PatientIDs and date shifts; whoever holds "
        "it can link the release back to identifiers, so keep it apart from the data",
    )
    p.add_argument(
        "--option",
        action="append",
        default=[],
        choices=list(OPTION_HELP),
        metavar="NAME",
        help="a profile option (repeatable): " + ", ".join(OPTION_HELP),
    )
    p.add_argument(
        "--manifest",
        metavar="FILE",
        help="write original -> new UIDs, PatientIDs and paths to this CSV (owner-only permissions). It "
        "re-identifies the release: refused inside OUT_DIR",
    )
    p.add_argument(
        "--workers", type=positive_int, default=None, help="worker processes; when not given, one per core"
    )
    p.add_argument(
        "--allow-burned-in",
        action="store_true",
        help="also write images that may show identifying text in their pixels (withheld by default)",
    )
    p.add_argument(
        "--clean-pixels",
        action="store_true",
        help="clean burned-in text from the images that would be withheld: known regions from the deid filter "
        "rules per manufacturer and model, then OCR; written only when a check that sees differently (OCR on "
        "another view and a text-line detector that is no OCR) finds nothing (then BurnedInAnnotation NO), else "
        "withheld with the reason. Needs the media extra; about 1-10 s per image",
    )
    p.add_argument(
        "--ocr-policy",
        choices=("all", "identifying"),
        default="all",
        help="with --clean-pixels: blank every region with text (all), or only text read as identifying: dates, "
        "long numbers, names, the patient's own names and IDs, or text not read with confidence (identifying)",
    )
    add_quiet(p)
    add_deprecated_progress(p, "--no-progress")
    add_strict_key(p)
    add_force(p)
    add_json(p)

    a = add_command(
        actions,
        "audit",
        help="list identifying leftovers in a folder of DICOM files",
        description=AUDIT_DESCRIPTION,
        func=run_audit,
    )
    a.add_argument("dir", metavar="DIR", help="folder to audit (walked recursively; only read)")
    a.add_argument(
        "--workers", type=positive_int, default=None, help="worker processes; when not given, one per core"
    )
    add_quiet(a)
    add_deprecated_progress(a, "--no-progress")
    add_json(a)


def run_deidentify(args: argparse.Namespace) -> int:
    from anonlab.deid.dicom import deidentify

    result = deidentify(
        args.in_dir,
        args.out_dir,
        key=args.key_file,
        profile=args.option,
        workers=args.workers,
        allow_burned_in=args.allow_burned_in,
        manifest=args.manifest,
        force=args.force,
        progress=show_progress(args),
        strict_key=args.strict_key,
        clean_pixels=args.clean_pixels,
        ocr_policy=args.ocr_policy,
    )
    if args.json:
        print_json(result.to_dict())
        return result.exit_code
    d = result.to_dict()
    print(
        f"{d['files']} files: {d['written']} written, {d['skipped']} skipped, {d['failed']} failed, "
        f"{d['withheld']} withheld ({d['seconds']} s, {d['files_per_second'] or '-'} files/s, {d['workers']} workers)"
    )
    print(f"profile: PS3.15 Annex E basic; options: {', '.join(d['options']) or 'none'}")
    for kind in ("withheld", "failed", "skipped"):
        for item in d[f"{kind}_files"]:
            print(f"  {kind}: {item['input']}: {item['reason']}")
    for item in d["pixels_cleaned"]:
        print(
            f"  pixels cleaned: {item['input']}: {item['regions_blanked']} regions blanked, rules: {len(item['rules'])}"
        )
    if result.manifest:
        print(f"manifest: {result.manifest} (re-identifies the release; keep it apart)")
    if result.withheld:
        print(
            "withheld images may show identifying text in their pixels: review them, or use --allow-burned-in"
        )
    return result.exit_code


def run_audit(args: argparse.Namespace) -> int:
    from anonlab.deid.dicom import audit

    result = audit(args.dir, workers=args.workers, progress=show_progress(args))
    if args.json:
        print_json(result.to_dict())
        return result.exit_code
    for report in result.reports:
        print(report.path)
        for f in report.findings:
            code = f" [{f.code}]" if f.code else ""
            size = f" ({f.length} chars)" if f.rule not in ("burned-in", "unreadable", "link") else ""
            print(f"  {f.rule:13s} {f.tag:12s} {f.path}{code}{size}")
    counts = ", ".join(f"{k} {v}" for k, v in result.by_rule.items() if v)
    print(
        f"{result.dicom_files} DICOM files audited ({result.not_dicom} other files ignored): "
        f"{result.files_with_findings} with findings; {result.findings} findings"
        + (f" ({counts})" if counts else "")
    )
    return result.exit_code
