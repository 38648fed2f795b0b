"""Bad input files through the CLI: one line naming the file and what is wrong, exit 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

BAD_FILES = {
    "empty.csv": (b"", "empty file"),
    "ragged.csv": (b"age,sex\n30,F\n41,M,extra\n", "line 3: expected 2 fields, saw 3"),
    "latin1.csv": ("age,sex\n30,Fé\n".encode("latin-1"), "not valid UTF-8"),
    "header.csv": (b"age,sex\n", "header only"),
    "bad.parquet": (b"PAR1 but not really", "not a readable Parquet file"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
@pytest.mark.parametrize(
    "command",
    [
        ["assess", "{src}", "--quasi", "age"],
        ["schema", "infer", "{src}", "-o", "{tmp}/s.toml"],
        ["pseudonymize", "{src}", "-o", "{tmp}/o.csv", "--key-file", "{key}", "--id", "age"],
    ],
    ids=["assess", "schema-infer", "pseudonymize"],
)
def test_bad_file(tmp_path, cli, key_file, name, command):
    content, message = BAD_FILES[name]
    src = tmp_path / name
    src.write_bytes(content)
    args = [a.format(src=src, tmp=tmp_path, key=key_file) for a in command]
    code, out, err = cli(*args)
    assert code == 2
    assert message in err and str(src) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "s.toml").exists()


def test_wrong_types_named_by_column_and_row(tmp_path, cli):
    src = tmp_path / "t.csv"
    src.write_text("age,sex\n30,F\n4l,M\n")
    schema = tmp_path / "s.toml"
    schema.write_text('[columns.age]\nrole = "quasi"\ntype = "integer"\n[columns.sex]\nrole = "quasi"\n')
    code, _, err = cli("schema", "check", schema, src)
    assert code == 2 and "column 'age', row 2: '4l' is not an integer" in err


def test_schema_check_reports_values_outside_domain(tmp_path, cli):
    src = tmp_path / "t.csv"
    src.write_text("age,sex\n30,F\n140,X\n")
    schema = tmp_path / "s.toml"
    schema.write_text(
        '[columns.age]\ntype = "integer"\nlower = 0\nupper = 120\n[columns.sex]\ncategories = ["F", "M"]\n'
    )
    code, out, _ = cli("schema", "check", schema, src)
    assert code == 1 and "outside [0, 120]" in out and "outside the schema's categories" in out


def test_existing_output_needs_force(tmp_path, cli):
    src = tmp_path / "t.csv"
    src.write_text("age,sex\n30,F\n")
    out = tmp_path / "s.toml"
    out.write_text("keep me")
    code, _, err = cli("schema", "infer", src, "-o", out)
    assert code == 2 and "--force" in err and out.read_text() == "keep me"
    assert cli("schema", "infer", src, "-o", out, "--force")[0] == 0
    assert "[columns.age]" in out.read_text()


def test_console_script_error_has_no_traceback(tmp_path):
    src = tmp_path / "ragged.csv"
    src.write_bytes(BAD_FILES["ragged.csv"][0])
    run = subprocess.run(
        [f"{sys.prefix}/bin/anonlab", "assess", str(src), "--quasi", "age"], capture_output=True, text=True
    )
    assert run.returncode == 2
    assert run.stderr.strip() == f"anonlab assess: error: {src}: line 3: expected 2 fields, saw 3"


# -- never overwrite an input, a key, a ledger or a schema (--force or not) ------------------------------------

TABLE = "age,sex,zip\n" + "".join(f"{30 + i % 7},{'FM'[i % 2]},0214{i % 3}\n" for i in range(30))
SCHEMA = '[columns.age]\ntype = "integer"\nlower = 0\nupper = 120\n[columns.sex]\ncategories = ["F", "M"]\n'


@pytest.fixture
def victim(tmp_path):
    """A folder with the inputs a command may be tricked into overwriting."""
    d = tmp_path / "in"
    d.mkdir()
    (d / "v.csv").write_text(TABLE)
    (d / "r.csv").write_text(TABLE)
    (d / "s.toml").write_text(SCHEMA)
    (d / "ledger.jsonl").write_text("a ledger's bytes\n")
    return d


GUARDED = {
    "anonymize-output": (
        ["anonymize", "{d}/v.csv", "-o", "{d}/v.csv", "--quasi", "age", "--k", "2"],
        "v.csv",
    ),
    "anonymize-report": (
        ["anonymize", "{d}/v.csv", "-o", "{o}/a.csv", "--report", "{d}/v.csv", "--quasi", "age", "--k", "2"],
        "v.csv",
    ),
    "dp-stats-input": (
        [
            "dp",
            "stats",
            "{d}/v.csv",
            "--schema",
            "{d}/s.toml",
            "--epsilon",
            "1",
            "--no-ledger",
            "--query",
            "count",
        ]
        + ["-o", "{d}/v.csv"],
        "v.csv",
    ),
    "dp-stats-schema": (
        [
            "dp",
            "stats",
            "{d}/v.csv",
            "--schema",
            "{d}/s.toml",
            "--epsilon",
            "1",
            "--no-ledger",
            "--query",
            "count",
        ]
        + ["-o", "{d}/s.toml"],
        "s.toml",
    ),
    "dp-stats-ledger": (
        [
            "dp",
            "stats",
            "{d}/v.csv",
            "--schema",
            "{d}/s.toml",
            "--epsilon",
            "1",
            "--ledger",
            "{d}/ledger.jsonl",
        ]
        + ["--query", "count", "-o", "{d}/ledger.jsonl"],
        "ledger.jsonl",
    ),
    "schema-infer": (["schema", "infer", "{d}/v.csv", "-o", "{d}/v.csv"], "v.csv"),
    "evaluate-json": (["evaluate", "{d}/v.csv", "{d}/r.csv", "--json-out", "{d}/v.csv"], "v.csv"),
    "evaluate-report": (["evaluate", "{d}/v.csv", "{d}/r.csv", "--report", "{d}/r.csv"], "r.csv"),
    "compare-json": (["compare", "{d}/v.csv", "--json-out", "{d}/v.csv"], "v.csv"),
    "compare-report": (["compare", "{d}/v.csv", "--report", "{d}/v.csv"], "v.csv"),
    "pseudonymize-output": (
        ["pseudonymize", "{d}/v.csv", "-o", "{d}/v.csv", "--key-file", "{key}", "--id", "zip"],
        "v.csv",
    ),
    "pseudonymize-mapping-input": (
        ["pseudonymize", "{d}/v.csv", "-o", "{o}/p.csv", "--key-file", "{key}", "--id", "zip"]
        + ["--mapping", "{d}/v.csv"],
        "v.csv",
    ),
    "pseudonymize-mapping-key": (
        ["pseudonymize", "{d}/v.csv", "-o", "{o}/p.csv", "--key-file", "{key}", "--id", "zip"]
        + ["--mapping", "{key}"],
        "key",
    ),
    "pseudonymize-output-key": (
        ["pseudonymize", "{d}/v.csv", "-o", "{key}", "--key-file", "{key}", "--id", "zip"],
        "key",
    ),
    "synth": (["synth", "{d}/v.csv", "-o", "{d}/hard.csv", "--method", "mst", "--no-ledger"], "v.csv"),
}


def _no_force(name):
    # budget init has no --force (a ledger is never replaced); the others are tried with it
    return name.startswith("budget")


@pytest.mark.parametrize("name", sorted(GUARDED))
def test_force_never_overwrites_an_input_key_ledger_or_schema(name, victim, tmp_path, cli, key_file):
    args, protected = GUARDED[name]
    out = tmp_path / "out"
    os.link(victim / "v.csv", victim / "hard.csv")  # a hard link to the input
    argv = [a.format(d=victim, o=out, key=key_file) for a in args] + ["--force"]
    target = key_file if protected == "key" else victim / protected
    before = {p: p.read_bytes() for p in [*victim.iterdir(), key_file]}
    code, _, err = cli(*argv)
    assert code == 2, err
    assert "never overwritten" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert {p: p.read_bytes() for p in [*victim.iterdir(), key_file]} == before
    assert str(target) in err or "hard.csv" in err
    assert not out.exists() or not list(out.iterdir())


@pytest.mark.parametrize("link", ["hard", "symbolic"])
def test_an_output_that_links_to_the_input_is_refused(link, victim, tmp_path, cli):
    out = tmp_path / "o.csv"
    (os.link if link == "hard" else os.symlink)(victim / "v.csv", out)
    code, _, err = cli("anonymize", victim / "v.csv", "-o", out, "--quasi", "age", "--k", "2", "--force")
    assert code == 2 and "would overwrite the input" in err
    assert (victim / "v.csv").read_text() == TABLE


def test_budget_init_never_writes_over_its_dataset(victim, cli):
    code, _, err = cli("budget", "init", victim / "v.csv", "--epsilon", "1", "--dataset", victim / "v.csv")
    assert code == 2 and "never overwritten" in err
    assert (victim / "v.csv").read_text() == TABLE


def test_dicom_manifest_never_writes_over_the_key(tmp_path, cli, key_file):
    src = tmp_path / "dicom-in"
    src.mkdir()
    before = key_file.read_bytes()
    code, _, err = cli(
        "dicom",
        "deidentify",
        src,
        tmp_path / "dicom-out",
        "--key-file",
        key_file,
        "--manifest",
        key_file,
        "--force",
    )
    assert code == 2 and "key file" in err and "never overwritten" in err
    assert key_file.read_bytes() == before


def test_image_strip_never_writes_over_its_input(tmp_path, cli):
    from pathlib import Path

    photo = tmp_path / "p.jpg"
    photo.write_bytes((Path(__file__).parent / "data" / "photos" / "piexif_gps.jpg").read_bytes())
    os.link(photo, tmp_path / "hard.jpg")
    before = photo.read_bytes()
    code, _, err = cli("image", "strip", photo, tmp_path / "hard.jpg", "--force")
    assert code == 2 and "never overwritten" in err
    assert photo.read_bytes() == before


# -- operating-system errors: one line naming the path and the cause, exit 2 --------------------------------------

# Runs many `anonlab ...` command lines in one (unprivileged) Python process; prints [code, stderr] for each.
RUNNER = r"""
import contextlib, io, json, sys, traceback
from anonlab.cli import main
out = []
for argv in json.load(sys.stdin):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except BaseException:
            traceback.print_exc()
            code = -1
    out.append([code, err.getvalue()])
