"""Person and place names without a trained model: dictionaries from Faker, capitalisation and context.

Why not a statistical NER model: spaCy's ``en-core-web-*`` names on PyPI are placeholders (the real wheels are on
GitHub and downloaded at run time), and the re-uploads by third parties are weights of unknown provenance, which a
de-identification tool should not load by default. Faker is a core dependency of anonlab; its per-locale person
providers are a well-kept public list of common first and last names (about a hundred locales), and its address
providers list the cities of several European countries, US states and UK counties. A name is:

- a first name followed by a capitalised word (``Matti Virtanen``, ``Anna K. Smith``), or a capitalised word after a
  title (``Dr. Virtanen``, ``Mrs Smith``): score 0.85;
- a capitalised known last name or first name alone, not at the start of a sentence: score 0.4, below the default
  threshold unless a context word (``patient``, ``daughter``, ``named``) is near, which Presidio raises by 0.35.

What this misses: names in no Faker list and with no title, lower-case names, and organisations beyond the pattern
``<Capitalised words> Hospital|Clinic|...``. A spaCy pipeline that is installed can be added (``nlp_model=``).
"""

from __future__ import annotations

import functools
import importlib
import re

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult

__all__ = ["NameRecognizer", "LocationRecognizer", "OrganizationRecognizer", "person_names", "place_names"]

_TITLES = (
    "dr",
    "dr.",
    "mr",
    "mr.",
    "mrs",
    "mrs.",
    "ms",
    "ms.",
    "miss",
    "prof",
    "prof.",
    "professor",
    "nurse",
    "doctor",
    "sister",
    "mx",
    "mx.",
    "herr",
    "frau",
    "rouva",
    "herra",
)
_CONTEXT = ["patient", "name", "named", "called", "mother", "father", "daughter", "son", "wife", "husband",
            "spouse", "partner", "sister", "brother", "contact", "signed", "by", "seen", "interviewer",
            "participant", "respondent", "said", "says"]  # fmt: skip
# capitalised words that are names in some locale but mostly mean something else at the head of a phrase
_COMMON = frozenset(
    """a an and are as at be but by can did do for from had has have he her here his how i if in is it its may
    me my no not of on or our she so than that the their them then there these they this to up us was we were
    what when where which who will with would you your monday tuesday wednesday thursday friday saturday sunday
    january february march april june july august september october november december patient doctor nurse
    hospital clinic street road dear mark bill will rose april june august faith hope joy grace long young
    white black brown green king price rich may see""".split()
)


def _provider_lists(module: str, attrs: tuple[str, ...]) -> set[str]:
    import faker.config

    out: set[str] = set()
    for locale in faker.config.AVAILABLE_LOCALES:
        try:
            provider = importlib.import_module(f"faker.providers.{module}.{locale}").Provider
        except (ImportError, AttributeError):
            continue
        for attr in attrs:
            for klass in provider.__mro__:
                if attr in vars(klass):
                    value = vars(klass)[attr]
                    if isinstance(value, dict | tuple | list | set | frozenset):
                        out.update(str(v) for v in value)
                    break
    return out


@functools.lru_cache(maxsize=1)
def person_names() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, last names) of every Latin-script Faker locale, casefolded, less common English words."""
    first = _provider_lists("person", ("first_names", "first_names_male", "first_names_female"))
    last = _provider_lists("person", ("last_names",))

    def clean(names: set[str]) -> frozenset[str]:
        return (
            frozenset(
                n.casefold()
                for n in names
                if n.isalpha() and n.isascii() or re.fullmatch(r"[A-Za-zÀ-ž'’\-]+", n)
            )
            - _COMMON
        )

    return clean(first), clean(last)


@functools.lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    """Cities (Faker's fi_FI, sv_SE, de_DE, da_DK, nl_NL, pl_PL ... lists), US states and UK counties, casefolded.
    Countries are left out: under HIPAA's Safe Harbor a state or a country may stay; a town may not."""
    names = _provider_lists("address", ("cities", "states", "counties"))
    return frozenset(n.casefold() for n in names if len(n) > 3) - _COMMON


def result(rec: EntityRecognizer, entity: str, start: int, end: int, score: float) -> RecognizerResult:
    """A Presidio result as its own recognizers make them (with the explanation its context step fills in)."""
    return RecognizerResult(
        entity,
        start,
        end,
        score,
        analysis_explanation=AnalysisExplanation(recognizer=rec.name, original_score=score),
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: rec.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: rec.id,
        },
    )


# a word, or an initial with its period (``K.``); any other character is a token of its own
_LETTERS = r"[^\W\d_](?:[^\W\d_]|['’\-](?=[^\W\d_]))*"
_TOKEN = re.compile(rf"[^\W\d_]\.(?![^\W\d_])|{_LETTERS}|\S")


