"""Start-up time of the `anonlab` console script (the whole stack takes ~7 s to import; light commands must not).

Goal (DEVELOPERS.md): `anonlab --help`, `assess`, `anonymize` and `dicom` start in under a second. Median of
several runs of each command on a tiny input, wall time including interpreter start.
Run: `python -m benchmarks startup`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._report import save


def main(argv: list[str]) -> None:
    exe = str(Path(sys.prefix) / "bin" / "anonlab")
    tmp = Path(tempfile.mkdtemp())
    tiny = tmp / "tiny.csv"
    tiny.write_text("age,sex,zip\n30,F,02139\n31,M,02139\n30,F,02140\n")
    commands = [
        ["--help"],
        ["assess", "--help"],
        ["assess", str(tiny), "--quasi", "age,sex,zip"],
        ["anonymize", "--help"],
        ["dicom", "deidentify", "--help"],
        ["dicom", "audit", str(tmp)],
        ["synth", "--help"],
    ]
    rows = []
    for cmd in commands:
        times = []
        for _ in range(5):
            t = time.perf_counter()
            subprocess.run([exe, *cmd], capture_output=True)
            times.append(time.perf_counter() - t)
        rows.append(
            {
                "command": "anonlab "
                + " ".join(c if c != str(tiny) else "tiny.csv" for c in cmd).replace(str(tmp), "DIR"),
                "median_s": statistics.median(times),
                "min_s": min(times),
            }
        )
    base = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], capture_output=True)
        base.append(time.perf_counter() - t)
    rows.append(
        {
            "command": "python -c pass (interpreter alone)",
            "median_s": statistics.median(base),
            "min_s": min(base),
        }
    )
    print(save("startup", rows, "Wall time of the console script, median of 5 runs.").read_text())


if __name__ == "__main__":
    main(sys.argv[1:])
