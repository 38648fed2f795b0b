"""The k-anonymity methods by name: ``name -> "module:Class"``, each class imported only when it is used.

This module imports nothing of anonlab's own, so the command line can list the methods (``anonymize --method``
takes its choices from :data:`METHODS`) without loading numpy or any method. Every class named here is an
:class:`~anonlab.deid.methods.Anonymizer`.

Adding a method (as the statistical disclosure control toolbox does) is one module and one line:

1. write ``anonlab/deid/<method>.py`` with a subclass of :class:`~anonlab.deid.methods.Anonymizer`: an
   ``__init__`` that names every parameter (keyword only, stored under the same name) and calls
   ``super().__init__(k=..., l=..., ...)``, and ``_partition(table, criteria)`` returning a
   :class:`~anonlab.deid.methods.Partition`;
2. add ``"<name>": "anonlab.deid.<method>:<Class>"`` to :data:`METHODS` below.

``anonymize(df, method="<name>", ...)``, ``anonlab anonymize --method <name>``, ``get_params``, ``repr`` and the
report then work without further changes. A test that registers a method of its own patches :data:`METHODS`
(``monkeypatch.setitem``) so that nothing stays registered.
"""

from __future__ import annotations

__all__ = ["METHODS", "method_names", "get_method"]

#: Method name -> ``"module:Class"``; the first is the default of :func:`anonlab.deid.anonymize`.
METHODS: dict[str, str] = {
    "mondrian": "anonlab.deid.mondrian:Mondrian",
    "global": "anonlab.deid.lattice:GlobalRecoding",
    "suppression": "anonlab.deid.suppression:LocalSuppression",
    "mdav": "anonlab.deid.microaggregation:MDAV",
    "pram": "anonlab.deid.pram:PRAM",
    "noise": "anonlab.deid.numeric_noise:AdditiveNoise",
    "rankswap": "anonlab.deid.rank_swap:RankSwap",
    "presence": "anonlab.deid.presence:DeltaPresence",
    "kmap": "anonlab.deid.kmap:KMap",
    "likeness": "anonlab.deid.likeness:BetaLikeness",
    "safepub": "anonlab.deid.safepub:SafePub",
    "km": "anonlab.deid.transactions:KmAnonymity",
}


def method_names() -> tuple[str, ...]:
    """The names of the registered methods, in registration order."""
    return tuple(METHODS)


def get_method(name: str) -> type:
    """The :class:`~anonlab.deid.methods.Anonymizer` subclass registered as ``name`` (imported now).

    Raises :class:`~anonlab.errors.UsageError` naming ``method=`` for a name that is not registered."""
    import importlib

    from anonlab.errors import UsageError

    if name not in METHODS:
        raise UsageError(f"method={name!r} is not a k-anonymity method (known: {', '.join(METHODS)})")
    module, _, attr = METHODS[name].partition(":")
    return getattr(importlib.import_module(module), attr)
