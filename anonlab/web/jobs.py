"""Background jobs: releases run one at a time in a worker thread while the browser polls a status page.

A job records its phase (what it is doing), a rough fraction done, and its end: done (the release id), failed (a
one-line message, never a traceback) or cancelled. Cancelling a queued job stops it from starting; cancelling a
running one discards its result when the running step returns (a library call is not interrupted midway), and a
DP fit already charged to its ledger stays charged: the budget was spent when the noise was drawn.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

__all__ = ["Job", "Jobs", "Cancelled"]


class Cancelled(Exception):
    """Raised inside a job at its next step after the user cancelled it."""


@dataclass
class Job:
    id: str
    label: str
    state: str = "queued"  # queued, running, done, failed, cancelled
    phase: str = "waiting for the previous job"
    fraction: float = 0.0
    release: str | None = None
    error: str | None = None
    cancel_requested: bool = False
    future: Future | None = field(default=None, repr=False)

    def step(self, phase: str, fraction: float) -> None:
        """Called by the job's work between steps: records progress, or stops a cancelled job."""
        if self.cancel_requested:
            raise Cancelled()
        self.phase, self.fraction = phase, fraction

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")


class Jobs:
    """The jobs of one app; ``submit(label, work)`` runs ``work(job)``, which returns the release id."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="anonlab-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, label: str, work: Callable[[Job], str]) -> Job:
        job = Job(id=secrets.token_hex(8), label=label)
        with self._lock:
            self._jobs[job.id] = job
        job.future = self._pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Callable[[Job], str]) -> None:
        from anonlab.errors import AnonlabError

        if job.cancel_requested:
            job.state = "cancelled"
            return
        job.state = "running"
        try:
            release = work(job)
        except Cancelled:
            job.state, job.phase = "cancelled", "cancelled"
            return
        except AnonlabError as exc:
            job.state, job.error = "failed", str(exc)
            return
        except OSError as exc:
            job.state, job.error = "failed", f"{exc.filename or ''}: {exc.strerror or type(exc).__name__}"
            return
        except Exception as exc:  # noqa: BLE001 - a job never ends in a traceback on a page
            job.state, job.error = "failed", f"unexpected error ({type(exc).__name__}); nothing was released"
            return
        if job.cancel_requested:
            job.state, job.phase = "cancelled", "cancelled (the finished result was discarded)"
            return
        job.release, job.state, job.phase, job.fraction = release, "done", "done", 1.0

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())[::-1]

    def cancel(self, job_id: str) -> Job | None:
        job = self.get(job_id)
        if job is not None and not job.finished:
            job.cancel_requested = True
            if job.future is not None and job.future.cancel():
                job.state, job.phase = "cancelled", "cancelled before it started"
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> Job | None:
        """Block until a job ends (for tests and scripts)."""
        job = self.get(job_id)
        if job is not None and job.future is not None:
            try:
                job.future.result(timeout=timeout)
            except Exception:  # noqa: BLE001 - the job records its own end
                pass
        return job

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
