"""Fixtures shared by every test folder."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def adult():
    """The bundled UCI Adult table (read once per session; tests must not modify it)."""
    from anonlab.datasets import load_adult

    return load_adult()


@pytest.fixture
def cli(capsys):
    """Run `anonlab ARGS...` in-process; returns (exit code, stdout, stderr)."""
    from anonlab.cli import main

    def run(*args: str):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture
def key_file(tmp_path):
    """A fresh key file outside the folders tests write releases to."""
    from anonlab.deid.keys import write_key

    return write_key(tmp_path / "secrets" / "study.key")
