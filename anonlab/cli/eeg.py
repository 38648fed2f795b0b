"""`anonlab eeg anonymize`: an EEG/MEG recording (FIF, EDF/BDF, BrainVision) without identifying header fields."""

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

DESCRIPTION = """\
Write the recording IN (.fif, .edf, .bdf, or BrainVision .vhdr with its .vmrk and .eeg) to OUT, in the same
format, without identifying header fields. Samples are unchanged: the output is read back with MNE and compared.

- EDF/BDF: patient and recording identification (name, ID, sex, birth date, hospital code, technician,
  equipment) rewritten by edfio, the digital samples of every signal kept byte for byte; EDF+ annotations cleaned.
- FIF: MNE's anonymize (subject info, measurement date, experimenter, project, description, file IDs), device and
  helium info removed; annotation descriptions cleaned.
- BrainVision: file names replaced, the [Comment] section dropped, the New Segment date shifted or removed,
  marker descriptions cleaned; the .eeg data file copied byte for byte.

The subject ID becomes the keyed pseudonym of the recording's own ID (EDF+ patient code, FIF his_id) or of
--subject: the string `anonlab pseudonymize` and `anonlab dicom deidentify` write under the same key. Annotation
text loses the subject's names and IDs (from the header and --term), dates, e-mail addresses and numbers of 5+
digits. Dates: replaced by a fixed date, or with --shift-dates moved by the subject's keyed offset."""


def add_parser(sub) -> None:
    _, actions = add_group(
        sub, "eeg", help="EEG/MEG recordings without identifying headers",
        description="Anonymise EEG/MEG recordings (FIF, EDF/BDF, BrainVision) with keyed subject IDs.",
    )  # fmt: skip
    p = add_command(
        actions, "anonymize", help="one recording without identifying header fields", description=DESCRIPTION,
        func=run_anonymize,
    )  # fmt: skip
    p.add_argument("src", metavar="IN", help="the recording (.fif, .edf, .bdf, .vhdr); never modified")
    p.add_argument("dst", metavar="OUT", help="the output recording, same format")
    p.add_argument(
        "--key-file", dest="key", required=True, metavar="KEY",
        help="secret key (from `anonlab keygen`) for the subject pseudonym and date shift",
    )  # fmt: skip
    p.add_argument(
        "--subject", default=None, metavar="ID",
        help="the subject's identifier in the study (default: the recording's own; BrainVision has none)",
    )  # fmt: skip
    p.add_argument(
        "--shift-dates", action="store_true",
        help="keep the measurement date moved by the subject's keyed offset (default: a fixed date)",
    )  # fmt: skip
    p.add_argument(
        "--max-shift-days", type=positive_int, default=365, help="offsets lie in [-N, N] days, never 0"
    )
    p.add_argument(
        "--term", dest="terms", action="append", default=[], metavar="TEXT",
        help="a name or identifier to cut out of annotations (repeatable; the header's own are always used)",
    )  # fmt: skip
    add_quiet(p)
    add_strict_key(p)
    add_force(p)
    add_json(p)


def run_anonymize(args: argparse.Namespace) -> int:
    import sys

    from anonlab.cli._common import print_json, show_progress
    from anonlab.deid.neuro import anonymize_eeg

    if show_progress(args):
        print(f"eeg anonymize: {args.src}", file=sys.stderr)
    r = anonymize_eeg(
        args.src, args.dst, key=args.key, subject=args.subject, shift_dates=args.shift_dates,
        max_shift_days=args.max_shift_days, terms=args.terms, force=args.force, strict_key=args.strict_key,
    )  # fmt: skip
    if args.json:
        print_json(r.to_dict())
        return 0
    print(
        f"{r.format}: wrote {', '.join(r.files)} for subject {r.subject}; dates "
        + ("shifted" if r.dates_shifted else "replaced")
        + f"; {r.annotations_cleaned} of {r.annotations} annotations cleaned; samples "
        + ("identical" if r.signals_identical else "DIFFER")
    )
    return 0 if r.signals_identical else 1
