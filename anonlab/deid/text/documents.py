"""Redacting files: a text file, a folder of text files, text columns of a table, fields of a JSON Lines file.

The subject of each document (whose dates are shifted) comes from a column or field (``subject=``) for tables and
JSON Lines, and from a mapping of file name to subject (``subjects=``) for text files. The review file lists every
detection (document, span, type, score, recognizer, whether it was replaced, and the original text of the span): it
is as secret as the input, written owner-only and refused inside the output's folder; nothing of it is printed.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anonlab.deid.text.redactor import Detection, TextRedactor
from anonlab.errors import InputError, UsageError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TextRedactionReport", "redact_table", "redact_file", "write_review", "input_kind"]


@dataclass(frozen=True)
class TextRedactionReport:
    """What a redaction did, in counts: never a detected text, a pseudonym or a subject."""

    kind: str
    documents: int
    characters: int
    detections: dict[str, int]
    replaced: dict[str, int]
    operators: dict[str, str]
    seconds: float
    columns: list[str] = field(default_factory=list)

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "documents": self.documents,
            "characters": self.characters,
            "columns": self.columns,
            "detections": self.detections,
            "replaced": self.replaced,
            "operators": self.operators,
            "seconds": round(self.seconds, 3),
            "documents_per_second": round(self.documents_per_second, 2),
        }


def input_kind(path: str | os.PathLike) -> str:
    """``"folder"``, ``"txt"``, ``"jsonl"`` or ``"table"`` (CSV/TSV/Parquet), from the path."""
    p, name = Path(path), str(path).lower()
    if p.is_dir():
        return "folder"
    if name.endswith(".txt"):
        return "txt"
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    from anonlab.io import table_format

    table_format(path)  # UsageError naming the accepted formats
    return "table"


def _run(redactor: TextRedactor, items, progress: bool):
    """Redact ``(document, text, subject)`` items; returns (texts, detections)."""
    from tqdm import tqdm

    texts, detections = [], []
    for doc, text, subject in tqdm(items, disable=not progress, unit="doc", leave=False):
        out = redactor.redact(text, subject=subject, document=doc)
        texts.append(out.text)
        detections.extend(out.detections)
    return texts, detections


def redact_table(
    df: pd.DataFrame,
    *,
    columns,
    redactor: TextRedactor,
    subject: str | None = None,
    source: str = "input",
    progress: bool = False,
) -> tuple[pd.DataFrame, list[Detection]]:
    """Redact the text ``columns`` of ``df``; ``subject``: the column naming each row's subject (for date shifts,
    the same column as ``pseudonymize(by=)``). Documents are named ``column:row`` (rows from 1). Missing cells stay
    missing. Returns (a new table, every detection)."""
    from anonlab.deid.encoded_table import require_named

    columns = [columns] if isinstance(columns, str) else list(columns or [])
    if not columns:
        raise UsageError("columns= must name the text columns to redact")
    require_named(df, columns + ([subject] if subject else []), "columns", source)
    if subject in columns:
        raise UsageError(f"subject={subject!r} is also in columns=: the subject column is not redacted")
    out, found = df.copy(), []
    subjects = df[subject].astype("string") if subject else None
    for col in columns:
        cells = df[col]
        missing = cells.isna().to_numpy()
        rows = [i for i in range(len(df)) if not missing[i]]
        bad = [i for i in rows if not isinstance(cells.iat[i], str)]
        if bad:
            raise InputError(
                f"{source}: column {col!r}, row {bad[0] + 1}: not text ({type(cells.iat[bad[0]]).__name__})"
            )
        items = [
            (
                f"{col}:{i + 1}",
                cells.iat[i],
                None if subjects is None or subjects.isna().iat[i] else subjects.iat[i],
            )
            for i in rows
        ]
        texts, dets = _run(redactor, items, progress)
        new = cells.astype(object).copy()
        for i, t in zip(rows, texts, strict=True):
            new.iat[i] = t
        out[col] = new
        found.extend(dets)
    return out, found


def _read_subjects(subjects) -> dict[str, str]:
    if subjects is None:
        return {}
    if isinstance(subjects, dict):
        return {str(k): str(v) for k, v in subjects.items()}
    from anonlab.io import read_table

    df = read_table(subjects, text_columns=["file", "subject"], infer=False)
    if list(df.columns[:2]) != ["file", "subject"]:
        raise InputError(
            f"{subjects}: a subjects file has the columns file,subject (found {list(df.columns)})"
        )
    return dict(zip(df["file"].astype(str), df["subject"].astype(str), strict=True))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def _jsonl(path: Path, fields: list[str], subject: str | None):
    records = []
    for n, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: line {n}: not JSON ({exc.msg})") from None
        if not isinstance(rec, dict):
            raise InputError(f"{path}: line {n}: not a JSON object")
        for f in fields:
            if f in rec and rec[f] is not None and not isinstance(rec[f], str):
                raise InputError(f"{path}: line {n}: field {f!r} is not text")
        if subject and subject not in rec:
            raise InputError(f"{path}: line {n}: no subject field {subject!r}")
        records.append((n, rec))
    return records


def write_review(detections: list[Detection], path: str | os.PathLike, force: bool = False) -> Path:
    """Write every detection as CSV (owner-only, atomically): ``document, start, end, entity_type, score,
    recognizer, replaced, text``. The text column makes it as secret as the input."""
    import pandas as pd

    from anonlab.io import write_text

    cols = ["document", "start", "end", "entity_type", "score", "recognizer", "replaced", "text"]
    df = pd.DataFrame([d.to_dict() for d in detections], columns=cols)
    return write_text(path, df.to_csv(index=False), force=force, mode=0o600)


def _check_paths(input, output, review, kind, force) -> None:
    from anonlab.io import check_output, guard_outputs, refuse_inside

    guard_outputs([output, review], {"input": input})
    if Path(output).resolve() == Path(input).resolve():
        raise UsageError(f"{output}: the output would replace the input; inputs are never modified")
    if kind == "folder":
        out = Path(output)
        if out.exists() and not out.is_dir():
            raise UsageError(f"{output}: the input is a folder, so the output must be a folder")
        if Path(input).resolve() in out.resolve().parents:
            raise UsageError(f"{output}: the output folder lies inside the input folder")
    else:
        if kind == "table":
            from anonlab.io import table_format

            table_format(output)
        check_output(output, force)
    if review:
        refuse_inside(review, Path(output).resolve() if kind == "folder" else Path(output).resolve().parent,
                      "review file", "the output's folder")  # fmt: skip
        check_output(review, force)


def redact_file(
    input: str | os.PathLike,
    output: str | os.PathLike,
    *,
    redactor: TextRedactor | None = None,
    columns=None,
    subject: str | None = None,
    subjects=None,
    review: str | os.PathLike | None = None,
    force: bool = False,
    progress: bool = False,
    **params,
) -> TextRedactionReport:
    """Redact a file or a folder of ``.txt`` files into ``output`` (same kind), and write the review file.

    Parameters
    ----------
    input : a ``.txt`` file, a folder of ``.txt`` files (each redacted to the same name in the ``output`` folder),
        a CSV/TSV/Parquet table (``columns`` = its text columns) or a ``.jsonl`` file (``columns`` = the text fields,
        default ``["text"]``). Never modified.
    subject : the column (table) or field (JSON Lines) naming the subject of each record, for date shifts.
    subjects : for text files: a mapping ``{file name: subject}`` or a CSV with columns ``file,subject``.
    review : where to write every detection (see :func:`write_review`); refused inside the output's folder.
    redactor : a :class:`TextRedactor`; or its parameters as keywords (``operators=``, ``key=``, ...).
    """
    from anonlab.io import read_table, write_table, write_text

    if redactor is None:
        redactor = TextRedactor(**params)
    elif params:
        raise UsageError(f"give redactor= or its parameters, not both ({', '.join(params)})")
    kind = input_kind(input)
    _check_paths(input, output, review, kind, force)
    t0 = time.perf_counter()
    columns = [columns] if isinstance(columns, str) else list(columns or [])
    if kind == "table":
        df = read_table(input, text_columns=columns + ([subject] if subject else []), infer=True)
        out, dets = redact_table(df, columns=columns, redactor=redactor, subject=subject, source=str(input),
                                 progress=progress)  # fmt: skip
        n = int(sum(df[c].notna().sum() for c in columns))
        chars = int(sum(df[c].map(lambda v: len(v) if isinstance(v, str) else 0).sum() for c in columns))
        write_table(out, output, force=force)
    elif kind == "jsonl":
        fields = columns or ["text"]
        records = _jsonl(Path(input), fields, subject)
        items = [
            (f"line {n}:{f}", rec[f], str(rec[subject]) if subject else None)
            for n, rec in records
            for f in fields
            if isinstance(rec.get(f), str)
        ]
        texts, dets = _run(redactor, items, progress)
        it = iter(texts)
        for _, rec in records:
            for f in fields:
                if isinstance(rec.get(f), str):
                    rec[f] = next(it)
        write_text(output, "".join(json.dumps(r, ensure_ascii=False) + "\n" for _, r in records), force=force)
        n, chars = len(items), sum(len(t) for _, t, _ in items)
    else:
        if columns or subject:
            raise UsageError("columns= and subject= are for tables and JSON Lines; text files take subjects=")
        mapping = _read_subjects(subjects)
        files = [Path(input)] if kind == "txt" else sorted(Path(input).glob("*.txt"))
        if not files:
            raise InputError(f"{input}: no .txt files in the folder")
        items = [(f.name, _read_text(f), mapping.get(f.name)) for f in files]
        texts, dets = _run(redactor, items, progress)
        if kind == "txt":
            write_text(output, texts[0], force=force)
        else:
            from anonlab.io import ensure_folder

            ensure_folder(output)
            for f, t in zip(files, texts, strict=True):
                write_text(Path(output) / f.name, t, force=force)
        n, chars = len(items), sum(len(t) for _, t, _ in items)
    seconds = time.perf_counter() - t0
    if review:
        write_review(dets, review, force=force)
    return TextRedactionReport(
        kind=kind,
        documents=n,
        characters=chars,
        detections=dict(sorted(Counter(d.entity_type for d in dets).items())),
        replaced=dict(sorted(Counter(d.entity_type for d in dets if d.replaced).items())),
        operators=dict(redactor.operators),
        seconds=seconds,
        columns=columns if kind in ("table", "jsonl") else [],
    )
