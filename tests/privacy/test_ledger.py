"""The budget ledger: totals, refusal before overspending, neighbour relations, populations and content warnings,
corruption, truncation and rollback, partial appends and full disks, format versions, concurrency."""

import errno
import json
import math
import multiprocessing as mp
import os
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

from anonlab.errors import (
    BudgetExceededError,
    InputError,
    OutputExistsError,
    PrivacyError,
    PrivacyWarning,
    UsageError,
)
from anonlab.privacy.accounting import rho_for, zcdp_epsilon
from anonlab.privacy.ledger import Ledger, dataset_fingerprint, head_path

V1 = Path(__file__).parent / "data" / "ledger-v1.jsonl"

DS = "a" * 64
OTHER = "b" * 64


def test_create_open_charge_and_remaining(tmp_path):
    p = tmp_path / "l.jsonl"
    Ledger.create(p, epsilon=1.0, delta=1e-6, accounting="basic")
    led = Ledger.open(p)
    assert led.total.epsilon == 1.0 and led.dataset is None
    led.charge(dataset=DS, what="count", mechanism="laplace", epsilon=0.25, delta=0.0)
    led = Ledger.open(p)
    assert led.dataset == DS and len(led.entries) == 1
    assert led.remaining().epsilon == pytest.approx(0.75)


def test_refused_release_writes_nothing_and_says_what_is_left(tmp_path):
    p = tmp_path / "l.jsonl"
    led = Ledger.create(p, epsilon=1.0, delta=0.0)
    led.charge(dataset=DS, what="a", mechanism="laplace", epsilon=0.6, delta=0.0)
    before = p.read_bytes()
    with pytest.raises(BudgetExceededError, match="only epsilon 0.4"):
        led.charge(dataset=DS, what="b", mechanism="laplace", epsilon=0.5, delta=0.0)
    assert p.read_bytes() == before


def test_zcdp_releases_compose_tightly(tmp_path):
    p = tmp_path / "l.jsonl"
    led = Ledger.create(p, epsilon=1.0, delta=1e-6)
    rho = rho_for(1.0, 1e-6)
    for i in range(4):
        led.charge(
            dataset=DS,
            what=f"m{i}",
            mechanism="gaussian",
            epsilon=zcdp_epsilon(rho / 4, 1e-6),
            delta=1e-6,
            rho=rho / 4,
        )
    assert led.spent().accounting == "zcdp"
    assert led.spent().epsilon == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(BudgetExceededError):
        led.check(epsilon=0.01, delta=0.0, dataset=DS)


def test_other_content_only_warns_once_and_is_charged(tmp_path):
    p = tmp_path / "l.jsonl"
    led = Ledger.create(p, epsilon=1.0, delta=0.0, dataset=DS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        led.check(epsilon=0.1, delta=0.0, dataset=DS)  # same content: silent
        led.charge(dataset=DS, what="x", mechanism="laplace", epsilon=0.1, delta=0.0)
        led.charge(what="no fingerprint", mechanism="laplace", epsilon=0.1, delta=0.0)  # none given: silent
    with pytest.warns(PrivacyWarning, match="content differs") as caught:
        led.check(epsilon=0.1, delta=0.0, dataset=OTHER)
        led.charge(dataset=OTHER, what="y", mechanism="laplace", epsilon=0.1, delta=0.0)
    assert (
        len([w for w in caught if issubclass(w.category, PrivacyWarning)]) == 1
    )  # check + charge: one warning
    assert OTHER not in str(caught[0].message) and DS not in str(caught[0].message)
    led = Ledger.open(p)
    assert len(led.entries) == 3 and led.dataset == OTHER
    assert led.spent().epsilon == pytest.approx(0.3)
    # the fingerprint stays in the operator's file, never in what the ledger shows
    assert (
        DS in p.read_text() and DS not in json.dumps(led.to_dict()) and OTHER not in json.dumps(led.to_dict())
    )


def test_fingerprint_docstring_says_never_publish():
    assert "never be published" in " ".join(dataset_fingerprint.__doc__.split())


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: "not json\n",
        lambda t: t[:-1],
        lambda t: t.replace('"epsilon": 0.1', '"epsilon": 0.01'),
        lambda t: "",
        lambda t: t.replace(t.splitlines()[0], json.dumps({"kind": "anonlab-ledger", "version": 1})),
    ],
)
def test_corrupt_ledger_refused(tmp_path, mutate):
    p = tmp_path / "l.jsonl"
    led = Ledger.create(p, epsilon=1.0, delta=0.0)
    led.charge(dataset=DS, what="x", mechanism="laplace", epsilon=0.1, delta=0.0)
    p.write_text(mutate(p.read_text()))
    with pytest.raises(InputError, match="ledger"):
        Ledger.open(p)


