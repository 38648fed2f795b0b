"""EU national identity numbers that Presidio does not recognise, as Presidio pattern recognizers with checksums.

Presidio ships recognizers for the Finnish henkilötunnus, the Swedish personnummer, the Polish PESEL, the Spanish
NIF/NIE, the Italian codice fiscale, the German Steuer-ID and the UK NHS number and NINO; this module adds the
Danish CPR, the Norwegian fødselsnummer, the Estonian isikukood, the Dutch BSN, the Belgian national register
number and the French NIR. Each validates what its format allows (a check digit, a real birth date), so a random
number of the right length is rarely taken for an ID. Formats without a check digit (the Danish CPR since 2007,
9-digit BSN-like numbers) need a context word nearby (``cpr``, ``bsn``) to pass the default threshold.
"""

from __future__ import annotations

from datetime import date

from presidio_analyzer import Pattern, PatternRecognizer

__all__ = [
    "DkCprRecognizer",
    "NoFodselsnummerRecognizer",
    "EeIsikukoodRecognizer",
    "NlBsnRecognizer",
    "BeNationalNumberRecognizer",
    "FrNirRecognizer",
    "EU_RECOGNIZERS",
]

ENTITY = "NATIONAL_ID"


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


class _IdRecognizer(PatternRecognizer):
    PATTERNS: list[Pattern] = []
    CONTEXT: list[str] = []

    def __init__(self, supported_language: str = "en", supported_entity: str = ENTITY):
        super().__init__(
            supported_entity=supported_entity,
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            name=type(self).__name__,
        )


class DkCprRecognizer(_IdRecognizer):
    """Danish CPR-nummer ``DDMMYY-SSSS``: a real birth date; no check digit since 2007, so the score stays modest
    and a context word (``cpr``) lifts it."""

    PATTERNS = [Pattern("DK CPR", r"\b(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d{2}-\d{4}\b", 0.4)]
    CONTEXT = ["cpr", "cpr-nummer", "personnummer", "cpr-nr"]

    def validate_result(self, pattern_text: str) -> bool | None:
        d = _digits(pattern_text)
        # a real date keeps the pattern's score (None); no check digit can raise it
        return None if _real_date(2000 + int(d[4:6]), int(d[2:4]), int(d[0:2])) else False


class NoFodselsnummerRecognizer(_IdRecognizer):
    """Norwegian fødselsnummer (11 digits, birth date DDMMYY, two mod-11 check digits)."""

    PATTERNS = [Pattern("NO fødselsnummer", r"\b[0-7]\d[01]\d{3} ?\d{5}\b", 0.3)]
    CONTEXT = ["fødselsnummer", "fodselsnummer", "fnr", "personnummer"]

    def validate_result(self, pattern_text: str) -> bool:
        d = [int(c) for c in _digits(pattern_text)]
        if len(d) != 11:
            return False
        w1, w2 = (3, 7, 6, 1, 8, 9, 4, 5, 2), (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
        k1 = 11 - sum(a * b for a, b in zip(w1, d[:9], strict=True)) % 11
        k1 = 0 if k1 == 11 else k1
        k2 = 11 - sum(a * b for a, b in zip(w2, d[:10], strict=True)) % 11
        k2 = 0 if k2 == 11 else k2
        return k1 == d[9] and k2 == d[10]


class EeIsikukoodRecognizer(_IdRecognizer):
    """Estonian isikukood (11 digits: century/sex, YYMMDD, serial, a two-stage mod-11 check digit)."""

    PATTERNS = [Pattern("EE isikukood", r"\b[1-8]\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{4}\b", 0.4)]
    CONTEXT = ["isikukood", "personal code", "isikukoodi"]

    def validate_result(self, pattern_text: str) -> bool:
        d = [int(c) for c in pattern_text]
        for weights in ((1, 2, 3, 4, 5, 6, 7, 8, 9, 1), (3, 4, 5, 6, 7, 8, 9, 1, 2, 3)):
            check = sum(a * b for a, b in zip(weights, d[:10], strict=True)) % 11
            if check != 10:
                break
        else:
            check = 0
        return check == d[10]


class NlBsnRecognizer(_IdRecognizer):
    """Dutch burgerservicenummer (9 digits, the 11-proof). Any 9-digit number passes 1 in 11 times, so it needs a
    context word (``bsn``) to pass the default threshold."""

    PATTERNS = [Pattern("NL BSN", r"\b\d{4}\.?\d{2}\.?\d{3}\b", 0.3)]
    CONTEXT = ["bsn", "burgerservicenummer", "sofinummer"]

    def validate_result(self, pattern_text: str) -> bool:
        d = [int(c) for c in _digits(pattern_text)]
        if len(d) != 9:
            return False
        total = sum(w * x for w, x in zip(range(9, 1, -1), d[:8], strict=True)) - d[8]
        return total % 11 == 0 and total != 0


class BeNationalNumberRecognizer(_IdRecognizer):
    """Belgian rijksregisternummer / numéro national ``YY.MM.DD-SSS.CC`` (check = 97 - n mod 97, with a ``2``
    prefix for people born from 2000)."""

    PATTERNS = [Pattern("BE national number", r"\b\d{2}\.?\d{2}\.?\d{2}-?\d{3}\.?\d{2}\b", 0.4)]
    CONTEXT = ["rijksregisternummer", "numéro national", "national number", "insz", "niss"]

    def validate_result(self, pattern_text: str) -> bool:
        d = _digits(pattern_text)
        if len(d) != 11:
            return False
        body, check = int(d[:9]), int(d[9:])
        return check in (97 - body % 97, 97 - int("2" + d[:9]) % 97)


class FrNirRecognizer(_IdRecognizer):
    """French NIR (numéro de sécurité sociale): sex, YY, MM, department (incl. 2A/2B), commune, order, and a
    two-digit key = 97 - n mod 97."""

    PATTERNS = [
        Pattern(
            "FR NIR",
            r"\b[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}\b",
            0.4,
        )
    ]
    CONTEXT = ["nir", "sécurité sociale", "securite sociale", "insee", "numéro de sécu"]

    def validate_result(self, pattern_text: str) -> bool:
        raw = pattern_text.replace(" ", "").upper()
        if len(raw) != 15:
            return False
        body = raw[:13].replace("2A", "19").replace("2B", "18")
        if not body.isdigit():
            return False
        return 97 - int(body) % 97 == int(raw[13:])


EU_RECOGNIZERS = (
    DkCprRecognizer,
    NoFodselsnummerRecognizer,
    EeIsikukoodRecognizer,
    NlBsnRecognizer,
    BeNationalNumberRecognizer,
    FrNirRecognizer,
)
