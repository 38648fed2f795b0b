"""Presentation of evaluations and studies: self-contained HTML pages (:mod:`.page`), each part's section
(:mod:`.sections`), the building blocks (:mod:`.html`) and the figures (:mod:`.plots`, matplotlib, imported on
use)."""

from anonlab.evaluation.report.page import (
    evaluation_html,
    evaluation_section,
    evaluation_summary_html,
    study_html,
    study_summary_html,
)

__all__ = [
    "evaluation_html",
    "evaluation_section",
    "evaluation_summary_html",
    "study_html",
    "study_summary_html",
]
