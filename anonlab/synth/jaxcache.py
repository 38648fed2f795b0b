"""JAX's persistent compilation cache for the twinify methods.

twinify's NAPSU-MQ and DPVI spend much of a small fit compiling XLA programs. JAX can keep compiled programs on
disk and reuse them when the same shapes come back (anonlab keeps shapes static: the encoding fixes every
domain). The cache folder is ``$ANONLAB_JAX_CACHE`` if set, else ``anonlab/jax`` under the user's cache folder
(``$XDG_CACHE_HOME`` or ``~/.cache``); ``anonlab synth --jax-cache DIR`` overrides both. It holds compiled code
only, never data.

Limitation of the pinned stack: jax 0.4.23 (held back by twinify) writes the persistent cache on GPU and TPU
only; on CPU it needs XLA's CPU runtime (``XLA_FLAGS=--xla_cpu_use_xla_runtime=true``), which fails to compile
twinify's scatter operations ("op was not bufferized"), so anonlab does not set that flag. On a CPU-only machine
the cache folder therefore stays empty and every process compiles afresh; JAX's in-process cache still reuses
compiled programs within one run.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_cache_dir", "enable_compilation_cache"]


def default_cache_dir() -> Path:
    env = os.environ.get("ANONLAB_JAX_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "anonlab" / "jax"


def enable_compilation_cache(
    path: str | os.PathLike | None = None, min_compile_seconds: float = 0.5
) -> Path | None:
    """Point JAX's persistent compilation cache at ``path`` (default :func:`default_cache_dir`).

    Returns the folder, or None when it cannot be created (the cache is then off; fitting still works).
    """
    import jax

    folder = Path(path).expanduser() if path else default_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_seconds))
    try:
        from jax.experimental.compilation_cache import compilation_cache as cc

        cc.set_cache_dir(str(folder))
    except Exception:  # older or newer JAX spell it differently; the config key above suffices
        pass
    return folder
