"""The building blocks of anonlab's HTML reports: the page and its one stylesheet, the table of contents, tables
that scroll inside their own box, embedded images, collapsible sections, escaping.

Reports are one self-contained file: one inline stylesheet in the page's head (never repeated per section), plots
embedded as base64 PNG (palette-reduced, :mod:`.plots`), no scripts, no links out; the only links are the table
of contents' links to anchors in the page, whose ids are slugs (:func:`slug`). Every text from the data (column
names, labels) is escaped here.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
import re
import unicodedata
from typing import Any

__all__ = [
    "CSS",
    "NOTEBOOK_CSS",
    "Outline",
    "esc",
    "img",
    "figure",
    "fmt",
    "table",
    "page",
    "guide",
    "explain",
    "note",
    "slug",
    "chips",
]

CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0 auto;max-width:1180px;
padding:1.2em 1.6em 3em;color:#1f2328;line-height:1.5;font-size:16px;background:#fff}
h1{font-size:1.75em;margin:.3em 0 .5em;line-height:1.25}
h2{font-size:1.4em;border-bottom:2px solid #d0d7de;padding-bottom:.2em;margin-top:2.2em}
h3{font-size:1.15em;margin-top:1.7em}h4{font-size:1.02em;margin-top:1.3em}
p{max-width:62em}
.scroll{overflow-x:auto;max-width:100%;margin:.6em 0 1em}
table{border-collapse:collapse;font-size:.9em}
th,td{border:1px solid #d0d7de;padding:.3em .6em;text-align:left;vertical-align:top}
td{overflow-wrap:break-word;max-width:34em}th{background:#eef1f4;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.v{font-weight:600;text-transform:uppercase;font-size:.85em;white-space:nowrap}
.good,.low{background:#dcf1d8}.fair,.moderate{background:#fff0c2}.poor,.high{background:#fad7d4}
.note{background:#f6f8fa;border-left:4px solid #8c959f;padding:.45em .9em;margin:.6em 0;max-width:62em}
.warn{border-left-color:#c0392b;background:#fbe4e2}
.explain{background:#eef5fc;border-left:4px solid #0072b2;padding:.5em .9em;margin:.7em 0 1em;max-width:62em}
nav.toc{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.5em 1.2em .7em;margin:1em 0 1.5em}
nav.toc h2{border:0;margin:.3em 0;font-size:1.1em}nav.toc ol{margin:.1em 0;padding-left:1.5em}
nav.toc ol ol{font-size:.93em}nav.toc a{color:#0550ae;text-decoration:none}nav.toc a:hover{text-decoration:underline}
figure{margin:1em 0 1.5em}figure.hero img{width:100%}figcaption{color:#57606a;font-size:.9em;max-width:62em}
.figrow{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:0 1.2em;align-items:start}
img{max-width:100%;height:auto;display:block;margin:.4em 0}
details.part{border:1px solid #d0d7de;border-radius:6px;margin:.9em 0;padding:0 1em}
details.part>summary{cursor:pointer;padding:.6em 0;font-weight:600;font-size:1.08em}
details.part[open]>summary{border-bottom:1px solid #d0d7de;margin-bottom:.4em}
details.more>summary{cursor:pointer;color:#0550ae;margin:.4em 0}
.chip{display:inline-block;border-radius:1em;padding:0 .6em;margin:0 .25em .2em 0;font-size:.82em;
font-weight:600;border:1px solid #d0d7de;white-space:nowrap}
.small{font-size:.88em;color:#57606a}code{background:#eef1f4;padding:0 .25em;border-radius:3px}
a{color:#0550ae}
"""

