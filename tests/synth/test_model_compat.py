"""A model saved by the version that landed before this round's format changes still loads and samples."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from anonlab.cli import main
from anonlab.synth.base import Synthesizer

# written by anonlab at commit faccab2 (MST, seeded, on 2,000 Adult rows x 5 columns): manifest version 1 with
# "seed_given", no per-column missing flags, no densities
OLD = Path(__file__).parents[1] / "data" / "model-v1-mst.zip"


def test_a_version_1_model_loads_and_samples():
    m = Synthesizer.load(OLD)
    out = m.sample(500, seed=1)
    assert list(out.columns) == ["age", "race", "sex", "hours-per-week", "income-per-year"]
    # the old encoding had a missing code in every column (kept: the model is sampled as it was fitted)
    assert out["age"].dropna().between(17, 90).all() and out["sex"].dropna().isin(["Female", "Male"]).all()
    assert m.privacy_.epsilon == 1.0 and m.privacy_.seeded is True


def test_synth_sample_reads_it_and_publishes_no_seed(tmp_path, capsys):
    out = tmp_path / "more.csv"
    assert main(["synth", "sample", str(OLD), "-o", str(out), "--rows", "100", "--json"]) == 0
    assert len(pd.read_csv(out)) == 100
    car = json.loads(Path(str(out) + ".json").read_text())
    assert "seed" not in car and "seed_given" not in json.dumps(car)
