"""Progress on standard error, in one style for the whole library.

Two shapes cover every long step: :func:`bar` for counted work (rows, files, rounds, fits: a count, a rate and an
estimate of the time left) and :func:`phase` for a step whose length nobody can count in advance (a model fit
inside SDV, a noise calibration, a JIT compilation): one line whose clock ticks while the step runs, so that no
phase longer than a moment leaves the terminal silent. :func:`ticking` keeps a bar's clock moving while one slow
item runs.

Every function takes ``enabled``: the library shows progress only when its caller asks (``progress=True``); the
command line asks when standard error is a terminal and ``--quiet`` is not given
(:func:`anonlab.cli._common.show_progress`). Progress lines say how far a computation is and how long it took,
which depends on the data: they go to the terminal only, never into a file, report or log that anonlab writes.

This module imports nothing heavy (``tqdm`` is imported on first use), so any layer may use it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["bar", "phase", "ticking"]

#: how often a ticking line redraws its clock (seconds)
TICK = 0.5


def bar(
    total: float | None = None,
    *,
    desc: str,
    unit: str = "it",
    enabled: bool = True,
    leave: bool = False,
    bar_format: str | None = None,
):
    """A progress bar on standard error (a ``tqdm`` object; a silent one when not ``enabled``).

    ``total`` is the count the work ends at (``None``: unknown, the bar counts up); the bar is removed when it
    closes unless ``leave``. Use it as a context manager or call ``close()``.
    """
    from tqdm import tqdm

    # no monitor thread: it outlives the bar, and a process that later forks workers (dicom, joblib) must not
    # hold stray threads; bars here are updated often enough without it
    tqdm.monitor_interval = 0
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=not enabled,
        leave=leave,
        file=sys.stderr,
        dynamic_ncols=True,
        bar_format=bar_format,
    )


@contextmanager
def ticking(progress_bar, every: float = TICK) -> Iterator[Any]:
    """Redraw ``progress_bar`` every ``every`` seconds while the block runs, so its clock moves during one slow
    item (a 30-second attack inside an evaluation bar). Nothing happens for a disabled bar."""
    if getattr(progress_bar, "disable", True):
        yield progress_bar
        return
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(every):
            progress_bar.refresh()

    thread = threading.Thread(target=tick, name="anonlab-progress", daemon=True)
    thread.start()
    try:
        yield progress_bar
    finally:
        stop.set()
        thread.join()


@contextmanager
def phase(desc: str, *, enabled: bool = True) -> Iterator[Any]:
    """A line ``desc ... 12s`` on standard error whose clock ticks while the block runs; removed at the end.

    For a step that cannot be counted (a fit inside a third-party library, a noise calibration, a compilation).
    The object yielded accepts ``set_postfix_str(text)`` to say which sub-step is running.
    """
    with bar(None, desc=desc, enabled=enabled, bar_format="{desc} ... {elapsed}{postfix}") as b, ticking(b):
        yield b
