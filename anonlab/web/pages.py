"""The handlers of ``anonlab serve``'s pages: each reads the request, calls the public API, renders a template.

Errors become readable pages (anonlab's own message, or a one-line reason), never a traceback.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from anonlab.errors import AnonlabError, UsageError
from anonlab.web.app import HTTPRefusal, refusal_status
from anonlab.web.security import COOKIE, FILE_CSP, PAGE_CSP

# -- guard and errors -----------------------------------------------------------------------------------------


class GuardMiddleware(BaseHTTPMiddleware):
    """Host check (loopback binds), access token (other binds), same-origin POSTs, security headers."""

    async def dispatch(self, request: Request, call_next):
        guard = request.app.state.guard
        if not guard.host_allowed(request.headers.get("host", "")):
            return _plain(400, "this server answers only to a loopback address (http://127.0.0.1:PORT/)")
        given = request.query_params.get("token")
        if guard.token is not None and given is not None and guard.token_ok(given):
            # keep the token in a cookie and take it out of the address bar (and of any history)
            clean = request.url.remove_query_params("token")
            response = RedirectResponse(str(clean.replace(scheme=request.url.scheme)), status_code=303)
            response.set_cookie(COOKIE, guard.token, httponly=True, samesite="strict")
            return _headers(response)
        if not guard.token_ok(request.cookies.get(COOKIE)):
            return _plain(403, "this server needs its access token: open the address printed when it started")
        if request.method == "POST" and not _same_origin(request):
            return _plain(403, "a form from another site was refused (cross-site request)")
        response = await call_next(request)
        return _headers(response)


def _same_origin(request: Request) -> bool:
    """False for a POST a browser says comes from another site (the CSRF token is the defence that always holds;
    this refuses early). ``Origin: null`` (sent by privacy settings) is left to the token."""
    if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    return origin.split("://", 1)[-1] == request.headers.get("host", "")


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers["Cache-Control"] = "no-store"
    return response


def _plain(status: int, message: str) -> Response:
    from html import escape

    body = f"<!doctype html><title>anonlab</title><h1>Refused</h1><p>{escape(message)}</p>"
    return _headers(Response(body, status_code=status, media_type="text/html"))


async def error_page(request: Request, exc: Exception):
    from starlette.exceptions import HTTPException

    if isinstance(exc, HTTPException):
        status = exc.status_code
        message = "no such page" if status == 404 else (exc.detail or "refused")
    else:
        status = refusal_status(exc)
        if isinstance(exc, AnonlabError | HTTPRefusal):
            message = str(exc)
        else:
            message = f"an unexpected error ({type(exc).__name__}); nothing was changed in the workspace"
    return _render(request, "error.html", {"status": status, "message": message}, status=status)


# -- helpers ----------------------------------------------------------------------------------------------------


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200):
    state = request.app.state
    base = {"csrf": state.guard.csrf, "request": request}
    return state.templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


async def _form(request: Request, limit: int = 1024 * 1024, max_files: int = 1):
    """The posted form, read at most ``limit`` bytes (413 past it, nothing kept), its CSRF token checked."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPRefusal(413, f"the upload is larger than the limit of {limit:,} bytes; nothing was stored")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise HTTPRefusal(
                413, f"the upload is larger than the limit of {limit:,} bytes; nothing was stored"
            )
        chunks.append(chunk)
    body = b"".join(chunks)

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, receive).form(
        max_files=max_files, max_fields=100, max_part_size=limit
    )
    if not request.app.state.guard.csrf_ok(form.get("csrf")):
        raise HTTPRefusal(403, "the form's security token is missing or wrong: reload the page and try again")
    return form


def _table(request: Request) -> tuple[str, Any]:
    from anonlab.io import read_table

    name = request.query_params.get("table", "")
    return name, read_table(request.app.state.workspace.table(name))


def _inferred(request: Request, name: str, df):
    """:meth:`Schema.infer` of a workspace table, kept while the file is unchanged."""
    import anonlab

    st = request.app.state.workspace.table(name).stat()
    key = (name, st.st_mtime_ns, st.st_size)
    cache = request.app.state.schemas
    if key not in cache:
        cache[key] = anonlab.Schema.infer(df)
    return cache[key]


