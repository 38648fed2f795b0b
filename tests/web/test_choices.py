"""anonlab serve's release choices beyond k: l-diversity, t-closeness and hierarchy files; the non-private
baselines; the frontier of a table's releases; the job page's live progress (the library's own bars, polled)."""

from __future__ import annotations

import json
import re
import time
import tomllib

from tests.web.conftest import BASE

QUASI = ["age", "sex", "race"]
RACE = b"White;*\nBlack;*\nAsian-Pac-Islander;*\nAmer-Indian-Eskimo;*\nOther;*\n"


def _wait(client, location, timeout=300):
    job = client.app.state.jobs.wait(location.rsplit("/", 1)[1], timeout=timeout)
    assert job.state == "done", job.error
    return job.release


def _reproduces(workspace, rid, tmp_path) -> bool:
    from anonlab.cli import main

    out = tmp_path / f"{rid}.csv"
    assert (
        main(
            [
                "run",
                str(workspace / "releases" / rid / "recipe.toml"),
                "-o",
                str(out),
                "--root",
                str(workspace),
            ]
        )
        == 0
    )
    return out.read_bytes() == (workspace / "releases" / rid / "release.csv").read_bytes()


def test_kanonymity_with_l_t_and_a_hierarchy_file_is_reproduced(client, csrf, workspace, tmp_path):
    r = client.post(
        "/hierarchies",
        data={"csrf": csrf, "back": "table=adult.csv"},
        files={"hierarchy": ("race.csv", RACE)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/release?table=adult.csv"
    page = client.get(
        "/release",
        params=[("table", "adult.csv"), *[("quasi", q) for q in QUASI], ("sensitive", "income-per-year")],
    )
    assert 'name="t"' in page.text and 'name="l_kind"' in page.text
    assert '<option value="hierarchies/race.csv">' in page.text and 'id="baseline-form"' in page.text
    form = {
        "csrf": csrf,
        "kind": "kanonymity",
        "table": "adult.csv",
        "quasi": QUASI,
        "sensitive": ["income-per-year"],
        "k": "5",
        "l": "2",
        "t": "0.3",
        "algorithm": "global",
        "hierarchy-race": "hierarchies/race.csv",
        "target": "income-per-year",
    }
    rid = _wait(client, client.post("/release", data=form, follow_redirects=False).headers["location"])
    recipe = tomllib.loads(client.get(f"/releases/{rid}/files/recipe.toml").text)
    assert recipe["anonymize"] == {
        "method": "global",
        "k": 5,
        "quasi": QUASI,
        "sensitive": ["income-per-year"],
        "l": 2.0,
        "t": 0.3,
        "hierarchies": {"race": "hierarchies/race.csv"},
    }
    lines = client.get(f"/releases/{rid}/files/release.csv").text.splitlines()
    race = lines[0].split(",").index("race")
    assert {line.split(",")[race] for line in lines[1:]} <= set(RACE.decode().replace(";", "\n").split())
    figures = json.loads(client.get(f"/releases/{rid}/files/evaluation.json").text)
    assert figures["headline"]["k"] >= 5 and figures["label"].startswith("k5-l2-t0p3-global")
    assert _reproduces(workspace, rid, tmp_path)
    # bad choices are refused before any job: l without a sensitive column, a hierarchy file not in the workspace
    for bad, words in (
        ({"sensitive": []}, "sensitive column"),
        ({"hierarchy-race": "../adult.csv"}, "not a hierarchy file"),
        ({"l_kind": "most"}, "l_kind="),
    ):
        r = client.post("/release", data={**form, **bad})
        assert r.status_code == 400 and words in r.text
    assert len(client.app.state.jobs.all()) == 1


def test_the_l_kinds_reach_the_recipe():
    from anonlab.web.releases import KAnonymityRequest

    req = KAnonymityRequest("t.csv", ["age"], 5, ["income"], l=3, l_kind="recursive", c=2.5, t=0.2)
    params = req.recipe("x").params
    assert (params["l"], params["l_kind"], params["c"], params["t"]) == (3, "recursive", 2.5, 0.2)
    assert "l_kind" not in KAnonymityRequest("t.csv", ["age"], 5, ["income"], l=3).recipe("x").params
    assert req.label() == "k5-l3-t0p2-mondrian"


def test_a_bad_hierarchy_upload_is_refused_and_not_kept(client, csrf, workspace):
    r = client.post("/hierarchies", data={"csrf": csrf}, files={"hierarchy": ("../x.txt", b"a;b\n")})
    assert r.status_code == 400 and "hierarchy named like" in r.text
    assert list((workspace / "hierarchies").iterdir()) == []


def test_a_baseline_is_labelled_seeded_from_a_secret_file_and_reproduced(client, csrf, workspace, tmp_path):
    """Independent columns, seeded from a secret seed file the recipe names (never shown); the copy baseline
    runs in test_the_job_page_polls_its_status_and_works_without_javascript."""
    form = {"csrf": csrf, "kind": "baseline", "table": "adult.csv", "baseline": "independent"}
    rid = _wait(client, client.post("/release", data=form, follow_redirects=False).headers["location"])
    recipe = tomllib.loads(client.get(f"/releases/{rid}/files/recipe.toml").text)
    assert recipe["release"]["kind"] == "baseline" and recipe["baseline"] == {"method": "independent"}
    assert recipe["secrets"]["seed_file"] == f"secrets/{rid}.seed"
    seed = (workspace / recipe["secrets"]["seed_file"]).read_text().split()[-1]
    page = client.get(f"/releases/{rid}")
    assert 'id="baseline-warning"' in page.text and 'id="to-frontier"' in page.text and seed not in page.text
    assert seed not in client.get(f"/releases/{rid}/files/evaluation.json").text
    assert _reproduces(workspace, rid, tmp_path)
    assert not [p for p in (workspace / "secrets").iterdir() if p.name.startswith(".")]
    r = client.post("/release", data={**form, "baseline": "holdout"})
    assert r.status_code == 400 and "baseline=&#39;holdout&#39;" in r.text


def _fake_release(workspace, rid, recipe: str, headline: dict, config=None):
    folder = workspace / "releases" / rid
    folder.mkdir(parents=True)
    (folder / "recipe.toml").write_text(recipe)
    (folder / "release.json").write_text("{}")
    (folder / "evaluation.json").write_text(json.dumps({"headline": headline, "config": config or {}}))


def test_the_frontier_page_draws_recorded_figures_without_refitting(client, workspace):
    k = '[release]\nkind = "kanonymity"\ninput = "adult.csv"\n[anonymize]\nquasi = ["age"]\nk = {k}\n'
    mst = '[release]\nkind = "synth"\ninput = "adult.csv"\n[synth]\nmethod = "mst"\nepsilon = {e}\n'
    copy = '[release]\nkind = "baseline"\ninput = "adult.csv"\n[baseline]\nmethod = "copy"\n'
    _fake_release(
        workspace, "20260101-000001-k5-aaaaaa", k.format(k=5), {"utility_2way": 0.95, "exact_copy_share": 0.6}
    )
    _fake_release(
        workspace,
        "20260101-000002-k50-aaaaaa",
        k.format(k=50),
        {"utility_2way": 0.90, "exact_copy_share": 0.1},
    )
    _fake_release(
        workspace,
        "20260101-000003-mst-aaaaaa",
        mst.format(e=1),
        {"utility_2way": 0.85, "exact_copy_share": 0.2},
    )
    _fake_release(
        workspace, "20260101-000004-copy-aaaaaa", copy, {"utility_2way": 1.0, "exact_copy_share": 1.0}
    )
    (workspace / "other.csv").write_text("a\n1\n")
    _fake_release(workspace, "20260101-000005-k5-bbbbbb", k.format(k=5).replace("adult.csv", "other.csv"), {})
    from anonlab.web.frontier import frontier_of
    from anonlab.web.workspace import Workspace

    result = frontier_of(Workspace(workspace), "adult.csv", draw=False)
    assert [r["param"] for r in result.rows] == ["k=5", "k=50", "eps=1", ""]
    ((title, png, on),) = result.plots
    assert png == b"" and "exact copies" in title
    # the MST release (0.2, 0.85) is beaten by k=50 (0.1, 0.90): off the frontier
    assert on == ["20260101-000002-k50-aaaaaa", "20260101-000001-k5-aaaaaa", "20260101-000004-copy-aaaaaa"]
    page = client.get("/frontier", params={"table": "adult.csv"})
    assert page.status_code == 200 and page.text.count('src="data:image/png;base64,') == 1
    assert "000005" not in page.text and "k-anonymity (mondrian)" in page.text
    lone = client.get("/frontier", params={"table": "other.csv"})
    assert lone.status_code == 200 and "at least two evaluated releases" in lone.text
    assert client.get("/frontier", params={"table": "../adult.csv"}).status_code == 400


def test_the_job_page_polls_its_status_and_works_without_javascript(client, csrf):
    form = {"csrf": csrf, "kind": "baseline", "table": "adult.csv", "baseline": "copy"}
    location = client.post("/release", data=form, follow_redirects=False).headers["location"]
    page = client.get(location, follow_redirects=False)
    if page.status_code == 200:  # still running: the page polls, and refreshes itself without JavaScript
        assert '<script src="/static/job.js" defer></script>' in page.text
        assert '<noscript><meta http-equiv="refresh"' in page.text and 'id="refresh"' in page.text
    status = client.get(location + "/status")
    assert status.status_code == 200 and set(status.json()) >= {
        "state",
        "phase",
        "fraction",
        "bars",
        "finished",
    }
    assert "connect-src 'self'" in status.headers["content-security-policy"]
    rid = _wait(client, location)
    assert client.get(location + "/status").json()["finished"] is True
    assert "secrets" not in tomllib.loads(client.get(f"/releases/{rid}/files/recipe.toml").text)
    js = client.get("/static/job.js")
    assert js.status_code == 200 and "fetch(" in js.text and "http" not in js.text.replace("http-equiv", "")
    assert client.get("/jobs/nope/status").status_code == 404


def test_progress_reporting_routes_bars_to_a_sink():
    from anonlab.progress import bar, phase, reporting

    got = []
    with reporting(got.append):
        with bar(4, desc="rows", unit="row") as b:
            b.update(4)
        with phase("fit") as p:
            p.set_postfix_str("cliques")
        with bar(2, desc="off", enabled=False) as b:  # not asked for: nothing reported
            b.update(2)
    assert {u["desc"] for u in got} == {"rows", "fit"}
    assert got[-1]["closed"] and got[-1]["total"] is None and got[-1]["postfix"] == "cliques"
    assert any(u["desc"] == "rows" and u["n"] == 4 and u["total"] == 4 for u in got)
    got.clear()
    with reporting(got.append):  # nested bars: each reports under its own number, so both are shown
        with bar(3, desc="rounds") as outer:
            with bar(5, desc="cliques") as inner:
                inner.update(5)
            outer.update(1)
    ids = {u["desc"]: u["id"] for u in got}
    assert ids["rounds"] != ids["cliques"]
    assert got[-1]["desc"] == "rounds" and got[-1]["closed"]
    assert [u["desc"] for u in got if u["closed"]] == ["cliques", "rounds"]
    got.clear()
    with bar(1, desc="outside", enabled=False) as b:
        b.update(1)
    assert got == []


def test_a_killed_job_process_leaves_nothing(workspace):
    """The job's process killed outright in the middle of an AIM fit (as the OS would kill it): the job fails
    with a readable message and no release folder, hidden or not, and no seed file remain. The page showed the
    library's own progress bar from inside the fit before."""
    import os
    import signal

    from starlette.testclient import TestClient

    from anonlab.web import create_app

    app = create_app(workspace, evaluation={"skip": ["anonymeter"]}, synth_options={"rounds": 10_000})
    with TestClient(app, base_url=BASE) as c:
        token = re.search(r'name="csrf" value="([^"]+)"', c.get("/").text).group(1)
        c.post("/budget", data={"csrf": token, "name": "adult", "epsilon": "5", "delta": "1e-6"})
        form = {
            "csrf": token,
            "kind": "synth",
            "table": "adult.csv",
            "synthesizer": "aim",
            "epsilon": "1",
            "ledger": "adult",
            "schema": "adult",
        }
        location = c.post("/release", data=form, follow_redirects=False).headers["location"]
        job = app.state.jobs.get(location.rsplit("/", 1)[1])
        deadline, bars = time.monotonic() + 90, []
        while time.monotonic() < deadline and not bars:
            bars = c.get(location + "/status").json()["bars"]
            time.sleep(0.2)
        assert bars and bars[0]["desc"].startswith("aim"), "no progress from inside the fit"
        assert len({b["id"] for b in bars}) == len(bars)
        assert "aim" in c.get(location).text  # the page shows it too (server-rendered, for JavaScript off)
        assert [p.name for p in (workspace / "secrets").iterdir()][0].startswith(".pending-")
        os.kill(job.pid, signal.SIGKILL)
        assert app.state.jobs.wait(job.id, 30).state == "failed"
        assert "ended without a result" in job.error
    app.state.jobs.shutdown()
    assert list((workspace / "releases").iterdir()) == []
    assert list((workspace / "secrets").iterdir()) == []
