"""Provenance recorded in every report and release: which versions of anonlab and its libraries made it.

Version numbers are public facts about the software, never about the data, so they may appear in DP artifacts.
"""

from __future__ import annotations

__all__ = ["CORE_PACKAGES", "versions"]

#: Packages every report names: the numbers that anything anonlab computes depends on.
CORE_PACKAGES: tuple[str, ...] = ("numpy", "pandas")


def versions(*packages: str) -> dict[str, str]:
    """Versions of anonlab, the core packages and ``packages``, in that order.

    A package that is not installed is recorded as ``"not installed"`` rather than left out, so two reports can be
    compared field by field.
    """
    from importlib.metadata import PackageNotFoundError, version

    from anonlab import __version__

    out = {"anonlab": __version__}
    for pkg in (*CORE_PACKAGES, *packages):
        if pkg in out:
            continue
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out
