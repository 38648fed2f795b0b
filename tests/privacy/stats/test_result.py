"""privacy.stats.result: every view of a release (dict, frame, file, notebook) comes from the allow-listed report."""

import json
import warnings

import pytest

from anonlab.errors import OutputExistsError, PrivacyWarning, UsageError
from anonlab.privacy import dp_stats
from anonlab.schema import Column, Schema


@pytest.fixture
def result(table):
    df, _, schema = table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyWarning)
        return dp_stats(df, ["count", "counts:sex,city", "median:age"], epsilon=1.0, schema=schema, seed=1)


def test_to_frame_has_one_row_per_released_number(result):
    frame = result.to_frame()
    assert len(frame) == 1 + 9 + 1
    assert list(frame.columns) == [
        "query",
        "group",
        "level",
        "value",
        "ci95_low",
        "ci95_high",
        "rank_error95",
        "mechanism",
        "scale",
    ]
    assert frame.loc[1, "group"] == "sex=F;city=Oslo" and frame.loc[10, "level"] == 0.5


def test_write_json_and_csv_never_over_an_existing_file(result, tmp_path):
    out = result.write(tmp_path / "a.json")
    assert json.loads(out.read_text()) == json.loads(json.dumps(result.to_dict(), default=str))
    result.write(tmp_path / "a.csv")
    assert (tmp_path / "a.csv").read_text().startswith("query,group,level,value")
    with pytest.raises(OutputExistsError):
        result.write(tmp_path / "a.csv")
    result.write(tmp_path / "a.csv", force=True)
    with pytest.raises(UsageError, match=r"\.json or \.csv"):
        result.write(tmp_path / "a.txt")


def test_the_notebook_view_escapes_what_it_shows(table):
    df, _, _ = table
    df = df.assign(sex=df["sex"].map({"F": "<b>F</b>", "M": "M"}))
    schema = Schema((Column("sex", "quasi", "categorical", categories=("<b>F</b>", "M")),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyWarning)
        html = dp_stats(df, "counts:sex", epsilon=1.0, schema=schema)._repr_html_()
    assert "&lt;b&gt;F&lt;/b&gt;" in html and "<b>F</b>" not in html
    assert "no ledger" in html and "<table>" in html
