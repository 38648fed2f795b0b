"""Personal data in free text (clinical notes, interview transcripts): detection with Presidio, then tags, masks,
keyed pseudonyms or per-subject date shifts consistent with :func:`anonlab.pseudonymize`.

Needs the ``text`` extra (``pip install 'anonlab[text]'``: presidio-analyzer, presidio-anonymizer, spaCy). The
public names, each imported on first use:

- :class:`TextRedactor` (``entities=, operators=, key=, threshold=, nlp_model=, date_order=``) with
  ``detect(text)`` and ``redact(text, subject=)``; :func:`redact_text` for one text.
- :func:`redact_file` (a ``.txt`` file or folder, CSV/TSV/Parquet text columns, ``.jsonl`` fields) ->
  :class:`TextRedactionReport`; :func:`redact_table` for a DataFrame; :func:`write_review`.
- :class:`Detection`, :class:`RedactedText`, :data:`ENTITY_TYPES`, :data:`OPERATORS`.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "TextRedactor": "anonlab.deid.text.redactor",
    "redact_text": "anonlab.deid.text.redactor",
    "Detection": "anonlab.deid.text.redactor",
    "RedactedText": "anonlab.deid.text.redactor",
    "OPERATORS": "anonlab.deid.text.redactor",
    "ENTITY_TYPES": "anonlab.deid.text.engine",
    "redact_file": "anonlab.deid.text.documents",
    "redact_table": "anonlab.deid.text.documents",
    "write_review": "anonlab.deid.text.documents",
    "TextRedactionReport": "anonlab.deid.text.documents",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        from anonlab.errors import require_extra

        require_extra("text", "presidio_analyzer", "text redaction")
        require_extra("text", "presidio_anonymizer", "text redaction")
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'anonlab.deid.text' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
