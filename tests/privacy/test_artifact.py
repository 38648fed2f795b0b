"""The allow-list every DP artifact is built through."""

from __future__ import annotations

import pytest

from anonlab.privacy.artifact import DP_OUTPUT, PUBLIC, AllowList, ArtifactError, leaf_paths, published

ALLOW = AllowList(
    "test artifact",
    {
        "method": PUBLIC,
        "versions.**": PUBLIC,
        "answers.*.query": PUBLIC,
        "answers.*.value": DP_OUTPUT,
        "parts.**": PUBLIC,
        "parts.measured.**": DP_OUTPUT,
    },
)


def test_declared_fields_pass_and_dp_outputs_are_listed():
    rec = {
        "method": "mst",
        "versions": {"numpy": "1", "x": {"y": "2"}},
        "answers": [{"query": "count", "value": 12.5}],
        "parts": {"rho": 0.1, "measured": [3, 4]},
    }
    assert published(rec, ALLOW) == rec
    assert ALLOW.dp_outputs(rec) == ["answers.0.value", "parts.measured.0", "parts.measured.1"]


@pytest.mark.parametrize(
    "rec",
    [
        {"seed": 42},
        {"method": "mst", "dataset": "ab12"},
        {"answers": [{"value": 1, "rows": 30}]},
        {"versions": 3},
    ],
)
def test_an_undeclared_field_is_refused(rec):
    with pytest.raises(ArtifactError) as err:
        published(rec, ALLOW)
    assert err.value.exit_code == 70


def test_the_most_specific_pattern_decides_whatever_the_order():
    flipped = AllowList("flipped", {"parts.measured.**": DP_OUTPUT, "parts.**": PUBLIC})
    for allow in (ALLOW, flipped):
        assert allow.kind("parts.measured.0") == DP_OUTPUT
        assert allow.kind("parts.rho") == PUBLIC


def test_empty_containers_are_leaves():
    assert list(leaf_paths({"a": {}, "b": []})) == [("a", {}), ("b", [])]


def test_kinds_are_validated():
    with pytest.raises(ValueError):
        AllowList("bad", {"x": "secret"})
