"""Where distributed work runs: the ``scheduler=`` value, parsed, and a Dask client for it.

``None`` is anonlab's in-process path (no Dask at all); the functions of :mod:`anonlab.distributed` given
``scheduler=None`` use the Dask client already active in the session, if any, else Dask's own in-process threads.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from anonlab.errors import UsageError, require_extra

__all__ = ["SCHEDULER_ENV", "Scheduler", "parse_scheduler", "connect", "dask_modules"]

#: the environment variable the CLI reads when ``--scheduler`` is not given
SCHEDULER_ENV = "ANONLAB_SCHEDULER"

_LOCAL = re.compile(r"local(?::(\d+))?")


@dataclass(frozen=True)
class Scheduler:
    """A parsed ``scheduler=``: ``kind`` is ``"local"`` (a LocalCluster of ``workers`` processes on this machine),
    ``"address"`` (a running scheduler) or ``"file"`` (a scheduler file written by the cluster)."""

    kind: str
    workers: int = 0
    address: str = ""


def parse_scheduler(text: str) -> Scheduler:
    """``local:N`` (N worker processes here; ``local`` alone: one per core), ``tcp://host:port`` /
    ``host:port`` (an existing cluster), or the path of a ``.json`` scheduler file."""
    text = str(text).strip()
    m = _LOCAL.fullmatch(text)
    if m:
        workers = int(m.group(1)) if m.group(1) else (os.cpu_count() or 1)
        if workers < 1:
            raise UsageError(f"scheduler={text!r}: a local cluster needs at least 1 worker (local:N)")
        return Scheduler("local", workers=workers)
    if text.endswith(".json"):
        if not os.path.isfile(text):
            raise UsageError(f"scheduler={text!r}: no such scheduler file")
        return Scheduler("file", address=text)
    if re.fullmatch(r"(?:[a-z]+://)?[\w.\-\[\]:]+:\d+", text):
        return Scheduler("address", address=text)
    raise UsageError(
        f"scheduler={text!r}: give local:N (N workers on this machine), a scheduler address such as "
        "tcp://host:8786, or a scheduler file (.json)"
    )


def dask_modules() -> None:
    """Raise :class:`~anonlab.errors.MissingExtraError` unless Dask and distributed are installed."""
    require_extra("dask", "dask.dataframe", "scheduler=")
    require_extra("dask", "distributed", "scheduler=")


@contextlib.contextmanager
def connect(scheduler: Any = None) -> Iterator[Any]:
    """A ``distributed.Client`` for ``scheduler`` (a string as :func:`parse_scheduler` reads, or a Client used
    as it is), closed on exit when this call opened it; ``None`` yields ``None`` (the session's default)."""
    dask_modules()
    import logging

    import dask
    from distributed import Client, LocalCluster

    # keep pandas' own dtypes (object strings), so every partition is typed as the in-process table is
    with dask.config.set({"dataframe.convert-string": False}):
        if scheduler is None or isinstance(scheduler, Client):
            yield scheduler
            return
        s = parse_scheduler(scheduler)
        if s.kind == "local":
            cluster = LocalCluster(
                n_workers=s.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,  # no web server: nothing listens beyond the scheduler's own port
                silence_logs=logging.ERROR,
            )
            try:
                with Client(cluster) as client:
                    yield client
            finally:
                cluster.close()
            return
        try:
            client = (
                Client(scheduler_file=s.address, timeout="30s")
                if s.kind == "file"
                else Client(s.address, timeout="30s")
            )
        except OSError as exc:
            raise UsageError(f"scheduler={scheduler!r}: cannot reach the scheduler ({exc})") from None
        with client:
            yield client
