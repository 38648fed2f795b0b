"""Utility against re-identification risk, for one release or a study of several.

:func:`evaluate` measures one release against the real table it was made from (and a holdout of real records it
never saw) and returns an :class:`Evaluation` (``to_frame()``, ``to_dict()``, ``to_html(path)``, shown in a
notebook). :class:`Study` releases one table by several methods, evaluates every release the same way and draws
the privacy-utility frontier (:class:`StudyResult`).

Layout: orchestration here (:mod:`.evaluating`, :mod:`.parts`, :mod:`.study`, :mod:`.recipe`, with :mod:`.tables`
and :mod:`.generalised` reading the inputs and :mod:`.verdicts` the rule), the measures in :mod:`.metrics`, and
the reports in :mod:`.report`. Importing this package pulls in neither scikit-learn, matplotlib, SDMetrics nor
anonymeter: they are imported when a part or a figure needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from anonlab.evaluation.evaluating import evaluate

if TYPE_CHECKING:
    from anonlab.evaluation.config import EvaluationConfig
    from anonlab.evaluation.parts import PARTS, Part, PartResult
    from anonlab.evaluation.privacy_report import read_privacy_report
    from anonlab.evaluation.recipe import Recipe, ReleaseSpec, default_recipe_path
    from anonlab.evaluation.result import Evaluation
    from anonlab.evaluation.study import Study, StudyResult, run_study

__all__ = [
    "evaluate",
    "Evaluation",
    "EvaluationConfig",
    "PARTS",
    "Part",
    "PartResult",
    "Study",
    "StudyResult",
    "Recipe",
    "ReleaseSpec",
    "default_recipe_path",
    "run_study",
    "read_privacy_report",
]

_LAZY = {
    "Evaluation": "anonlab.evaluation.result",
    "EvaluationConfig": "anonlab.evaluation.config",
    "PARTS": "anonlab.evaluation.parts",
    "Part": "anonlab.evaluation.parts",
    "PartResult": "anonlab.evaluation.parts",
    "Study": "anonlab.evaluation.study",
    "StudyResult": "anonlab.evaluation.study",
    "run_study": "anonlab.evaluation.study",
    "Recipe": "anonlab.evaluation.recipe",
    "ReleaseSpec": "anonlab.evaluation.recipe",
    "default_recipe_path": "anonlab.evaluation.recipe",
    "read_privacy_report": "anonlab.evaluation.privacy_report",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'anonlab.evaluation' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
