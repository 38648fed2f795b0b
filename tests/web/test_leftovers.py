"""What a killed server leaves behind is removed when the next one starts: hidden release and folder stages,
pending seed files of releases that never appeared. Only the server holding the workspace sweeps it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest


def _leave_debris(ws):
    for sub in ("releases", "folders", "secrets"):
        (ws / sub).mkdir(exist_ok=True)
    stage = ws / "releases" / ".partial-20260101-000000-k5-aaaaaa"
    stage.mkdir()
    (stage / "release.csv").write_text("age\n30-39\n")  # looks whole, but was never published
    (ws / "folders" / ".partial-0123456789ab").mkdir()
    (ws / "folders" / ".partial-0123456789ab" / "a.dcm").write_bytes(b"x")
    (ws / "secrets" / ".pending-20260101-000000-mst-eps1-aaaaaa.seed").write_text("# s\n12345\n")
    # a release that did appear, its seed still pending (the server died between the two renames)
    (ws / "releases" / "20260101-000001-mst-eps1-bbbbbb").mkdir()
    (ws / "secrets" / ".pending-20260101-000001-mst-eps1-bbbbbb.seed").write_text("# s\n6789\n")


def test_the_next_server_sweeps_what_a_killed_one_left(tmp_path):
    from anonlab.web import create_app

    ws = tmp_path / "ws"
    ws.mkdir()
    _leave_debris(ws)
    first = create_app(ws)
    assert sorted(first.state.swept) == [
        "folders/.partial-0123456789ab",
        "releases/.partial-20260101-000000-k5-aaaaaa",
        "secrets/.pending-20260101-000000-mst-eps1-aaaaaa.seed",
    ]
    assert [p.name for p in (ws / "releases").iterdir()] == ["20260101-000001-mst-eps1-bbbbbb"]
    assert [p.name for p in (ws / "secrets").iterdir()] == ["20260101-000001-mst-eps1-bbbbbb.seed"]
    assert list((ws / "folders").iterdir()) == []
    # a second server on the same workspace while the first runs does not sweep (its jobs may be staging)
    _leave_debris_again = ws / "releases" / ".partial-20260101-000002-k5-cccccc"
    _leave_debris_again.mkdir()
    second = create_app(ws)
    assert second.state.claim is None and second.state.swept == [] and _leave_debris_again.exists()
    first.state.jobs.shutdown()
    second.state.jobs.shutdown()
    first.state.claim.close()
    third = create_app(ws)  # the first is gone: the next one sweeps
    assert third.state.swept == ["releases/.partial-20260101-000002-k5-cccccc"]
    third.state.jobs.shutdown()
    third.state.claim.close()


SERVER = textwrap.dedent(
    """
    import re, sys, time
    from starlette.testclient import TestClient
    from anonlab.web import create_app

    if __name__ == "__main__":
        app = create_app(sys.argv[1], synth_options={"rounds": 10_000})
        c = TestClient(app, base_url="http://127.0.0.1:8765")
        token = re.search(r'name="csrf" value="([^"]+)"', c.get("/").text).group(1)
        c.post("/budget", data={"csrf": token, "name": "adult", "epsilon": "5", "delta": "1e-6"})
        form = {"csrf": token, "kind": "synth", "table": "adult.csv", "synthesizer": "aim", "epsilon": "1",
                "ledger": "adult", "schema": "adult"}
        job = app.state.jobs.get(c.post("/release", data=form, follow_redirects=False).headers["location"].rsplit("/", 1)[1])
        while "fitting" not in job.phase:
            time.sleep(0.1)
        print(job.pid, flush=True)
        time.sleep(600)
    """
)


@pytest.mark.slow
def test_a_killed_server_leaves_no_job_running_and_the_next_one_sweeps(workspace, tmp_path):
    """The server process is killed outright (SIGKILL) while its job fits: the job's process ends by itself
    within a second or so (it must not go on to publish), and the next server removes the staging folder and the
    pending seed file."""
    from anonlab.web import create_app

    script = tmp_path / "server.py"
    script.write_text(SERVER)
    proc = subprocess.Popen([sys.executable, str(script), str(workspace)], stdout=subprocess.PIPE, text=True)
    try:
        job_pid = int(proc.stdout.readline())
        assert [p.name[:9] for p in (workspace / "releases").iterdir()] == [".partial-"]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _alive(job_pid):
            time.sleep(0.1)
        assert not _alive(job_pid), "the job kept running after its server was killed"
    finally:
        if proc.poll() is None:
            proc.kill()
    app = create_app(workspace)
    assert len(app.state.swept) == 2
    assert list((workspace / "releases").iterdir()) == [] and list((workspace / "secrets").iterdir()) == []
    app.state.jobs.shutdown()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (ended, not yet reaped by init) counts as ended
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