def _sentence_start(text: str, pos: int) -> bool:
    before = text[:pos].rstrip()
    return not before or before[-1] in ".!?:;\n\"'(“"


class NameRecognizer(EntityRecognizer):
    """``PERSON`` from Faker's first and last names, titles and capitalisation (see the module docstring)."""

    def __init__(self, supported_language: str = "en"):
        super().__init__(
            supported_entities=["PERSON"],
            supported_language=supported_language,
            name="NameRecognizer",
            context=_CONTEXT,
        )

    def load(self) -> None:
        self.first, self.last = person_names()

    def analyze(self, text, entities, nlp_artifacts=None):
        if "PERSON" not in entities:
            return []
        toks = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)]
        out, i = [], 0
        while i < len(toks):
            found = self._at(text, toks, i)
            if found is None:
                i += 1
                continue
            k, j, score = found
            out.append(result(self, "PERSON", toks[k][0], toks[j - 1][1], score))
            i = j
        return out

    @staticmethod
    def _cap(word: str) -> bool:
        return (
            word[:1].isupper()
            and word[:1].isalpha()
            and not (len(word) > 1 and word.isupper() and len(word) > 3)
        )

    def _run(self, toks, i: int) -> int:
        """End (exclusive) of the capitalised words from ``i``: words and initials (``K.``), up to four."""
        j = i
        while j < len(toks) and j - i < 4:
            w = toks[j][2]
            if self._cap(w) and w.rstrip(".").casefold() not in _COMMON - self.first - self.last:
                j += 1
            else:
                break
        return j

    def _at(self, text, toks, i):
        w = toks[i][2]
        key = w.rstrip(".").casefold()
        if key in _TITLES:
            k = i + 2 if i + 1 < len(toks) and toks[i + 1][2] == "." else i + 1
            if k < len(toks) and self._cap(toks[k][2]):
                return k, self._run(toks, k), 0.85
            return None
        if not self._cap(w):
            return None
        end = self._run(toks, i)
        words = [t[2].rstrip(".").casefold() for t in toks[i:end]]
        if end - i >= 2 and words[0] in self.first and (words[-1] in self.last or words[-1] in self.first):
            return i, end, 0.85
        if (
            end - i >= 2
            and words[-1] in self.last
            and all(len(x) == 1 or x in self.first for x in words[:-1])
        ):
            return i, end, 0.85
        if end - i == 1 and (key in self.first or key in self.last) and not _sentence_start(text, toks[i][0]):
            return i, end, 0.4
        return None


class LocationRecognizer(EntityRecognizer):
    """``LOCATION``: a capitalised place from :func:`place_names` (one to three words); score 0.6."""

    def __init__(self, supported_language: str = "en"):
        super().__init__(
            supported_entities=["LOCATION"],
            supported_language=supported_language,
            name="LocationRecognizer",
            context=["in", "at", "from", "lives", "moved", "born", "city", "town", "address"],
        )

    def load(self) -> None:
        self.places = place_names()

    def analyze(self, text, entities, nlp_artifacts=None):
        if "LOCATION" not in entities:
            return []
        out = []
        pattern = re.compile(rf"{_LETTERS}(?: {_LETTERS}){{0,2}}")
        for m in re.finditer(rf"(?<![\w'’\-]){_LETTERS}", text):
            if not m.group(0)[:1].isupper():
                continue
            for n in (3, 2, 1):
                cand = pattern.match(text, m.start())
                if cand is None:
                    break
                phrase = " ".join(cand.group(0).split(" ")[:n])
                if phrase.casefold() in self.places:
                    out.append(result(self, "LOCATION", m.start(), m.start() + len(phrase), 0.6))
                    break
        return out


class OrganizationRecognizer(EntityRecognizer):
    """``ORGANIZATION``: capitalised words ending in Hospital, Clinic, University, Health Centre, Oy, GmbH, Ltd ...
    (score 0.7)."""

    _ORG = re.compile(
        r"\b(?:[A-ZÀ-Þ][\w'’\-]*\s+){1,4}(?:Hospital|Clinic|Infirmary|University|College|School|Health Cent(?:er|re)|"
        r"Medical Cent(?:er|re)|Hospice|Sairaala|Terveyskeskus|Oy|Ab|Ltd|Inc|GmbH|AG|SA|AB|BV|Foundation)\b"
    )

    def __init__(self, supported_language: str = "en"):
        super().__init__(
            supported_entities=["ORGANIZATION"],
            supported_language=supported_language,
            name="OrganizationRecognizer",
        )

    def load(self) -> None:
        pass

    def analyze(self, text, entities, nlp_artifacts=None):
        if "ORGANIZATION" not in entities:
            return []
        return [result(self, "ORGANIZATION", m.start(), m.end(), 0.7) for m in self._ORG.finditer(text)]
