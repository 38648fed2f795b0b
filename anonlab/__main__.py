"""`python -m anonlab`: the same as the `anonlab` command."""

import sys

from anonlab.cli import main

sys.exit(main())
