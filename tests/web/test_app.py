"""anonlab serve in-process: the pages, the flow, and the safety properties (CSRF, traversal, upload limit,
access token off loopback, host check, overspend refused before it runs, no tracebacks)."""

from __future__ import annotations

import re
import stat
import tomllib

import pytest

from tests.web.conftest import BASE

QUASI = ["age", "sex", "race"]


def _assess_params(table="adult.csv"):
    return [("table", table), *[("quasi", q) for q in QUASI], ("sensitive", "income-per-year")]


def _kanon_form(csrf, k=5, table="adult.csv"):
    return {
        "csrf": csrf,
        "kind": "kanonymity",
        "table": table,
        "quasi": QUASI,
        "k": str(k),
        "target": "income-per-year",
        "algorithm": "mondrian",
    }


def test_pages_of_the_flow_render(client):
    home = client.get("/")
    assert home.status_code == 200 and "adult.csv" in home.text
    assert "default-src 'none'" in home.headers["content-security-policy"]
    assert home.headers["referrer-policy"] == "same-origin"
    schema = client.get("/schema", params={"table": "adult.csv"})
    assert schema.status_code == 200
    assert 'id="from-data"' in schema.text and "read from the data: not public" in schema.text
    assess = client.get("/assess", params=_assess_params())
    assert (
        assess.status_code == 200
        and 'id="class-histogram"' in assess.text
        and "sample uniques" in assess.text
    )
    release = client.get("/release", params=_assess_params())
    assert release.status_code == 200 and 'id="kanon-form"' in release.text
    assert "create one on the budget page" in release.text  # no ledger yet: no DP form
    assert client.get("/static/style.css").status_code == 200


def test_column_names_are_escaped(client, workspace):
    (workspace / "odd.csv").write_text("<script>alert(1)</script>,b\n1,2\n3,4\n", encoding="utf-8")
    page = client.get("/assess", params={"table": "odd.csv"})
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text


def test_upload_is_stored_in_the_workspace_with_mode_0600(client, csrf, workspace, adult_csv_bytes):
    r = client.post(
        "/upload",
        data={"csrf": csrf},
        files={"table": ("../../evil.csv", adult_csv_bytes)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/schema?table=tables%2Fevil.csv"
    stored = workspace / "tables" / "evil.csv"
    assert stored.read_bytes() == adult_csv_bytes
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert not (workspace.parent / "evil.csv").exists()
    again = client.post(
        "/upload", data={"csrf": csrf}, files={"table": ("evil.csv", b"a,b\n1,2\n")}, follow_redirects=False
    )
    assert again.headers["location"].endswith("evil-1.csv")  # never over an existing file
    assert stored.read_bytes() == adult_csv_bytes


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("notes.txt", b"a,b\n1,2\n", "upload a table named like"),
        ("ragged.csv", b"a,b\n1,2,3\n", "ragged.csv"),
    ],
)
def test_bad_uploads_are_refused_and_not_kept(client, csrf, workspace, name, content, words):
    r = client.post("/upload", data={"csrf": csrf}, files={"table": (name, content)})
    assert r.status_code == 400 and words in r.text
    assert "Traceback" not in r.text
    assert list((workspace / "tables").iterdir()) == []


def test_upload_limit(workspace):
    from starlette.testclient import TestClient

    from anonlab.web import create_app

    app = create_app(workspace, max_upload=2000)
    with TestClient(app, base_url=BASE) as c:
        token = c.get("/").text.split('name="csrf" value="')[1].split('"')[0]
        r = c.post("/upload", data={"csrf": token}, files={"table": ("big.csv", b"a\n" + b"1\n" * 5000)})
        assert r.status_code == 413 and "larger than the limit" in r.text
        assert list((workspace / "tables").iterdir()) == []
    app.state.jobs.shutdown()


def test_forms_without_the_csrf_token_are_refused(client, csrf, workspace):
    for form in ({}, {"csrf": "wrong"}):
        r = client.post(
            "/release",
            data={**_kanon_form(csrf), **form}
            if form
            else {k: v for k, v in _kanon_form(csrf).items() if k != "csrf"},
        )
        assert r.status_code == 403 and "security token" in r.text
        r = client.post("/budget", data={"name": "x", "epsilon": "1", **form})
        assert r.status_code == 403
    assert client.app.state.jobs.all() == [] and list((workspace / "ledgers").iterdir()) == []
    # a post from another site is refused even with a (leaked) token
    r = client.post(
        "/budget", data={"csrf": csrf, "name": "x", "epsilon": "1"}, headers={"origin": "http://evil.example"}
    )
    assert r.status_code == 403 and "another site" in r.text
    r = client.post(
        "/budget", data={"csrf": csrf, "name": "x", "epsilon": "1"}, headers={"sec-fetch-site": "cross-site"}
    )
    assert r.status_code == 403 and list((workspace / "ledgers").iterdir()) == []