def _columns(request: Request, field: str, df) -> list[str]:
    chosen = request.query_params.getlist(field)
    unknown = [c for c in chosen if c not in df.columns]
    if unknown:
        raise UsageError(f"{field}= names column {unknown[0]!r}, which the table does not have")
    return chosen


def _query(**params) -> str:
    return urlencode([(k, v) for k, vs in params.items() for v in (vs if isinstance(vs, list) else [vs])])


# -- load ---------------------------------------------------------------------------------------------------------


async def home(request: Request):
    state = request.app.state
    ws = state.workspace
    context = {
        "tables": ws.tables(),
        "releases": ws.releases()[:20],
        "jobs": state.jobs.all()[:10],
        "max_upload": state.max_upload,
        "workspace": str(ws.root),
    }
    return _render(request, "home.html", context)


async def upload(request: Request):
    from starlette.datastructures import UploadFile

    from anonlab.io import read_table

    ws = request.app.state.workspace
    form = await _form(request, request.app.state.max_upload)
    item = form.get("table")
    if not isinstance(item, UploadFile) or not item.filename:
        raise UsageError("choose a table file to upload")
    name = ws.save_upload(item.filename, await item.read())
    try:
        read_table(ws.table(name))
    except AnonlabError:
        ws.remove(name)
        raise
    return RedirectResponse(f"/schema?{_query(table=name)}", status_code=303)


# -- schema and risk ------------------------------------------------------------------------------------------


async def schema(request: Request):
    from markupsafe import Markup

    name, df = _table(request)
    draft = _inferred(request, name, df)
    from_data = [c.name for c in draft if c.from_data]
    context = {
        "table": name,
        "rows": len(df),
        "schema_html": Markup(draft._repr_html_()),
        "from_data": from_data,
        "assess_query": _query(
            table=name, quasi=draft.with_role("quasi"), sensitive=draft.with_role("sensitive")
        ),
    }
    return _render(request, "schema.html", context)


def _histogram(report) -> list[dict[str, Any]]:
    most = max((b["records"] for b in report.histogram), default=0) or 1
    return [{**b, "height": round(160 * b["records"] / most)} for b in report.histogram]


async def assess(request: Request):
    from markupsafe import Markup

    import anonlab

    name, df = _table(request)
    draft = _inferred(request, name, df)
    quasi = _columns(request, "quasi", df)
    sensitive = _columns(request, "sensitive", df)
    context: dict[str, Any] = {
        "table": name,
        "columns": list(df.columns),
        "quasi": quasi,
        "sensitive": sensitive,
    }
    context["roles"] = {c.name: c.role for c in draft}
    if quasi:
        report = anonlab.assess(df, quasi=quasi, sensitive=sensitive or None, source=name)
        context["report_html"] = Markup(report._repr_html_())
        context["histogram"] = _histogram(report)
        context["k"] = report.k
        context["release_query"] = _query(table=name, quasi=quasi, sensitive=sensitive)
    return _render(request, "assess.html", context)


# -- releases -------------------------------------------------------------------------------------------------


async def release_form(request: Request):
    name, df = _table(request)
    quasi = _columns(request, "quasi", df)
    sensitive = _columns(request, "sensitive", df)
    context = {
        "table": name,
        "columns": list(df.columns),
        "quasi": quasi,
        "sensitive": sensitive,
        "target": sensitive[0] if sensitive else df.columns[-1],
        "ledgers": request.app.state.workspace.ledgers(),
        "adult_like": _adult_like(df),
        "hierarchies": request.app.state.workspace.hierarchies(),
        "query": request.url.query,
    }
    return _render(request, "release.html", context)


def _adult_like(df) -> bool:
    """Whether the bundled public Adult schema covers every column (it serves any subset of its columns)."""
    import anonlab

    return set(df.columns) <= set(anonlab.adult_schema().names)


def _number(form, field: str, kind=float, default=None):
    text = (form.get(field) or "").strip()
    if not text:
        if default is None:
            raise UsageError(f"{field}= is required")
        return default
    try:
        return kind(text)
    except ValueError:
        raise UsageError(f"{field}={text!r} is not a number") from None


