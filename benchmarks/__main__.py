"""`python -m benchmarks [NAME [ARGS ...]]`: run one benchmark module with its arguments, or every module that
has a main() when none is named."""

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
    if argv:
        print(f"== benchmarks.{argv[0]}", flush=True)
        importlib.import_module(f"benchmarks.{argv[0]}").main(argv[1:])
        return 0
    for name in available():
        print(f"== benchmarks.{name}", flush=True)
        importlib.import_module(f"benchmarks.{name}").main([])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
