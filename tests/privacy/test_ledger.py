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
    Ledger.create(p, epsilon=1.0, delta=1e-6)
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