print(json.dumps(out))
"""

CAPS_DROPPED = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def _unprivileged() -> list[str]:
    """A command prefix under which mode-000 files cannot be read: nothing for a normal user; for root, setpriv
    without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (root reads any file otherwise). Skips where neither works."""
    if os.geteuid() != 0:
        return []
    import shutil

    if shutil.which("setpriv") is None:
        pytest.skip("running as root and setpriv (util-linux) is missing: cannot drop CAP_DAC_OVERRIDE")
    probe = subprocess.run([*CAPS_DROPPED, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"setpriv cannot drop capabilities here: {probe.stderr.decode().strip()}")
    return CAPS_DROPPED


def _run_all(prefix: list[str], cases: list[list[str]], cwd) -> list[tuple[int, str]]:
    import json

    run = subprocess.run(
        [*prefix, sys.executable, "-c", RUNNER],
        input=json.dumps([[str(a) for a in c] for c in cases]),
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return [tuple(x) for x in json.loads(run.stdout.strip().splitlines()[-1])]


def _assert_one_line(code, err, *needles):
    assert code == 2, err
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    for n in needles:
        assert str(n) in err, (n, err)


@pytest.fixture
def locked(tmp_path, key_file):
    """Mode-000 input, key, schema and ledger; a read-only (0555) output folder; good copies of each."""
    from pathlib import Path

    d = tmp_path / "locked"
    d.mkdir()
    for name, text in [("t.csv", TABLE), ("s.toml", SCHEMA), ("ledger.jsonl", "{}\n"), ("ok.csv", TABLE)]:
        (d / name).write_text(text)
    (d / "ok.toml").write_text(SCHEMA)
    (d / "k.key").write_bytes(key_file.read_bytes())
    (d / "ok.key").write_bytes(key_file.read_bytes())
    (d / "ok.key").chmod(0o600)
    (d / "dcm").mkdir()
    (d / "p.jpg").write_bytes((Path(__file__).parent / "data" / "photos" / "piexif_gps.jpg").read_bytes())
    for name in ("t.csv", "s.toml", "ledger.jsonl", "k.key", "p.jpg"):
        (d / name).chmod(0o000)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    yield d, ro
    for p in [*d.iterdir(), ro]:
        p.chmod(0o700)


def test_unreadable_inputs_and_unwritable_folders_give_one_line(locked, tmp_path):
    prefix = _unprivileged()
    d, ro = locked
    q = ["--quasi", "age", "--k", "2"]
    dp = ["--epsilon", "1", "--query", "count"]
    cases = [  # (argv, what the line must name)
        (["schema", "infer", d / "t.csv", "-o", tmp_path / "s1.toml"], d / "t.csv"),
        (["schema", "check", d / "ok.toml", d / "t.csv"], d / "t.csv"),
        (["schema", "check", d / "s.toml", d / "ok.csv"], d / "s.toml"),
        (["assess", d / "t.csv", "--quasi", "age"], d / "t.csv"),
        (["anonymize", d / "t.csv", "-o", tmp_path / "a.csv", *q], d / "t.csv"),
        (
            [
                "pseudonymize",
                d / "t.csv",
                "-o",
                tmp_path / "p.csv",
                "--key-file",
                d / "ok.key",
                "--id",
                "zip",
            ],
            "t.csv",
        ),
        (
            [
                "pseudonymize",
                d / "ok.csv",
                "-o",
                tmp_path / "p.csv",
                "--key-file",
                d / "k.key",
                "--id",
                "zip",
            ],
            "k.key",
        ),
        (["dp", "stats", d / "t.csv", "--schema", d / "ok.toml", "--no-ledger", *dp], d / "t.csv"),
        (["dp", "stats", d / "ok.csv", "--schema", d / "s.toml", "--no-ledger", *dp], d / "s.toml"),
        (
            ["dp", "stats", d / "ok.csv", "--schema", d / "ok.toml", "--ledger", d / "ledger.jsonl", *dp],
            "ledger",
        ),
        (
            [
                "synth",
                d / "t.csv",
                "-o",
                tmp_path / "y.csv",
                "--method",
                "mst",
                "--no-ledger",
                "--epsilon",
                "1",
            ],
            "t.csv",
        ),
        (["evaluate", d / "t.csv", d / "ok.csv"], d / "t.csv"),
        (["budget", "init", tmp_path / "l.jsonl", "--epsilon", "1", "--dataset", d / "t.csv"], d / "t.csv"),
        (["compare", d / "t.csv"], d / "t.csv"),
        (["image", "strip", d / "p.jpg", tmp_path / "p-out.jpg"], d / "p.jpg"),
        (["dicom", "deidentify", d / "dcm", tmp_path / "dout", "--key-file", d / "k.key"], "k.key"),
        # unwritable output folders
        (["anonymize", d / "ok.csv", "-o", ro / "a.csv", *q], ro),
        (["pseudonymize", d / "ok.csv", "-o", ro / "p.csv", "--key-file", d / "ok.key", "--id", "zip"], ro),
        (["keygen", ro / "new.key"], ro),
        (["keygen", ro / "sub" / "new.key"], ro),
        (["budget", "init", ro / "l.jsonl", "--epsilon", "1"], ro),
        (["schema", "infer", d / "ok.csv", "-o", ro / "s.toml"], ro),
        (
            ["dp", "stats", d / "ok.csv", "--schema", d / "ok.toml", "--no-ledger", *dp, "-o", ro / "a.json"],
            ro,
        ),
        (["evaluate", d / "ok.csv", d / "ok.csv", "--json-out", ro / "m.json"], ro),
        (["compare", d / "ok.csv", "--report", ro / "r.html"], ro),
        (["datasets", "adult", "-o", ro / "adult.csv"], ro),
        (["dicom", "deidentify", d / "dcm", ro / "out", "--key-file", d / "ok.key"], ro),
        (["dicom", "deidentify", d / "dcm", ro, "--key-file", d / "ok.key"], ro),
        (["image", "strip", d / "ok.csv", ro / "x.jpg"], None),  # not a photo: an input error, still one line
    ]
    results = _run_all(prefix, [c for c, _ in cases], tmp_path)
    for (_argv, needle), (code, err) in zip(cases, results, strict=True):
        _assert_one_line(code, err, *([needle] if needle is not None else []))
    assert sorted(os.listdir(ro)) == []


def _mount_namespace() -> list[str]:
    """`unshare -m` (a private mount namespace, so test mounts never touch the host), or skip."""
    import shutil

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to mount a small or read-only tmpfs")
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {probe.stderr.decode().strip()}")
    return ["unshare", "-m"]


def test_full_disk_and_read_only_file_system_give_one_line_and_leave_nothing(tmp_path, key_file):
    ns = _mount_namespace()
    full, ro, src = tmp_path / "full", tmp_path / "rofs", tmp_path / "big.csv"
    full.mkdir()
    ro.mkdir()
    src.write_text(
        "id,age,zip\n" + "".join(f"patient-{i:08d},{i % 90},{i % 99999:05d}\n" for i in range(20000))
    )
    (tmp_path / "dcm").mkdir()
    cases = [
        (["pseudonymize", src, "-o", full / "p.csv", "--key-file", key_file, "--id", "id"], full / "p.csv"),
        (["anonymize", src, "-o", full / "a.csv", "--quasi", "age", "--k", "2"], full / "a.csv"),
        (["schema", "infer", src, "-o", ro / "s.toml"], ro),
        (["anonymize", src, "-o", ro / "a.csv", "--quasi", "age", "--k", "2"], ro),
        (["pseudonymize", src, "-o", ro / "p.csv", "--key-file", key_file, "--id", "id"], ro),
        (["keygen", ro / "k.key"], ro),
        (["budget", "init", ro / "l.jsonl", "--epsilon", "1"], ro),
        (["dicom", "deidentify", tmp_path / "dcm", ro / "out", "--key-file", key_file], ro),
    ]
    import json
    import shlex

    script = (
        f"mount -t tmpfs -o size=256k tmpfs {shlex.quote(str(full))} && "
        f"mount -t tmpfs -o ro,size=64k tmpfs {shlex.quote(str(ro))} && "
        f"{shlex.quote(sys.executable)} -c {shlex.quote(RUNNER)} && ls -A {shlex.quote(str(full))}"
    )
    run = subprocess.run(
        [*ns, "sh", "-c", script],
        input=json.dumps([[str(a) for a in c] for c, _ in cases]),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.strip().splitlines()
    results, left = json.loads(lines[0]), lines[1:]
    for (_argv, needle), (code, err) in zip(cases, results, strict=True):
        _assert_one_line(code, err, needle)
    assert "No space left on device" in results[0][1]
    assert "read-only file system" in results[2][1]
    assert left == [], f"left behind on the full disk: {left}"


def test_full_disk_simulated_with_dev_full(tmp_path, cli, monkeypatch, key_file):
    """Where no tmpfs can be mounted: every write goes to /dev/full (ENOSPC on flush), in-process."""
    import anonlab.io as aio

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    real_init = aio.Temporary.__init__

    def to_dev_full(self, folder, target_name, mode=0o600):
        real_init(self, folder, target_name, mode)
        self.path = aio.Path("/dev/full")

    monkeypatch.setattr(aio.Temporary, "__init__", to_dev_full)
    src = tmp_path / "t.csv"
    src.write_text(TABLE)
    out = tmp_path / "out"
    code, _, err = cli("anonymize", src, "-o", out / "a.csv", "--quasi", "age", "--k", "2")
    _assert_one_line(code, err, out / "a.csv", "No space left on device")
    code, _, err = cli("pseudonymize", src, "-o", out / "p.csv", "--key-file", key_file, "--id", "zip")
    _assert_one_line(code, err, out / "p.csv", "No space left on device")
    code, _, err = cli("keygen", out / "k.key")
    _assert_one_line(code, err, out / "k.key", "No space left on device")
    assert sorted(os.listdir(out)) == []


# -- kills: no temporary outlives the process ---------------------------------------------------------------------

# Runs `anonlab ARGS`, but the table writer sends SIGNAL to its own process half-way through writing. With
# "named", O_TMPFILE is hidden so the named fallback temporary is used.
KILL_MID_WRITE = r"""
import os, signal, sys, time
if sys.argv[1] == "named":
    del os.O_TMPFILE
