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
