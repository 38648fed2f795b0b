"""Utility against re-identification risk: evaluate one release (:mod:`.evaluate`), or run a study that releases
one table by several methods and draws the privacy-utility frontier (:mod:`.study`).

Submodules are imported on use, so importing this package pulls in neither scikit-learn nor anonymeter.
"""

__all__ = [
    "associations",
    "attacks",
    "distance",
    "encoding",
    "evaluate",
    "generalised",
    "marginals",
    "membership",
    "neighbours",
    "plots",
    "quality",
    "report",
    "study",
    "tstr",
    "verdicts",
]
