"""Matplotlib figures for the reports, returned as PNG bytes (the reports embed them as base64).

Each function draws from an :class:`~anonlab.evaluation.result.Evaluation` (or a study's rows) and never
recomputes a metric. The Agg backend is used, so no display is needed. PNGs are reduced to a 64-colour palette
(plots have few colours), which keeps a study's report small.

The frontier (:func:`frontier_plot`) is the study report's main figure: axes fitted to the releases (a point far
outside them, typically the copy of the training records, is drawn as an arrow at the edge with its values
written beside it), labels placed so that they never overlap (:func:`place_labels`), one colour per method and one
marker per parameter, the same in every frontier of a study (:func:`release_styles`), and the risk figure's 95%
interval as a bar where it is known.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from anonlab.evaluation.result import Evaluation

__all__ = [
    "distribution_overlays",
    "association_heatmaps",
    "frontier_plot",
    "marginal_bars",
    "pareto_front",
    "release_styles",
    "place_labels",
    "Style",
]

_REAL, _RELEASE = "#0072B2", "#E69F00"
#: Okabe-Ito colours (readable by colour-blind readers), one per method in the order the study names them.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999933")
#: One marker per parameter value of a method, in the order the study names them.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: Font sizes of the report's figures (points; figures are drawn at about the width they are shown).
FONT = {"font.size": 12, "axes.titlesize": 14, "axes.labelsize": 13, "legend.fontsize": 11}


def _png(fig, dpi: int = 96) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    plt.close(fig)
    return _small_png(buf.getvalue())


def _small_png(png: bytes) -> bytes:
    """``png`` reduced to a 64-colour palette and optimised (Pillow, which matplotlib depends on); the original
    where that is not smaller."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - matplotlib requires Pillow
        return png
    im = Image.open(io.BytesIO(png)).convert("RGB")
    pal = im.quantize(colors=64, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    # the octree averages the white background with its neighbours: keep it the page's white
    background = max(pal.getcolors(), key=lambda c: c[0])[1]
    colours = pal.getpalette()
    if min(colours[3 * background : 3 * background + 3]) > 235:
        colours[3 * background : 3 * background + 3] = [255, 255, 255]
        pal.putpalette(colours)
    out = io.BytesIO()
    pal.save(out, format="PNG", optimize=True)
    small = out.getvalue()
    return small if len(small) < len(png) else png


def check_installed() -> None:
    """Raise :class:`~anonlab.errors.MissingExtraError` now if matplotlib (``anonlab[eval]``) is missing, so a
    command that will draw figures says so before its long work rather than after it."""
    from anonlab.errors import require_extra

    require_extra("eval", "matplotlib", "drawing the report's figures")


def _plt():
    from anonlab.errors import require_extra

    matplotlib = require_extra("eval", "matplotlib", "drawing the report's figures")

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def distribution_overlays(ev: Evaluation, max_columns: int = 24, max_bars: int = 20) -> bytes:
    """One panel per column: real (blue) and release (orange) shares of each bin or category (the ``max_bars``
    most frequent categories where there are more)."""
    import numpy as np

    plt = _plt()
    cols = list(ev.distributions)[:max_columns]
    n = max(1, len(cols))
    ncol = min(3, n)
    nrow = (n + ncol - 1) // ncol
    with plt.rc_context(FONT):
        fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.2 * nrow), squeeze=False)
        for ax, c in zip(axes.ravel(), cols, strict=False):
            d = ev.distributions[c]
            labels, p, q = d["labels"], np.array(d["real"]), np.array(d["release"])
            if len(labels) > max_bars and ev.kinds.get(c) != "numeric":
                top = np.argsort(-(p + q))[:max_bars]
                top.sort()
                labels, p, q = [labels[i] for i in top], p[top], q[top]
            x = np.arange(len(labels))
            ax.bar(x - 0.2, p, 0.4, color=_REAL, label="real")
            ax.bar(x + 0.2, q, 0.4, color=_RELEASE, label="release")
            ax.set_title(f"{c} ({ev.kinds.get(c, '')})", fontsize=12)
            ax.set_xticks(x)
            ax.set_xticklabels(
                [_tick(s) for s in labels], rotation=55, ha="right", rotation_mode="anchor", fontsize=9
            )
            ax.tick_params(axis="y", labelsize=9)
            ax.grid(axis="y", alpha=0.3)
        for ax in axes.ravel()[len(cols) :]:
            ax.axis("off")
        axes.ravel()[0].legend(fontsize=10)
        fig.tight_layout()
        return _png(fig, dpi=80)


