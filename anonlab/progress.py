"""Progress on standard error, in one style for the whole library.

Two shapes cover every long step: :func:`bar` for counted work (rows, files, rounds, fits: a count, a rate and an
estimate of the time left) and :func:`phase` for a step whose length nobody can count in advance (a model fit
inside SDV, a noise calibration, a JIT compilation): one line whose clock ticks while the step runs, so that no
phase longer than a moment leaves the terminal silent. :func:`ticking` keeps a bar's clock moving while one slow
item runs.

Every function takes ``enabled``: the library shows progress only when its caller asks (``progress=True``); the
command line asks when standard error is a terminal and ``--quiet`` is not given
(:func:`anonlab.cli._common.show_progress`). Progress lines say how far a computation is and how long it took,
which depends on the data (counts of records, nodes, rounds; timings): they go to the terminal, or to the sink of
an application that asked for them (below: ``anonlab serve`` shows them to its operator on the job page,
``/jobs/ID`` and ``/jobs/ID/status``); never into a release, report or log file that anonlab writes.

An application that shows progress elsewhere (``anonlab serve``'s job page) wraps the library call in
:func:`reporting`: inside that block (and its context only: a :class:`contextvars.ContextVar`, no global), every
bar or phase the library draws with progress enabled calls the application's sink with its state instead of
writing to standard error.

This module imports nothing heavy (``tqdm`` is imported on first use), so any layer may use it.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["bar", "phase", "ticking", "reporting"]

#: how often a ticking line redraws its clock (seconds)
TICK = 0.5

#: the sink of the enclosing :func:`reporting` block, if any (context-local)
_SINK: ContextVar[Callable[[dict[str, Any]], None] | None] = ContextVar("anonlab_progress_sink", default=None)


@contextmanager
def reporting(sink: Callable[[dict[str, Any]], None]) -> Iterator[None]:
    """While the block runs, bars and phases drawn with progress enabled report to ``sink`` instead of standard
    error. ``sink(update)`` receives a dict: ``desc``, ``n`` (done so far), ``total`` (``None``: not counted, a
    phase), ``unit``, ``elapsed`` (seconds), ``remaining`` (seconds, or ``None``), ``postfix`` and ``closed``
    (the bar ended). It is called at most every quarter of a second per bar (and when a bar ends), possibly from a
    ticking thread: it must be quick and thread-safe. Only this context sees the sink (a thread the library starts
    does not; its bars, if any, go to standard error as before)."""
    token = _SINK.set(sink)
    try:
        yield
    finally:
        _SINK.reset(token)


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
    sink = _SINK.get()
    if sink is not None and enabled:
        return _sink_bar_class()(
            total=total, desc=desc, unit=unit, leave=leave, file=_Discard(), mininterval=0.25, sink=sink
        )
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


class _Discard:
    """Where a sink's bar writes its (unused) text."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        return None


#: numbers the bars reported to a sink, so that a sink can tell two open bars (a step's and one nested in it) apart
_BAR_IDS = itertools.count(1)


def _sink_bar_class():
    """A ``tqdm`` whose display goes to a sink (tqdm's documented way: override ``display``)."""
    from tqdm import tqdm

    class SinkBar(tqdm):
        def __init__(self, *args, sink, **kwargs):
            self._sink = sink
            self._id = next(_BAR_IDS)
            super().__init__(*args, **kwargs)

        def display(self, msg=None, pos=None):
            closed = msg == "" or bool(self.disable)
            if closed and getattr(self, "_ended", False):
                return True
            self._ended = closed
            d = self.format_dict
            rate = d.get("rate") or (d["n"] / d["elapsed"] if d.get("elapsed") else None)
            total = d.get("total")
            remaining = (total - d["n"]) / rate if total and rate else None
            self._sink(
                {
                    "id": self._id,
                    "desc": str(d.get("prefix") or ""),
                    "n": float(d["n"]),
                    "total": None if total is None else float(total),
                    "unit": str(d.get("unit") or ""),
                    "elapsed": float(d.get("elapsed") or 0.0),
                    "remaining": remaining,
                    "postfix": str(d.get("postfix") or "").lstrip(", "),
                    "closed": closed,
                }
            )
            return True

        def close(self):
            closing = not getattr(self, "disable", True)
            super().close()
            if closing:
                self.display(msg="")

    return SinkBar