def test_missing_ledger_and_bad_totals(tmp_path):
    with pytest.raises(InputError):
        Ledger.open(tmp_path / "none.jsonl")
    for eps, delta in [(0, 0), (-1, 0), (1, 1.0)]:
        with pytest.raises(UsageError):
            Ledger.create(tmp_path / "x.jsonl", epsilon=eps, delta=delta)
    assert not (tmp_path / "x.jsonl").exists()


def _charge_many(path, n):
    led = Ledger.open(path)
    for i in range(n):
        led.charge(dataset=DS, what=f"w{i}", mechanism="laplace", epsilon=0.001, delta=0.0)


def test_concurrent_writers_lose_nothing(tmp_path):
    p = tmp_path / "l.jsonl"
    Ledger.create(p, epsilon=100.0, delta=0.0)
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_charge_many, args=(p, 25)) for _ in range(4)]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join()
    led = Ledger.open(p)
    assert len(led.entries) == 100
    assert led.spent().epsilon == pytest.approx(0.1)


def test_fingerprint_is_stable_and_content_sensitive():
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert dataset_fingerprint(df) == dataset_fingerprint(df[["b", "a"]].copy())
    df2 = df.copy()
    df2.loc[0, "a"] = 3
    assert dataset_fingerprint(df) != dataset_fingerprint(df2)


def test_accounting_is_fixed_per_ledger(tmp_path):
    z = Ledger.create(tmp_path / "z.jsonl", epsilon=1.0, delta=1e-6)
    b = Ledger.create(tmp_path / "b.jsonl", epsilon=1.0, delta=1e-6, accounting="basic")
    p = Ledger.create(tmp_path / "p.jsonl", epsilon=1.0, delta=0.0)
    assert (z.accounting, b.accounting, p.accounting) == ("zcdp", "basic", "basic")
    with pytest.raises(UsageError):
        Ledger.create(tmp_path / "bad.jsonl", epsilon=1.0, delta=0.0, accounting="zcdp")
    # an (epsilon, delta)-only release (e.g. DP-SGD) fits a basic ledger, not a zCDP one
    with pytest.raises(UsageError, match="rho"):
        z.charge(dataset=DS, what="dpsgd", mechanism="dpsgd", epsilon=0.5, delta=1e-7)
    b.charge(dataset=DS, what="dpsgd", mechanism="dpsgd", epsilon=0.5, delta=1e-7)
    assert b.remaining().epsilon == pytest.approx(0.5) and b.remaining().delta == pytest.approx(9e-7)
    # a pure release costs epsilon**2 / 2 in a zCDP ledger: epsilon 1 does not fit a (1, 1e-6) zCDP budget
    with pytest.raises(BudgetExceededError, match="epsilon\\*\\*2 / 2"):
        z.charge(dataset=DS, what="pure", mechanism="laplace", epsilon=1.0, delta=0.0)
    z.charge(dataset=DS, what="pure", mechanism="laplace", epsilon=0.1, delta=0.0)
    assert z.spent().rho == pytest.approx(0.005)
    assert z.remaining_rho() == pytest.approx(rho_for(1.0, 1e-6) - 0.005)


def test_remaining_rho_is_usable(tmp_path):
    led = Ledger.create(tmp_path / "z.jsonl", epsilon=2.0, delta=1e-6)
    r = led.remaining_rho()
    led.charge(dataset=DS, what="all", mechanism="gaussian", epsilon=2.0, delta=1e-6, rho=r)
    assert led.remaining_rho() == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(BudgetExceededError):
        led.charge(dataset=DS, what="more", mechanism="gaussian", epsilon=0.01, delta=1e-6, rho=1e-4)