@pytest.mark.parametrize("table", ["../adult.csv", "/etc/passwd", "tables/../../x.csv", "adult.csv/..", ""])
def test_paths_outside_the_workspace_are_refused(client, table, tmp_path):
    (tmp_path / "adult.csv").write_text("a\n1\n")  # beside the workspace: must not be reachable
    r = client.get("/schema", params={"table": table})
    assert r.status_code == 400 and "is not a table in the workspace" in r.text


@pytest.mark.parametrize(
    "path",
    [
        "/releases/..%2f..%2fadult.csv/files/release.csv",
        "/releases/x/files/..%2f..%2fadult.csv",
        "/releases/x/files/secret.key",
    ],
)
def test_release_files_outside_the_list_are_refused(client, path):
    r = client.get(path)
    assert r.status_code in (400, 404) and "Traceback" not in r.text


def test_loopback_bind_answers_only_loopback_names(app):
    from starlette.testclient import TestClient

    with TestClient(app, base_url="http://evil.example:8765") as c:
        r = c.get("/")
        assert r.status_code == 400 and "loopback" in r.text
    with TestClient(app, base_url="http://localhost:8765") as c:
        assert c.get("/").status_code == 200


def test_a_non_loopback_bind_requires_the_token(workspace):
    from starlette.testclient import TestClient

    from anonlab.web import create_app

    app = create_app(workspace, host="0.0.0.0")
    token = app.state.guard.token
    assert token and len(token) >= 24
    with TestClient(app, base_url="http://192.0.2.1:8765") as c:
        assert c.get("/").status_code == 403
        assert c.get("/", params={"token": "wrong"}).status_code == 403
        assert c.get("/static/style.css").status_code == 403
        r = c.get("/schema", params={"table": "adult.csv", "token": token}, follow_redirects=False)
        assert r.status_code == 303 and "token" not in r.headers["location"]
        assert (
            "httponly" in r.headers["set-cookie"].lower()
            and "samesite=strict" in r.headers["set-cookie"].lower()
        )
        assert c.get(r.headers["location"]).status_code == 200  # the cookie now carries it
    app.state.jobs.shutdown()


def test_a_kanonymous_release_end_to_end_and_its_recipe_reproduces_it(
    client, csrf, workspace, monkeypatch, tmp_path
):
    r = client.post("/release", data=_kanon_form(csrf), follow_redirects=False)
    assert r.status_code == 303
    job_id = r.headers["location"].rsplit("/", 1)[1]
    job = client.app.state.jobs.wait(job_id, timeout=300)
    assert job.state == "done", job.error
    page = client.get(f"/jobs/{job_id}")  # a finished job leads to its release
    assert page.status_code == 200 and 'id="report"' in page.text
    rid = job.release
    release = client.get(f"/releases/{rid}/files/release.csv")
    assert release.status_code == 200 and "attachment" in release.headers["content-disposition"]
    report = client.get(f"/releases/{rid}/files/report.html")
    assert report.status_code == 200 and "inline" in report.headers["content-disposition"]
    recipe_text = client.get(f"/releases/{rid}/files/recipe.toml").text
    recipe = tomllib.loads(recipe_text)
    assert recipe["release"]["kind"] == "kanonymity" and recipe["release"]["input"] == "adult.csv"
    assert recipe["anonymize"] == {"method": "mondrian", "k": 5, "quasi": QUASI}
    assert "secrets" not in recipe
    # the downloaded recipe, run by `anonlab run` from elsewhere with --root, writes the same bytes
    from anonlab.cli import main

    downloaded = tmp_path / "recipe.toml"
    downloaded.write_text(recipe_text)
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(downloaded), "-o", "reproduced.csv", "--root", str(workspace)]) == 0
    assert (tmp_path / "reproduced.csv").read_bytes() == release.content
    assert (workspace / "releases" / rid / "release.csv").read_bytes() == release.content
    assert not [p for p in (workspace / "releases").iterdir() if p.name.startswith(".partial")]