#: The colours of verdicts and notes for a notebook's display, confined to ``<div class='anonlab'>`` (a notebook
#: page's own layout is left alone).
NOTEBOOK_CSS = """
.anonlab .good,.anonlab .low{background:#e3f4e1}.anonlab .fair,.anonlab .moderate{background:#fff4d6}
.anonlab .poor,.anonlab .high{background:#fbe0df}
.anonlab .note{border-left:4px solid #999;padding:.2em .6em;margin:.3em 0}.anonlab .warn{border-left-color:#c0392b}
.anonlab td.num{text-align:right;font-variant-numeric:tabular-nums}.anonlab .small{font-size:.85em}
"""


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def slug(text: str) -> str:
    """An id for an anchor: ASCII letters, digits and hyphens only (``"mst eps=0.3"`` -> ``"mst-eps-0-3"``)."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    s = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return s or "section"


class Outline:
    """The anchors of one page and its table of contents. :meth:`heading` gives each heading a unique slug id;
    those added with ``toc=True`` are listed by :meth:`toc` (nested by level)."""

    def __init__(self) -> None:
        self.entries: list[tuple[int, str, str]] = []
        self._ids: set[str] = set()

    def id(self, text: str) -> str:
        """A slug of ``text`` not yet used on this page."""
        base = slug(text)
        out, n = base, 2
        while out in self._ids:
            out, n = f"{base}-{n}", n + 1
        self._ids.add(out)
        return out

    def add(self, level: int, anchor: str, text: str) -> None:
        self.entries.append((level, anchor, text))

    def heading(self, level: int, text: str, *, key: str | None = None, toc: bool = True) -> str:
        anchor = self.id(key or text)
        if toc:
            self.add(level, anchor, text)
        return f"<h{level} id='{anchor}'>{esc(text)}</h{level}>"

    def toc(self) -> str:
        if not self.entries:
            return ""
        top = min(level for level, _, _ in self.entries)
        out, depth = ["<nav class='toc' aria-label='Contents'><h2>Contents</h2>"], top - 1
        for level, anchor, text in self.entries:
            while depth < level:
                out.append("<ol>")
                depth += 1
            while depth > level:
                out.append("</li></ol>")
                depth -= 1
            if out[-1] != "<ol>":
                out.append("</li>")
            out.append(f"<li><a href='#{anchor}'>{esc(text)}</a>")
        while depth >= top:
            out.append("</li></ol>")
            depth -= 1
        out.append("</nav>")
        return "".join(out)


def img(png: bytes | None, alt: str) -> str:
    if not png:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def figure(
    png: bytes | None, alt: str, caption: str = "", anchor: str | None = None, hero: bool = False
) -> str:
    """An image with its caption (escaped), at its own size (never wider than the page); ``hero``: full width."""
    if not png:
        return ""
    ident = f" id='{anchor}'" if anchor else ""
    cls = " class='hero'" if hero else ""
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f"<figure{ident}{cls}>{img(png, alt)}{cap}</figure>"


def fmt(v: Any) -> str:
    """A cell as a person reads it: floats to 3 decimals (a small non-zero value such as a delta of 1e-9 in
    scientific form, never ``0.000``), integers with thousands separators, ``n/a`` for ``None`` or NaN."""
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "n/a"
        if v != 0 and abs(v) < 0.001:
            mant, exp = f"{v:.2g}".split("e") if "e" in f"{v:.2g}" else (f"{v:.2g}", "")
            return f"{mant}e{int(exp)}" if exp else mant
        return f"{v:.3f}"
    if isinstance(v, list | tuple):
        return ", ".join(fmt(x) for x in v) if v else "none"
    return str(v)


def table(
    headers: list[str],
    rows: list[list[Any]],
    classes: list[list[str]] | None = None,
    *,
    raw: set[int] | None = None,
) -> str:
    """A table inside a box that scrolls sideways when it is wider than the page (the page itself never does).
    Cells are escaped, except the columns in ``raw`` (HTML built by the caller, e.g. a link)."""
    raw = raw or set()
    out = [
        "<div class='scroll'><table><thead><tr>",
        *(f"<th>{esc(h)}</th>" for h in headers),
        "</tr></thead>",
    ]
    out.append("<tbody>")
    for i, row in enumerate(rows):
        out.append("<tr>")
        for j, v in enumerate(row):
            cls = classes[i][j] if classes else ""
            num = isinstance(v, int | float) and not isinstance(v, bool)
            c = " ".join(x for x in (cls, "num" if num else "") if x)
            text = v if j in raw else esc(fmt(v))
            out.append(f'<td class="{c}">{text}</td>' if c else f"<td>{text}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def explain(text: str) -> str:
    """A "what this means" paragraph for readers who are not specialists."""
    return f"<div class='explain'><b>What this means.</b> {esc(text)}</div>" if text else ""


def note(text: str, warn: bool = False) -> str:
    if warn:
        return f"<div class='note warn'><b>Warning:</b> {esc(text)}</div>"
    return f"<div class='note'>{esc(text)}</div>"


_ORDER = {"high": 0, "poor": 0, "moderate": 1, "fair": 1, "low": 2, "good": 2, "n/a": 3}


def chips(counts: dict[str, int]) -> str:
    """Verdict counts as coloured chips ("2 good", "1 high"), worst first."""
    items = sorted(counts.items(), key=lambda kv: (_ORDER.get(kv[0], 4), kv[0]))
    return "".join(f"<span class='chip {esc(v)}'>{n} {esc(v)}</span>" for v, n in items if n)


def page(title: str, body: str, versions: dict[str, str], toc: str = "", intro: str = "") -> str:
    """The whole page: ``title``, ``intro`` (what a reader needs before the contents), the table of contents
    ``toc`` (from :meth:`Outline.toc`), ``body``, and a footer with the time and the versions. The stylesheet is
    written once, here."""
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    vers = ", ".join(f"{k} {v}" for k, v in versions.items())
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{esc(title)}</title>"
        f"<style>{CSS}</style></head><body>\n<h1>{esc(title)}</h1>\n{intro}\n{toc}\n{body}\n"
        f"<p class='small'>Generated {stamp} by anonlab. Versions: {esc(vers)}.</p>\n</body></html>\n"
    )


def guide() -> str:
    """How to read the verdicts, and the verdict rule applied, in words."""
    from anonlab.evaluation.verdicts import RISK_RULE, UTILITY_RULE

    return (
        "<p>Utility verdicts: <b>good / fair / poor</b>; risk verdicts: <b>low / moderate / high</b>; "
        "<b>n/a</b>: not computed or not judged, with the reason. Only differentially private releases carry a "
        "formal guarantee, stated under 'Privacy'; the risk figures are empirical attacks, which can show a "
        "release is unsafe but cannot prove it safe.</p>"
        f"<p><b>Verdict rule.</b> {esc(UTILITY_RULE)}</p><p><b>Risk rule.</b> {esc(RISK_RULE)}</p>"
    )