def test_check_without_rho_in_a_zcdp_ledger(tmp_path):
    led = Ledger.create(tmp_path / "z.jsonl", epsilon=1.0, delta=1e-6)
    led.check(epsilon=1.0, delta=1e-6, dataset=DS)  # fits exactly
    with pytest.raises(BudgetExceededError):
        led.check(epsilon=1.5, delta=1e-6, dataset=DS)
    assert led.entries == []


# -- one neighbour relation per ledger (issue 11, item 5) -------------------------------------------------------


def test_population_and_relation_are_recorded(tmp_path):
    led = Ledger.create(tmp_path / "adult.jsonl", epsilon=1.0, delta=1e-6)
    assert (led.population, led.neighbours, led.population_size) == ("adult", "add/remove", None)
    assert led.version == 2 and led.fresh is True and led.replaces is None
    r = Ledger.create(
        tmp_path / "r.jsonl",
        epsilon=1.0,
        delta=1e-6,
        population="Adult census 1994",
        neighbours="replace-one",
        population_size=32561,
    )
    r = Ledger.open(tmp_path / "r.jsonl")
    assert (r.population, r.neighbours, r.population_size) == ("Adult census 1994", "replace-one", 32561)
    info = r.to_dict()
    assert info["population"] == "Adult census 1994"
    assert info["neighbours"] == "replace-one" and info["population_size"] == 32561


@pytest.mark.parametrize(
    "kw",
    [
        {"neighbours": "replace-one"},  # n missing
        {"neighbours": "replace-one", "population_size": 0},
        {"neighbours": "replace-one", "population_size": True},
        {"neighbours": "replace-one", "population_size": 10.5},
        {"population_size": 100},  # add/remove: n is private
        {"neighbours": "swap"},
        {"population": ""},
        {"population": "two\nlines"},
    ],
)
def test_bad_relation_or_population_refused(tmp_path, kw):
    with pytest.raises(UsageError):
        Ledger.create(tmp_path / "x.jsonl", epsilon=1.0, delta=0.0, **kw)
    assert not (tmp_path / "x.jsonl").exists() and not head_path(tmp_path / "x.jsonl").exists()


def test_add_remove_ledger_refuses_replace_one_releases(tmp_path):
    p = tmp_path / "l.jsonl"
    led = Ledger.create(p, epsilon=5.0, delta=1e-6)
    before = p.read_bytes()
    with pytest.raises(PrivacyError, match="must release a DP estimate of n"):
        led.check(epsilon=0.1, delta=1e-6, rho=1e-3, neighbours="replace-one")
    with pytest.raises(PrivacyError, match="must release a DP estimate of n"):
        led.charge(what="napsu", mechanism="x", epsilon=0.1, delta=0.0, neighbours="replace-one")
    with pytest.raises(UsageError, match="neighbours"):
        led.charge(what="x", mechanism="x", epsilon=0.1, delta=0.0, neighbours="replace")
    assert p.read_bytes() == before and Ledger.open(p).entries == []


