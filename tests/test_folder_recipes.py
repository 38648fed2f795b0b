"""Folder release recipes (kind = "dicom", "images"): run_recipe writes the de-identified folder again, to the same
bytes given the same key file; anonlab serve's folder releases carry such a recipe, which `anonlab run` reproduces;
a recipe that holds a key (not the name of a key file) is refused."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pydicom = pytest.importorskip("pydicom")

from anonlab.errors import InputError, OutputExistsError, UsageError  # noqa: E402
from anonlab.release_recipe import ReleaseRecipe, run_recipe  # noqa: E402

FILES = ("CT_small.dcm", "MR_small.dcm")


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def scans(tmp_path) -> Path:
    """A workspace-like root: folders/scans holds real pydicom test files; secrets/pseudonym.key a key."""
    from pydicom.data import get_testdata_file

    from anonlab.deid.keys import write_key

    src = tmp_path / "folders" / "scans"
    src.mkdir(parents=True)
    for name in FILES:
        shutil.copy(get_testdata_file(name), src / name)
    (tmp_path / "secrets").mkdir(mode=0o700)
    write_key(tmp_path / "secrets" / "pseudonym.key")
    return tmp_path


def _recipe(**kw) -> ReleaseRecipe:
    return ReleaseRecipe("dicom", "folders/scans", {}, key_file="secrets/pseudonym.key", **kw)


def test_a_dicom_recipe_run_twice_gives_the_same_bytes(scans):
    recipe = ReleaseRecipe.from_dict(__import__("tomllib").loads(_recipe().to_toml()))
    one = run_recipe(recipe, scans / "one", root=scans)
    two = run_recipe(recipe, scans / "two", root=scans)
    a, b = _files(scans / "one"), _files(scans / "two")
    assert len([n for n in a if n.endswith(".dcm")]) == len(FILES)
    assert a == b
    assert one.data is None and one.output == scans / "one" and two.to_dict()["rows"] is None
    for name in FILES:  # de-identified: the original bytes are not among the outputs; inputs kept
        assert (scans / "folders" / "scans" / name).read_bytes() not in a.values()
    assert not [p for p in scans.iterdir() if p.name.startswith(".")]  # no staging folder left behind
    with pytest.raises(OutputExistsError):
        run_recipe(recipe, scans / "one", root=scans)
    assert _files(scans / "one") == a


def test_another_key_gives_other_bytes(scans):
    from anonlab.deid.keys import write_key

    write_key(scans / "secrets" / "other.key")
    run_recipe(_recipe(), scans / "one", root=scans)
    run_recipe(
        ReleaseRecipe("dicom", "folders/scans", {}, key_file="secrets/other.key"), scans / "two", root=scans
    )
    assert _files(scans / "one") != _files(scans / "two")


def test_a_folder_recipe_never_writes_over_or_into_its_input(scans):
    before = _files(scans / "folders" / "scans")
    for out in (
        scans / "folders" / "scans",
        scans / "folders" / "scans" / "out",
        scans / "secrets" / "pseudonym.key",
    ):
        with pytest.raises((UsageError, InputError, OutputExistsError)):
            run_recipe(_recipe(), out, root=scans, force=True)
    assert _files(scans / "folders" / "scans") == before
    with pytest.raises(UsageError, match="output"):
        run_recipe(_recipe(), None, root=scans)


def test_a_recipe_with_a_key_in_it_is_refused(scans):
    text = '[release]\nkind = "dicom"\ninput = "folders/scans"\n\n[secrets]\nkey = "00112233445566778899"\n'
    path = scans / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError, match="never belongs in a recipe"):
        ReleaseRecipe.read(path)
    path.write_text(text.replace("[secrets]\n", "[dicom]\n"))
    with pytest.raises(InputError, match="key="):
        ReleaseRecipe.read(path)
    with pytest.raises(UsageError, match="key_file"):
        ReleaseRecipe("dicom", "folders/scans", {})
    with pytest.raises(UsageError, match="writes a folder"):
        _recipe().run(scans)


def test_the_web_folder_release_recipe_is_reproduced_by_anonlab_run(tmp_path):
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    import re

    from pydicom.data import get_testdata_file
    from starlette.testclient import TestClient

    from anonlab.web import create_app

    ws = tmp_path / "ws"
    ws.mkdir()
    app = create_app(ws)
    try:
        with TestClient(app, base_url="http://127.0.0.1:8765", raise_server_exceptions=False) as client:
            csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)
            files = [("files", (n, Path(get_testdata_file(n)).read_bytes())) for n in FILES]
            r = client.post(
                "/folders/upload", data={"csrf": csrf, "name": "scans"}, files=files, follow_redirects=False
            )
            assert r.status_code == 303
            r = client.post(
                "/folders/run",
                data={"csrf": csrf, "kind": "dicom", "folder": "scans"},
                follow_redirects=False,
            )
            assert r.status_code == 303, r.text
            job = app.state.jobs.wait(r.headers["location"].rsplit("/", 1)[1], timeout=120)
            assert job.state == "done", job.error
            rid = job.release
            page = client.get(f"/releases/{rid}")
            assert 'id="download-recipe"' in page.text
            recipe = client.get(f"/releases/{rid}/files/recipe.toml")
            assert recipe.status_code == 200
            archive = client.get(f"/releases/{rid}/files/release.zip").content
    finally:
        app.state.jobs.shutdown()
    text = recipe.text
    key = (ws / "secrets" / "pseudonym.key").read_text().strip()
    assert key not in text and 'key_file = "secrets/pseudonym.key"' in text
    for name in FILES:  # no input file names, only the input folder's
        assert name not in text and Path(name).stem not in text
    assert 'input = "folders/scans"' in text
    downloaded = tmp_path / "recipe.toml"
    downloaded.write_text(text)
    out = tmp_path / "again"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "anonlab",
            "run",
            str(downloaded),
            "-o",
            str(out),
            "--root",
            str(ws),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        released = {n: zf.read(n) for n in zf.namelist() if not n.endswith("/")}
    assert released and _files(out) == released


def test_force_replaces_an_output_folder_whole(scans):
    out = scans / "one"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    run_recipe(_recipe(), out, root=scans, force=True)
    assert "stale.txt" not in _files(out) and len(_files(out)) == len(FILES)


def test_an_images_recipe_strips_a_photo_folder_to_the_same_bytes(tmp_path):
    photos = Path(__file__).resolve().parent / "data" / "photos"
    if not photos.is_dir():
        pytest.skip("the test photos are missing")
    shutil.copytree(photos, tmp_path / "folders" / "holiday")
    recipe = ReleaseRecipe("images", "folders/holiday", {})
    run_recipe(recipe, tmp_path / "a", root=tmp_path)
    run_recipe(recipe, tmp_path / "b", root=tmp_path)
    assert _files(tmp_path / "a") and _files(tmp_path / "a") == _files(tmp_path / "b")
    with pytest.raises(UsageError, match="key_file"):
        ReleaseRecipe("images", "folders/holiday", {}, key_file="secrets/pseudonym.key")
