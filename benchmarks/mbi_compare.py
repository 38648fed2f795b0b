"""anonlab's own graphical-model estimation against private-pgm's mbi 2 on the same MST measurements of Adult.

Run: ``python -m benchmarks.mbi_compare [--epsilon 1 --iters 1000 --seed 0]`` (needs ``pip install mbi==2.0.0``,
which fits beside the stack: jax >= 0.9, numpy 2). Writes ``benchmarks/results/mbi_compare.{json,md}``.

One MST fit of anonlab on all 15 columns of Adult (bundled public schema, 32 bins, zCDP from (epsilon, 1e-9))
gives the noisy 1-way and spanning-tree 2-way marginals. Both engines then estimate a graphical model from exactly
those measurements (same cliques, same noise, same total):

- ``anonlab``: :func:`anonlab.synth.estimation.estimate` (numpy junction tree, entropic mirror descent with a
  backtracking line search, stops at ``iters`` or a relative loss decrease under 1e-7);
- ``mbi``: ``mbi.estimation.MirrorDescent().estimate`` (JAX, Armijo line search, ``iters`` iterations), in
  float64 (``jax_enable_x64``), with its junction-tree marginal oracle.

Each engine runs in its own process: wall time of the first estimate (mbi's includes XLA compilation) and of a
second one in the same process, the process's peak resident memory (imports included) and its rise during the
estimates, the weighted least-squares loss both minimise, recomputed here from each model's marginals, and the
2-way error of the model against the real data: total variation distance averaged (and maxed) over all 105 pairs.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measurements_from_mst(epsilon: float, seed: int, path: Path) -> dict:
    """Fit anonlab's MST on Adult, keep the final estimate's inputs and the real codes; pickle them to ``path``."""
    import anonlab.synth.mst as mst_module
    from anonlab.datasets import load_adult
    from anonlab.synth import Budget, get_method
    from anonlab.synth.release import adult_schema

    df, schema = load_adult(), adult_schema()
    seen: dict = {}
    real_estimate, real_fit = mst_module.estimate, mst_module.MST._fit_codes

    def recording_estimate(sizes, measurements, **kw):
        seen["sizes"], seen["measurements"] = list(sizes), list(measurements)
        return real_estimate(sizes, measurements, **kw)

    def recording_fit(self, codes, sizes, budget, noise):
        seen["codes"] = np.asarray(codes).copy()
        return real_fit(self, codes, sizes, budget, noise)

    mst_module.estimate, mst_module.MST._fit_codes = recording_estimate, recording_fit
    try:
        m = get_method("mst")(seed=seed, point_masses=False)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m.fit(df, schema, Budget(epsilon, 1e-9))
    finally:
        mst_module.estimate, mst_module.MST._fit_codes = real_estimate, real_fit
    payload = {
        "sizes": seen["sizes"],
        "codes": seen["codes"],
        "measurements": [(mm.clique, mm.y, mm.sigma) for mm in seen["measurements"]],
        "names": list(m.encoding_.names) if hasattr(m, "encoding_") else None,
    }
    path.write_bytes(pickle.dumps(payload))
    return payload


def _real_pairs(codes: np.ndarray, sizes: list[int]) -> dict[tuple[int, int], np.ndarray]:
    out = {}
    n = len(codes)
    for a, b in combinations(range(len(sizes)), 2):
        idx = codes[:, a].astype(np.int64) * sizes[b] + codes[:, b]
        out[(a, b)] = np.bincount(idx, minlength=sizes[a] * sizes[b]).reshape(sizes[a], sizes[b]) / n
    return out


def run_engine(engine: str, path: Path, iters: int) -> dict:
    """In this process: estimate twice with ``engine`` and score the model (called in a child process)."""
    payload = pickle.loads(path.read_bytes())
    sizes, codes = payload["sizes"], payload["codes"]
    meas = payload["measurements"]
    from anonlab.synth.estimation import Measurement, estimate, estimate_total

    total = estimate_total([Measurement(c, y, s) for c, y, s in meas])
    rss0 = _rss_mb()
    if engine == "anonlab":
        ms = [Measurement(c, y, s) for c, y, s in meas]

        def fit():
            model = estimate(sizes, ms, total=total, iters=iters)
            return lambda clique: np.asarray(model.marginal(clique))

    else:
        import warnings

        import jax

        jax.config.update("jax_enable_x64", True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import mbi
            from mbi import Domain, LinearMeasurement, estimation
        names = [f"c{i}" for i in range(len(sizes))]
        domain = Domain(names, sizes)
        ms = [
            LinearMeasurement(np.asarray(y, dtype=float).ravel(), tuple(names[i] for i in c), stddev=float(s))
            for c, y, s in meas
        ]

        def fit():
            model = estimation.MirrorDescent().estimate(domain, ms, known_total=total, iters=iters)

            def marg(clique):
                f = model.project(tuple(names[i] for i in clique))
                return np.asarray(f.datavector(flatten=False)) / float(model.total)

            return marg

        rss0 = _rss_mb()
        del mbi
    times = []
    for _ in range(2):
        t = time.perf_counter()
        marg = fit()
        marg((0,)).sum()  # force the computation (JAX is asynchronous)
        times.append(time.perf_counter() - t)
    loss = 0.0
    for c, y, s in meas:
        diff = total * marg(c) - y
        loss += float(np.vdot(diff, diff)) / s**2
    real = _real_pairs(codes, sizes)
    tvs = [0.5 * float(np.abs(marg(p) - r).sum()) for p, r in real.items()]
    return {
        "engine": engine,
        "seconds_first": round(times[0], 2),
        "seconds_second": round(times[1], 2),
        "peak_rss_mb": round(_rss_mb(), 1),
        "rss_rise_mb": round(_rss_mb() - rss0, 1),
        "loss": loss,
        "tv2_mean": float(np.mean(tvs)),
        "tv2_max": float(np.max(tvs)),
        "pairs": len(tvs),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epsilon", type=float, default=1.0)
    ap.add_argument("--iters", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--engine", choices=["anonlab", "mbi"], help=argparse.SUPPRESS)
    ap.add_argument("--payload", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.engine:
        print(json.dumps(run_engine(args.engine, args.payload, args.iters)))
        return 0
    import importlib.metadata as md

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "payload.pkl"
        t = time.perf_counter()
        payload = measurements_from_mst(args.epsilon, args.seed, path)
        mst_seconds = time.perf_counter() - t
        rows = []
        for engine in ("anonlab", "mbi"):
            run = subprocess.run(
                [sys.executable, "-m", "benchmarks.mbi_compare", "--engine", engine, "--payload", str(path)]
                + ["--iters", str(args.iters)],
                capture_output=True,
                text=True,
                check=True,
            )
            rows.append(json.loads(run.stdout.strip().splitlines()[-1]))
    out = {
        "data": "UCI Adult, 32,561 rows, 15 columns (bundled public schema, 32 bins)",
        "epsilon": args.epsilon,
        "delta": 1e-9,
        "iters": args.iters,
        "seed": args.seed,
        "domain_sizes": payload["sizes"],
        "measurements": [list(c) for c, _, _ in payload["measurements"]],
        "mst_fit_seconds": round(mst_seconds, 1),
        "versions": {p: md.version(p) for p in ("numpy", "jax", "mbi")},
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "mbi_compare.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = [
        "# anonlab's estimation against mbi 2 (private-pgm) on MST's measurements of Adult",
        "",
        f"epsilon {args.epsilon}, delta 1e-9, seed {args.seed}, {args.iters} iterations at most, "
        f"{len(payload['measurements'])} measured marginals (15 one-way, 14 spanning-tree pairs); "
        f"versions {out['versions']}. Each engine in its own process; loss = sum ||total x marginal - y||^2 / "
        "sigma^2 over the measurements (what both minimise); 2-way TV against the real data over all 105 pairs.",
        "",
        "| engine | first estimate (s) | second estimate (s) | peak RSS (MB) | RSS rise (MB) | loss | 2-way TV mean "
        "| 2-way TV max |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['engine']} | {r['seconds_first']} | {r['seconds_second']} | {r['peak_rss_mb']} | "
            f"{r['rss_rise_mb']} | {r['loss']:.1f} | {r['tv2_mean']:.4f} | {r['tv2_max']:.4f} |"
        )
    (RESULTS / "mbi_compare.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