def _ledger(client, csrf, name="adult", epsilon="0.5"):
    r = client.post(
        "/budget",
        data={"csrf": csrf, "name": name, "epsilon": epsilon, "delta": "1e-6", "population": "Adult sample"},
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_budget_page_and_an_overspend_refused_before_it_runs(client, csrf, workspace):
    _ledger(client, csrf)
    page = client.get("/budget")
    assert page.status_code == 200 and 'id="gauge-adult"' in page.text and "<meter" in page.text
    before = (workspace / "ledgers" / "adult.ledger").read_bytes()
    form = {
        "csrf": csrf,
        "kind": "synth",
        "table": "adult.csv",
        "synthesizer": "mst",
        "epsilon": "1",
        "delta": "1e-9",
        "ledger": "adult",
        "domains": "discover",
    }
    r = client.post("/release", data=form, follow_redirects=False)
    assert r.status_code == 409 and "Traceback" not in r.text
    assert "budget" in r.text.lower()
    assert client.app.state.jobs.all() == []  # nothing ran
    assert (workspace / "ledgers" / "adult.ledger").read_bytes() == before
    # a ledger that exists already is never replaced
    r = client.post("/budget", data={"csrf": csrf, "name": "adult", "epsilon": "9"})
    assert r.status_code == 400 and (workspace / "ledgers" / "adult.ledger").read_bytes() == before
    # names that are not plain words are refused
    r = client.post("/budget", data={"csrf": csrf, "name": "../x", "epsilon": "1"})
    assert r.status_code == 400 and "letters, digits" in r.text


def test_an_mst_release_is_reproduced_byte_for_byte_by_anonlab_run(client, csrf, workspace, tmp_path):
    _ledger(client, csrf, epsilon="2")
    form = {
        "csrf": csrf,
        "kind": "synth",
        "table": "adult.csv",
        "synthesizer": "mst",
        "epsilon": "1",
        "delta": "1e-9",
        "ledger": "adult",
        "domains": "discover",
        "schema": "adult",
        "target": "income-per-year",
    }
    r = client.post("/release", data=form, follow_redirects=False)
    job = client.app.state.jobs.wait(r.headers["location"].rsplit("/", 1)[1], timeout=600)
    assert job.state == "done", job.error
    rid = job.release
    recipe_text = client.get(f"/releases/{rid}/files/recipe.toml").text
    recipe = tomllib.loads(recipe_text)
    assert recipe["synth"]["ledger"] == "ledgers/adult.ledger" and recipe["synth"]["ledger_entry"] == 1
    seed_file = workspace / recipe["secrets"]["seed_file"]
    assert recipe["secrets"]["seed_file"] == f"secrets/{rid}.seed"
    assert stat.S_IMODE(seed_file.stat().st_mode) == 0o600
    seed = seed_file.read_text().split()[-1]
    assert not any(key in ("seed", "key") for table in recipe.values() for key in table)
    served = [client.get(f"/releases/{rid}/files/{n}").content for n in ("release.json", "report.html")]
    assert all(
        seed.encode() not in body
        for body in [*served, recipe_text.encode(), client.get(f"/releases/{rid}").content]
    )
    assert client.get(f"/releases/{rid}/files/{rid}.seed").status_code == 400  # never served
    gauge = " ".join(client.get("/budget").text.split())
    spent = float(re.search(r"epsilon spent ([0-9.]+) of 2 ", gauge).group(1))
    assert 0 < spent <= 1 and "1 release." in gauge  # zCDP composition states it at the ledger's delta
    ledger_before = (workspace / "ledgers" / "adult.ledger").read_bytes()

    # the downloaded recipe, run from the command line, replays the ledger entry: the same bytes, no new charge
    from anonlab.cli import main

    downloaded = tmp_path / "mst-recipe.toml"
    downloaded.write_text(recipe_text)
    out = tmp_path / "again.csv"
    assert main(["run", str(downloaded), "-o", str(out), "--root", str(workspace)]) == 0
    assert out.read_bytes() == (workspace / "releases" / rid / "release.csv").read_bytes()
    assert (workspace / "ledgers" / "adult.ledger").read_bytes() == ledger_before


def test_errors_are_pages_not_tracebacks(client, csrf):
    r = client.get("/no/such/page")
    assert r.status_code == 404 and "no such page" in r.text
    r = client.post("/release", data={**_kanon_form(csrf), "k": "many"})
    assert r.status_code == 400 and "k=&#39;many&#39; is not a number" in r.text
    r = client.get("/assess", params={"table": "adult.csv", "quasi": "nope"})
    assert r.status_code == 400 and "nope" in r.text and "Traceback" not in r.text


def _slow_fit(csrf):
    return {
        "csrf": csrf,
        "kind": "synth",
        "table": "adult.csv",
        "synthesizer": "aim",
        "epsilon": "1",
        "ledger": "adult",
        "schema": "adult",
    }


def test_cancel_stops_a_running_job_and_keeps_nothing(workspace, tmp_path):
    """A long AIM fit is stopped in the middle of the library call: its process ends, no release folder (hidden
    or not) and no seed file are left, and a queued job behind it never starts."""
    import time

    from starlette.testclient import TestClient

    from anonlab.web import create_app

    app = create_app(workspace, evaluation={"skip": ["anonymeter"]}, synth_options={"rounds": 10_000})
    with TestClient(app, base_url=BASE) as c:
        token = re.search(r'name="csrf" value="([^"]+)"', c.get("/").text).group(1)
        _ledger(c, token, epsilon="5")
        first = c.post("/release", data=_slow_fit(token), follow_redirects=False).headers["location"]
        second = c.post("/release", data=_kanon_form(token), follow_redirects=False).headers["location"]
        jobs = app.state.jobs
        running = jobs.get(first.rsplit("/", 1)[1])
        queued = jobs.get(second.rsplit("/", 1)[1])
        deadline = time.monotonic() + 60
        while "fitting" not in running.phase and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "fitting" in running.phase, running.phase
        for job in (queued, running):
            r = c.post(f"/jobs/{job.id}/cancel", data={"csrf": token}, follow_redirects=False)
            assert r.status_code == 303
        started = time.monotonic()
        assert jobs.wait(running.id, 30).state == "cancelled"
        assert time.monotonic() - started < 15  # stopped, not left to finish its thousands of rounds
        assert jobs.wait(queued.id, 30).state == "cancelled" and queued.release is None
        assert "cancelled" in c.get(f"/jobs/{running.id}").text
    assert list((workspace / "releases").iterdir()) == []
    assert list((workspace / "secrets").iterdir()) == []
    jobs.shutdown()


def test_pseudonymisation_page_keeps_the_key_in_the_workspace(client, csrf, workspace, tmp_path):
    (workspace / "patients.csv").write_text(
        "patient_id,name,visit,diagnosis\nP001,Ann Lee,2020-01-05,flu\nP002,Bo Chan,2021-03-09,cold\n"
        "P001,Ann Lee,2020-02-11,flu\n",
        encoding="utf-8",
    )
    page = client.get("/pseudonymize", params={"table": "patients.csv"})
    assert page.status_code == 200 and 'id="pseudonym-form"' in page.text
    form = {
        "csrf": csrf,
        "table": "patients.csv",
        "ids": ["patient_id"],
        "drop": ["name"],
        "dates": ["visit"],
        "by": "patient_id",
    }
    r = client.post("/pseudonymize", data=form, follow_redirects=False)
    job = client.app.state.jobs.wait(r.headers["location"].rsplit("/", 1)[1], timeout=120)
    assert job.state == "done", job.error
    key = workspace / "secrets" / "pseudonym.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    material = key.read_text().strip()
    rid = job.release
    bodies = [client.get(f"/releases/{rid}").text, client.get("/pseudonymize?table=patients.csv").text]
    bodies += [
        client.get(f"/releases/{rid}/files/{n}").text for n in ("release.csv", "release.json", "recipe.toml")
    ]
    assert all(material not in b and material[:16] not in b for b in bodies)
    released = client.get(f"/releases/{rid}/files/release.csv").text
    assert "P001" not in released and "Ann Lee" not in released and "name" not in released.splitlines()[0]
    recipe = tomllib.loads(bodies[-1])
    assert recipe["secrets"] == {"key_file": "secrets/pseudonym.key"}
    # the recipe reproduces the same pseudonyms under the same key file
    from anonlab.release_recipe import run_recipe

    again = run_recipe(tomllib_path(tmp_path, bodies[-1]), tmp_path / "again.csv", root=workspace)
    assert again.output.read_text() == released
    # a second pseudonymisation uses the same key (linkable), never a new one
    r = client.post("/pseudonymize", data=form, follow_redirects=False)
    second = client.app.state.jobs.wait(r.headers["location"].rsplit("/", 1)[1], 120)
    assert second.state == "done", second.error
    assert key.read_text().strip() == material
    r = client.post("/pseudonymize", data={**form, "ids": ["nope"]})
    assert r.status_code == 400 and "nope" in r.text


def tomllib_path(folder, text):
    path = folder / "recipe.toml"
    path.write_text(text)
    return path


def test_drag_and_drop_script_is_served_from_the_package(client):
    page = client.get("/")
    assert '<script src="/static/upload.js" defer></script>' in page.text and 'class="dropzone"' in page.text
    js = client.get("/static/upload.js")
    assert js.status_code == 200 and "dataTransfer" in js.text and "http" not in js.text


def test_without_the_web_extra(monkeypatch, workspace, capsys):
    import sys

    from anonlab.errors import MissingExtraError
    from anonlab.web import create_app

    monkeypatch.setitem(sys.modules, "starlette", None)
    with pytest.raises(MissingExtraError, match=r"anonlab\[web\]"):
        create_app(workspace)
    from anonlab.cli import main

    assert main(["serve", "--workspace", str(workspace), "--no-browser"]) == 2
    assert "anonlab[web]" in capsys.readouterr().err
