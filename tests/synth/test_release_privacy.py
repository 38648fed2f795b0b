"""What a DP synthesis release publishes (issue 11): allow-listed artifacts only, and neighbouring tables agree.

A release is the synthetic table plus every artifact written or printed around it: the sidecar, the saved model's
manifest, ``--json`` and the stdout summary. For two neighbouring input tables (D, and D plus one record, in or out
of the public domain) fitted with the same secret seed, every artifact field that is not a DP output must be
identical, and no artifact may carry the seed, the table's fingerprint or its exact row count.
"""

from __future__ import annotations

import importlib.util
import json
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anonlab.cli import main
from anonlab.errors import PrivacyWarning
from anonlab.io import read_table
from anonlab.privacy.artifact import ArtifactError, leaf_paths
from anonlab.privacy.ledger import Ledger, dataset_fingerprint
from anonlab.schema import Column, Schema
from anonlab.synth import Budget, Synthesizer, get_method
from anonlab.synth.artifacts import (
    WITHHELD_DETAILS,
    manifest_allow,
    result_allow,
    sample_sidecar_allow,
    sidecar_allow,
)
from anonlab.synth.release import DIAGNOSTICS_HEADER, sample_model, synthesize

NEEDS_SDV = pytest.mark.skipif(
    importlib.util.find_spec("sdv") is None, reason="the sdv extra (SDV, torch's CPU build) is not installed"
)


SECRET = 3_918_273_645  # the secret seed: must appear in no artifact
N = 73  # rows of D (chosen not to collide with the schema's public bin edges)
FAST_PARAMS = {
    "mst": {"iters": 100},
    "aim": {"rounds": 6, "iters": 100, "round_iters": 30},
    "napsu": {"posterior": "laplace", "samples": 200},
    "dpvi": {"epochs": 2, "batch_size": 20, "k": 2},
}
MISSING = object()


def _schema() -> Schema:
    return Schema(
        (
            Column("sex", "quasi", "categorical", categories=("f", "m")),
            Column("age", "quasi", "integer", lower=18, upper=89),
            Column("job", "sensitive", "categorical", categories=("a", "b", "c")),
        )
    )


def _tables() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(5)
    d = pd.DataFrame(
        {
            "sex": rng.choice(["f", "m"], N),
            "age": rng.integers(18, 90, N),
            "job": rng.choice(["a", "b", "c"], N),
        }
    )
    inside = pd.concat([d, pd.DataFrame({"sex": ["m"], "age": [41], "job": ["c"]})], ignore_index=True)
    outside = pd.concat([d, pd.DataFrame({"sex": ["f"], "age": [104], "job": ["a"]})], ignore_index=True)
    return {"D": d, "D+in": inside, "D+out": outside}


def _workdirs(tmp_path: Path) -> dict[str, Path]:
    """One folder per table, each with in.csv and schema.toml, so relative paths are identical across runs."""
    dirs = {}
    for name, df in _tables().items():
        folder = tmp_path / name.replace("+", "_")
        folder.mkdir()
        df.to_csv(folder / "in.csv", index=False)
        _schema().write(folder / "schema.toml")
        dirs[name] = folder
    return dirs


def _manifest(path: Path) -> dict:
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("manifest.json"))


def _agree(a: dict, b: dict, allow, what: str) -> None:
    """Every leaf that is not a DP output is identical in ``a`` and ``b`` (and every leaf is allow-listed)."""
    la, lb = dict(leaf_paths(a)), dict(leaf_paths(b))
    for path in la.keys() | lb.keys():
        assert allow.kind(path) is not None, f"{what}: {path} is on no allow-list"
    dp = set(allow.dp_outputs(a)) | set(allow.dp_outputs(b))
    for path in sorted((la.keys() | lb.keys()) - dp):
        assert la.get(path, MISSING) == lb.get(path, MISSING), (
            f"{what}: public field {path!r} differs: {la.get(path)!r} vs {lb.get(path)!r}"
        )