def test_replace_one_ledger_basic_charges_add_remove_as_a_group_of_two(tmp_path):
    p = tmp_path / "r.jsonl"
    led = Ledger.create(
        p, epsilon=2.0, delta=1e-5, accounting="basic", neighbours="replace-one", population_size=1000
    )
    e1 = led.charge(what="pure", mechanism="laplace", epsilon=0.3, delta=0.0)  # add/remove by default
    assert e1.group == 2 and e1.epsilon == 0.3
    assert e1.charged_cost.epsilon == pytest.approx(0.6) and e1.charged_cost.delta == 0.0
    assert e1.charged_cost.rho == pytest.approx(4 * 0.3**2 / 2)
    e2 = led.charge(what="approx", mechanism="dpsgd", epsilon=0.5, delta=1e-7)
    assert e2.charged_cost.epsilon == pytest.approx(1.0)
    assert e2.charged_cost.delta == pytest.approx((1 + math.exp(0.5)) * 1e-7)
    e3 = led.charge(what="napsu", mechanism="x", epsilon=0.2, delta=1e-7, neighbours="replace-one")
    assert e3.group == 1 and e3.charged_cost == e3.cost
    led = Ledger.open(p)
    assert [e.group for e in led.entries] == [2, 2, 1]
    assert led.spent().epsilon == pytest.approx(0.6 + 1.0 + 0.2)
    assert led.spent().delta == pytest.approx((1 + math.exp(0.5)) * 1e-7 + 1e-7)
    assert led.per_release_sum().epsilon == pytest.approx(1.0)  # the releases' own figures
    # 0.2 is left: an add/remove release of 0.15 costs 0.3 here and is refused; a replace-one one fits
    with pytest.raises(BudgetExceededError, match="group of two"):
        led.check(epsilon=0.15, delta=0.0)
    led.check(epsilon=0.15, delta=0.0, neighbours="replace-one")
    rel = led.to_dict()["releases"]
    assert rel[0]["neighbours"] == "add/remove" and rel[0]["charged"]["epsilon"] == pytest.approx(0.6)


def test_replace_one_ledger_zcdp_charges_four_rho(tmp_path):
    p = tmp_path / "r.jsonl"
    led = Ledger.create(p, epsilon=1.0, delta=1e-6, neighbours="replace-one", population_size=50)
    rho = rho_for(1.0, 1e-6) / 8
    e = led.charge(what="gauss", mechanism="gaussian", epsilon=zcdp_epsilon(rho, 1e-6), delta=1e-6, rho=rho)
    assert e.rho == pytest.approx(rho) and e.charged_cost.rho == pytest.approx(4 * rho)
    pure = led.charge(what="pure", mechanism="laplace", epsilon=0.05, delta=0.0)
    assert pure.charged_cost.rho == pytest.approx(4 * 0.05**2 / 2)  # = (2 epsilon)**2 / 2
    led = Ledger.open(p)
    assert led.spent().rho == pytest.approx(4 * rho + 4 * 0.05**2 / 2)
    assert led.remaining_rho() == pytest.approx(rho_for(1.0, 1e-6) - led.spent().rho)
    # half of what is left, charged 4x, passes it; the same release under replace-one fits
    half = led.remaining_rho() / 2
    with pytest.raises(BudgetExceededError, match="group of two"):
        led.check(epsilon=zcdp_epsilon(half, 1e-6), delta=1e-6, rho=half)
    led.check(epsilon=zcdp_epsilon(half, 1e-6), delta=1e-6, rho=half, neighbours="replace-one")


def _reseal(rec):
    from anonlab.privacy.ledger import _checksum

    rec = {k: v for k, v in rec.items() if k != "sum"}
    return {**rec, "sum": _checksum(rec)}


@pytest.mark.parametrize("relation", ["replace-one", "add/remove"])
def test_a_charged_cost_that_does_not_follow_from_the_release_is_corrupt(tmp_path, relation):
    p = tmp_path / "r.jsonl"
    n = 10 if relation == "replace-one" else None
    led = Ledger.create(p, epsilon=2.0, delta=0.0, neighbours=relation, population_size=n)
    led.charge(what="pure", mechanism="laplace", epsilon=0.3, delta=0.0)
    lines = p.read_text().splitlines()
    rec = json.loads(lines[1])
    rec["charged"]["epsilon"] = 0.15 if relation == "add/remove" else 0.3  # resealed by hand
    p.write_text(lines[0] + "\n" + json.dumps(_reseal(rec)) + "\n")
    head_path(p).unlink()
    with pytest.raises(InputError, match="line 2: missing or bad field"):
        Ledger.open(p)


# -- rollback and truncation: the head anchor (issue 11, item 7) ------------------------------------------------


def _three(p):
    led = Ledger.create(p, epsilon=10.0, delta=0.0)
    for i in range(3):
        led.charge(what=f"r{i}", mechanism="laplace", epsilon=0.1, delta=0.0)
    return led


