"""Fixtures for the web app: a workspace holding a 2,000-row Adult sample, the app over it, a client."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed (pip install 'anonlab[web]')")
pytest.importorskip("httpx", reason="httpx (the test extra) drives Starlette's TestClient")

# quick reports: the parts that take seconds on 2,000 rows are skipped (the report still renders)
QUICK = {"skip": ["anonymeter", "quality", "membership", "dcr", "tstr"]}
BASE = "http://127.0.0.1:8765"


@pytest.fixture(scope="session")
def adult_csv_bytes():
    import anonlab

    sample = anonlab.load_adult().sample(2000, random_state=0).drop(columns=["education-num"])
    return sample.to_csv(index=False).encode()


@pytest.fixture
def workspace(tmp_path, adult_csv_bytes):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "adult.csv").write_bytes(adult_csv_bytes)
    return ws


@pytest.fixture
def app(workspace):
    from anonlab.web import create_app

    app = create_app(workspace, evaluation=QUICK, synth_options={"iters": 50})
    yield app
    app.state.jobs.shutdown()


@pytest.fixture
def client(app):
    from starlette.testclient import TestClient

    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def csrf(client):
    """The app's CSRF token, read from a form as a browser would."""
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)