import pandas as pd
def to_csv(self, path, *args, **kwargs):
    with open(path, "w") as fh:
        fh.write("half a table\n")
        fh.flush()
    os.kill(os.getpid(), getattr(signal, sys.argv[2]))
    time.sleep(60)
pd.DataFrame.to_csv = to_csv
from anonlab.cli import main
sys.exit(main(sys.argv[3:]))
"""


@pytest.mark.parametrize("tmp_kind", ["anonymous", "named"])
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
def test_killed_mid_write_leaves_no_temporary(tmp_path, cli, sig, tmp_kind):
    src, out = tmp_path / "t.csv", tmp_path / "out"
    src.write_text(TABLE)
    argv = ["anonymize", str(src), "-o", str(out / "a.csv"), "--quasi", "age", "--k", "2"]
    run = subprocess.run(
        [sys.executable, "-c", KILL_MID_WRITE, tmp_kind, sig, *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    left = sorted(os.listdir(out))
    if sig == "SIGTERM":
        assert run.returncode == 143, run.stderr
        _assert_one_line(2, run.stderr, "terminated")
        assert left == []
    elif tmp_kind == "anonymous":
        assert run.returncode == -9 and left == []  # an O_TMPFILE inode never had a name
    else:
        assert run.returncode == -9
        assert len(left) == 1 and left[0].startswith(".a.csv.") and left[0].endswith(".tmp")
        code, _, err = cli(*argv)  # the next run writing there removes the dead run's temporary
        assert code == 0, err
        assert sorted(os.listdir(out)) == ["a.csv"]
    assert src.read_text() == TABLE


def test_stale_temporaries_of_dead_runs_are_removed_live_ones_kept(tmp_path):
    import time

    from anonlab.io import remove_stale_temporaries, write_text

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    (tmp_path / f".o.txt.{dead_pid}.ab12cd34.tmp").write_text("a dead run's")
    (tmp_path / f".o.txt.{os.getppid()}.ab12cd34.tmp").write_text("a live run's")
    old = (
        tmp_path / ".o.txt.k3j_x9q2.tmp"
    )  # the older naming without a process id: removed when older than us
    old.write_text("an older run's")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    (tmp_path / ".other.txt.1.ab12cd34.tmp").write_text("another output's: not ours to judge here")
    write_text(tmp_path / "o.txt", "done\n")
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["o.txt", f".o.txt.{os.getppid()}.ab12cd34.tmp", ".other.txt.1.ab12cd34.tmp"]
    )
    assert remove_stale_temporaries(tmp_path, "other.txt") == []  # process 1 is alive: its temporary stays


def _write_phase_fd(pid: int, folder) -> bool:
    """Whether process ``pid`` holds a file open in ``folder`` (its output temporary)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(f"{folder}/"):
                return True
        except OSError:
            continue
    return False


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
def test_real_kill_during_anonymize_of_a_big_table_leaves_nothing(tmp_path, sig):
    """The issue's case: kill -9 / SIGTERM while `anonymize` writes a table of tens of MB."""
    import signal
    import time

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to see when the write starts")
    src, out = tmp_path / "big.csv", tmp_path / "out"
    out.mkdir()
    with open(src, "w") as fh:
        fh.write("id,age,zip\n")
        fh.writelines(f"patient-{i:08d},{i % 90},{i % 99999:05d}\n" for i in range(600_000))
    proc = subprocess.Popen(
        [sys.executable, "-m", "anonlab", "anonymize", str(src), "-o", str(out / "a.csv"), "--quasi", "age"]
        + ["--k", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while proc.poll() is None and not _write_phase_fd(proc.pid, out) and time.monotonic() < deadline:
        time.sleep(0.002)
    assert proc.poll() is None, "the run ended before it was caught writing"
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=120)
    assert os.listdir(out) == []
    if sig == "SIGTERM":
        assert proc.returncode == 143 and "terminated" in err


# -- keys others can read; output folders created -----------------------------------------------------------------


def test_pseudonymize_warns_on_a_key_others_can_read_and_strict_key_refuses(tmp_path, cli, key_file):
    src = tmp_path / "t.csv"
    src.write_text(TABLE)
    os.chmod(key_file, 0o644)
    argv = ["pseudonymize", src, "-o", tmp_path / "o" / "p.csv", "--key-file", key_file, "--id", "zip"]
    code, _, err = cli(*argv)
    assert code == 0 and "warning" in err and "0644" in err and key_file.read_text().strip() not in err
    code, _, err = cli(*argv, "--force", "--strict-key")
    _assert_one_line(code, err, key_file, "--strict-key")
    os.chmod(key_file, 0o600)
    code, _, err = cli(*argv, "--force", "--strict-key")
    assert code == 0 and "warning" not in err


def test_keygen_writes_owner_only_and_never_replaces(tmp_path, cli):
    import stat

    key = tmp_path / "new" / "k.key"
    code, out, _ = cli("keygen", key)
    assert code == 0 and stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_text().strip()) == 64
    assert f"created the missing output folder {key.parent}" in out
    before = key.read_bytes()
    code, _, err = cli("keygen", key)
    assert code == 2 and "never overwritten" in err and key.read_bytes() == before
    assert sorted(os.listdir(key.parent)) == ["k.key"]