def test_head_anchor_follows_every_append(tmp_path):
    p = tmp_path / "l.jsonl"
    Ledger.create(p, epsilon=1.0, delta=0.0)
    head = json.loads(head_path(p).read_text())
    assert head["seq"] == 0 and head["hash"] == json.loads(p.read_text())["sum"]
    _charge_many(p, 2)
    head = json.loads(head_path(p).read_text())
    assert head["seq"] == 2 and head["hash"] == json.loads(p.read_text().splitlines()[-1])["sum"]
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_cut_trailing_lines_are_refused(tmp_path):
    p = tmp_path / "l.jsonl"
    _three(p)
    lines = p.read_text().splitlines(keepends=True)
    p.write_text("".join(lines[:-1]))
    with pytest.raises(
        InputError, match="truncated or rolled back: the anchor says 3 entries, the file holds 2"
    ):
        Ledger.open(p)
    p.write_text("".join(lines[:1]))
    with pytest.raises(InputError, match="anchor says 3 entries"):
        Ledger.open(p)
    # cutting only the final newline leaves an "uncommitted" tail: still 2 entries against an anchor of 3
    p.write_text("".join(lines)[:-1])
    with pytest.raises(InputError, match="anchor says 3"):
        Ledger.open(p)
    with pytest.raises(InputError, match="anchor says 3"):  # and it cannot be charged either
        Ledger(p, {}, [], "").charge(what="x", mechanism="laplace", epsilon=0.1, delta=0.0)


def test_restored_older_copy_is_refused(tmp_path):
    p = tmp_path / "l.jsonl"
    led = Ledger.create(p, epsilon=10.0, delta=0.0)
    led.charge(what="a", mechanism="laplace", epsilon=0.1, delta=0.0)
    old = p.read_bytes()
    led.charge(what="b", mechanism="laplace", epsilon=5.0, delta=0.0)
    p.write_bytes(old)
    with pytest.raises(InputError, match="rolled back: the anchor says 2 entries, the file holds 1"):
        Ledger.open(p)


def test_rolled_back_and_rewritten_is_refused(tmp_path):
    p = tmp_path / "l.jsonl"
    led = Ledger.create(p, epsilon=10.0, delta=0.0)
    old, old_head = p.read_bytes(), head_path(p).read_bytes()
    led.charge(what="a", mechanism="laplace", epsilon=5.0, delta=0.0)
    head_after_a = head_path(p).read_bytes()
    p.write_bytes(old)
    head_path(p).write_bytes(old_head)
    Ledger.open(p).charge(what="b", mechanism="laplace", epsilon=0.1, delta=0.0)
    head_path(p).write_bytes(head_after_a)  # the anchor of the first history
    with pytest.raises(InputError, match="rolled back and rewritten: entry 1 does not match"):
        Ledger.open(p)


def test_restoring_both_files_together_is_not_detectable(tmp_path):
    """The limit docs/privacy.md states: the ledger cannot prove anything against whoever can write both files."""
    p = tmp_path / "l.jsonl"
    led = Ledger.create(p, epsilon=10.0, delta=0.0)
    led.charge(what="a", mechanism="laplace", epsilon=0.1, delta=0.0)
    old, old_head = p.read_bytes(), head_path(p).read_bytes()
    led.charge(what="b", mechanism="laplace", epsilon=5.0, delta=0.0)
    p.write_bytes(old)
    head_path(p).write_bytes(old_head)
    assert len(Ledger.open(p).entries) == 1


def test_a_lagging_anchor_is_fine_and_a_foreign_or_corrupt_one_is_refused(tmp_path):
    p = tmp_path / "l.jsonl"
    led = Ledger.create(p, epsilon=10.0, delta=0.0)
    led.charge(what="a", mechanism="laplace", epsilon=0.1, delta=0.0)
    lag = head_path(p).read_bytes()
    led.charge(what="b", mechanism="laplace", epsilon=0.1, delta=0.0)
    head_path(p).write_bytes(lag)  # a crash between the append and its anchor
    assert len(Ledger.open(p).entries) == 2
    Ledger.open(p).charge(what="c", mechanism="laplace", epsilon=0.1, delta=0.0)
    assert json.loads(head_path(p).read_text())["seq"] == 3
    q = tmp_path / "other.jsonl"
    Ledger.create(q, epsilon=10.0, delta=0.0)
    shutil.copy(head_path(q), head_path(p))
    with pytest.raises(InputError, match="belongs to another ledger"):
        Ledger.open(p)
    head_path(p).write_text('{"kind": "anonlab-ledger-head", "seq": 99}\n')
    with pytest.raises(InputError, match="corrupt head anchor"):
        Ledger.open(p)


