"""Redacting one text: detections, overlap resolution, and the operator each entity type gets.

Operators (``operators=``, one for all types or one per type):

- ``tag``: the type in angle brackets (``<PERSON>``); reveals only that something of that type stood there.
- ``mask``: every letter and digit replaced by ``*``; keeps the length and punctuation (``***-****``).
- ``pseudonym``: the keyed pseudonym of the detected text, HMAC-SHA256 under the key exactly as
  ``anonlab pseudonymize`` computes it (:meth:`~anonlab.deid.pseudonym.Pseudonymizer.pseudonym`), written
  ``<PERSON:k3v...>``: the same person, written the same way, gets the same token in every note and every table
  pseudonymised under that key. Runs of white space count as one space; other spellings (``M. Virtanen``) are
  other identifiers. Linkable, so still personal data.
- ``shift``: dates only. Moved by the subject's offset,
  :meth:`~anonlab.deid.pseudonym.Pseudonymizer.offset_days` under the key, the same days as the subject's rows get
  from ``anonlab pseudonymize --shift-dates --by``; written in the date's own shape.
- ``keep``: left as written (it is still listed in the review).

Detections that overlap are resolved before replacing: the higher score wins, then the longer span, so a phone
number inside an e-mail address is not cut out of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from anonlab.errors import UsageError

__all__ = ["Detection", "RedactedText", "TextRedactor", "redact_text", "OPERATORS"]

OPERATORS = ("tag", "mask", "pseudonym", "shift", "keep")


@dataclass(frozen=True)
class Detection:
    """One detected span. ``text`` is the original text of the span: as secret as the input, never in a report or
    log (only in the review file the user asks for). ``replaced``: whether it was replaced (False when a stronger,
    overlapping detection won)."""

    document: str
    start: int
    end: int
    entity_type: str
    score: float
    recognizer: str
    text: str = field(repr=False)
    replaced: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "start": self.start,
            "end": self.end,
            "entity_type": self.entity_type,
            "score": round(self.score, 4),
            "recognizer": self.recognizer,
            "replaced": self.replaced,
            "text": self.text,
        }


@dataclass(frozen=True)
class RedactedText:
    """A redacted text and every detection in it (spans refer to the original text)."""

    text: str = field(repr=False)
    detections: list[Detection] = field(repr=False)

    def __repr__(self) -> str:
        return f"RedactedText({len(self.text)} characters, {len(self.detections)} detections)"


#: on equal score and length, the more specific type wins (a 15-digit French NIR also passes the Luhn check)
_SPECIFIC = ("EMAIL_ADDRESS", "NATIONAL_ID", "IBAN_CODE", "CREDIT_CARD", "DATE", "PHONE_NUMBER", "IP_ADDRESS", "URL",
             "PERSON", "ORGANIZATION", "LOCATION", "RECORD_NUMBER")  # fmt: skip


def _resolve(results) -> set[int]:
    """Indices of the detections kept: no two kept spans overlap; higher score, then longer span, then the more
    specific type (:data:`_SPECIFIC`) wins."""

    def rank(i: int):
        r = results[i]
        specific = _SPECIFIC.index(r.entity_type) if r.entity_type in _SPECIFIC else len(_SPECIFIC)
        return (-r.score, -(r.end - r.start), specific)

    kept: list[int] = []
    for i in sorted(range(len(results)), key=rank):
        r = results[i]
        if all(r.end <= results[k].start or results[k].end <= r.start for k in kept):
            kept.append(i)
    return set(kept)


def _operator_map(operators, entities) -> dict[str, str]:
    if isinstance(operators, str):
        operators = {"*": operators}
    if not isinstance(operators, Mapping):
        raise UsageError(
            f"operators={operators!r}: give an operator name or a mapping of entity type to operator"
        )
    out = {e: operators.get("*", "tag") for e in entities}
    for ent, op in operators.items():
        if ent != "*" and ent not in entities:
            raise UsageError(
                f"operators= names {ent!r}, which is not a detected entity type ({', '.join(entities)})"
            )
        out[ent] = op if ent != "*" else out.get(ent, op)
    for ent, op in out.items():
        if op not in OPERATORS:
            raise UsageError(f"operators=: {op!r} for {ent} is not an operator ({', '.join(OPERATORS)})")
        if op == "shift" and ent != "DATE":
            if "*" in operators and operators["*"] == "shift" and ent not in operators:
                out[ent] = "tag"  # "shift everything" means the dates; other types get tags
            else:
                raise UsageError(f"operators=: 'shift' applies to DATE only, not {ent}")
    return out


@dataclass
class TextRedactor:
    """Finds personal data in free text with Presidio and replaces it.

    Parameters
    ----------
    entities : the entity types to detect (default all of :data:`~anonlab.deid.text.engine.ENTITY_TYPES`).
    operators : ``"tag"`` (default), ``"mask"``, ``"pseudonym"``, ``"shift"`` or ``"keep"`` for every type, or a
        mapping ``{"PERSON": "pseudonym", "DATE": "shift", "*": "tag"}``. See the module docstring.
    key : the secret key (a :class:`~anonlab.deid.keys.SecretKey` or a key file's path) for ``pseudonym`` and
        ``shift``; the same key as ``anonlab pseudonymize`` gives the same tokens and date offsets.
    threshold : detections scoring below it are ignored (0..1). Lower finds more and replaces more by mistake.
    language : the language code of the texts (the tokenizer and Presidio's recognizers are per language).
    nlp_model : an installed spaCy pipeline whose NER adds names (never downloaded); ``None``: the dictionary
        recognizers of :mod:`anonlab.deid.text.names` alone.
    date_order : how ``01/02/2020`` reads: ``"dmy"`` or ``"mdy"``.
    max_shift_days : the range of date offsets, as in :func:`anonlab.pseudonymize` (must match it for the
        offsets to agree).
    pseudonym_format : how a pseudonym is written; ``{entity}`` and ``{token}`` are filled in.
    """

    entities: tuple[str, ...] | None = None
    operators: Any = "tag"
    key: Any = field(default=None, repr=False)
    threshold: float = 0.5
    language: str = "en"
    nlp_model: str | None = None
    date_order: str = "dmy"
    max_shift_days: int = 365
    pseudonym_format: str = "<{entity}:{token}>"
    _analyzer: Any = field(default=None, init=False, repr=False, compare=False)
    _pz: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from anonlab.deid.text.engine import ENTITY_TYPES

        ents = tuple(ENTITY_TYPES if self.entities is None else self.entities)
        unknown = [e for e in ents if e not in ENTITY_TYPES]
        if unknown or not ents:
            raise UsageError(f"entities=: {unknown or 'nothing'} (known: {', '.join(ENTITY_TYPES)})")
        self.entities = ents
        self.operators = _operator_map(self.operators, ents)
        if not 0 <= self.threshold <= 1:
            raise UsageError(f"threshold={self.threshold!r}: must be between 0 and 1")
        if self.date_order not in ("dmy", "mdy"):
            raise UsageError(f"date_order={self.date_order!r}: 'dmy' or 'mdy'")
        if "{token}" not in self.pseudonym_format:
            raise UsageError("pseudonym_format= must contain {token}")
        keyed = sorted({op for op in self.operators.values() if op in ("pseudonym", "shift")})
        if keyed and self.key is None:
            raise UsageError(f"operators= {' and '.join(keyed)} need key= (the key of `anonlab keygen`)")
        if self.key is not None:
            from anonlab.deid.pseudonym import Pseudonymizer, _as_key

            self._pz = Pseudonymizer(_as_key(self.key), max_shift_days=self.max_shift_days)

    @property
    def analyzer(self):
        """The Presidio ``AnalyzerEngine`` (built on first use; loading the name lists takes a few seconds)."""
        if self._analyzer is None:
            from anonlab.deid.text.engine import build_analyzer

            self._analyzer = build_analyzer(self.language, self.nlp_model, self.date_order)
        return self._analyzer

    def detect(self, text: str, document: str = "") -> list[Detection]:
        """Every detection at or above the threshold, in text order; ``replaced`` marks the ones that win."""
        if not isinstance(text, str):
            raise UsageError(f"text must be a string, not {type(text).__name__}")
        results = self.analyzer.analyze(
            text, language=self.language, entities=list(self.entities), score_threshold=self.threshold
        )
        results = [r for r in results if r.entity_type in self.entities]
        kept = _resolve(results)
        out = [
            Detection(
                document,
                r.start,
                r.end,
                r.entity_type,
                float(r.score),
                (r.recognition_metadata or {}).get("recognizer_name", ""),
                text[r.start : r.end],
                i in kept,
            )
            for i, r in enumerate(results)
        ]
        return sorted(out, key=lambda d: (d.start, -d.end))

    def redact(self, text: str, subject: str | None = None, document: str = "") -> RedactedText:
        """``text`` with every kept detection replaced by its operator. ``subject``: who the text is about, for
        date shifting (required when dates are shifted and the text holds a date)."""
        from presidio_anonymizer import AnonymizerEngine
        from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

        detections = self.detect(text, document)
        kept = [d for d in detections if d.replaced and self.operators[d.entity_type] != "keep"]
        if not kept:
            return RedactedText(text, detections)
        ops = {
            ent: OperatorConfig("custom", {"lambda": self._replacer(ent, subject, document)})
            for ent in {d.entity_type for d in kept}
        }
        results = [RecognizerResult(d.entity_type, d.start, d.end, d.score) for d in kept]
        out = AnonymizerEngine().anonymize(text=text, analyzer_results=results, operators=ops)
        return RedactedText(out.text, detections)

    def _replacer(self, entity: str, subject: str | None, document: str):
        op = self.operators[entity]
        if op == "tag":
            return lambda s: f"<{entity}>"
        if op == "mask":
            return lambda s: re.sub(r"\w", "*", s)
        if op == "pseudonym":
            fmt, pz = self.pseudonym_format, self._pz
            return lambda s: fmt.format(entity=entity, token=pz.pseudonym(" ".join(s.split())))
        return self._shifter(subject, document)

    def _shifter(self, subject: str | None, document: str):
        from anonlab.deid.text.dates import find_dates, shift_date

        def shift(s: str) -> str:
            if subject is None or subject == "":
                where = f" ({document})" if document else ""
                raise UsageError(f"a date{where} is to be shifted but the text has no subject (subject=)")
            spans = find_dates(s, self.date_order)
            if len(spans) != 1 or (spans[0].start, spans[0].end) != (0, len(s)):
                return "<DATE>"  # a date another recognizer found, in a shape that cannot be read back
            return shift_date(spans[0], self._pz.offset_days(str(subject)), self.date_order)

        return shift


def redact_text(text: str, *, subject: str | None = None, **params) -> RedactedText:
    """Redact one text: ``redact_text(note, operators={"PERSON": "pseudonym", "DATE": "shift"}, key=key,
    subject="P001")``. ``params`` are :class:`TextRedactor`'s. For many texts build one :class:`TextRedactor` and
    call :meth:`TextRedactor.redact` (building the analyzer takes seconds)."""
    return TextRedactor(**params).redact(text, subject=subject)
