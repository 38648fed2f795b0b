"""Fit smartnoise-synth's MST or AIM on a coded table, in smartnoise's own virtual environment (not anonlab's).

Usage: ``SMARTNOISE_PYTHON benchmarks/_smartnoise_peer.py SPEC.json``, called by :mod:`benchmarks.synth_smartnoise`.
smartnoise-synth needs pandas 2 (through smartnoise-sql) and private-pgm's ``mbi`` 1.x (a newer JAX), so it cannot
live beside anonlab's pinned stack; its venv is ``.bench-venvs/smartnoise`` (``make bench-peers``,
requirements in ``benchmarks/peers/smartnoise.txt``).

The spec names ``method`` (``mst`` or ``aim``), ``epsilon``, ``delta``, ``seed``, ``columns`` and ``sizes`` (the
public number of codes of each column), ``data`` (a CSV of integer codes ``0 .. size-1``, one column per name),
``out`` (where the synthetic codes go), ``params`` (keyword arguments for the synthesizer's constructor) and,
optionally, ``out_iid``: where to write a second sample of the same fitted model drawn with mbi's i.i.d. sampler
(a diagnostic, see :func:`_sample_iid`).
The domain is given to smartnoise as known: each column's ``LabelTransformer`` is fitted on the public list of
codes ``0 .. size-1`` (never on the data), so the transformer is complete before ``fit`` and smartnoise reads no
category from the private table and spends no budget on preprocessing.

Prints one JSON line: ``{"fit_s", "sample_s", "rows", "peak_mb", "versions", ...}`` (or ``{"error": ...}``).
``fit_s`` times ``Synthesizer.fit`` only (the transformer's fit on the public domain comes before the clock;
smartnoise's own ``transform`` of the table is inside ``fit``). ``numpy.random`` is seeded with the spec's seed
(smartnoise draws its selections and samples from it); the Gaussian noise comes from OpenDP's samplers, which
take no seed, so two runs differ.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import traceback
from importlib.metadata import version


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("smartnoise-synth", "smartnoise-sql", "opendp", "mbi", "jax", "numpy", "pandas", "scipy"):
        try:
            out[pkg] = version(pkg)
        except Exception:  # noqa: BLE001 - report what is there
            out[pkg] = "missing"
    out["python"] = sys.version.split()[0]
    return out


def _known_domain_transformer(columns: list[str], sizes: list[int]):
    """A TableTransformer fitted on the public domain only: column i's codes are 0 .. sizes[i]-1."""
    import pandas as pd
    from snsynth.transform import LabelTransformer
    from snsynth.transform.table import TableTransformer

    n = max(sizes)
    domain = pd.DataFrame({c: [j % k for j in range(n)] for c, k in zip(columns, sizes, strict=True)})
    tt = TableTransformer([LabelTransformer(nullable=False) for _ in columns])
    tt.fit(domain)
    if tt.cardinality != list(sizes):
        raise RuntimeError(f"transformer cardinality {tt.cardinality} != public sizes {sizes}")
    return tt


def _sample_iid(synth, n: int, columns: list[str], spec: dict) -> float:
    """Diagnostic: sample the same fitted model with mbi's i.i.d. sampler (``method="sample"``).

    smartnoise's ``sample`` calls ``MarkovRandomField.synthetic_data`` with its default ``method="round"``, which in
    mbi 1.1.0 assigns each column's values in row order within every group of its parents' values (without
    shuffling), so columns the model treats as independent come out correlated through the row index. Drawing the
    same model i.i.d. separates the model's quality from that sampler. Not smartnoise's default behaviour.
    """
    import numpy as np
    import pandas as pd
    from mbi.markov_random_field import MarkovRandomField

    original = MarkovRandomField.synthetic_data

    def iid(self, rows=None, method="sample"):
        return original(self, rows=rows, method="sample")

    np.random.seed(int(spec["seed"]) + 1)
    MarkovRandomField.synthetic_data = iid
    try:
        start = time.perf_counter()
        syn = synth.sample(n)
        seconds = time.perf_counter() - start
    finally:
        MarkovRandomField.synthetic_data = original
    pd.DataFrame(np.asarray(syn, dtype=np.int64), columns=columns).to_csv(spec["out_iid"], index=False)
    return seconds


def run(spec: dict) -> dict:
    import numpy as np
    import pandas as pd
    from snsynth import Synthesizer

    columns, sizes = spec["columns"], [int(k) for k in spec["sizes"]]
    df = pd.read_csv(spec["data"], dtype="int64")[columns]
    for c, k in zip(columns, sizes, strict=True):
        if df[c].min() < 0 or df[c].max() >= k:
            raise ValueError(f"column {c!r}: codes outside 0..{k - 1}")
    transformer = _known_domain_transformer(columns, sizes)
    np.random.seed(int(spec["seed"]))
    synth = Synthesizer.create(
        spec["method"], epsilon=float(spec["epsilon"]), delta=float(spec["delta"]), **spec.get("params", {})
    )
    start = time.perf_counter()
    synth.fit(df, transformer=transformer)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    syn = synth.sample(int(spec.get("rows") or len(df)))
    sample_s = time.perf_counter() - start
    syn = pd.DataFrame(np.asarray(syn, dtype=np.int64), columns=columns)
    syn.to_csv(spec["out"], index=False)
    iid = {}
    if spec.get("out_iid"):
        iid["sample_iid_s"] = _sample_iid(synth, int(spec.get("rows") or len(df)), columns, spec)
    return {
        "fit_s": fit_s,
        "sample_s": sample_s,
        **iid,
        "rows": len(syn),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "versions": _versions(),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: _smartnoise_peer.py SPEC.json", file=sys.stderr)
        return 2
    with open(argv[0]) as fh:
        spec = json.load(fh)
    try:
        result = run(spec)
    except Exception as exc:  # noqa: BLE001 - the caller records the failure
        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    print(json.dumps(result), flush=True)
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