def test_a_missing_anchor_warns_and_the_next_charge_writes_it(tmp_path):
    p = tmp_path / "l.jsonl"
    _three(p)
    head_path(p).unlink()
    with pytest.warns(PrivacyWarning, match="no head anchor"):
        led = Ledger.open(p)
    with pytest.warns(PrivacyWarning, match="no head anchor"):
        led.charge(what="d", mechanism="laplace", epsilon=0.1, delta=0.0)
    assert json.loads(head_path(p).read_text())["seq"] == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(Ledger.open(p).entries) == 4


# -- all-or-nothing appends; partial lines; full disks (issue 12) -----------------------------------------------


@pytest.mark.parametrize("tail", [b'{"seq": 2, "time": "20', b'{"what": "caf\\xc3'])
def test_an_uncommitted_partial_line_is_ignored_then_cut_by_the_next_charge(tmp_path, tail):
    p = tmp_path / "l.jsonl"
    led = Ledger.create(p, epsilon=1.0, delta=0.0)
    led.charge(what="a", mechanism="laplace", epsilon=0.25, delta=0.0)
    committed = p.read_bytes()
    with open(p, "ab") as f:  # a crash or a full disk in the middle of an append
        f.write(tail)
    with pytest.warns(PrivacyWarning, match="uncommitted partial last line"):
        led = Ledger.open(p)
    assert len(led.entries) == 1 and led.spent().epsilon == pytest.approx(0.25)
    with pytest.warns(PrivacyWarning, match="removed an uncommitted partial last line"):
        led.charge(what="b", mechanism="laplace", epsilon=0.25, delta=0.0)
    data = p.read_bytes()
    assert data.startswith(committed) and data.endswith(b"\n") and tail not in data
    assert len(data.splitlines()) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        led = Ledger.open(p)
    assert [e.what for e in led.entries] == ["a", "b"]


def test_a_refused_charge_leaves_the_partial_line_alone(tmp_path):
    p = tmp_path / "l.jsonl"
    led = Ledger.create(p, epsilon=1.0, delta=0.0)
    with open(p, "ab") as f:
        f.write(b'{"seq": 1')
    before = p.read_bytes()
    with pytest.warns(PrivacyWarning):
        led = Ledger.open(p)
    with pytest.raises(BudgetExceededError):
        led.charge(what="too much", mechanism="laplace", epsilon=2.0, delta=0.0)
    assert p.read_bytes() == before