def _no_secrets(text: str, df_path: Path, allow=None, record=None, what: str = "") -> None:
    """No seed, no fingerprint of the table; no exact row count in a field that is not a DP output."""
    assert str(SECRET) not in text, f"{what}: the seed is published"
    df = read_table(df_path)
    assert dataset_fingerprint(df) not in text, f"{what}: the table's fingerprint is published"
    if record is not None:
        n = len(df)
        dp = set(allow.dp_outputs(record))
        for path, value in leaf_paths(record):
            if path in dp or isinstance(value, bool):
                continue
            if isinstance(value, int | float):
                assert value != n, f"{what}: {path} = {value} is the exact row count"
            elif isinstance(value, str):
                assert not re.search(rf"(?<![\d.]){n}(?![\d.])", value), f"{what}: {path} holds the row count"


def _mask_small_table_warning(err: str, sidecar: dict) -> str:
    """The small-table warning (anonlab.synth.planning) is post-processing of the fit's DP row count: check that the
    count it prints is that DP output, then mask the line (neighbouring tables may differ in it)."""
    out = []
    for line in err.splitlines():
        if "(a DP row count)" in line:
            n = sidecar["privacy"]["details"]["n_estimate"]
            assert f"about {n:,.0f} rows (a DP row count)" in line, line
            line = "<small-table warning computed from the DP row count>"
        out.append(line)
    return "\n".join(out)


def _api_release(
    folder: Path, method: str, monkeypatch, ledger: bool = False, binning: str | None = None
) -> dict:
    monkeypatch.chdir(folder)
    if ledger:
        Ledger.create("l.jsonl", epsilon=10.0, delta=1e-6)
    ctx = warnings.catch_warnings(record=True)
    with ctx as caught:
        warnings.simplefilter("always")
        res = synthesize(
            "in.csv",
            "twin.csv",
            method=method,
            schema="schema.toml",
            epsilon=1.0,
            ledger="l.jsonl" if ledger else None,
            seed=SECRET,
            save_model="twin.model",
            params=FAST_PARAMS[method],
            binning=binning,
        )
    privacy_warnings = [w for w in caught if issubclass(w.category, PrivacyWarning)]
    assert bool(privacy_warnings) is not ledger  # a fit with no ledger warns, one with a ledger does not
    return {
        "sidecar": json.loads(Path("twin.csv.json").read_text()),
        "sidecar_text": Path("twin.csv.json").read_text(),
        "manifest": _manifest(Path("twin.model")),
        "manifest_text": zipfile.ZipFile("twin.model").read("manifest.json").decode(),
        "result": res.to_dict(),
        "warnings": " ".join(str(w.message) for w in caught),
    }


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_neighbouring_tables_give_identical_public_fields_through_the_api(tmp_path, monkeypatch, method):
    dirs = _workdirs(tmp_path)
    runs = {name: _api_release(folder, method, monkeypatch) for name, folder in dirs.items()}
    quantile = runs["D"]["manifest"]["binning"]["mode"] != "public"  # learned edges (density: MST and AIM)
    allows = {
        "sidecar": sidecar_allow(method, True),
        "manifest": manifest_allow(method, True, quantile),
        "result": result_allow(method, True),
    }
    for name, run in runs.items():
        assert run["manifest"]["binning"]["mode"] == runs["D"]["manifest"]["binning"]["mode"]
        for kind, allow in allows.items():
            text = run.get(f"{kind}_text") or json.dumps(run[kind])
            _no_secrets(text, dirs[name] / "in.csv", allow, run[kind], f"{name} {kind}")
        assert str(SECRET) not in run["warnings"]
        car = run["sidecar"]
        assert "seed" not in car and "seconds" not in car and car["seeded"] is True
        assert "seed" not in run["manifest"] and "seed_given" not in run["manifest"]
        assert run["manifest"]["seeded"] is True
        assert car["ledger"] == "none" and "no ledger" in car["statement"]
    for other in ("D+in", "D+out"):
        for kind, allow in allows.items():
            _agree(runs["D"][kind], runs[other][kind], allow, f"{method} {kind}, D vs {other}")


