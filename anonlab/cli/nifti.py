"""`anonlab nifti convert`, `nifti audit` and `nifti deface`: DICOM to BIDS-style NIfTI without identifiers, its
check, and the face removed from head images."""

from __future__ import annotations

import argparse

from anonlab.cli._common import (
    add_command,
    add_force,
    add_group,
    add_json,
    add_quiet,
    add_strict_key,
    positive_int,
)

CONVERT_DESCRIPTION = """\
Convert every DICOM series under DICOM_DIR to NIfTI with dcm2niix (the binary of the dcm2niix package) and write a
BIDS-style folder OUT without identifiers:

  OUT/sub-<subject>/ses-<session>/<datatype>/sub-<subject>_ses-<session>[_acq-<label>]_run-<n>_<suffix>.nii.gz

- <subject> is the keyed pseudonym of the DICOM PatientID: the same string `anonlab pseudonymize` writes for that
  identifier and `anonlab dicom deidentify` writes into PatientID under the same key. <session> is keyed from the
  StudyInstanceUID. Datatype and suffix come from dcm2niix's guess (unrecognised series go to misc/).
- Sidecars keep only an allow-list of acquisition parameters (no names, IDs, birth dates, institutions, device
  serials, UIDs or free text); dates and times only with --shift-dates, moved by the subject's keyed offset (the
  one `dicom deidentify --option retain-longitudinal-modified-dates` uses).
- NIfTI headers: descrip, aux_file, intent_name (and db_name, data_type) emptied, extensions removed; voxel bytes
  unchanged. No part of an input path reaches the output.
- Images that may show burned-in text are withheld and listed, unless --allow-burned-in. dcm2niix's raw output
  stays in a private temporary folder, removed at the end.

Exit status: 0 when every series was converted, 1 when any was withheld or failed, 2 for usage errors."""

AUDIT_DESCRIPTION = """\
List what is identifying in a NIfTI / BIDS folder (anonlab's output or another tool's): sidecar fields outside the
allow-list of acquisition parameters, text that looks like a date, an e-mail address or a record number, dates not
declared as shifted, text in NIfTI headers (descrip, aux_file, intent_name) and header extensions, gzip headers
that name a file, unknown table columns, dates or long numbers in file names, and files that do not belong (a DICOM
file, a PDF). Values are never printed. Exit status 1 when anything is found, 0 when clean."""

DEFACE_DESCRIPTION = """\
Write OUT: the 3-D head image IN (T1- or T2-weighted NIfTI) with its face set to 0. pydeface's template head and
facial mask (from the pydeface package's data, MIT) are registered to the image by DIPY's affine registration
(mutual information); every voxel under the mask is set to 0. No FSL or FreeSurfer is needed.

- Only the masked voxels change: the header, its extensions and every other stored value are kept byte for byte
  (header text is `nifti convert`'s job; run `nifti audit` on the folder).
- Checks, from the output read back: voxels removed and the largest value left there (0), signal in the face
  region before (none: skull-stripped or already defaced, nothing to confirm), voxels changed in the template's
  brain region carried onto the image (must be 0) and outside the mask (0), the share of that brain region inside
  the image (not a whole head, or thick slices), and the correlation of the registered template with the image
  (below 0.5: the registration probably failed). Each failed check is a warning line.
- --png FILE: maximum-intensity projection and surface renderings, before and after, for a person to review
  (needs matplotlib, the eval extra). Look at it: the checks follow the registration.

Exit status: 0 when every check passed, 1 when one failed (OUT is written: review it), 2 for usage errors."""