def _optional(form, field: str) -> float | None:
    """A number the form may leave blank (``None``); 0 counts as blank (no such requirement)."""
    return _number(form, field, float, 0.0) or None


def _request_from(form, state):
    from anonlab.web.releases import BaselineRequest, KAnonymityRequest, SynthRequest

    ws = state.workspace
    table = form.get("table", "")
    columns = set(read_columns(ws.table(table)))
    quasi = form.getlist("quasi")
    sensitive = form.getlist("sensitive")
    for f, names in (("quasi", quasi), ("sensitive", sensitive)):
        unknown = [c for c in names if c not in columns]
        if unknown:
            raise UsageError(f"{f}= names column {unknown[0]!r}, which the table does not have")
    target = form.get("target") or None
    if form.get("kind") == "kanonymity":
        if not quasi:
            raise UsageError("choose the quasi-identifiers (quasi=) on the risk page first")
        # per quasi-identifier: a hierarchy file of the workspace, or (blank) the library's built-in one
        hierarchies = {
            q: ws.hierarchy(form.get(f"hierarchy-{q}")) for q in quasi if form.get(f"hierarchy-{q}")
        }
        return KAnonymityRequest(
            table=table,
            quasi=quasi,
            k=_number(form, "k", int),
            sensitive=sensitive,
            l=_optional(form, "l"),
            l_kind=form.get("l_kind") or "distinct",
            c=_optional(form, "c"),
            t=_optional(form, "t"),
            hierarchies=hierarchies,
            algorithm=form.get("algorithm") or "mondrian",
            target=target,
        )
    if form.get("kind") == "baseline":
        return BaselineRequest(table=table, method=form.get("baseline") or "", target=target, quasi=quasi)
    if form.get("kind") == "synth":
        rows = _number(form, "rows", int, 0) or None
        return SynthRequest(
            table=table,
            synthesizer=form.get("synthesizer") or "mst",
            epsilon=_number(form, "epsilon"),
            delta=_number(form, "delta", float, 1e-9),
            ledger=form.get("ledger") or "",
            rows=rows,
            domains=form.get("domains") or "discover",
            schema=form.get("schema") or None,
            target=target,
            quasi=quasi,
            options=state.synth_options,
        )
    raise UsageError("kind= must be kanonymity, synth or baseline")


async def release_submit(request: Request):
    state = request.app.state
    form = await _form(request)
    req = _request_from(form, state)
    if req.kind == "synth":
        import anonlab

        # refused before it runs: the ledger says whether this release still fits (nothing is written)
        ledger = anonlab.Ledger.open(state.workspace.ledger_path(req.ledger))
        ledger.check(epsilon=req.epsilon, delta=req.delta)
    return _start_table_job(state, req)


def _start_table_job(state, req):
    """Submit a table release: its hidden folder, its secret seed file (DP) or the workspace key (pseudonyms) are
    made here; a job that ends without a release removes them again."""
    from anonlab.web.releases import run_release

    ws = state.workspace
    rid, partial = ws.new_release(req.label())
    seeded = req.kind == "synth" or getattr(req, "seeded", False)
    secret = ws.new_seed(rid) if seeded else None
    if req.kind == "pseudonymize":
        ws.key_path()
    recipe = req.recipe(rid, secret)

    def cleanup():
        ws.discard(partial)
        if ws.published(rid):
            ws.finish_seed(rid)
            return rid
        ws.remove_secret(secret)
        return None

    args = (str(ws.root), recipe, rid, str(partial), state.evaluation)
    job = state.jobs.submit(req.label(), run_release, args, cleanup)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


async def job(request: Request):
    job = request.app.state.jobs.get(request.path_params["job_id"])
    if job is None:
        raise HTTPRefusal(404, "no such job (jobs are forgotten when the server stops)")
    if job.state == "done":
        return RedirectResponse(f"/releases/{job.release}", status_code=303)
    return _render(request, "job.html", {"job": job})


async def job_status(request: Request):
    """The job's state as JSON, for the job page's polling script (``/static/job.js``)."""
    from starlette.responses import JSONResponse

    job = request.app.state.jobs.get(request.path_params["job_id"])
    if job is None:
        raise HTTPRefusal(404, "no such job (jobs are forgotten when the server stops)")
    return JSONResponse(job.to_dict())