def test_neighbouring_tables_agree_with_bins_cut_at_the_dp_densities(tmp_path, monkeypatch):
    # binning="density": the edges are post-processed from the DP densities, so they are DP outputs and every
    # other field is identical on neighbouring tables
    dirs = _workdirs(tmp_path)
    runs = {
        name: _api_release(folder, "mst", monkeypatch, binning="density") for name, folder in dirs.items()
    }
    allows = {
        "sidecar": sidecar_allow("mst", True),
        "manifest": manifest_allow("mst", True, True),
        "result": result_allow("mst", True),
    }
    assert runs["D"]["manifest"]["binning"]["mode"] == "density"
    assert runs["D"]["sidecar"]["binning"]["edges"]  # learned edges, published as DP outputs
    for name, run in runs.items():
        for kind, allow in allows.items():
            text = run.get(f"{kind}_text") or json.dumps(run[kind])
            _no_secrets(text, dirs[name] / "in.csv", allow, run[kind], f"{name} {kind}")
    for other in ("D+in", "D+out"):
        for kind, allow in allows.items():
            _agree(runs["D"][kind], runs[other][kind], allow, f"density binning {kind}, D vs {other}")


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_neighbouring_tables_give_identical_public_output_through_the_cli(
    tmp_path, monkeypatch, capsys, method
):
    if method == "aim":
        pytest.importorskip("networkx")
    dirs = _workdirs(tmp_path)
    extra = ["--workload", "2", "--max-cells", "5000"] if method == "aim" else []
    runs = {}
    for name, folder in dirs.items():
        monkeypatch.chdir(folder)
        Ledger.create("l.jsonl", epsilon=10.0, delta=1e-6)
        base = ["synth", "in.csv", "--schema", "schema.toml", "--method", method, "--epsilon", "1"]
        base += ["--seed", str(SECRET), "--quiet", *extra]
        assert main([*base, "-o", "j.csv", "--ledger", "l.jsonl", "--json", "--save-model", "j.model"]) == 0
        js = capsys.readouterr()
        assert main([*base, "-o", "h.csv", "--no-ledger"]) == 0
        human = capsys.readouterr()
        rec = json.loads(js.out)
        runs[name] = {
            "json": rec,
            "json_text": js.out + js.err,
            "sidecar": json.loads(Path("j.csv.json").read_text()),
            "sidecar_text": Path("j.csv.json").read_text() + Path("h.csv.json").read_text(),
            "manifest": _manifest(Path("j.model")),
            # the human summary, with the one DP output it prints (the number of rows) masked
            # (as a whole number: 49 rows must not mask the 49 inside rho=0.01497)
            "human": re.sub(
                rf"(?<![\d.,]){re.escape(format(json.loads(Path('h.csv.json').read_text())['rows'], ','))}(?![\d,])",
                "<rows>",
                human.out,
            ),
            "human_err": _mask_small_table_warning(human.err, json.loads(Path("h.csv.json").read_text())),
        }
        assert json.loads(Path("h.csv.json").read_text())["ledger"] == "none"
        assert rec["ledger"] == "l.jsonl" and "charged to the privacy ledger l.jsonl" in rec["statement"]
    for name, run in runs.items():
        csv = dirs[name] / "in.csv"
        _no_secrets(run["json_text"], csv, result_allow(method, True), run["json"], f"{name} --json")
        _no_secrets(run["sidecar_text"], csv, sidecar_allow(method, True), run["sidecar"], f"{name} sidecar")
        quantile = run["manifest"]["binning"]["mode"] != "public"
        _no_secrets(
            json.dumps(run["manifest"]), csv, manifest_allow(method, True, quantile), run["manifest"], name
        )
        _no_secrets(run["human"] + run["human_err"], csv, what=f"{name} stdout/stderr")
        assert "outside" not in run["human"] + run["human_err"] + run["sidecar_text"]
    for other in ("D+in", "D+out"):
        _agree(runs["D"]["json"], runs[other]["json"], result_allow(method, True), f"--json D vs {other}")
        _agree(
            runs["D"]["sidecar"], runs[other]["sidecar"], sidecar_allow(method, True), f"sidecar D vs {other}"
        )
        _agree(
            runs["D"]["manifest"],
            runs[other]["manifest"],
            manifest_allow(method, True, runs["D"]["manifest"]["binning"]["mode"] != "public"),
            f"model D vs {other}",
        )
        assert runs["D"]["human"] == runs[other]["human"]
        assert runs["D"]["human_err"] == runs[other]["human_err"]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["napsu", "dpvi"])
