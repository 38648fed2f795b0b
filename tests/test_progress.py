"""anonlab.progress: the one style of progress on standard error (bars, ticking phase lines), silent when off."""

from __future__ import annotations

import subprocess
import sys
import time

from anonlab.progress import bar, phase, ticking


def test_disabled_progress_writes_nothing(capsys):
    with bar(3, desc="work", enabled=False) as b, ticking(b):
        b.update(3)
    with phase("fitting", enabled=False) as p:
        p.set_postfix_str("step")
    assert capsys.readouterr().err == ""


def test_a_phase_line_ticks_while_the_step_runs(capsys):
    with phase("fitting the model") as p:
        time.sleep(1.3)  # a step that reports nothing itself
        p.set_postfix_str("second step")
    err = capsys.readouterr().err
    assert (
        "fitting the model ... 00:00" in err and "fitting the model ... 00:01" in err
    )  # redrawn as time passes
    assert "second step" in err


def test_ticking_redraws_a_bar_during_one_slow_item(capsys):
    with bar(2, desc="parts", unit="part") as b, ticking(b, every=0.1):
        time.sleep(0.5)
        b.update(2)
    frames = capsys.readouterr().err.count("parts:")
    assert frames >= 4  # the clock moved while the first item ran


def test_importing_progress_is_light():
    code = "import sys, anonlab.progress; print('tqdm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_aim_bar_names_columns_and_counts_the_budget(adult, capsys):
    # the AIM bar had no total and said clique=5,7: it now shows the share of the budget spent (rounds are capped
    # by a public count) and the columns of each clique
    import warnings

    from anonlab.synth import AIM

    df = adult[["age", "sex", "race", "income-per-year"]].iloc[:3000]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no ledger: an experiment
        AIM(epsilon=1.0, seed=1, progress=True, rounds=12).fit(df, "adult")
    err = capsys.readouterr().err
    assert "% of the budget" in err and "round 1" in err
    assert "clique=" not in err and any(f"{a}+{b}" in err for a in df for b in df)


def test_aim_without_progress_is_silent(adult, capsys):
    import warnings

    from anonlab.synth import AIM

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        AIM(epsilon=1.0, seed=1, rounds=12).fit(adult[["age", "sex", "race"]].iloc[:2000], "adult")
    assert capsys.readouterr().err == ""
