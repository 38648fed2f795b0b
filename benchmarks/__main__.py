"""`python -m benchmarks [NAME ...]`: run the named benchmark modules (all with a main() when none is named)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).parent
    names = []
    for m in pkgutil.iter_modules([str(here)]):
        if m.name.startswith("_"):
            continue
        mod = importlib.import_module(f"benchmarks.{m.name}")
        if callable(getattr(mod, "main", None)):
            names.append(m.name)
    return sorted(names)


def main(argv: list[str]) -> int:
    names = argv or available()
    for name in names:
        print(f"== benchmarks.{name}", flush=True)
        importlib.import_module(f"benchmarks.{name}").main([])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
