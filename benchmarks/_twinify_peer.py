"""Stock twinify 2.0 tasks for benchmarks/synth_twinify.py, run in twinify's own venv (old stack; no anonlab import).

Reads one JSON task on stdin, prints one JSON line. Tasks:

- ``maxent``: twinify's canonical queries of ``sets`` over a domain of ``sizes`` (codes 0 .. size - 1) and, for
  each parameter vector in ``lambdas`` (in twinify's query order), the joint distribution p(x) = exp(lambdas . f(x) -
  lambda0) over every cell in C order, with the log-partition lambda0 from twinify's ``MarkovNetwork`` (variable
  elimination) and f from twinify's own queries; also ``MarkovNetwork.suff_stat_mean``.
- ``dpvi``: twinify's DPVI (its CLI's automatic model: one categorical per column, a ``k``-component mixture) on the
  codes in ``csv``, ``epochs`` at ``q``, clipping 1, at (epsilon, delta); ``lr`` replaces twinify's hard-coded
  Adam learning rate 1e-3 when given. Writes ``out`` (codes) and reports the fit's wall and CPU seconds.
- ``napsu``: twinify's ``NapsuMQModel([])`` (its own MST query selection, noise and posterior) on the same input.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import resource
import sys
import time


def _cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def maxent(task: dict) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np
    import twinify  # noqa: F401  (float64 in JAX)
    from twinify.napsu_mq.marginal_query import FullMarginalQuerySet
    from twinify.napsu_mq.markov_network import MarkovNetwork

    jax.config.update("jax_enable_x64", True)
    names = [f"c{i}" for i in range(len(task["sizes"]))]
    dom = {n: list(range(s)) for n, s in zip(names, task["sizes"], strict=False)}
    sets = [tuple(names[i] for i in s) for s in task["sets"]]
    with contextlib.redirect_stderr(io.StringIO()):
        q = FullMarginalQuerySet(sets, dom).get_canonical_queries()
    net = MarkovNetwork(dom, q)
    flat = q.flatten()
    grid = np.array(list(itertools.product(*(range(s) for s in task["sizes"]))), dtype=np.int64)
    f = flat(grid).astype(np.float64)  # (cells, queries), twinify's own query evaluation
    rng = np.random.default_rng(task.get("seed", 0))
    out = []
    for _ in range(int(task.get("draws", 3))):
        lam = rng.normal(scale=float(task.get("scale", 1.0)), size=net.lambda_d)
        logz = float(net.lambda0(jnp.asarray(lam)))
        probs = np.exp(f @ lam - logz)
        mean = np.asarray(net.suff_stat_mean(jnp.asarray(lam)), dtype=np.float64)
        out.append({"lambdas": lam.tolist(), "probs": probs.tolist(), "mean": mean.tolist(), "logz": logz})
    queries = [[list(map(int, x.inds)), list(map(int, x.value))] for x in flat.queries]
    return {"queries": queries, "draws": out}


def _read_codes(task: dict):
    import pandas as pd

    df = pd.read_csv(task["csv"], dtype=int)
    return df.astype(str)


def dpvi(task: dict) -> dict:
    import d3p.random
    import numpyro.optim

    if task.get("lr") is not None:  # twinify hard-codes Adam(1e-3); the same hyperparameters as anonlab's fit
        import types

        import twinify.dpvi.dpvi_model as dm

        def adam(step_size, *a, **k):
            return numpyro.optim.Adam(float(task["lr"]), *a, **k)

        class _Numpyro:  # numpyro as twinify's DPVI module sees it, with Adam's step size replaced
            optim = types.SimpleNamespace(**{**vars(numpyro.optim), "Adam": adam})

            def __getattr__(self, name):
                return getattr(numpyro, name)

        dm.numpyro = _Numpyro()
    from twinify.cli.dpvi_loader import _load_cli_dpvi_automodel

    df = _read_codes(task)
    spec = task["out"] + ".model.txt"
    with open(spec, "w") as fh:
        fh.write("".join(f"{c}: categorical\n" for c in df.columns))
    model = _load_cli_dpvi_automodel(spec, int(task["k"]), 1.0, int(task["epochs"]), float(task["q"]), False)
    os.unlink(spec)
    rng_fit, rng_gen = d3p.random.split(d3p.random.PRNGKey(int(task["seed"])), 2)
    t, c = time.perf_counter(), _cpu()
    result = model.fit(df, rng_fit, float(task["epsilon"]), float(task["delta"]), silent=True)
    fit_s, cpu_s = time.perf_counter() - t, _cpu() - c
    syn = result.generate(rng_gen, len(df), 1, single_dataframe=True)
    syn[list(df.columns)].to_csv(task["out"], index=False)
    return {"fit_s": round(fit_s, 2), "fit_cpu_s": round(cpu_s, 2)}


def napsu(task: dict) -> dict:
    import d3p.random
    import pandas as pd
    from twinify.napsu_mq import NapsuMQModel

    df = _read_codes(task)
    data = pd.DataFrame({c: pd.Categorical(df[c]) for c in df.columns})
    rng_fit, rng_gen = d3p.random.split(d3p.random.PRNGKey(int(task["seed"])), 2)
    t, c = time.perf_counter(), _cpu()
    result = NapsuMQModel([]).fit(data, rng_fit, float(task["epsilon"]), float(task["delta"]))
    fit_s, cpu_s = time.perf_counter() - t, _cpu() - c
    syn = result.generate(rng_gen, 100, -(-len(df) // 100), single_dataframe=True).head(len(df))
    syn[list(df.columns)].to_csv(task["out"], index=False)
    return {"fit_s": round(fit_s, 2), "fit_cpu_s": round(cpu_s, 2)}


def main() -> int:
    task = json.loads(sys.stdin.read())
    out = {"maxent": maxent, "dpvi": dpvi, "napsu": napsu}[task["task"]](task)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
