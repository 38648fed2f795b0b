"""Preparing data for release: keyed pseudonymisation, risk assessment, k-anonymity, hierarchies, photo metadata.

The public names, each imported on first use (``import anonlab.deid`` loads nothing heavy):

- :func:`assess` (``df, quasi=, sensitive=, sampling_fraction=`` -> :class:`RiskReport`): re-identification and
  attribute-disclosure risk.
- :func:`anonymize` (``df, quasi=, k=, l=, t=, sensitive=, method=`` -> ``(DataFrame, AnonymizationReport)``):
  k-anonymity with l-diversity and t-closeness, by a method from :mod:`anonlab.deid.registry`;
  :class:`Mondrian` and :class:`GlobalRecoding` are the methods as classes (``Mondrian(k=10).apply(df, quasi=...)``),
  :class:`Anonymizer` their contract; :func:`read_recipe` reads an ``[anonymize]`` recipe.
- :func:`pseudonymize` (``df, key=, ids=, drop=, dates=, by=`` -> ``(DataFrame, PseudonymizationReport)``) and
  :func:`pseudonym_mapping`; keys: :func:`generate_key`, :func:`write_key`, :func:`read_key`.
- hierarchies (ARX's builders): :func:`build_hierarchy`, :func:`build_intervals`, :func:`build_masking`,
  :func:`build_grouping`, :func:`write_hierarchy_csv`; photos: :func:`strip_image`, :func:`strip_path`.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "assess": "anonlab.deid.risk",
    "RiskReport": "anonlab.deid.risk",
    "anonymize": "anonlab.deid.methods",
    "Anonymizer": "anonlab.deid.methods",
    "AnonymizationReport": "anonlab.deid.report",
    "Mondrian": "anonlab.deid.mondrian",
    "GlobalRecoding": "anonlab.deid.lattice",
    "method_names": "anonlab.deid.registry",
    "get_method": "anonlab.deid.registry",
    "read_recipe": "anonlab.deid.recipe",
    "AnonymizeConfig": "anonlab.deid.recipe",
    "pseudonymize": "anonlab.deid.pseudonym",
    "pseudonym_mapping": "anonlab.deid.pseudonym",
    "PseudonymizationReport": "anonlab.deid.pseudonym",
    "SecretKey": "anonlab.deid.keys",
    "generate_key": "anonlab.deid.keys",
    "write_key": "anonlab.deid.keys",
    "read_key": "anonlab.deid.keys",
    "Hierarchy": "anonlab.deid.hierarchy",
    "build_hierarchy": "anonlab.deid.hierarchy",
    "build_intervals": "anonlab.deid.hierarchy",
    "build_masking": "anonlab.deid.hierarchy",
    "build_grouping": "anonlab.deid.hierarchy",
    "write_hierarchy_csv": "anonlab.deid.hierarchy",
    "strip_image": "anonlab.deid.image",
    "strip_path": "anonlab.deid.image",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'anonlab.deid' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
