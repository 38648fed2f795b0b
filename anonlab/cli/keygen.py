"""`anonlab keygen`: create a secret key for keyed pseudonyms."""

from __future__ import annotations

from anonlab.cli._common import add_command, add_json, print_json


def add_parser(sub) -> None:
    p = add_command(
        sub,
        "keygen",
        help="create a secret pseudonymisation key (32 random bytes, mode 0600)",
        description=(
            "Write a new secret key to KEYFILE: 32 bytes from the operating system's CSPRNG, as hex, readable only\n"
            "by you (mode 0600). An existing file is never overwritten.\n\n"
            "The key decides every pseudonym, UID and date shift anonlab derives from it: the same key gives the\n"
            "same pseudonyms across files and runs (linkable), another key gives unrelated ones. Anyone holding the\n"
            "key can re-identify pseudonymised data by pseudonymising candidate identifiers, so keep it apart from\n"
            "every release and never share it with recipients. Losing it ends linkage with earlier releases.\n\n"
            "There is no --seed: a key must be unpredictable, so it never comes from a seed."
        ),
        func=run,
    )
    p.add_argument("keyfile", help="where to write the key (refused if it exists)")
    add_json(p)


def run(args) -> int:
    from anonlab.deid import write_key

    path = write_key(args.keyfile)
    if args.json:
        print_json({"keyfile": str(path), "bytes": 32, "mode": "0600"})
    else:
        print(f"wrote a new 256-bit key to {path} (mode 0600); keep it secret and apart from releases")
    return 0
