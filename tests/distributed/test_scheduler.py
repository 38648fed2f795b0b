"""scheduler= values, the missing extra, and a light `import anonlab.distributed`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from anonlab.distributed.scheduler import Scheduler, parse_scheduler
from anonlab.errors import MissingExtraError, UsageError


def test_parse_scheduler(tmp_path):
    assert parse_scheduler("local:2") == Scheduler("local", workers=2)
    assert parse_scheduler("local").kind == "local"
    assert parse_scheduler("tcp://10.0.0.1:8786") == Scheduler("address", address="tcp://10.0.0.1:8786")
    assert parse_scheduler("node7:8786").kind == "address"
    (tmp_path / "s.json").write_text("{}")
    assert parse_scheduler(str(tmp_path / "s.json")).kind == "file"
    for bad in ("banana", "local:0", "local:x", str(tmp_path / "missing.json")):
        with pytest.raises(UsageError, match="scheduler="):
            parse_scheduler(bad)


def test_without_the_extra_the_message_names_it(monkeypatch):
    from anonlab.distributed.scheduler import dask_modules

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingExtraError, match=r"anonlab\[dask\]"):
        dask_modules()


def test_import_is_light():
    code = "import sys, anonlab.distributed; print(any(m in sys.modules for m in ('dask', 'pandas', 'distributed')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