def test_a_missing_output_folder_is_created_and_the_summary_says_so(tmp_path, cli):
    import json

    src = tmp_path / "t.csv"
    src.write_text(TABLE)
    out = tmp_path / "a" / "b"
    code, stdout, _ = cli("anonymize", src, "-o", out / "o.csv", "--quasi", "age", "--k", "2")
    assert code == 0 and f"created the missing output folder {out}" in stdout
    code, stdout, err = cli("anonymize", src, "-o", out / "o2.csv", "--quasi", "age", "--k", "2")
    assert code == 0 and "created" not in stdout + err
    code, stdout, err = cli(
        "anonymize", src, "-o", tmp_path / "c" / "o.csv", "--quasi", "age", "--k", "2", "--json"
    )
    assert code == 0 and json.loads(stdout) and "created the missing output folder" in err  # JSON stays clean


def test_dicom_full_disk_stops_with_one_line_and_the_folder_marked_incomplete(tmp_path, key_file):
    """A full disk used to fail every remaining file one by one (300 lines, exit 1) and then unmark the folder as
    complete: the run stops at the first write the file system refuses, exit 2, one line, marker kept."""
    import json
    import shlex

    import pydicom
    from pydicom.uid import generate_uid

    from anonlab.deid.dicom.deidentifying import INCOMPLETE_MARKER

    ns = _mount_namespace()
    src, full, manifest = tmp_path / "dcm", tmp_path / "full", tmp_path / "manifest.csv"
    src.mkdir()
    full.mkdir()
    ds = pydicom.dcmread(
        os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files", "CT_small.dcm")
    )
    for i in range(40):  # 40 x 39 kB: more than the 256 kB tmpfs holds
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(src / f"f{i:02d}.dcm", enforce_file_format=True)
    out = full / "out"
    argv = ["dicom", "deidentify", src, out, "--key-file", key_file, "--manifest", manifest, "--workers", "2"]
    script = (
        f"mount -t tmpfs -o size=256k tmpfs {shlex.quote(str(full))} && "
        f"{shlex.quote(sys.executable)} -c {shlex.quote(RUNNER)} && ls -A {shlex.quote(str(out))}"
    )
    run = subprocess.run(
        [*ns, "sh", "-c", script],
        input=json.dumps([[str(a) for a in argv]]),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.strip().splitlines()
    (code, err), left = json.loads(lines[0])[0], lines[1:]
    _assert_one_line(code, err, out, "No space left on device", "incomplete")
    assert INCOMPLETE_MARKER in left
    assert not manifest.exists()
