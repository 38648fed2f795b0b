"""Imported once by the fork server of ``anonlab serve``'s job processes (:data:`anonlab.web.jobs.PRELOAD`), never
by a page: the evaluation report's figures (matplotlib, its fonts and text layout) are loaded and warmed here, so
that each job process, forked from that server, starts with them ready instead of paying for them per release
(about half of a small release's report time on a busy machine). Without matplotlib (``anonlab[eval]``) this
raises ImportError, which the fork server ignores."""

from __future__ import annotations


def _warm() -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1))
    ax.set_title("anonlab")
    ax.set_xlabel("x")
    ax.plot([0, 1], [0, 1])
    fig.canvas.draw()
    plt.close(fig)


_warm()