def _tick(label: Any, width: int = 11) -> str:
    text = str(label)
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def association_heatmaps(ev: Evaluation) -> list[tuple[str, bytes]]:
    """One heat map per association kind of the release-minus-real difference (red = stronger in the release)."""
    import numpy as np

    plt = _plt()
    out = []
    names = {
        "pearson": "Pearson correlation",
        "cramers_v": "Cramer's V",
        "theils_u": "Theil's U (row | column)",
    }
    for a in ev.associations:
        if len(a.columns) < 2:
            continue
        diff = np.array(a.release, dtype=float) - np.array(a.real, dtype=float)
        k = len(a.columns)
        with plt.rc_context(FONT):
            side = max(3.4, 1.6 + 0.45 * k)
            fig, ax = plt.subplots(figsize=(side + 0.6, side))
            im = ax.imshow(diff, cmap="RdBu_r", vmin=-1, vmax=1)
            ax.set_xticks(range(k))
            ax.set_yticks(range(k))
            ax.set_xticklabels(
                [_tick(c, 14) for c in a.columns],
                rotation=55,
                ha="right",
                rotation_mode="anchor",
                fontsize=10,
            )
            ax.set_yticklabels([_tick(c, 14) for c in a.columns], fontsize=10)
            if k <= 10:
                for i in range(k):
                    for j in range(k):
                        if np.isfinite(diff[i, j]) and i != j:
                            ax.text(j, i, f"{diff[i, j]:.2f}", ha="center", va="center", fontsize=8)
            fig.colorbar(im, ax=ax, fraction=0.046)
            ax.set_title(f"{names[a.kind]}", fontsize=12)
            fig.tight_layout()
            out.append((names[a.kind], _png(fig, dpi=105)))
    return out