def add_parser(sub) -> None:
    _, actions = add_group(
        sub,
        "nifti",
        help="DICOM to BIDS-style NIfTI without identifiers, its audit, and defacing",
        description="Convert DICOM to NIfTI (dcm2niix) with allow-listed sidecars and clean headers; audit a folder; "
        "remove the face from a head image.",
    )
    p = add_command(
        actions,
        "convert",
        help="DICOM folder to a BIDS-style NIfTI folder without identifiers",
        description=CONVERT_DESCRIPTION,
        func=run_convert,
    )
    p.add_argument(
        "src", metavar="DICOM_DIR", help="folder of DICOM files (walked recursively; never modified)"
    )
    p.add_argument(
        "dst", metavar="OUT", help="output folder (created; refused when not empty, unless --force)"
    )
    p.add_argument(
        "--key-file",
        dest="key",
        required=True,
        metavar="KEY",
        help="secret key (from `anonlab keygen`) for subject and session labels and date shifts; whoever holds it "
        "can link the release back to identifiers",
    )
    p.add_argument(
        "--shift-dates",
        action="store_true",
        help="keep acquisition dates and times, each subject's moved by its keyed offset (default: none written)",
    )
    p.add_argument(
        "--max-shift-days",
        type=positive_int,
        default=365,
        help="date offsets lie in [-N, N] days, never 0",
    )
    p.add_argument(
        "--keep-descriptions",
        action="store_true",
        help="keep SeriesDescription and ProtocolName, cleaned of dates, long numbers, e-mail addresses and the "
        "patient's own names and IDs (typed by people: review them)",
    )
    p.add_argument(
        "--allow-burned-in",
        action="store_true",
        help="also convert images that may show identifying text in their pixels (withheld by default)",
    )
    p.add_argument(
        "--no-compress", dest="compress", action="store_false", help="write .nii instead of .nii.gz"
    )
    add_quiet(p)
    add_strict_key(p)
    add_force(p)
    add_json(p)

    a = add_command(
        actions,
        "audit",
        help="list identifying leftovers in a NIfTI / BIDS folder",
        description=AUDIT_DESCRIPTION,
        func=run_audit,
    )
    a.add_argument("folder", metavar="DIR", help="folder to audit (walked recursively; only read)")
    a.add_argument(
        "--descriptions",
        action="store_true",
        help="accept SeriesDescription and ProtocolName (still scanned), as written with --keep-descriptions",
    )
    add_json(a)

    d = add_command(
        actions,
        "deface",
        help="remove the face from a T1/T2 head image (template registration, no FSL)",
        description=DEFACE_DESCRIPTION,
        func=run_deface,
    )
    d.add_argument("src", metavar="IN", help="3-D NIfTI head image, .nii or .nii.gz (never modified)")
    d.add_argument("dst", metavar="OUT", help="output NIfTI file (.nii or .nii.gz)")
    d.add_argument("--png", metavar="FILE", help="also write a rendering before and after, for review")
    d.add_argument(
        "--resolution-mm",
        dest="resolution_mm",
        metavar="MM",
        type=float,
        default=3.0,
        help="voxel size of the registration grid in mm (1-8; coarser is faster, less exact)",
    )
    add_quiet(d)
    add_force(d)
    add_json(d)


def run_convert(args: argparse.Namespace) -> int:
    from anonlab.cli._common import print_json, show_progress
    from anonlab.deid.neuro import convert_to_nifti

    result = convert_to_nifti(
        args.src,
        args.dst,
        key=args.key,
        shift_dates=args.shift_dates,
        max_shift_days=args.max_shift_days,
        keep_descriptions=args.keep_descriptions,
        allow_burned_in=args.allow_burned_in,
        compress=args.compress,
        force=args.force,
        progress=show_progress(args),
        strict_key=args.strict_key,
    )
    if args.json:
        print_json(result.to_dict())
        return result.exit_code
    d = result.to_dict()
    print(
        f"{d['dicom_files']} DICOM files, {d['series']} series: {d['nifti_files']} NIfTI files for "
        f"{d['subjects']} subjects, {d['sessions']} sessions ({d['seconds']} s); dates "
        + ("shifted" if d["dates_shifted"] else "removed")
    )
    for kind in ("withheld", "failed", "skipped"):
        for item in d[kind]:
            print(f"  {kind}: {item['input']}: {item['reason']}")
    if d["dropped_fields"]:
        print(f"sidecar fields dropped: {', '.join(d['dropped_fields'])}")
    return result.exit_code


def run_audit(args: argparse.Namespace) -> int:
    from anonlab.cli._common import print_json
    from anonlab.deid.neuro import audit_nifti

    result = audit_nifti(args.folder, descriptions=args.descriptions)
    if args.json:
        print_json(result.to_dict())
        return result.exit_code
    for f in result.findings:
        print(
            f"  {f.rule:17s} {f.path}"
            + (f" {f.field}" if f.field else "")
            + (f" ({f.detail})" if f.detail else "")
        )
    counts = ", ".join(f"{k} {v}" for k, v in result.by_rule.items())
    print(
        f"{result.files} files audited: {len(result.findings)} findings" + (f" ({counts})" if counts else "")
    )
    return result.exit_code


def run_deface(args: argparse.Namespace) -> int:
    from anonlab.cli._common import print_json, show_progress
    from anonlab.deid.neuro import deface

    result = deface(
        args.src,
        args.dst,
        png=args.png,
        force=args.force,
        resolution_mm=args.resolution_mm,
        progress=show_progress(args),
    )
    if args.json:
        print_json(result.to_dict())
        return result.exit_code
    d = result.to_dict()
    print(
        f"{d['output']}: {d['face_voxels']} face voxels set to 0 (largest value left {d['face_max_after']:g}); "
        f"brain region {d['brain_changed']} of {d['brain_voxels']} voxels changed, {d['changed_outside_face']} "
        f"outside the mask; registration similarity {d['similarity']:.3f} ({d['seconds']} s)"
    )
    if d["png"]:
        print(f"rendering for review: {d['png']}")
    for w in d["warnings"]:
        print(f"warning: {w}")
    return result.exit_code
