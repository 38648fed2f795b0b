"""The budget ledger: totals, refusal before overspending, dataset binding, corruption, concurrency."""

import json
import multiprocessing as mp

import pandas as pd
import pytest

from anonlab.errors import BudgetExceededError, InputError, PrivacyError, UsageError
from anonlab.privacy.accounting import rho_for, zcdp_epsilon
from anonlab.privacy.ledger import Ledger, dataset_fingerprint

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


def test_other_dataset_refused(tmp_path):
    p = tmp_path / "l.jsonl"
    led = Ledger.create(p, epsilon=1.0, delta=0.0, dataset=DS)
    with pytest.raises(PrivacyError, match="another dataset"):
        led.charge(dataset=OTHER, what="x", mechanism="laplace", epsilon=0.1, delta=0.0)


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
