"""Background jobs: each release runs in a process of its own, one at a time, while the browser polls a status page.

A job records its phase (what it is doing), a rough fraction done, the library's own progress bar inside the step
(``bar``: what :mod:`anonlab.progress` draws, routed here by :func:`anonlab.progress.reporting`) and its end:
done (the release id), failed (a one-line message, never a traceback) or cancelled. The work runs in a child
process (``forkserver``: a clean process, not a copy of the server's threads) that reports its phases and bars
through a pipe, and ends itself when the server that started it is gone (a killed server leaves no job running). **Cancel stops it**: a queued
job never starts; a running one's process is terminated at once, in the middle of a library call, and the job's
``cleanup`` removes what it had begun (a release folder is filled under a hidden name and published by one rename,
so nothing partial is ever listed). A DP fit already charged to its ledger stays charged: the budget is spent when
the charge is written, before any noise is drawn.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

__all__ = ["Job", "Jobs"]

#: modules the job processes' fork server imports once, so that each job starts in well under a second
PRELOAD = ["anonlab.io", "anonlab.web.releases", "pandas", "anonlab.evaluation", "anonlab.web.preload"]


@dataclass
class Job:
    id: str
    label: str
    state: str = "queued"  # queued, running, done, failed, cancelled
    phase: str = "waiting for the previous job"
    fraction: float = 0.0
    release: str | None = None
    error: str | None = None
    #: the library's open progress bars inside the current step, outermost first (anonlab.progress.reporting),
    #: by the bar's number: a fit's rounds and a bar nested in them are both shown, each where it is
    bars: dict[int, dict] = field(default_factory=dict)
    pid: int | None = field(default=None, repr=False)  # the job's process, while it runs
    cancel_requested: bool = False
    future: Future | None = field(default=None, repr=False)

    @property
    def open_bars(self) -> list[dict]:
        """The open bars, outermost first (a copy: the job's thread keeps updating them)."""
        return list(self.bars.values())

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")

    def to_dict(self) -> dict:
        """What the job page's script polls (``/jobs/ID/status``): no path, no data, no secret."""
        return {
            "id": self.id,
            "label": self.label,
            "state": self.state,
            "phase": self.phase,
            "fraction": self.fraction,
            "bars": self.open_bars,
            "error": self.error,
            "finished": self.finished,
            "release": self.release,
        }


#: how often a job's process checks that the server which started it is still there (seconds)
ORPHAN_CHECK = 0.5


def _child(conn, target: Callable[..., str], args: tuple) -> None:
    """In the job's process: run ``target(*args, step=...)`` with the library's progress bars reported (not drawn),
    send its phases, bars and end through ``conn``; end at once if the server goes away."""
    from anonlab.errors import AnonlabError
    from anonlab.progress import reporting

    lock = threading.Lock()  # the bars may report from a ticking thread

    def send(message: tuple) -> None:
        with lock:
            conn.send(message)

    def step(phase: str, fraction: float) -> None:
        send(("step", phase, float(fraction)))

    def bar(update: dict) -> None:
        send(("bar", update))

    _watch_parent()
    try:
        with reporting(bar):
            result = target(*args, step=step)
        send(("done", result))
    except AnonlabError as exc:
        send(("failed", str(exc)))
    except OSError as exc:
        send(("failed", f"{exc.filename or ''}: {exc.strerror or type(exc).__name__}"))
    except Exception as exc:  # noqa: BLE001 - a job never ends in a traceback on a page
        send(("failed", f"unexpected error ({type(exc).__name__}); nothing was released"))
    finally:
        conn.close()


def _watch_parent() -> None:
    """End this process when its parent (the fork server, which ends with the server) is gone: a killed server
    must not leave a job running on, or publishing a release nobody asked to see, after it."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            threading.Event().wait(ORPHAN_CHECK)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, name="anonlab-job-orphan", daemon=True).start()


class Jobs:
    """The jobs of one app. ``submit(label, target, args, cleanup)`` runs ``target(*args, step=...)`` (a module-level
    function returning the release id) in a child process. ``cleanup()`` runs in the server when the job ends
    without its result (failed or cancelled): it removes what the job began, or returns the release id when the
    release was published after all (a cancel that came between the publishing rename and the reply)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="anonlab-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(PRELOAD)

    def submit(
        self,
        label: str,
        target: Callable[..., str],
        args: tuple = (),
        cleanup: Callable[[], str | None] | None = None,
    ) -> Job:
        job = Job(id=secrets.token_hex(8), label=label)
        with self._lock:
            self._jobs[job.id] = job
        job.future = self._pool.submit(self._run, job, target, args, cleanup or (lambda: None))
        return job

    def _run(self, job: Job, target, args: tuple, cleanup: Callable[[], str | None]) -> None:
        if job.cancel_requested:
            job.state, job.phase = "cancelled", "cancelled before it started"
            cleanup()
            return
        job.state, job.phase = "running", "starting"
        end = self._watch(job, target, args)
        if end[0] == "done":
            job.release, job.state, job.phase, job.fraction = end[1], "done", "done", 1.0
            return
        kept = cleanup()
        if kept:  # the release was published just before the stop: it is whole, so the job is done
            job.release, job.state, job.phase, job.fraction = kept, "done", "done (before the cancel)", 1.0
        elif end[0] == "cancelled":
            job.state, job.phase = "cancelled", "cancelled: the work was stopped and nothing was kept"
        else:
            job.state, job.error = "failed", end[1]

    def _watch(self, job: Job, target, args: tuple) -> tuple:
        """Start the job's process and follow it until it ends or is cancelled; its end as a message."""
        receiver, sender = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(target=_child, args=(sender, target, args), daemon=True)
        proc.start()
        job.pid = proc.pid
        sender.close()
        end: tuple = ("failed", "the job's process ended without a result; nothing was released")
        try:
            while True:
                if job.cancel_requested:
                    _stop(proc)
                    return _late_result(receiver) or ("cancelled",)
                if receiver.poll(0.1):
                    try:
                        message = receiver.recv()
                    except EOFError:
                        break
                    if message[0] == "step":
                        job.phase, job.fraction = message[1], message[2]
                        job.bars.clear()
                        continue
                    if message[0] == "bar":
                        update = message[1]
                        if update.get("closed"):
                            job.bars.pop(update["id"], None)
                        else:
                            job.bars[update["id"]] = update
                        continue
                    end = message
                    break
                if not proc.is_alive() and not receiver.poll(0):
                    break
        finally:
            receiver.close()
            proc.join(10)
            if proc.is_alive():
                _stop(proc)
        return end

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())[::-1]

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a job: a queued one never starts, a running one's process is stopped at once."""
        job = self.get(job_id)
        if job is not None and not job.finished:
            job.cancel_requested = True
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
        """Cancel every job (running processes are stopped) and let the worker end."""
        for job in self.all():
            job.cancel_requested = True
        self._pool.shutdown(wait=False, cancel_futures=True)


def _late_result(receiver) -> tuple | None:
    """A result the job sent just before it was stopped (it still counts: the release is whole)."""
    while True:
        try:
            if not receiver.poll(0):
                return None
            message = receiver.recv()
        except (EOFError, OSError):
            return None
        if message[0] == "done":
            return message


def _stop(proc) -> None:
    proc.terminate()
    proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join(5)