async def job_cancel(request: Request):
    await _form(request)
    job = request.app.state.jobs.cancel(request.path_params["job_id"])
    if job is None:
        raise HTTPRefusal(404, "no such job")
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


async def release_page(request: Request):
    ws = request.app.state.workspace
    rid = request.path_params["rid"]
    ws.release_file(rid, "release.json")  # the release exists (every kind has its report)
    present = ws.release_files(rid)
    context: dict[str, Any] = {"rid": rid, "files": present}
    if "recipe.toml" in present:
        import tomllib

        context["recipe"] = ws.release_file(rid, "recipe.toml").read_text(encoding="utf-8")
        try:
            about = tomllib.loads(context["recipe"]).get("release", {})
        except tomllib.TOMLDecodeError:
            about = {}
        context["baseline"] = about.get("kind") == "baseline"
        context["dp"] = about.get("kind") == "synth"  # its evaluation is internal, not among its downloads
        if about.get("kind") != "pseudonymize" and about.get("input") in ws.tables():
            context["table"] = about["input"]
    if "audit.json" in present:
        import json

        context["audit"] = json.loads(ws.release_file(rid, "audit.json").read_text(encoding="utf-8"))
    if "release.zip" in present:
        import json

        context["summary"] = json.loads(ws.release_file(rid, "release.json").read_text(encoding="utf-8"))
    return _render(request, "result.html", context)


async def release_file(request: Request):
    ws = request.app.state.workspace
    rid, name = request.path_params["rid"], request.path_params["name"]
    path = ws.release_file(rid, name)
    from anonlab.web.workspace import RELEASE_FILES

    download = request.query_params.get("download") == "1" or name != "report.html"
    filename = f"{rid}-{name}"
    response = FileResponse(
        path,
        media_type=RELEASE_FILES[name],
        filename=filename if download else None,
        content_disposition_type="attachment" if download else "inline",
    )
    if not download:
        response.headers["Content-Disposition"] = "inline"
    response.headers["Content-Security-Policy"] = FILE_CSP
    return response


# -- the frontier of a table's releases ----------------------------------------------------------------------


def frontier(request: Request):
    """The privacy-utility frontier of the releases of one table (drawn by the evaluation report's own plot
    functions from the figures each release recorded; nothing is refitted). A plain function: Starlette runs it in
    a worker thread, so drawing does not hold up other pages; one drawing at a time (pyplot is not thread-safe)."""
    import base64

    from anonlab.web.frontier import frontier_of

    state = request.app.state
    name = request.query_params.get("table", "")
    state.workspace.table(name)
    with state.drawing:
        result = frontier_of(state.workspace, name)
    plots = [
        {"title": t, "png": base64.b64encode(png).decode("ascii") if png else None, "on": on}
        for t, png, on in result.plots
    ]
    on_any = {label for _, _, on in result.plots[:1] for label in on}
    from anonlab.web.frontier import COLUMNS

    context = {
        "table": name,
        "rows": result.rows,
        "plots": plots,
        "on_frontier": on_any,
        "notes": result.notes,
        "skipped": result.skipped,
        "columns": COLUMNS,
    }
    return _render(request, "frontier.html", context)


# -- hierarchies ----------------------------------------------------------------------------------------------


async def hierarchy_upload(request: Request):
    """Store an ARX-format hierarchy CSV under ``hierarchies/`` (checked readable; removed again if not)."""
    from starlette.datastructures import UploadFile

    from anonlab.deid.hierarchy import read_rows

    ws = request.app.state.workspace
    form = await _form(request, request.app.state.max_upload)
    item = form.get("hierarchy")
    if not isinstance(item, UploadFile) or not item.filename:
        raise UsageError("choose a hierarchy file (CSV) to upload")
    name = ws.save_hierarchy(item.filename, await item.read())
    try:
        read_rows(ws.root / name)
    except AnonlabError:
        (ws.root / name).unlink(missing_ok=True)
        raise
    back = form.get("back") or ""
    return RedirectResponse(f"/release?{back}" if back else "/", status_code=303)


# -- pseudonyms ---------------------------------------------------------------------------------------------


