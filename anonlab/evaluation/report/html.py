"""The building blocks of anonlab's HTML reports: the page, tables, embedded images, escaping.

Reports are one self-contained file: inline CSS, plots embedded as base64 PNG, no scripts, no links out. Every
text from the data (column names, labels) is escaped here.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
from typing import Any

__all__ = ["CSS", "NOTEBOOK_CSS", "esc", "img", "fmt", "table", "page", "guide"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1150px;
color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}h3{margin-top:1.5em}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}th,td{border:1px solid #ccc;padding:.25em .55em;
text-align:left;vertical-align:top}th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
.good,.low{background:#e3f4e1}.fair,.moderate{background:#fff4d6}.poor,.high{background:#fbe0df}
.note{background:#f6f8fa;border-left:4px solid #999;padding:.4em .8em;margin:.6em 0}
img{max-width:100%;height:auto;display:block;margin:.6em 0}code{background:#f3f3f3;padding:0 .2em}
.small{font-size:.85em;color:#555}.warn{border-left-color:#c0392b;background:#fbe0df}
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


def img(png: bytes | None, alt: str) -> str:
    if not png:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def table(headers: list[str], rows: list[list[Any]], classes: list[list[str]] | None = None) -> str:
    out = ["<table><tr>", *(f"<th>{esc(h)}</th>" for h in headers), "</tr>"]
    for i, row in enumerate(rows):
        out.append("<tr>")
        for j, v in enumerate(row):
            cls = classes[i][j] if classes else ""
            num = isinstance(v, int | float) and not isinstance(v, bool)
            c = " ".join(x for x in (cls, "num" if num else "") if x)
            out.append(f'<td class="{c}">{esc(fmt(v))}</td>' if c else f"<td>{esc(fmt(v))}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def page(title: str, body: str, versions: dict[str, str]) -> str:
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    vers = ", ".join(f"{k} {v}" for k, v in versions.items())
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{esc(title)}</title>"
        f"<style>{CSS}</style></head><body>\n<h1>{esc(title)}</h1>\n{body}\n"
        f"<p class='small'>Generated {stamp} by anonlab. Versions: {esc(vers)}.</p>\n</body></html>\n"
    )


def guide() -> str:
    from anonlab.evaluation.verdicts import RULE

    return (
        "<p class='small'>Utility verdicts: good / fair / poor; risk verdicts: low / moderate / high; n/a: not "
        "computed, with the reason. Only differentially private releases carry a formal guarantee, stated under "
        "'privacy spent'; the risk figures here are empirical attacks, which can show a release is unsafe but "
        f"cannot prove it safe.</p><p class='small'><b>Verdict rule.</b> {esc(RULE)}</p>"
    )
