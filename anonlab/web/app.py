"""The Starlette application of ``anonlab serve``: one page per step of a release, each calling the public API.

load a table -> review its schema (:meth:`anonlab.Schema.infer`) -> assess its risk (:func:`anonlab.assess`) ->
choose and run a release (:func:`anonlab.anonymize` with k, l, t and hierarchies, :class:`anonlab.synth.MST` /
:class:`~anonlab.synth.AIM` charged to a :class:`anonlab.Ledger`, :func:`anonlab.pseudonymize`, or a non-private
baseline), each a :class:`anonlab.ReleaseRecipe`, as a background job with a live progress bar -> its evaluation
report (:func:`anonlab.evaluate`) and downloads, the recipe among them -> the privacy-utility frontier of a
table's releases. Folders
of DICOM files or photos: :func:`anonlab.deidentify_dicom` and :func:`anonlab.audit_dicom`, or
:func:`anonlab.strip_images`. The budget page shows each ledger as a gauge. Nothing here imports the command line.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from anonlab.errors import AnonlabError, BudgetExceededError, require_extra

__all__ = ["create_app", "DEFAULT_MAX_UPLOAD"]

DEFAULT_MAX_UPLOAD = 200 * 1024 * 1024  # bytes
HERE = Path(__file__).parent


class HTTPRefusal(Exception):
    """A request refused with a status code and a readable reason."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def create_app(
    workspace: str | os.PathLike,
    *,
    host: str = "127.0.0.1",
    token: str | None = None,
    max_upload: int = DEFAULT_MAX_UPLOAD,
    evaluation: dict[str, Any] | None = None,
    synth_options: dict[str, Any] | None = None,
):
    """Build the app over ``workspace`` (created when missing).

    host : the address the server binds. A loopback one (the default) admits only requests addressed to a
        loopback name; any other requires ``token`` (a random one is made when not given: ``app.state.guard.token``).
    max_upload : the largest upload accepted, in bytes (a bigger one is refused with 413 and nothing is stored).
    evaluation : the :class:`~anonlab.evaluation.config.EvaluationConfig` settings for each release's report
        (default: every part but the anonymeter attacks, which take minutes).
    synth_options : extra keywords for the synthesizers (``{"iters": 100}`` for a quick MST).
    """
    require_extra("web", "starlette", "anonlab serve")
    require_extra("web", "jinja2", "anonlab serve")
    require_extra("web", "python_multipart", "anonlab serve (uploads)")
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles
    from starlette.templating import Jinja2Templates

    from anonlab.web import pages
    from anonlab.web.jobs import Jobs
    from anonlab.web.security import Guard
    from anonlab.web.workspace import Workspace

    routes = [
        Route("/", pages.home),
        Route("/upload", pages.upload, methods=["POST"]),
        Route("/schema", pages.schema),
        Route("/assess", pages.assess),
        Route("/release", pages.release_form),
        Route("/release", pages.release_submit, methods=["POST"]),
        Route("/jobs/{job_id}", pages.job),
        Route("/jobs/{job_id}/status", pages.job_status),
        Route("/jobs/{job_id}/cancel", pages.job_cancel, methods=["POST"]),
        Route("/releases/{rid}", pages.release_page),
        Route("/releases/{rid}/files/{name}", pages.release_file),
        Route("/frontier", pages.frontier),
        Route("/hierarchies", pages.hierarchy_upload, methods=["POST"]),
        Route("/pseudonymize", pages.pseudonymize_form),
        Route("/pseudonymize", pages.pseudonymize_submit, methods=["POST"]),
        Route("/folders", pages.folders),
        Route("/folders/upload", pages.folder_upload, methods=["POST"]),
        Route("/folders/run", pages.folder_submit, methods=["POST"]),
        Route("/budget", pages.budget),
        Route("/budget", pages.budget_create, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    handlers = {
        AnonlabError: pages.error_page,
        HTTPRefusal: pages.error_page,
        404: pages.error_page,
        405: pages.error_page,
        Exception: pages.error_page,
    }
    app = Starlette(
        routes=routes,
        middleware=[Middleware(pages.GuardMiddleware)],
        exception_handlers=handlers,
    )
    app.state.guard = Guard.for_host(host, token)
    app.state.workspace = ws = Workspace.open(workspace)
    # one server at a time owns a workspace's leftovers: what a killed server's jobs left is removed now
    app.state.claim = ws.claim()
    app.state.swept = ws.sweep() if app.state.claim is not None else []
    app.state.jobs = Jobs()
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.state.max_upload = int(max_upload)
    app.state.evaluation = {"skip": ["anonymeter"]} if evaluation is None else dict(evaluation)
    app.state.synth_options = dict(synth_options or {})
    app.state.schemas = {}
    app.state.drawing = threading.Lock()  # the frontier's plots: pyplot draws one figure at a time
    return app


def refusal_status(exc: BaseException) -> int:
    if isinstance(exc, HTTPRefusal):
        return exc.status
    if isinstance(exc, BudgetExceededError):
        return 409
    if isinstance(exc, AnonlabError):
        return 400
    return 500
