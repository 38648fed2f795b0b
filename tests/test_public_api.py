"""The top-level API: every public name resolves, lazily, and `import anonlab` stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import anonlab


@pytest.mark.parametrize("name", sorted(anonlab._LAZY))
def test_every_public_name_resolves(name):
    from anonlab.errors import MissingExtraError

    try:
        value = getattr(anonlab, name)
    except MissingExtraError as exc:  # an optional part whose extra is not installed here
        pytest.skip(str(exc))
    assert callable(value), f"anonlab.{name} is {type(value).__name__}, not a function or class"
    assert value.__doc__, f"anonlab.{name} has no docstring"


@pytest.mark.parametrize("name", anonlab._SUBPACKAGES)
def test_subpackages_are_attributes(name):
    assert getattr(anonlab, name).__name__ == f"anonlab.{name}"


def test_names_are_listed_for_completion():
    assert set(anonlab._LAZY) <= set(dir(anonlab)) and "synth" in dir(anonlab)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        anonlab.nope  # noqa: B018


def test_synthesizers_are_reachable_from_the_package():
    for name in ("AIM", "MST", "NapsuMQ", "DPVI", "GaussianCopula", "CTGAN"):
        assert isinstance(getattr(anonlab.synth, name), type)


def test_import_is_light():
    code = (
        "import sys, anonlab, anonlab.synth, anonlab.deid, anonlab.privacy, anonlab.evaluation; "
        "heavy = [m for m in ('pandas', 'numpy', 'jax', 'sklearn', 'opendp', 'scipy') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"importing anonlab's packages loads {out}"


RESULTS = [
    "anonlab.deid.risk:RiskReport",
    "anonlab.deid.report:AnonymizationReport",
    "anonlab.deid.pseudonym:PseudonymizationReport",
    "anonlab.evaluation.result:Evaluation",
    "anonlab.evaluation.study:StudyResult",
    "anonlab.privacy.stats:StatsResult",
    "anonlab.privacy.ledger:Ledger",
    "anonlab.synth.budget:PrivacySpent",
    "anonlab.deid.dicom:DeidentifyResult",
    "anonlab.deid.dicom:AuditResult",
    "anonlab.schema:Schema",
    "anonlab.deid.hierarchy:Hierarchy",
    "anonlab.deid.image:StripResult",
    "anonlab.deid.audio:VoiceResult",
]


@pytest.mark.parametrize("target", RESULTS)
def test_every_result_prints_in_a_notebook_and_has_a_dict(target):
    import importlib

    module, name = target.split(":")
    cls = getattr(importlib.import_module(module), name)
    assert callable(getattr(cls, "_repr_html_", None)), f"{name} has no _repr_html_"
    assert callable(getattr(cls, "to_dict", None)), f"{name} has no to_dict"
