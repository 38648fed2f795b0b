"""`anonlab serve`: the local web app (anonlab.web) over a workspace folder."""

from __future__ import annotations

from anonlab.cli._common import add_command

DESCRIPTION = """\
Serve a small web app for people who do not code: load a table (drag and drop), review its schema, assess its
risk, run k-anonymous (k, l, t, hierarchies), DP synthetic or pseudonymised releases and non-private baselines
with a live progress bar, read their evaluation reports and the privacy-utility frontier of a table's releases,
and download each release with its recipe, which `anonlab run` makes again to the same bytes; de-identify
folders of DICOM files or photos. Everything is kept in the --workspace folder (uploads mode 0600; the pseudonym
key and DP seed files in its secrets/ folder, never shown or sent to the browser).

Safe by default: it listens on 127.0.0.1 only (this machine). With --host another address, other machines can
connect and a random access token is required (in the address printed at start). Every form carries a CSRF
token, uploads are size-limited, keys and seeds are never shown or sent, and the server makes no network request.
Each release runs in a process of its own: Cancel stops it at once and keeps nothing of it; what a killed
server's jobs left half-made is removed when the next server starts on the workspace.

Needs the web extra: pip install 'anonlab[web]'.

Examples:
  anonlab serve                                  # ./anonlab-workspace, http://127.0.0.1:8765/, opens the browser
  anonlab serve --workspace study --port 9000 --no-browser
  anonlab serve --host 0.0.0.0                   # reachable from other machines: token required"""


def add_parser(sub) -> None:
    p = add_command(
        sub,
        "serve",
        help="a local web app: load, assess, release, evaluate and download, in a browser",
        description=DESCRIPTION,
        func=run,
    )
    p.add_argument("--workspace", default="anonlab-workspace", help="the folder the app reads and writes")
    p.add_argument("--port", type=int, default=8765, help="port to listen on (0: a free one) [default: 8765]")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; anything but loopback requires the printed access token [default: 127.0.0.1]",
    )
    p.add_argument("--no-browser", dest="open_browser", action="store_false", help="do not open a browser")
    p.add_argument("--max-upload-mb", type=int, default=200, help="largest upload accepted [default: 200]")


def run(args) -> int:
    import sys

    from anonlab.web import serve

    serve(
        args.workspace,
        host=args.host,
        port=args.port,
        open_browser=args.open_browser,
        max_upload=args.max_upload_mb * 1024 * 1024,
        announce=lambda line: print(line, file=sys.stderr, flush=True),
    )
    return 0