def marginal_bars(ev: Evaluation, top: int = 15) -> bytes | None:
    """The 2-way column pairs with the largest TVD (where relations were lost)."""
    plt = _plt()
    m = ev.marginal(2)
    if m is None or not m.per_set:
        return None
    items = sorted(m.per_set.items(), key=lambda kv: -kv[1])[:top][::-1]
    with plt.rc_context(FONT):
        fig, ax = plt.subplots(figsize=(9, 0.32 * len(items) + 1.2))
        ax.barh([k.replace("|", " x ") for k, _ in items], [v for _, v in items], color=_RELEASE)
        ax.set_xlabel("total variation distance (0 identical, 1 disjoint)")
        ax.set_xlim(0, max(0.05, max(v for _, v in items) * 1.1))
        ax.tick_params(axis="y", labelsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.set_title("Worst 2-way marginals", loc="left")
        fig.tight_layout()
        return _png(fig, dpi=80)


@dataclass(frozen=True)
class Style:
    """How one release is drawn in every frontier of a study: its method's colour, its parameter's marker, and
    hollow for a non-private baseline."""

    color: str
    marker: str
    hollow: bool


def release_styles(rows: list[dict[str, Any]]) -> dict[str, Style]:
    """Label -> :class:`Style` for the rows of a study: one colour per method (in the order the rows name them)
    and one marker per parameter within a method, so a release looks the same in every plot."""
    methods: dict[str, list[str]] = {}
    for r in rows:
        methods.setdefault(r["method"], []).append(r["label"])
    out = {}
    for i, labels in enumerate(methods.values()):
        for j, label in enumerate(labels):
            row = next(r for r in rows if r["label"] == label)
            out[label] = Style(
                PALETTE[i % len(PALETTE)], MARKERS[j % len(MARKERS)], bool(row.get("baseline"))
            )
    return out


def _short_label(r: dict[str, Any]) -> str:
    """A point's label: its parameter (``ε=1``, ``k=5``) after the method's name where the method has several."""
    param = str(r.get("param") or "").replace("eps=", "\u03b5=")
    if r["method"] == "copy":
        return "copy of train"
    method = r["method"].split(" (")[0]  # "k-anonymity (mondrian)": the legend names the algorithm
    return f"{method} {param}".strip() if param else method


def _axis_limits(values: list[float], errors: list[tuple[float, float]], reference: float | None):
    """Limits that fit ``values`` and their intervals (and ``reference``, e.g. 0.5 for an AUC, when it is near),
    with a margin."""
    lo = min([*values, *(e[0] for e in errors)])
    hi = max([*values, *(e[1] for e in errors)])
    if reference is not None and lo - (hi - lo) <= reference <= hi + (hi - lo):
        lo, hi = min(lo, reference), max(hi, reference)
    span = max(hi - lo, 0.02)
    return lo - 0.12 * span, hi + 0.12 * span


def place_labels(ax, points, texts, fontsize: float = 11, lines=()) -> list[tuple[float, float, bool]]:
    """Place one label per point so that no two labels overlap each other, a marker or the axes' edge.

    ``points`` are data coordinates; returns, per label, its offset from its point in display points and whether
    it needs a leader line. Deterministic: points are taken from left to right, and each label takes the first
    free spot among eight directions at growing distances (the nearest ring first); where none is free, the
    spot that overlaps least. ``lines`` are polylines in data coordinates that labels should avoid crossing
    (lighter than markers: a label may cross a line where nothing else is free).
    """
    import numpy as np
    from matplotlib.text import Text

    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    px = fig.dpi / 72.0
    disp = ax.transData.transform(np.asarray(points, dtype=float).reshape(-1, 2))
    frame = ax.get_window_extent(renderer)
    sizes = []
    for t in texts:
        tx = Text(0, 0, t, fontsize=fontsize, figure=fig)
        bb = tx.get_window_extent(renderer)
        sizes.append((bb.width + 4, bb.height + 2))
    marker = 7 * px
    blocked = [(x - marker, y - marker, x + marker, y + marker) for x, y in disp]
    strokes = []  # small boxes along each line, every 6 px
    for line in lines:
        d = ax.transData.transform(np.asarray(line, dtype=float).reshape(-1, 2))
        for (x0, y0), (x1, y1) in zip(d[:-1], d[1:], strict=True):
            n = max(2, int(np.hypot(x1 - x0, y1 - y0) / 6))
            for t in np.linspace(0, 1, n):
                x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
                strokes.append((x - 2, y - 2, x + 2, y + 2))
    placed: list[tuple[float, float, float, float]] = []
    dirs = [(1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1)]
    result: list[tuple[float, float, bool]] = [(0.0, 0.0, False)] * len(texts)

    def overlap(a, b) -> float:
        w = min(a[2], b[2]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[1], b[1])
        return w * h if w > 0 and h > 0 else 0.0

    def box(i, dx, dy, r):
        x, y = disp[i]
        w, h = sizes[i]
        ox, oy = x + dx * r * px, y + dy * r * px
        x0 = ox if dx > 0 else ox - w if dx < 0 else ox - w / 2
        y0 = oy if dy > 0 else oy - h if dy < 0 else oy - h / 2
        return (x0, y0, x0 + w, y0 + h)

    order = sorted(range(len(texts)), key=lambda i: (disp[i][0], -disp[i][1]))
    for i in order:
        best, best_cost = None, float("inf")
        for r in (7, 16, 28, 42, 60):
            for dx, dy in dirs:
                b = box(i, dx, dy, r)
                out = (
                    max(0, frame.x0 - b[0])
                    + max(0, b[2] - frame.x1)
                    + max(0, frame.y0 - b[1])
                    + max(0, b[3] - frame.y1)
                ) * 1000
                cost = (
                    out
                    + sum(overlap(b, o) for o in placed)
                    + sum(overlap(b, o) for j, o in enumerate(blocked) if j != i)
                    + 0.5 * sum(overlap(b, o) for o in strokes)
                )
                if cost < best_cost - 1e-9:
                    best, best_cost = (dx, dy, r, b), cost
            if best_cost < 1:  # a free spot on this ring
                break
        dx, dy, r, b = best
        placed.append(b)
        result[i] = (dx * r, dy * r, r > 7)
    return result


def _reference(x: str) -> float | None:
    """Where "no risk" sits on a risk axis: 0.5 (guessing) for an AUC or the DCR share, 0 for anonymeter."""
    if x.startswith("mia_auc") or x == "dcr_train_share":
        return 0.5
    return 0.0 if "risk" in x or "copy" in x else None


def frontier_limits(
    rows: list[dict[str, Any]],
    x: str,
    y: str,
    intervals: dict[str, dict[str, tuple[float, float]]] | None = None,
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The frontier's axis limits: fitted to the releases other than the copy of the training records (and their
    intervals, and the "no risk" reference when it is near), so that the copy at AUC 1.0 does not squeeze every
    real release into a sliver. A point outside them is drawn at the edge."""
    intervals = intervals or {}
    pts = [r for r in rows if r.get(x) is not None and r.get(y) is not None]
    core = [r for r in pts if r["method"] != "copy"] or pts

    def errs(axis):
        return [e for r in core if (e := intervals.get(r["label"], {}).get(axis)) is not None]

    return (
        _axis_limits([r[x] for r in core], errs(x), _reference(x)),
        _axis_limits([r[y] for r in core], errs(y), None),
    )


def frontier_plot(
    rows: list[dict[str, Any]],
    x: str,
    y: str,
    x_label: str,
    y_label: str,
    *,
    styles: dict[str, Style] | None = None,
    intervals: dict[str, dict[str, tuple[float, float]]] | None = None,
) -> bytes:
    """Utility (``y``) against risk (``x``): one point per release, labelled with its method and parameter;
    non-private baselines hollow; the Pareto frontier (no other point is both safer and more useful) dashed.

    The axes fit the releases other than the copy of the training records; a point outside them is drawn as an
    arrow at the edge, its values written beside it. ``styles`` (from :func:`release_styles`, over every row of
    the study) keeps colours and markers the same across plots; ``intervals`` (label -> axis -> (low, high))
    draws 95% intervals where known.
    """
    plt = _plt()
    styles = styles or release_styles(rows)
    intervals = intervals or {}
    pts = [r for r in rows if r.get(x) is not None and r.get(y) is not None]
    if not pts:
        return b""
    guess = _reference(x)
    xlim, ylim = frontier_limits(pts, x, y, intervals)

    def err(r, axis):
        return intervals.get(r["label"], {}).get(axis)

    with plt.rc_context(FONT):
        fig, ax = plt.subplots(figsize=(11.5, 6.2))
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.grid(alpha=0.3)
        if guess is not None and xlim[0] <= guess <= xlim[1]:
            ax.axvline(guess, color="grey", ls=":", lw=1.2, zorder=1)
            ax.annotate(
                "0.5: no better than guessing" if guess == 0.5 else "0: no risk measured",
                (guess, ylim[0]),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=10,
                color="dimgrey",
            )

        def clamp(r):
            cx = min(max(r[x], xlim[0]), xlim[1])
            cy = min(max(r[y], ylim[0]), ylim[1])
            return cx, cy, (r[x] != cx or r[y] != cy)

        lines = []
        front = pareto_front(pts, x, y)
        if len(front) > 1:
            fx, fy = zip(*[clamp(r)[:2] for r in front], strict=True)
            lines.append(list(zip(fx, fy, strict=True)))
            ax.plot(
                fx, fy, "--", color="black", lw=1.2, alpha=0.55, zorder=2, label="frontier (best trade-offs)"
            )
        # one thin line per method through its parameters, in the study's order
        by_method: dict[str, list[dict[str, Any]]] = {}
        for r in pts:
            by_method.setdefault(r["method"], []).append(r)
        for meth, mine in by_method.items():
            if len(mine) > 1 and meth != "copy":
                lines.append([clamp(r)[:2] for r in mine])
                ax.plot(
                    [clamp(r)[0] for r in mine],
                    [clamp(r)[1] for r in mine],
                    "-",
                    color=styles[mine[0]["label"]].color,
                    lw=1,
                    alpha=0.35,
                    zorder=2,
                )
        seen: set[str] = set()
        positions, texts = [], []
        for r in pts:
            st = styles[r["label"]]
            cx, cy, off = clamp(r)
            ex, ey = err(r, x), err(r, y)
            if not off and ex:
                lines.append([(max(ex[0], xlim[0]), cy), (min(ex[1], xlim[1]), cy)])
            if not off and (ex or ey):
                ax.errorbar(
                    cx,
                    cy,
                    xerr=None if ex is None else [[max(0.0, cx - ex[0])], [max(0.0, ex[1] - cx)]],
                    yerr=None if ey is None else [[max(0.0, cy - ey[0])], [max(0.0, ey[1] - cy)]],
                    fmt="none",
                    ecolor=st.color,
                    elinewidth=1.5,
                    capsize=4,
                    alpha=0.7,
                    zorder=3,
                )
            marker = st.marker
            if off:
                marker = ">" if r[x] > xlim[1] else "<" if r[x] < xlim[0] else "^" if r[y] > ylim[1] else "v"
            legend = (
                "copy of the training records (no protection)"
                if r["method"] == "copy"
                else r["method"] + (" (non-private baseline)" if st.hollow else "")
            )
            ax.scatter(
                [cx],
                [cy],
                s=110 if off else 80,
                marker=marker,
                facecolors="white" if st.hollow else st.color,
                edgecolors=st.color,
                linewidths=2,
                zorder=4,
                clip_on=False,
                label=None if legend in seen else legend,
            )
            seen.add(legend)
            text = _short_label(r)
            if off:
                text += f" (off the scale: {r[x]:.2f}, {r[y]:.2f})"
            positions.append((cx, cy))
            texts.append(text)
        ax.set_xlabel(f"{x_label} \u2192 higher is riskier")
        ax.set_ylabel(f"{y_label} \u2192 more useful")
        ax.set_title(f"{y_label} against {x_label}", loc="left")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=3, frameon=False)
        fig.tight_layout()
        fig.canvas.draw()
        for (cx, cy), text, (ox, oy, lead) in zip(
            positions, texts, place_labels(ax, positions, texts, fontsize=11, lines=lines), strict=True
        ):
            ax.annotate(
                text,
                (cx, cy),
                xytext=(ox, oy),
                textcoords="offset points",
                fontsize=11,
                ha="left" if ox > 0 else "right" if ox < 0 else "center",
                va="bottom" if oy > 0 else "top" if oy < 0 else "center",
                arrowprops={"arrowstyle": "-", "color": "grey", "lw": 0.8, "shrinkA": 0, "shrinkB": 5}
                if lead
                else None,
                zorder=5,
                annotation_clip=False,
            )
        return _png(fig)


def pareto_front(rows: list[dict[str, Any]], x: str, y: str) -> list[dict[str, Any]]:
    """The rows no other row beats on both axes (lower ``x``, higher ``y``), sorted by ``x``."""
    pts = sorted(rows, key=lambda r: (r[x], -r[y]))
    front, best = [], float("-inf")
    for r in pts:
        if r[y] > best:
            front.append(r)
            best = r[y]
    return front
