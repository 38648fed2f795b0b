"""Matplotlib figures for the reports, returned as PNG bytes (the reports embed them as base64).

Each function draws from an :class:`~anonlab.evaluation.result.Evaluation` (or a study's rows) and never
recomputes a metric. The Agg backend is used, so no display is needed.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from anonlab.evaluation.result import Evaluation

__all__ = ["distribution_overlays", "association_heatmaps", "frontier_plot", "marginal_bars"]

_REAL, _RELEASE = "#4c72b0", "#dd8452"


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


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
    """One small panel per column: real (blue) and release (orange) shares of each bin or category."""
    import numpy as np

    plt = _plt()
    cols = list(ev.distributions)[:max_columns]
    n = max(1, len(cols))
    ncol = min(3, n)
    nrow = (n + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 2.8 * nrow), squeeze=False)
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
        ax.set_title(f"{c} ({ev.kinds.get(c, '')})", fontsize=9)
        ax.set_xticks(x)
        ax.set_xticklabels([str(s)[:12] for s in labels], rotation=60, ha="right", fontsize=6)
        ax.tick_params(axis="y", labelsize=7)
    for ax in axes.ravel()[len(cols) :]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7)
    fig.suptitle("Per-column distributions: real vs release (share of rows)", fontsize=11)
    fig.tight_layout()
    return _png(fig)


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
        fig, ax = plt.subplots(figsize=(1.0 + 0.45 * k, 0.6 + 0.45 * k))
        im = ax.imshow(diff, cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_xticks(range(k))
        ax.set_yticks(range(k))
        ax.set_xticklabels(a.columns, rotation=60, ha="right", fontsize=7)
        ax.set_yticklabels(a.columns, fontsize=7)
        if k <= 12:
            for i in range(k):
                for j in range(k):
                    if np.isfinite(diff[i, j]) and i != j:
                        ax.text(j, i, f"{diff[i, j]:.2f}", ha="center", va="center", fontsize=6)
        fig.colorbar(im, ax=ax, fraction=0.046)
        ax.set_title(f"{names[a.kind]}: release - real", fontsize=10)
        fig.tight_layout()
        out.append((names[a.kind], _png(fig)))
    return out


def marginal_bars(ev: Evaluation, top: int = 15) -> bytes | None:
    """The 2-way column pairs with the largest TVD (where relations were lost)."""
    plt = _plt()
    m = ev.marginal(2)
    if m is None or not m.per_set:
        return None
    items = sorted(m.per_set.items(), key=lambda kv: -kv[1])[:top][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(items) + 1))
    ax.barh([k.replace("|", " x ") for k, _ in items], [v for _, v in items], color=_RELEASE)
    ax.set_xlabel("total variation distance")
    ax.set_xlim(0, max(0.05, max(v for _, v in items) * 1.1))
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title("Worst 2-way marginals", fontsize=10)
    fig.tight_layout()
    return _png(fig)


def frontier_plot(rows: list[dict[str, Any]], x: str, y: str, x_label: str, y_label: str) -> bytes:
    """Utility (``y``) against risk (``x``): one point per release, labelled with its parameter; the
    non-private baselines hollow; the Pareto frontier (no other point is both safer and more useful) as a line."""
    plt = _plt()
    pts = [r for r in rows if r.get(x) is not None and r.get(y) is not None]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    methods = sorted({r["method"] for r in pts})
    cmap = plt.get_cmap("tab10")
    for i, meth in enumerate(methods):
        mine = [r for r in pts if r["method"] == meth]
        base = [r for r in mine if r.get("baseline")]
        priv = [r for r in mine if not r.get("baseline")]
        color = cmap(i % 10)
        if priv:
            ax.scatter([r[x] for r in priv], [r[y] for r in priv], color=color, s=50, label=meth, zorder=3)
        if base:
            ax.scatter(
                [r[x] for r in base],
                [r[y] for r in base],
                facecolors="none",
                edgecolors=color,
                s=80,
                linewidths=2,
                label=f"{meth} (non-private baseline)",
                zorder=3,
            )
        for r in mine:
            ax.annotate(
                r.get("param", ""), (r[x], r[y]), textcoords="offset points", xytext=(5, 4), fontsize=7
            )
    if x.startswith("mia_auc") or x == "dcr_train_share":
        ax.axvline(0.5, color="grey", ls=":", lw=1, label="no better than guessing")
    front = pareto_front(pts, x, y)
    if len(front) > 1:
        ax.plot(
            [r[x] for r in front], [r[y] for r in front], "k--", lw=1, alpha=0.6, label="frontier", zorder=2
        )
    ax.set_xlabel(f"{x_label} (lower is safer)")
    ax.set_ylabel(f"{y_label} (higher is more useful)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    ax.set_title("Privacy-utility frontier", fontsize=11)
    fig.tight_layout()
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
