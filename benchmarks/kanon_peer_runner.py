"""Run one PyPI peer (anjana, anonymity-api, crowds) on a table; executed by the peers' own interpreter.

Called by :mod:`benchmarks.kanon_compare` as ``PEER_PYTHON benchmarks/kanon_peer_runner.py SPEC.json``; the peers
need pandas 2 / numpy 2 and so live in their own virtual environment (never anonlab's). Reads the table and the
hierarchies named in the spec, times only the peer's anonymisation call, writes its output table and prints one
JSON line: ``{"peer": ..., "seconds": ..., "rows_out": ...}`` (or ``{"error": ...}``).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time

import pandas as pd


def _anjana(df, spec):
    from anjana.anonymity import k_anonymity, l_diversity, t_closeness

    hier = {}
    for col, levels in spec["hierarchies"].items():
        first = levels[0]
        if pd.api.types.is_numeric_dtype(df[col]):
            first = [int(float(v)) for v in first]
        hier[col] = {0: first, **{j: lv for j, lv in enumerate(levels[1:], start=1)}}
    supp = 100.0 * spec["suppression"]
    q = spec["quasi"]
    if spec.get("t") is not None:
        return t_closeness(df, [], q, spec["sensitive"][0], spec["k"], spec["t"], supp, hier)
    if spec.get("l") is not None:
        return l_diversity(df, [], q, spec["sensitive"][0], spec["k"], spec["l"], supp, hier)
    return k_anonymity(df, [], q, spec["k"], supp, hier)


def _anonymity_api(df, spec):
    from anonymity_api import anonymity

    q = spec["quasi"]
    if spec.get("t") is not None:
        return anonymity.t_closeness(df, q, spec["sensitive"], spec["t"])
    if spec.get("l") is not None:
        return anonymity.distinct_l_diversity(df, q, spec["sensitive"], spec["l"])
    return anonymity.k_anonymity(df, q, spec["k"])


def _lookup(mapping: dict):
    return lambda value: mapping[value]


def _crowds(df, spec):
    from crowds.kanonymity import ola
    from crowds.kanonymity.generalizations import GenRule

    if spec.get("l") is not None or spec.get("t") is not None:
        raise NotImplementedError("crowds implements k-anonymity only")
    rules = {}
    for col, levels in spec["hierarchies"].items():
        keys = levels[0]
        if pd.api.types.is_numeric_dtype(df[col]):
            keys = [int(float(v)) for v in keys]
        # crowds adds the top level (everything hidden) itself: give the levels between
        maps = [dict(zip(keys, lv, strict=True)) for lv in levels[1:-1]]
        rules[col] = GenRule([_lookup(m) for m in maps])
    out = ola.anonymize(df, rules, k=spec["k"], max_sup=100.0 * spec["suppression"])
    return out[0] if out is not None else None


def _anonymity_api_coded(df, spec):
    """anonymity-api splits numeric quasi-identifiers only; give it every quasi-identifier as ordered integer
    codes so that it partitions on all of them, as Mondrian does (coding happens before the clock starts)."""
    return _anonymity_api(df, spec)


PEERS = {
    "anjana": _anjana,
    "anonymity-api": _anonymity_api,
    "anonymity-api-coded": _anonymity_api_coded,
    "crowds": _crowds,
}


def run_spec(spec_path: str) -> None:
    spec = json.loads(open(spec_path).read())
    df = pd.read_csv(spec["input"])
    fn = PEERS[spec["peer"]]
    if spec["peer"] == "anonymity-api-coded":
        for c in spec["quasi"]:
            if not pd.api.types.is_numeric_dtype(df[c]):
                df[c] = pd.factorize(df[c], sort=True)[0]
    t = time.perf_counter()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            out = fn(df, spec)
    except Exception as exc:  # a peer failing is a result to report, not a crash of the benchmark
        print(json.dumps({"peer": spec["peer"], "error": f"{type(exc).__name__}: {exc}"[:300]}))
        return
    seconds = time.perf_counter() - t
    if out is None or len(out) == 0:
        print(json.dumps({"peer": spec["peer"], "seconds": seconds, "error": "no anonymous output"}))
        return
    out.to_csv(spec["output"], index=False)
    print(json.dumps({"peer": spec["peer"], "seconds": seconds, "rows_out": len(out)}))


if __name__ == "__main__":
    run_spec(sys.argv[1])
