"""JAX's persistent compilation cache works on CPU: a new process reuses what an earlier one compiled."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("jax", reason="the synth extra (JAX) is not installed")

PROGRAM = """
import sys
from anonlab.synth.jaxcache import enable_compilation_cache
print(enable_compilation_cache(sys.argv[1], min_compile_seconds=0.0))
import jax, jax.numpy as jnp
events = []
jax.monitoring.register_event_listener(lambda name, **kw: events.append(name))
jax.jit(lambda x: jnp.sin(x) @ x.T + 1.5)(jnp.ones((7, 5))).block_until_ready()
print(sorted({e.rsplit('/', 1)[-1] for e in events if 'compilation_cache/cache_' in e}))
"""


def _run(folder) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(folder)], capture_output=True, text=True, check=True, timeout=120
    ).stdout.splitlines()
    assert out[0] == str(folder)
    return eval(out[1])


def test_second_process_reads_the_compiled_program_from_disk(tmp_path):
    folder = tmp_path / "jax-cache"
    assert _run(folder) == ["cache_misses"]
    entries = sorted(p.name for p in folder.iterdir())
    assert entries, "nothing was written to the persistent cache"
    assert _run(folder) == ["cache_hits"]
    assert sorted(p.name for p in folder.iterdir()) == entries


def test_a_folder_that_cannot_be_made_turns_the_cache_off(tmp_path):
    from anonlab.synth.jaxcache import enable_compilation_cache

    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert enable_compilation_cache(blocker / "sub") is None