def test_neighbouring_tables_agree_for_the_twinify_methods(tmp_path, monkeypatch, method):
    dirs = _workdirs(tmp_path)
    runs = {name: _api_release(folder, method, monkeypatch) for name, folder in dirs.items()}
    quantile = runs["D"]["manifest"]["binning"]["mode"] != "public"  # learned edges (density: MST and AIM)
    allows = {
        "sidecar": sidecar_allow(method, True),
        "manifest": manifest_allow(method, True, quantile),
        "result": result_allow(method, True),
    }
    for name, run in runs.items():
        assert run["manifest"]["binning"]["mode"] == runs["D"]["manifest"]["binning"]["mode"]
        for kind, allow in allows.items():
            text = run.get(f"{kind}_text") or json.dumps(run[kind])
            _no_secrets(text, dirs[name] / "in.csv", allow, run[kind], f"{name} {kind}")
        # under add/remove neighbours the default row count is a DP estimate, not the exact n
        assert run["sidecar"]["rows"] != len(read_table(dirs[name] / "in.csv"))
        assert not set(WITHHELD_DETAILS) & set(run["sidecar"]["privacy"]["details"])
    for other in ("D+in", "D+out"):
        for kind, allow in allows.items():
            _agree(runs["D"][kind], runs[other][kind], allow, f"{method} {kind}, D vs {other}")


def test_out_of_domain_counts_only_with_diagnostics_and_only_on_stderr(tmp_path, monkeypatch, capsys):
    folder = _workdirs(tmp_path)["D+out"]
    monkeypatch.chdir(folder)
    base = [
        "synth",
        "in.csv",
        "--schema",
        "schema.toml",
        "--method",
        "mst",
        "--epsilon",
        "1",
        "--quiet",
    ]
    base += ["--no-ledger"]
    assert main([*base, "-o", "a.csv"]) == 0
    quiet = capsys.readouterr()
    assert "outside" not in quiet.out + quiet.err and "outside" not in Path("a.csv.json").read_text()
    assert main([*base, "-o", "b.csv", "--diagnostics"]) == 0
    loud = capsys.readouterr()
    lines = loud.err.splitlines()
    header = lines.index(DIAGNOSTICS_HEADER)
    assert "NOT PRIVATE" in lines[header] and "do not share" in lines[header]
    assert "column 'age': 1 value(s) outside" in lines[header + 1]
    assert "outside" not in loud.out and "outside" not in Path("b.csv.json").read_text()
    with_json = capsys.readouterr()
    assert main([*base, "-o", "c.csv", "--diagnostics", "--json"]) == 0
    with_json = capsys.readouterr()
    assert "outside" not in with_json.out and "column 'age': 1 value(s)" in with_json.err
    # the API: printed to stderr, never in the result
    res = synthesize(
        "in.csv",
        "d.csv",
        method="mst",
        schema="schema.toml",
        epsilon=1.0,
        diagnostics=True,
        params={"iters": 50},
    )
    api = capsys.readouterr()
    assert DIAGNOSTICS_HEADER in api.err and "outside" not in json.dumps(res.to_dict())


