"""Running the app: uvicorn on one address, the browser opened at the start, the workspace in one folder."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from urllib.parse import quote

from anonlab.errors import UsageError, require_extra

__all__ = ["serve", "address"]


def address(host: str, port: int, token: str | None) -> str:
    """The URL to open: the token, when there is one, rides in the query once (the app moves it to a cookie)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    url = f"http://{shown}:{port}/"
    return url + (f"?token={quote(token)}" if token else "")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host.strip("[]"), 0))
        return s.getsockname()[1]


def serve(
    workspace: str | os.PathLike = "anonlab-workspace",
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    open_browser: bool = True,
    max_upload: int | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve the app on ``host:port`` until interrupted. ``port=0`` picks a free port.

    host : ``127.0.0.1`` (the default) reaches this machine only. Any other address lets other machines connect:
        a random access token is then required, and ``announce`` receives the address that carries it (share it
        only with people who may see the data).
    """
    require_extra("web", "uvicorn", "anonlab serve")
    import uvicorn

    from anonlab.web.app import DEFAULT_MAX_UPLOAD, create_app

    if not 0 <= port <= 65535:
        raise UsageError(f"port={port}: a port number from 1 to 65535 (0 picks a free one)")
    if port == 0:
        port = free_port(host)
    app = create_app(workspace, host=host, max_upload=max_upload or DEFAULT_MAX_UPLOAD)
    guard = app.state.guard
    url = address(host if guard.token else "127.0.0.1", port, guard.token)
    announce(f"anonlab serve: workspace {app.state.workspace.root}")
    if app.state.swept:
        announce(
            f"anonlab serve: removed {len(app.state.swept)} leftover(s) of jobs that never completed "
            "(a previous server was stopped mid-job)"
        )
    if app.state.claim is None:
        announce("anonlab serve: another anonlab serve holds this workspace; leftovers are not swept")
    announce(f"anonlab serve: open {url} (Ctrl-C stops)")
    if not guard.loopback:
        announce("anonlab serve: other machines can connect; the address above holds the access token")
    if open_browser:
        import webbrowser

        threading.Timer(1.0, lambda: webbrowser.open(url)).start()
    config = uvicorn.Config(app, host=host.strip("[]"), port=port, log_level="warning", access_log=False)
    try:
        uvicorn.Server(config).run()
    finally:
        app.state.jobs.shutdown()
        if app.state.claim is not None:
            app.state.claim.close()
