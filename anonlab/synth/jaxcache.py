"""JAX's persistent compilation cache for NAPSU-MQ and DPVI.

NAPSU-MQ and DPVI spend much of a small fit compiling XLA programs. JAX can keep compiled programs on
disk and reuse them when the same shapes come back (anonlab keeps shapes static: the encoding fixes every
domain). The cache folder is ``$ANONLAB_JAX_CACHE`` if set, else ``anonlab/jax`` under the user's cache folder
(``$XDG_CACHE_HOME`` or ``~/.cache``); ``anonlab synth --jax-cache DIR`` overrides both. It holds compiled code
only, never data.

On the current stack (jax 0.10) the persistent cache works on CPU too: a second process that compiles the same
program with the same shapes reads it from the folder instead of compiling (checked by
``tests/synth/test_jaxcache.py``: a cache hit in a new process; a 24 s compile here came back in under 2 s). The
old stack's jax 0.4.23 wrote the cache on GPU and TPU only.
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