async def pseudonymize_form(request: Request):
    name, df = _table(request)
    draft = _inferred(request, name, df)
    context = {
        "table": name,
        "columns": list(df.columns),
        "roles": {c.name: c.role for c in draft},
        "key_exists": (request.app.state.workspace.root / "secrets" / "pseudonym.key").exists(),
    }
    return _render(request, "pseudonymize.html", context)


async def pseudonymize_submit(request: Request):
    from anonlab.web.releases import PseudonymRequest

    state = request.app.state
    form = await _form(request)
    table = form.get("table", "")
    columns = list(read_columns(state.workspace.table(table)))
    chosen = {f: form.getlist(f) for f in ("ids", "drop", "dates")}
    for f, names in chosen.items():
        unknown = [c for c in names if c not in columns]
        if unknown:
            raise UsageError(f"{f}= names column {unknown[0]!r}, which the table does not have")
    if not chosen["ids"] and not chosen["drop"]:
        raise UsageError("choose at least one identifier to pseudonymise (ids=) or to drop (drop=)")
    by = form.get("by") or None
    if by is not None and by not in chosen["ids"]:
        raise UsageError("by= must be one of the pseudonymised identifiers (ids=): dates shift per subject")
    req = PseudonymRequest(table=table, by=by, **chosen)
    return _start_table_job(state, req)


def read_columns(path):
    from anonlab.io import read_table

    return read_table(path).columns


# -- folders: DICOM and photos ----------------------------------------------------------------------------------


async def folders(request: Request):
    state = request.app.state
    context = {"folders": state.workspace.folders(), "max_upload": state.max_upload}
    return _render(request, "folders.html", context)


async def folder_upload(request: Request):
    from starlette.datastructures import UploadFile

    ws = request.app.state.workspace
    form = await _form(request, request.app.state.max_upload, max_files=MAX_FOLDER_FILES)
    items = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    if not items:
        raise UsageError("choose the files to upload (DICOM files or photos)")
    name = (form.get("name") or "").strip() or "upload"
    files = [(f.filename, await f.read()) for f in items]
    ws.save_folder(name, files)
    return RedirectResponse("/folders", status_code=303)


async def folder_submit(request: Request):
    from anonlab.web.releases import FOLDER_KINDS, run_folder

    state = request.app.state
    ws = state.workspace
    form = await _form(request)
    kind, source = form.get("kind") or "", form.get("folder") or ""
    if kind not in FOLDER_KINDS:
        raise UsageError(f"kind={kind!r}: one of {', '.join(FOLDER_KINDS)}")
    ws.folder(source)
    if kind == "dicom":
        ws.key_path()
    label = f"{kind}-{source}"
    rid, partial = ws.new_release(label)
    args = (str(ws.root), kind, source, rid, str(partial))

    def cleanup():
        ws.discard(partial)
        return rid if ws.published(rid) else None

    job = state.jobs.submit(label, run_folder, args, cleanup)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


MAX_FOLDER_FILES = 2000


# -- budgets --------------------------------------------------------------------------------------------------


def _gauge(ws, name: str) -> dict[str, Any]:
    import anonlab

    try:
        led = anonlab.Ledger.open(ws.ledger_path(name))
    except AnonlabError as exc:
        return {"name": name, "error": str(exc)}
    total, spent = led.total, led.spent()
    share = spent.epsilon / total.epsilon if total.epsilon else 1.0
    return {
        "name": name,
        "population": led.population,
        "total": total,
        "spent": spent,
        "remaining": led.remaining(),
        "releases": len(led.entries),
        "share": min(max(share, 0.0), 1.0),
    }


async def budget(request: Request):
    ws = request.app.state.workspace
    return _render(request, "budget.html", {"gauges": [_gauge(ws, n) for n in ws.ledgers()]})


async def budget_create(request: Request):
    import anonlab

    ws = request.app.state.workspace
    form = await _form(request)
    path = ws.ledger_path(form.get("name") or "", exists=False)
    anonlab.Ledger.create(
        path,
        epsilon=_number(form, "epsilon"),
        delta=_number(form, "delta", float, 0.0),
        population=(form.get("population") or "").strip() or None,
    )
    return RedirectResponse("/budget", status_code=303)
