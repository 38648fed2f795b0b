"""benchmarks/voice.py's measuring pieces: word error rate and the attacker's equal error rate."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from benchmarks.voice import eer, wer_counts  # noqa: E402


def test_word_error_rate_counts_edits():
    assert wer_counts("The doctor will see you.", "the doctor will see you") == (0, 5)
    assert wer_counts("a b c d", "a x c") == (2, 4)  # one substitution, one deletion
    assert wer_counts("a b", "a b c d") == (2, 2)  # insertions count
    assert wer_counts("a b", "") == (2, 2)


def test_equal_error_rate():
    rng = np.random.default_rng(0)
    centres = {s: rng.standard_normal(8) * 5 for s in "abcd"}
    enrol = {s: c + 0.1 * rng.standard_normal(8) for s, c in centres.items()}
    test = [(s, c + 0.1 * rng.standard_normal(8)) for s, c in centres.items() for _ in range(3)]
    assert eer(enrol, test) == 0.0  # separable
    noise = [(s, rng.standard_normal(8)) for s, _ in test]
    assert 0.2 < eer(enrol, noise) < 0.8  # unrelated: about chance