def test_a_field_on_no_allow_list_stops_the_release_with_nothing_written(tmp_path, monkeypatch, capsys):
    folder = _workdirs(tmp_path)["D"]
    monkeypatch.chdir(folder)
    mst = get_method("mst")
    real = mst._spent

    def leaky(self, budget, rho, noise, details):
        return real(self, budget, rho, noise, {**details, "rows_seen": 73})

    monkeypatch.setattr(mst, "_spent", leaky)
    with pytest.raises(ArtifactError, match="rows_seen"):
        synthesize("in.csv", "t.csv", method="mst", schema="schema.toml", epsilon=1.0, save_model="t.model")
    assert not any(Path(p).exists() for p in ("t.csv", "t.csv.json", "t.model"))
    capsys.readouterr()
    args = ["synth", "in.csv", "-o", "t.csv", "--schema", "schema.toml", "--method", "mst", "--epsilon", "1"]
    assert main([*args, "--no-ledger", "--quiet"]) == 70
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert "rows_seen" in last and "internal error" in last and "Traceback" not in err
    assert not Path("t.csv").exists() and not Path("t.csv.json").exists()


def test_losses_run_times_and_sampler_diagnostics_are_withheld_from_every_artifact(tmp_path):
    from dataclasses import replace

    df, schema = _tables()["D"], _schema()
    with pytest.warns(PrivacyWarning):
        m = get_method("mst")(seed=1, iters=50).fit(df, schema, Budget(1.0, 1e-9))
    leaks = {"final_elbo_per_row": -3.2, "seconds": 1.5, "laplace_converged": True, "nuts_mean_steps": 31.0}
    m.privacy_ = replace(m.privacy_, details={**m.privacy_.details, **leaks})
    summary = m.summary()
    assert not set(leaks) & set(summary["privacy"]["details"])
    manifest = _manifest(m.save(tmp_path / "m.model"))
    assert not set(leaks) & set(manifest["privacy"]["details"])
    assert set(leaks) <= set(m.privacy_.details)  # still in memory, for the operator
    loaded = Synthesizer.load(tmp_path / "m.model")
    assert loaded.summary()["seeded"] is True and loaded.summary() == summary


def test_sample_sidecar_holds_no_seed_and_is_allow_listed(tmp_path, monkeypatch, capsys):
    folder = _workdirs(tmp_path)["D"]
    monkeypatch.chdir(folder)
    with pytest.warns(PrivacyWarning):
        synthesize(
            "in.csv", "t.csv", method="mst", schema="schema.toml", epsilon=1.0, seed=1, save_model="t.model"
        )
    res = sample_model("t.model", "more.csv", rows=20, seed=SECRET)
    text = Path("more.csv.json").read_text()
    car = json.loads(text)
    assert str(SECRET) not in text and str(SECRET) not in json.dumps(res.to_dict())
    assert car["rows"] == 20 and "seconds" not in car and car["seeded"] is True
    for path, _ in leaf_paths(car):
        assert sample_sidecar_allow("mst", True).kind(path) is not None
    assert main(["synth", "sample", "t.model", "-o", "m2.csv", "--seed", str(SECRET), "--json"]) == 0
    out = capsys.readouterr()
    assert str(SECRET) not in out.out + out.err + Path("m2.csv.json").read_text()


def test_api_without_a_ledger_warns_and_says_so_and_with_one_does_not(tmp_path, monkeypatch):
    folder = _workdirs(tmp_path)["D"]
    monkeypatch.chdir(folder)
    with pytest.warns(PrivacyWarning, match="no ledger"):
        res = synthesize("in.csv", "a.csv", method="mst", schema="schema.toml", epsilon=1.0)
    assert res.ledger == "none" and "no ledger" in res.statement
    assert json.loads(Path("a.csv.json").read_text())["ledger"] == "none"
    Ledger.create("l.jsonl", epsilon=5.0, delta=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivacyWarning)
        res = synthesize("in.csv", "b.csv", method="mst", schema="schema.toml", epsilon=1.0, ledger="l.jsonl")
    assert res.ledger == "l.jsonl" and "no ledger" not in res.statement
    car = json.loads(Path("b.csv.json").read_text())
    assert car["ledger"] == "l.jsonl" and "charged to the privacy ledger l.jsonl" in car["statement"]


