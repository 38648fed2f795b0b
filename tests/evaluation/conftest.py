"""Shared fixtures: disjoint samples of the bundled (real) UCI Adult table."""

import base64
from html.parser import HTMLParser

import numpy as np
import pytest


@pytest.fixture(scope="session")
def adult():
    from anonlab.datasets import load_adult

    return load_adult()


@pytest.fixture(scope="session")
def splits(adult):
    """Three disjoint real samples of 2,000 rows: train, holdout, and an independent sample of the population."""
    order = np.random.default_rng(7).permutation(len(adult))
    n = 2000
    parts = [adult.iloc[order[i * n : (i + 1) * n]].reset_index(drop=True) for i in range(3)]
    return {"train": parts[0], "holdout": parts[1], "independent": parts[2]}


@pytest.fixture(scope="session")
def fast_config():
    from anonlab.evaluation.evaluating import EvaluationConfig

    return EvaluationConfig(skip=("anonymeter", "quality"), tstr_rows=2000)


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.images, self.links, self.open = [], [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(a)
        for key in ("href", "src", "action"):
            if key in a and tag != "img":
                self.links.append(a[key])
        if tag not in ("meta", "img", "br", "hr", "input", "link"):
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()


def _check_self_contained(text: str) -> _Collector:
    """Parse an HTML report; assert it is well nested, has no scripts or outside links, and embeds PNGs."""
    p = _Collector()
    p.feed(text)
    p.close()
    assert not p.open, f"unclosed tags: {p.open}"
    assert "script" not in p.tags and "link" not in p.tags and "iframe" not in p.tags
    assert all(link.startswith("#") for link in p.links), p.links  # only the table of contents' anchors
    assert "http://" not in text and "https://" not in text
    assert p.images, "no plots"
    for img in p.images:
        src = img["src"]
        assert src.startswith("data:image/png;base64,"), src[:40]
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
        assert img.get("alt")
    return p


@pytest.fixture(scope="session")
def check_self_contained():
    return _check_self_contained
