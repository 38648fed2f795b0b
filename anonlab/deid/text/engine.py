"""The Presidio analyzer anonlab uses: its NLP engine, set explicitly, and the recognizers, listed in one place.

Presidio's default engine loads spaCy's ``en_core_web_lg`` and downloads it when missing. anonlab never downloads:
the default engine is spaCy's blank tokenizer for the language (it ships inside spaCy) with lower-cased words as
lemmas, so Presidio's context words (``hetu``, ``patient``) still raise scores; names come from
:mod:`anonlab.deid.text.names`. ``nlp_model=`` names an installed spaCy pipeline (a package or a folder) whose NER
adds ``PERSON``/``LOCATION``/``ORGANIZATION``; one that is not installed is refused, never fetched.
"""

from __future__ import annotations

import logging
from pathlib import Path

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    EsNieRecognizer,
    EsNifRecognizer,
    FiPersonalIdentityCodeRecognizer,
    IbanRecognizer,
    IpRecognizer,
    ItFiscalCodeRecognizer,
    NhsRecognizer,
    PhoneRecognizer,
    PlPeselRecognizer,
    SePersonnummerRecognizer,
    SpacyRecognizer,
    UkNinoRecognizer,
    UrlRecognizer,
    UsSsnRecognizer,
)

from anonlab.deid.text.dates import ShiftableDateRecognizer
from anonlab.deid.text.names import LocationRecognizer, NameRecognizer, OrganizationRecognizer
from anonlab.deid.text.national_ids import EU_RECOGNIZERS

__all__ = ["ENTITY_TYPES", "OfflineNlpEngine", "build_analyzer", "NATIONAL_ID_RECOGNIZERS"]

#: every entity type anonlab detects in text
ENTITY_TYPES = (
    "PERSON",
    "LOCATION",
    "ORGANIZATION",
    "DATE",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "IBAN_CODE",
    "CREDIT_CARD",
    "IP_ADDRESS",
    "URL",
    "NATIONAL_ID",
    "RECORD_NUMBER",
)

#: Presidio's national-ID recognizers used here (their own entity names become ``NATIONAL_ID``), then anonlab's
NATIONAL_ID_RECOGNIZERS = (
    FiPersonalIdentityCodeRecognizer,
    SePersonnummerRecognizer,
    PlPeselRecognizer,
    EsNifRecognizer,
    EsNieRecognizer,
    ItFiscalCodeRecognizer,
    NhsRecognizer,
    UkNinoRecognizer,
    UsSsnRecognizer,
    *EU_RECOGNIZERS,
)

#: phone numbers are read as numbers of these regions (with a + prefix any region)
PHONE_REGIONS = ("FI", "SE", "NO", "DK", "EE", "DE", "FR", "NL", "BE", "ES", "IT", "PL", "GB", "IE", "US")

logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)


class OfflineNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine that never downloads: ``model=None`` is ``spacy.blank(language)``; a name must be an
    installed pipeline. Words without a lemma (the blank tokenizer has no lemmatiser) get their lower-case form."""

    def __init__(self, language: str = "en", model: str | None = None):
        self.language, self.model = language, model
        config = NerModelConfiguration(
            model_to_presidio_entity_mapping={
                "PERSON": "PERSON",
                "PER": "PERSON",
                "GPE": "LOCATION",
                "LOC": "LOCATION",
                "FAC": "LOCATION",
                "ORG": "ORGANIZATION",
            },
            labels_to_ignore=["DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY", "NORP"],
        )
        super().__init__(
            models=[{"lang_code": language, "model_name": model or "blank"}], ner_model_configuration=config
        )

    def load(self) -> None:
        import spacy

        from anonlab.errors import UsageError

        if self.model is None:
            self.nlp = {self.language: spacy.blank(self.language)}
            return
        if not (spacy.util.is_package(self.model) or Path(self.model).is_dir()):
            raise UsageError(
                f"nlp_model={self.model!r}: no such spaCy pipeline is installed; anonlab never downloads one (give "
                "an installed package name or a pipeline folder, or leave it out for the dictionary recognizers)"
            )
        self.nlp = {self.language: spacy.load(self.model)}

    def _doc_to_nlp_artifact(self, doc, language):
        from presidio_analyzer.nlp_engine import NlpArtifacts

        entities, scores = self._get_updated_entities(doc.ents, self._get_scores_for_entities(doc))
        return NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=[tok.idx for tok in doc],
            lemmas=[tok.lemma_ or tok.lower_ for tok in doc],
            nlp_engine=self,
            language=language,
            scores=scores,
        )


class _PhoneRecognizer(PhoneRecognizer):
    """Presidio's phone numbers (Google's libphonenumber), scored by shape: 0.75 with an international prefix
    (``+358 40 ...``, ``0046 ...``), else 0.45, which a context word (``phone``, ``tel``, ``puh``) lifts over the
    threshold. Presidio's flat 0.4 misses ``+358 40 1234567`` at the default threshold."""

    CONTEXT = [*PhoneRecognizer.CONTEXT, "tel", "puh", "puhelin", "mobile", "call", "gsm"]

    def analyze(self, text, entities, nlp_artifacts=None):
        results = super().analyze(text, entities, nlp_artifacts)
        for r in results:
            r.score = 0.75 if text[r.start : r.end].startswith(("+", "00")) else 0.45
        return results


class _OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail pattern, with the domain checked against tldextract's bundled suffix list only (the
    default would fetch the list from the internet on first use)."""

    def validate_result(self, pattern_text: str) -> bool:
        import tldextract

        extract = getattr(type(self), "_extract", None)
        if extract is None:
            extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
            type(self)._extract = extract
        return extract(pattern_text.rsplit("@", 1)[-1]).suffix != ""


def _record_number(language: str):
    from presidio_analyzer import Pattern, PatternRecognizer

    return PatternRecognizer(
        supported_entity="RECORD_NUMBER",
        name="RecordNumberRecognizer",
        supported_language=language,
        patterns=[Pattern("record number", r"\b(?:[A-Z]{1,3}-?)?\d{5,10}\b", 0.2)],
        context=[
            "mrn",
            "record",
            "chart",
            "case",
            "admission",
            "account",
            "potilasnumero",
            "sairauskertomus",
        ],
    )


def _recognizers(language: str, date_order: str, with_ner: bool) -> list:
    recs: list = [
        NameRecognizer(language),
        LocationRecognizer(language),
        OrganizationRecognizer(language),
        ShiftableDateRecognizer(language, date_order=date_order),
        _OfflineEmailRecognizer(supported_language=language),
        _PhoneRecognizer(supported_language=language, supported_regions=PHONE_REGIONS),
        IbanRecognizer(supported_language=language),
        CreditCardRecognizer(supported_language=language),
        IpRecognizer(supported_language=language),
        UrlRecognizer(supported_language=language),
        _record_number(language),
    ]
    recs += [
        cls(supported_language=language, supported_entity="NATIONAL_ID") for cls in NATIONAL_ID_RECOGNIZERS
    ]
    if with_ner:
        recs.append(
            SpacyRecognizer(
                supported_language=language, supported_entities=["PERSON", "LOCATION", "ORGANIZATION"]
            )
        )
    return recs


def build_analyzer(
    language: str = "en", nlp_model: str | None = None, date_order: str = "dmy"
) -> AnalyzerEngine:
    """A Presidio ``AnalyzerEngine`` with :class:`OfflineNlpEngine` and anonlab's recognizers, every entity of
    :data:`ENTITY_TYPES`."""
    engine = OfflineNlpEngine(language, nlp_model)
    engine.load()
    registry = RecognizerRegistry(supported_languages=[language])
    for rec in _recognizers(language, date_order, with_ner=nlp_model is not None):
        registry.add_recognizer(rec)
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=[language])
