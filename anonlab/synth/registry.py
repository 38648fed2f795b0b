"""The synthesis methods by name: ``"aim"`` -> ``"anonlab.synth.aim:AIM"``, loaded only when asked for.

A leaf module: it imports nothing from :mod:`anonlab.synth`, so listing the methods (``anonlab synth --help``,
:func:`names`) imports none of them. Each entry is a dotted ``"module:Class"`` path (pydicom keeps its plugins the
same way), or a class a research user registered:

    from anonlab.synth import EncodedSynthesizer, register

    @register("uniform")
    class Uniform(EncodedSynthesizer):
        ...

    register("mine", "mypackage.synth:Mine")   # loaded on first use

A registered method is usable everywhere a built-in one is: :func:`get`, ``anonlab synth --method NAME``, a
study's ``synthesizer = "NAME"``. :func:`registered` registers for the length of a ``with`` block (tests).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from anonlab.errors import UsageError

__all__ = ["BUILTINS", "CLASS_NAMES", "get", "names", "register", "registered", "unregister"]

#: The built-in methods: name -> "module:Class".
BUILTINS: dict[str, str] = {
    "aim": "anonlab.synth.aim:AIM",
    "mst": "anonlab.synth.mst:MST",
    "napsu": "anonlab.synth.twinify.napsu:NapsuMQ",
    "dpvi": "anonlab.synth.twinify.dpvi:DPVI",
    "gaussian-copula": "anonlab.synth.sdv_methods:GaussianCopula",
    "ctgan": "anonlab.synth.sdv_methods:CTGAN",
}
#: The built-in classes by their Python name (``anonlab.synth.AIM``) -> method name.
CLASS_NAMES: dict[str, str] = {target.rsplit(":", 1)[1]: name for name, target in BUILTINS.items()}

_ADDED: dict[str, str | type] = {}


def names() -> list[str]:
    """Every method name: the built-in ones (default first), then the registered ones in registration order."""
    return [*BUILTINS, *_ADDED]


def get(name: str) -> type:
    """The class registered as ``name`` (imported now if it was a dotted path); :class:`UsageError` listing the
    known names otherwise."""
    target = _ADDED.get(name, BUILTINS.get(name))
    if target is None:
        raise UsageError(f"unknown synthesis method {name!r} (known: {', '.join(names())})")
    if isinstance(target, type):
        return target
    module, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"synthesis method {name!r}: cannot load {target!r} ({exc})") from None
    if getattr(cls, "name", name) != name:
        raise UsageError(f"synthesis method {name!r}: {target!r} is named {cls.name!r}")
    return cls


def register(name: str | type, target: str | type | None = None) -> Any:
    """Make a synthesizer available under ``name``.

    ``register("mine", "pkg.module:Mine")`` (loaded on first use), ``register("mine", Mine)``, or as a class
    decorator, ``@register("mine")``. A class without a ``name`` gets this one. A name already taken (a built-in
    included) is refused: :func:`unregister` it first. ``register(Mine)`` alone uses ``Mine.name``.
    """
    if isinstance(name, type):  # register(Class): the class names itself
        cls = name
        _add(getattr(cls, "name", "") or "", cls)
        return cls
    if target is None:

        def decorator(cls: type) -> type:
            _add(name, cls)
            return cls

        return decorator
    _add(name, target)
    return target


def _add(name: str, target: str | type) -> None:
    if not isinstance(name, str) or not name or name.strip() != name or name.startswith("-"):
        raise UsageError(f"a synthesis method needs a name (a word, not {name!r})")
    if name in BUILTINS or name in _ADDED:
        raise UsageError(f"synthesis method {name!r} is already registered (unregister it first)")
    if isinstance(target, type):
        if not getattr(target, "name", ""):
            target.name = name  # type: ignore[attr-defined]
        elif target.name != name:  # type: ignore[attr-defined]
            raise UsageError(f"cannot register {target.__name__} (named {target.name!r}) as {name!r}")  # type: ignore[attr-defined]
    elif not (isinstance(target, str) and ":" in target):
        raise UsageError(f"synthesis method {name!r}: the target must be a class or 'module:Class'")
    _ADDED[name] = target


def unregister(name: str) -> None:
    """Remove a method registered with :func:`register` (built-in ones stay)."""
    if name in BUILTINS:
        raise UsageError(f"{name!r} is a built-in synthesis method; it cannot be unregistered")
    if _ADDED.pop(name, None) is None:
        raise UsageError(f"synthesis method {name!r} is not registered")


@contextmanager
def registered(name: str, target: str | type) -> Iterator[None]:
    """Register ``target`` as ``name`` inside a ``with`` block only (tests never leave a method behind)."""
    register(name, target)
    try:
        yield
    finally:
        _ADDED.pop(name, None)
