"""The distributed CSV reader refuses what the in-process reader refuses, with the same one-line message."""

from __future__ import annotations

import pytest

pytest.importorskip("distributed")

import anonlab.distributed.tables as tables  # noqa: E402
from anonlab.distributed import read_table  # noqa: E402
from anonlab.errors import InputError  # noqa: E402
from anonlab.io import read_table as read_in_process  # noqa: E402

CASES = {
    "short.csv": "a,b,c\n1,2,3\n4,5\n6,7,8\n",
    "crlf_blank.csv": "a,b,c\r\n1,2,3\r\n\r\n4,5,\r\n6,7\r\n",
    "quoted.csv": 'a,b,c\n1,"x\ny",3\n4,5\n',
    "quoted_ok.csv": 'a,b,c\n1,"x\ny",3\n4,5,\n',
    "blank_lines.csv": "a,b,c\n1,2,3\n\n\n4,5,6\n7\n",
    "no_newline_ok.csv": "a,b,c\n1,2,3\n4,5,",
    "no_newline_short.csv": "a,b,c\n1,2,3\n4,5",
    "tab.tsv": "a\tb\n1\t2\n3\n",
    "late.csv": "a,b\n" + "1,2\n" * 100 + "3\n",
    "fine.csv": "a,b\n1,\n,2\n",
}


def _message(read, path):
    try:
        read(path)
    except InputError as exc:
        return str(exc)
    return "read"


@pytest.mark.parametrize("chunk", [1 << 24, 7, 1])
@pytest.mark.parametrize("name", sorted(CASES))
def test_short_rows_refused_as_in_process(tmp_path, monkeypatch, name, chunk):
    monkeypatch.setattr(tables, "_SHORT_CHUNK", chunk)  # lines cut across the pieces the check streams
    path = tmp_path / name
    path.write_text(CASES[name], newline="")
    want = _message(read_in_process, path)
    got = _message(lambda p: read_table(p).compute(scheduler="sync"), path)
    assert got == want
    assert ("expected" in want) == ("short" in name or name in ("crlf_blank.csv", "quoted.csv", "blank_lines.csv",
                                                                "tab.tsv", "late.csv"))  # fmt: skip


def test_short_row_in_the_second_file_of_a_glob(tmp_path):
    (tmp_path / "a1.csv").write_text("a,b\n1,2\n")
    (tmp_path / "a2.csv").write_text("a,b\n1,2\n3\n")
    with pytest.raises(InputError, match=r"a2\.csv: line 3: expected 2 fields, saw 1"):
        read_table(str(tmp_path / "a*.csv"))