def _full_disk(monkeypatch, *, short=False, on="write"):
    real_write = os.write
    calls = {"n": 0}

    def write(fd, data):
        calls["n"] += 1
        if short and calls["n"] == 1:
            return real_write(
                fd, bytes(data[: len(data) // 2])
            )  # the disk fills up half way through the line
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fsync(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if on == "write":
        monkeypatch.setattr(os, "write", write)
    else:
        monkeypatch.setattr(os, "fsync", fsync)


@pytest.mark.parametrize("kind", ["nothing written", "short write", "fsync fails"])
def test_a_full_disk_during_an_append_leaves_the_ledger_valid(tmp_path, monkeypatch, kind):
    p = tmp_path / "l.jsonl"
    led = Ledger.create(p, epsilon=1.0, delta=0.0)
    led.charge(what="a", mechanism="laplace", epsilon=0.25, delta=0.0)
    before, head_before = p.read_bytes(), head_path(p).read_bytes()
    with monkeypatch.context() as m:
        _full_disk(m, short=kind == "short write", on="fsync" if kind == "fsync fails" else "write")
        with pytest.raises(InputError) as err:
            led.charge(what="b", mechanism="laplace", epsilon=0.25, delta=0.0)
    msg = str(err.value)
    assert "\n" not in msg and str(p) in msg and "No space left on device" in msg
    assert "nothing was charged or released" in msg
    assert p.read_bytes() == before and head_path(p).read_bytes() == head_before
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        led = Ledger.open(p)
    assert len(led.entries) == 1
    led.charge(what="b", mechanism="laplace", epsilon=0.25, delta=0.0)  # space freed: works again
    assert len(Ledger.open(p).entries) == 2


# -- never replace a ledger; fresh headers (issue 12) -----------------------------------------------------------


def test_create_never_replaces_a_ledger(tmp_path):
    p = tmp_path / "l.jsonl"
    _three(p)
    before = p.read_bytes()
    with pytest.raises(OutputExistsError, match="never replaces or truncates a ledger") as err:
        Ledger.create(p, epsilon=5.0, delta=0.0)
    assert str(p) in str(err.value) and "remove the file" in str(err.value)
    assert p.read_bytes() == before
    with pytest.raises(TypeError):
        Ledger.create(p, epsilon=5.0, delta=0.0, force=True)  # there is no force any more
    (tmp_path / "other").write_text("not a ledger")
    with pytest.raises(OutputExistsError):
        Ledger.create(tmp_path / "other", epsilon=5.0, delta=0.0)
    assert (tmp_path / "other").read_text() == "not a ledger"


def test_a_new_ledger_after_a_removed_one_says_so(tmp_path):
    p = tmp_path / "l.jsonl"
    _three(p)
    p.unlink()  # the operator starts over; the old anchor stays beside it
    led = Ledger.create(p, epsilon=5.0, delta=0.0)
    assert led.fresh is True and led.replaces["removed_ledger_entries"] == 3
    header = json.loads(p.read_text().splitlines()[0])
    assert header["fresh"] is True and "replaces a removed one" in header["replaces"]["note"]
    assert json.loads(head_path(p).read_text())["seq"] == 0  # the anchor now belongs to the new ledger
    led.charge(what="x", mechanism="laplace", epsilon=0.1, delta=0.0)
    assert Ledger.open(p).to_dict()["replaces"]["removed_ledger_entries"] == 3


# -- format versions (issue 12) ---------------------------------------------------------------------------------


def test_a_version_1_ledger_opens_as_add_remove_and_can_be_charged(tmp_path):
    p = tmp_path / "adult-v1.jsonl"
    shutil.copy(V1, p)
    original = p.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # version 1 never had an anchor: no warning
        led = Ledger.open(p)
    assert (led.version, led.neighbours, led.population, led.population_size) == (
        1,
        "add/remove",
        "adult-v1",
        None,
    )
    assert [e.seq for e in led.entries] == [1, 2] and led.accounting == "zcdp"
    spent = led.spent().rho
    assert spent == pytest.approx(0.002 + 0.005)
    with pytest.raises(PrivacyError, match="DP estimate of n"):
        led.charge(what="napsu", mechanism="x", epsilon=0.1, delta=0.0, neighbours="replace-one")
    led.charge(what="new", mechanism="laplace", epsilon=0.1, delta=0.0, dataset=led.dataset)
    assert p.read_bytes().startswith(original)  # appended, never rewritten
    led = Ledger.open(p)
    assert len(led.entries) == 3 and led.version == 1 and led.spent().rho == pytest.approx(spent + 0.005)
    assert json.loads(head_path(p).read_text())["seq"] == 3
    lines = p.read_text().splitlines()
    p.write_text("\n".join(lines[:-1]) + "\n")  # and from now on it is anchored too
    with pytest.raises(InputError, match="anchor says 3"):
        Ledger.open(p)


@pytest.mark.parametrize(("version", "says"), [(3, "newer anonlab: upgrade"), (0, "reads \\(1 or 2\\)")])
def test_unknown_versions_are_refused_by_name(tmp_path, version, says):
    p = tmp_path / "l.jsonl"
    header = json.loads(V1.read_text().splitlines()[0])
    header["version"] = version
    p.write_text(json.dumps(_reseal(header)) + "\n")
    before = p.read_bytes()
    with pytest.raises(InputError, match=f"ledger format version {version} is .*{says}"):
        Ledger.open(p)
    assert p.read_bytes() == before


# -- composed versus per-release figures (issue 11, item 11) ----------------------------------------------------


def test_composed_and_per_release_figures(tmp_path):
    p = tmp_path / "z.jsonl"
    led = Ledger.create(p, epsilon=1.0, delta=1e-5)
    rho = rho_for(0.5, 1e-6)  # a dp stats run at epsilon 0.5, delta 1e-6
    led.charge(what="dp stats", mechanism="gaussian", epsilon=0.5, delta=1e-6, rho=rho)
    info = led.to_dict()
    assert info["per_release_sum"]["epsilon"] == pytest.approx(0.5)
    assert info["spent"]["epsilon"] == pytest.approx(zcdp_epsilon(rho, 1e-5))  # at the ledger's delta
    assert info["spent"]["epsilon"] < 0.5 and info["spent"]["delta"] == 1e-5
    for _ in range(3):
        led.charge(what="dp stats", mechanism="gaussian", epsilon=0.5, delta=1e-6, rho=rho)
    info = led.to_dict()
    assert info["spent"]["epsilon"] < info["per_release_sum"]["epsilon"] == pytest.approx(2.0)
    assert "composed" in info["binding"] and "do not add up" in info["binding"]


def test_an_unreadable_stale_anchor_is_still_recorded_as_a_removed_ledger(tmp_path):
    p = tmp_path / "l.jsonl"
    head_path(p).write_text("garbage\n")
    led = Ledger.create(p, epsilon=1.0, delta=0.0)
    assert led.replaces["removed_ledger_entries"] is None and "removed" in led.replaces["note"]
    assert json.loads(head_path(p).read_text())["seq"] == 0


def test_create_refuses_a_missing_folder_with_one_line(tmp_path):
    with pytest.raises(InputError, match="no folder"):
        Ledger.create(tmp_path / "nope" / "l.jsonl", epsilon=1.0, delta=0.0)


@pytest.mark.parametrize(
    "kwargs, says",
    [
        ({"epsilon": 0}, "epsilon="),
        ({"epsilon": 1, "delta": 1}, "delta="),
        ({"epsilon": 1, "accounting": "rdp"}, "accounting="),
        ({"epsilon": 1, "delta": 0, "accounting": "zcdp"}, "delta="),
        ({"epsilon": 1, "neighbours": "swap"}, "neighbours="),
        ({"epsilon": 1, "neighbours": "replace-one"}, "population_size="),
        ({"epsilon": 1, "population_size": 10}, "population_size="),
        ({"epsilon": 1, "population": ""}, "population="),
        ({"epsilon": 1, "dataset": 5}, "dataset="),
    ],
)
def test_create_refuses_bad_arguments_naming_the_parameter(tmp_path, kwargs, says):
    with pytest.raises(UsageError, match=says):
        Ledger.create(tmp_path / "l.jsonl", **kwargs)
    assert not (tmp_path / "l.jsonl").exists()


def test_the_notebook_view_shows_the_budget_and_releases_but_no_fingerprint(tmp_path):
    import pandas as pd

    df = pd.DataFrame({"a": ["x", "y"]})
    led = Ledger.create(tmp_path / "v.jsonl", epsilon=1.0, delta=1e-6, population="<Adult>")
    led.charge(
        what="my <counts>", mechanism="m", epsilon=0.1, delta=1e-8, rho=0.001, dataset=dataset_fingerprint(df)
    )
    html = led._repr_html_()
    assert "&lt;Adult&gt;" in html and "my &lt;counts&gt;" in html and "remaining" in html
    assert dataset_fingerprint(df) not in html and dataset_fingerprint(df) not in repr(led)
    assert "population='<Adult>'" in repr(led) and "releases=1" in repr(led)
    assert [e.seq for e in Ledger.open(led.path).entries] == [1]
