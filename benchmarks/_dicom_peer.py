"""Run one peer DICOM de-identifier over a folder, in the peer's own virtual environment (not anonlab's).

Usage: PEER_PYTHON benchmarks/_dicom_peer.py {deid,dicognito} IN_DIR OUT_DIR
Prints one JSON line: files seen, written, failed, and the seconds spent reading, de-identifying and writing.
Each peer runs as its documented defaults: pydicom/deid with its default recipe (``replace_identifiers`` without a
recipe), dicognito with ``Anonymizer()``. Outputs are named by a counter, so input paths do not matter.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings


def files_under(folder: str):
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for n in sorted(names):
            yield os.path.join(root, n)


def main() -> None:
    peer, in_dir, out_dir = sys.argv[1:4]
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    import pydicom

    os.makedirs(out_dir, exist_ok=True)
    if peer == "deid":
        from deid.dicom import replace_identifiers
        from deid.logger import bot

        bot.level = 0

        def run(path):
            (ds,) = replace_identifiers([path], save=False)
            return ds
    elif peer == "dicognito":
        from dicognito.anonymizer import Anonymizer

        anonymizer = Anonymizer()

        def run(path):
            ds = pydicom.dcmread(path)
            anonymizer.anonymize(ds)
            return ds
    else:
        raise SystemExit(f"unknown peer {peer}")
    seen = written = failed = not_dicom = 0
    t0 = time.perf_counter()
    for path in files_under(in_dir):
        seen += 1
        with open(path, "rb") as fh:
            head = fh.read(132)
        if head[128:132] != b"DICM":
            not_dicom += 1
            continue
        try:
            ds = run(path)
            ds.save_as(os.path.join(out_dir, f"{written:06d}.dcm"))
            written += 1
        except Exception:
            failed += 1
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "peer": peer,
                "seen": seen,
                "not_dicom": not_dicom,
                "written": written,
                "failed": failed,
                "seconds": seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
