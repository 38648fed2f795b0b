"""The k-anonymity contract (deid/methods.py, deid/registry.py): parameters, repr, apply, the keyword function
anonymize(), reports, bad inputs. Every k claim is confirmed by pycanon on the released table."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pycanon.anonymity as pa
import pytest

import anonlab.deid as deid
from anonlab.datasets import ADULT_QUASI, ADULT_SENSITIVE
from anonlab.deid import AnonymizationReport, Anonymizer, GlobalRecoding, Mondrian, anonymize
from anonlab.deid.methods import Partition
from anonlab.errors import InputError, PrivacyWarning, UsageError

QUASI = ["age", "sex", "race", "marital-status", "native-country"]


@pytest.fixture(scope="module")
def small(adult):
    return adult.head(4000).drop(columns=["education-num"])


def test_import_is_light_and_names_resolve():
    code = (
        "import sys, anonlab.deid as d; assert 'numpy' not in sys.modules and 'pandas' not in sys.modules; "
        "assert d.anonymize.__module__ == 'anonlab.deid.methods'; "
        "import anonlab.deid.recipe, anonlab.deid.mondrian, anonlab.deid.lattice; "
        "assert callable(d.anonymize) and d.Mondrian.name == 'mondrian'"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert set(deid.__all__) >= {"anonymize", "assess", "pseudonymize", "Mondrian", "GlobalRecoding"}
    with pytest.raises(AttributeError):
        deid.no_such_name  # noqa: B018


def test_params_repr_and_equality():
    m = Mondrian(k=10, l=2, strict=True)
    assert repr(m) == "Mondrian(k=10, l=2, strict=True)"
    assert m.get_params() == {
        "k": 10,
        "l": 2,
        "l_kind": "distinct",
        "c": 2.0,
        "t": None,
        "strict": True,
        "max_suppression": 0.0,
        "suppress_mark": False,
        "progress": False,
    }
    assert Mondrian(**m.get_params()) == m and Mondrian(k=5) != m
    g = GlobalRecoding(k=5, max_suppression=0.01, loss="discernibility")
    assert repr(g) == "GlobalRecoding(k=5, max_suppression=0.01, loss='discernibility')"
    assert "strict" not in g.get_params() and g.get_params()["loss"] == "discernibility"
    assert isinstance(g, Anonymizer) and GlobalRecoding.name == "global"
    with pytest.raises(TypeError):
        Mondrian(10)  # keyword only


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"k": 1}, r"k=1: must be a whole number of at least 2"),
        ({"k": 2.5}, r"k=2\.5"),
        ({"k": True}, r"k=True"),
        ({"k": 5, "l": 0.5}, r"l=0\.5"),
        ({"k": 5, "t": 1.5}, r"t=1\.5: must lie between 0 and 1"),
        ({"k": 5, "max_suppression": -0.1}, r"max_suppression=-0\.1"),
        ({"k": 5, "l_kind": "fancy"}, r"l_kind='fancy' is not known"),
        ({"k": 5, "c": 0}, r"c=0: must be greater than 0"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, message):
    for cls in (Mondrian, GlobalRecoding):
        with pytest.raises(UsageError, match=message):
            cls(**kwargs)
    with pytest.raises(UsageError, match=r"loss='x' is not known"):
        GlobalRecoding(k=5, loss="x")


@pytest.mark.parametrize("method", ["mondrian", "global"])
def test_apply_and_keyword_function_agree_and_pycanon_confirms(small, method):
    cls = Mondrian if method == "mondrian" else GlobalRecoding
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivacyWarning)  # education-num dropped: nothing to warn about
        out, rep = cls(k=10, max_suppression=0.01).apply(small, quasi=QUASI, sensitive=ADULT_SENSITIVE)
    out2, rep2 = anonymize(
        small, quasi=QUASI, k=10, method=method, max_suppression=0.01, sensitive=ADULT_SENSITIVE
    )
    pd.testing.assert_frame_equal(out, out2)
    assert isinstance(rep, AnonymizationReport) and rep.k == rep2.k
    assert pa.k_anonymity(out, QUASI) == rep.k >= 10
    assert rep.n_released == len(out) and rep.n_input == len(small)
    assert list(out.columns) == list(small.columns)
    other = [c for c in small.columns if c not in QUASI]
    kept = out.index if rep.n_suppressed == 0 else None
    if kept is not None:
        pd.testing.assert_frame_equal(out[other], small[other])
    assert rep.l_distinct == pa.l_diversity(out, QUASI, ADULT_SENSITIVE)
    assert rep.method == method and rep.parameters["quasi"] == QUASI and rep.parameters["k"] == 10
    if method == "global":
        assert rep.search["lattice_nodes"] > rep.search["nodes_evaluated"] > 0


def test_l_and_t_confirmed_by_pycanon(small):
    out, rep = anonymize(small, quasi=QUASI, k=5, l=2, t=0.2, sensitive=ADULT_SENSITIVE)
    assert pa.l_diversity(out, QUASI, ADULT_SENSITIVE) >= 2
    assert pa.t_closeness(out, QUASI, ADULT_SENSITIVE) <= 0.2 + 1e-9
    assert rep.t == pytest.approx(pa.t_closeness(out, QUASI, ADULT_SENSITIVE))


def test_report_to_dict_json_and_html(small):
    _, rep = anonymize(small, quasi=QUASI, k=5, sensitive=ADULT_SENSITIVE, method="global")
    d = rep.to_dict()
    json.dumps(d)
    assert d["achieved"]["k"] == rep.k and d["method"] == "global"
    assert set(d["records"]) == {"input", "released", "suppressed", "suppressed_marked"}
    assert d["parameters"]["loss"] == "gcp" and "progress" not in d["parameters"]
    assert "privacy_note" in d and "versions" in d
    page = rep._repr_html_()
    assert page.startswith("<div>") and "achieved k" in page and "not differential privacy" in page
    assert "AnonymizationReport(method='global'" in repr(rep)


def test_html_escapes_column_names():
    df = pd.DataFrame({"<b>x</b>": ["a", "b"] * 10, "y": range(20)})
    _, rep = anonymize(df, quasi=["<b>x</b>"], k=2)
    assert "<b>x</b>" not in rep._repr_html_() and "&lt;b&gt;" in rep._repr_html_()


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"quasi": ["age", "nope"], "k": 5}, InputError, "quasi= names column 'nope'"),
        ({"quasi": ["age"], "sensitive": ["nope"], "k": 5}, InputError, "sensitive= names column 'nope'"),
        ({"quasi": [], "k": 5}, UsageError, "quasi= names no column"),
        ({"quasi": ["age", "age"], "k": 5}, UsageError, "quasi= lists column 'age' twice"),
        ({"quasi": ["age"], "sensitive": ["age"], "k": 5}, UsageError, "in both quasi= and sensitive="),
        ({"quasi": ["age"], "k": 1}, UsageError, "k=1"),
        ({"quasi": ["age"], "k": 10**7}, UsageError, "larger than the table"),
        ({"quasi": ["age"], "k": 5, "l": 2}, UsageError, r"l= and t= need at least one sensitive column"),
        (
            {"quasi": ["age"], "k": 5, "method": "magic"},
            UsageError,
            "method='magic' is not a k-anonymity method",
        ),
        ({"quasi": ["age"], "k": 5, "loss": "gcp"}, UsageError, "method='mondrian' takes no parameter loss="),
        (
            {"quasi": ["age"], "k": 5, "method": "global", "strict": True},
            UsageError,
            "takes no parameter strict=",
        ),
        (
            {"quasi": ["age"], "k": 5, "orders": {"sex": ["Male", "Female"]}},
            UsageError,
            "not a quasi-identifier",
        ),
        ({"quasi": ["age"], "k": 5, "orders": {"age": ["1", "2"]}}, UsageError, "numeric"),
        (
            {"quasi": ["age"], "k": 5, "hierarchies": {"sex": "x.csv"}},
            UsageError,
            "neither quasi= nor sensitive=",
        ),
        ({"quasi": ["sex"], "k": 5, "orders": {"sex": ["Male"]}}, InputError, "'Female' is not among"),
    ],
)
def test_bad_inputs_name_the_parameter(small, kwargs, error, message):
    with pytest.raises(error, match=message):
        anonymize(small, **kwargs)


def test_empty_table_and_unsatisfiable():
    with pytest.raises(InputError, match="no rows"):
        anonymize(pd.DataFrame({"a": pd.Series([], dtype=object)}), quasi=["a"], k=2)
    df = pd.DataFrame({"a": list("abcd"), "s": ["x"] * 4})
    with pytest.raises(UsageError, match="cannot anonymise"):
        anonymize(df, quasi=["a"], k=2, l=2, sensitive=["s"])


def test_order_applies_to_mondrian(small):
    """Mondrian cuts between adjacent values of an order: each released set is a run of the order."""
    order = ["Never-married", "Married-civ-spouse", "Married-AF-spouse", "Married-spouse-absent", "Separated",
             "Divorced", "Widowed"]  # fmt: skip
    df = small[["marital-status", "age"]]
    out, rep = anonymize(df, quasi=["marital-status"], k=200, orders={"marital-status": order})
    assert rep.parameters["orders"] == {"marital-status": order}
    assert pa.k_anonymity(out, ["marital-status"]) >= 200
    for label in set(out["marital-status"]):
        members = label.strip("{}").split(",")
        pos = sorted(order.index(m) for m in members)
        assert pos == list(range(pos[0], pos[0] + len(pos))), label
    plain, _ = anonymize(df, quasi=["marital-status"], k=200)
    assert set(plain["marital-status"]) != set(out["marital-status"])  # alphabetical cuts differ


def test_schema_gives_roles(small):
    from anonlab.datasets import adult_schema

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyWarning)
        out, rep = anonymize(small, k=10, schema=adult_schema())
    quasi = rep.parameters["quasi"]
    assert quasi and set(quasi) <= set(ADULT_QUASI) and rep.parameters["sensitive"] == ADULT_SENSITIVE
    assert pa.k_anonymity(out, quasi) >= 10


def test_warning_is_issued_and_reported(adult):
    df = adult.head(3000)
    with pytest.warns(PrivacyWarning, match="education-num"):
        _, rep = anonymize(df, quasi=["age", "education"], k=5)
    assert any("education-num" in w for w in rep.warnings)


class _Halves(Anonymizer):
    """A test method: rows in two classes by row number (k-anonymous when each half has k rows)."""

    name = "halves"

    def __init__(self, *, k, l=None, l_kind="distinct", c=2.0, t=None, max_suppression=0.0,  # noqa: E741
                 suppress_mark=False, progress=False):  # fmt: skip
        super().__init__(k=k, l=l, l_kind=l_kind, c=c, t=t, max_suppression=max_suppression,
                         suppress_mark=suppress_mark, progress=progress)  # fmt: skip

    def _partition(self, table, criteria):
        from anonlab.deid.methods import Classes

        n = table.n
        classes = Classes(np.arange(n), np.array([0, n // 2]), np.array([n // 2, n]))
        labels = [np.array(["first", "second"], dtype=object) for _ in table.quasi]
        return Partition(classes, labels, np.ones((2, len(table.quasi))), {q.name: {} for q in table.quasi})


def test_a_registered_method_runs_by_name(monkeypatch):
    from anonlab.deid import registry

    monkeypatch.setitem(registry.METHODS, "halves", f"{__name__}:_Halves")
    monkeypatch.setitem(sys.modules, __name__, sys.modules[__name__])
    assert "halves" in registry.method_names()
    df = pd.DataFrame({"a": range(10), "b": range(10)})
    out, rep = anonymize(df, quasi=["a"], k=5, method="halves")
    assert list(out["a"]) == ["first"] * 5 + ["second"] * 5 and rep.k == 5 and rep.method == "halves"
    assert pa.k_anonymity(out, ["a"]) == 5


def test_registry_is_a_leaf_and_lists_the_cli_choices():
    code = (
        "import sys; from anonlab.deid.registry import METHODS, method_names; "
        "assert not any(m.startswith('anonlab.deid.') and m != 'anonlab.deid.registry' for m in sys.modules), "
        "sorted(sys.modules); print(','.join(method_names()))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().split(",")[:2] == ["mondrian", "global"]  # then the SDC toolbox's methods
