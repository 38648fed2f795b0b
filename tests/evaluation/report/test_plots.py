"""The frontier: its Pareto front, axes fitted to the releases, labels that never overlap, one style per release."""

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anonlab.evaluation.report.plots import (
    frontier_limits,
    frontier_plot,
    pareto_front,
    place_labels,
    release_styles,
)

ROWS = [
    {
        "label": "copy of train",
        "method": "copy",
        "param": "train",
        "baseline": True,
        "mia_auc": 1.0,
        "u": 1.0,
    },
    {
        "label": "k=5",
        "method": "k-anonymity (mondrian)",
        "param": "k=5",
        "baseline": False,
        "mia_auc": 0.547,
        "u": 0.87,
    },
    {
        "label": "k=25",
        "method": "k-anonymity (mondrian)",
        "param": "k=25",
        "baseline": False,
        "mia_auc": 0.512,
        "u": 0.80,
    },
    {
        "label": "mst eps=1",
        "method": "mst",
        "param": "eps=1",
        "baseline": False,
        "mia_auc": 0.5058,
        "u": 0.946,
    },
    {
        "label": "mst eps=4",
        "method": "mst",
        "param": "eps=4",
        "baseline": False,
        "mia_auc": 0.5061,
        "u": 0.958,
    },
    {"label": "gc", "method": "gaussian-copula", "param": "", "baseline": True, "mia_auc": 0.52, "u": 0.7},
]


def test_pareto_front():
    rows = [{"r": 0.9, "u": 1.0}, {"r": 0.5, "u": 0.8}, {"r": 0.6, "u": 0.7}, {"r": 0.5, "u": 0.6}]
    assert pareto_front(rows, "r", "u") == [rows[1], rows[0]]


def test_axes_fit_the_releases_not_the_copy_of_train():
    (x0, x1), (y0, y1) = frontier_limits(ROWS, "mia_auc", "u")
    assert x1 < 0.6 and x0 <= 0.5  # the copy at 1.0 is drawn at the edge; guessing (0.5) stays in view
    assert y1 < 1.0 and y0 < 0.7
    ivs = {"k=5": {"mia_auc": (0.53, 0.58)}}
    assert frontier_limits(ROWS, "mia_auc", "u", ivs)[0][1] > 0.58  # intervals fit too


def test_styles_are_one_colour_per_method_and_one_marker_per_parameter():
    s = release_styles(ROWS)
    assert s["mst eps=1"].color == s["mst eps=4"].color != s["k=5"].color
    assert s["mst eps=1"].marker != s["mst eps=4"].marker and s["mst eps=1"].marker == s["k=5"].marker
    assert s["gc"].hollow and not s["mst eps=1"].hollow


def _boxes(ax, points, texts, offsets, fontsize=11):
    from matplotlib.text import Text

    r = ax.figure.canvas.get_renderer()
    px = ax.figure.dpi / 72
    out = []
    for (x, y), t, (ox, oy, _) in zip(points, texts, offsets, strict=True):
        bb = Text(0, 0, t, fontsize=fontsize, figure=ax.figure).get_window_extent(r)
        dx, dy = ax.transData.transform((x, y))
        ax0 = dx + ox * px if ox > 0 else dx + ox * px - bb.width if ox < 0 else dx - bb.width / 2
        ay0 = dy + oy * px if oy > 0 else dy + oy * px - bb.height if oy < 0 else dy - bb.height / 2
        out.append((ax0, ay0, ax0 + bb.width, ay0 + bb.height))
    return out


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.floats(0.1, 0.9), st.floats(0.1, 0.9)), min_size=2, max_size=7))
def test_labels_never_overlap(points):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11.5, 6.2))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    fig.canvas.draw()
    texts = [f"mst \u03b5={i}" for i in range(len(points))]
    offsets = place_labels(ax, points, texts)
    boxes = _boxes(ax, points, texts, offsets)
    plt.close(fig)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert min(a[2], b[2]) - max(a[0], b[0]) <= 0.5 or min(a[3], b[3]) - max(a[1], b[1]) <= 0.5


def test_labels_of_nearby_points_do_not_overlap():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    pts = [(0.5058, 0.946), (0.5061, 0.958), (0.5055, 0.95)]  # eps=1 / eps=4 overlapped before
    fig, ax = plt.subplots(figsize=(11.5, 6.2))
    ax.set_xlim(0.49, 0.56)
    ax.set_ylim(0.65, 0.99)
    fig.canvas.draw()
    texts = ["mst \u03b5=1", "mst \u03b5=4", "mst \u03b5=0.3"]
    boxes = _boxes(ax, pts, texts, place_labels(ax, pts, texts))
    plt.close(fig)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert min(a[2], b[2]) - max(a[0], b[0]) <= 0.5 or min(a[3], b[3]) - max(a[1], b[1]) <= 0.5


def test_frontier_is_a_small_png():
    from PIL import Image

    png = frontier_plot(
        ROWS, "mia_auc", "u", "membership AUC", "utility", intervals={"k=5": {"mia_auc": (0.53, 0.56)}}
    )
    im = Image.open(io.BytesIO(png))
    assert im.format == "PNG" and im.width >= 1000
    assert len(png) < 120_000
    assert frontier_plot([], "mia_auc", "u", "a", "b") == b""


@pytest.mark.parametrize("x", ["mia_auc", "anonymeter_max_risk"])
def test_frontier_draws_with_a_single_release(x):
    rows = [{**ROWS[3], "anonymeter_max_risk": 0.01}]
    assert frontier_plot(rows, x, "u", "risk", "utility").startswith(b"\x89PNG")