def test_allow_lists_classify_every_field_and_refuse_an_unknown_one():
    from anonlab.privacy.artifact import DP_OUTPUT, PUBLIC, published

    allow = sidecar_allow("mst", True)
    assert allow.kind("rows") == DP_OUTPUT and allow.kind("epsilon") == PUBLIC
    assert allow.kind("privacy.details.measured.3.1") == DP_OUTPUT
    assert allow.kind("seed") is None and allow.kind("seconds") is None and allow.kind("dataset") is None
    assert sidecar_allow("gaussian-copula", False).kind("seconds") == PUBLIC
    assert sidecar_allow("gaussian-copula", False).kind("seed") is None
    assert manifest_allow("mst", True, quantile=True).kind("encoding.columns.2.edges.4") == DP_OUTPUT
    assert manifest_allow("mst", True).kind("encoding.columns.2.edges.4") == PUBLIC
    with pytest.raises(ArtifactError, match="'seed'"):
        published({"method": "mst", "seed": 4}, allow)


@NEEDS_SDV
def test_a_non_dp_baseline_keeps_its_run_time_but_never_the_seed(tmp_path, monkeypatch, capsys):
    folder = _workdirs(tmp_path)["D"]
    monkeypatch.chdir(folder)
    args = ["synth", "in.csv", "-o", "g.csv", "--schema", "schema.toml", "--method", "gaussian-copula"]
    assert main([*args, "--seed", str(SECRET), "--save-model", "g.model", "--json", "--quiet"]) == 0
    out = capsys.readouterr()
    rec = json.loads(out.out)
    text = Path("g.csv.json").read_text()
    car = json.loads(text)
    assert (
        car["privacy"] == "no formal privacy guarantee" and "no formal privacy guarantee" in car["statement"]
    )
    assert isinstance(car["seconds"], float) and isinstance(rec["seconds"], float) and car["ledger"] is None
    assert str(SECRET) not in text + out.out + out.err + json.dumps(_manifest(Path("g.model")))
    assert "seed" not in car and car["seeded"] is True and _manifest(Path("g.model"))["seeded"] is True
    for path, _ in leaf_paths(car):
        assert sidecar_allow("gaussian-copula", False).kind(path) is not None


def test_a_registered_research_method_publishes_only_the_fields_it_declares():
    from anonlab.privacy.artifact import PUBLIC
    from anonlab.synth import EncodedSynthesizer, PrivacySpent, registered

    class Mine(EncodedSynthesizer):
        name = "declared-test"
        private = True

        def _fit_codes(self, codes, sizes, budget, noise):
            self.sizes_ = sizes
            details = {"sigma": 1.0, "true_rows": len(codes)}
            return PrivacySpent(
                budget.epsilon, budget.delta, None, "add/remove", "x", noise.seeded, False, details
            )

        def _sample_codes(self, n, rng):
            return np.column_stack([rng.integers(0, s, n) for s in self.sizes_])

    df, schema = _tables()["D"], _schema()
    with registered("declared-test", Mine), pytest.warns(PrivacyWarning):
        m = Mine(epsilon=1.0).fit(df, schema)
    with pytest.raises(ArtifactError, match="sigma"):  # nothing declared: the first field stops it
        m.summary()
    Mine.artifact_fields = {"privacy.details.sigma": PUBLIC}
    with pytest.raises(ArtifactError, match="true_rows"):
        m.summary()
    m.privacy_.details.pop("true_rows")
    assert m.summary()["privacy"]["details"]["sigma"] == 1.0
