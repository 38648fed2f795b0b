"""A privacy-budget ledger per population: the total a data owner allows, and every release charged against it.

The ledger is a JSON-lines file. Its first line (the header) states the total budget (epsilon, delta), the
accounting rule, the **population** the budget protects (a name the operator gives at creation) and the ledger's
one **neighbour relation**; each further line is one release: what was released, when, by which mechanism, its own
cost, what the ledger charged for it, and whether its noise was seeded. Each line carries a SHA-256 checksum of its
own content and each release line the checksum of the line before it (a hash chain).

Spending is refused *before* any noise is drawn: callers :meth:`Ledger.charge` first and release afterwards. A
charge takes an exclusive lock on the file (``fcntl.flock``), re-reads it so that a concurrent writer's entries
count, checks the budget, and appends its line: written, then ``fsync``-ed, and only then does it count. A failed
append (a full disk) is cut back to the ledger's previous end, and a refused charge writes nothing.

**Neighbours.** A ledger counts one relation, fixed at creation:

- ``"add/remove"`` (the default): neighbouring datasets differ by one person added or removed, so even the number
  of rows is private. A release that uses the exact row count as public (a ``"replace-one"`` release) has no
  guarantee here and is refused: such a method must release a DP estimate of n (charged) and fit with it.
- ``"replace-one"``: neighbouring datasets have the same, public size n (``population_size``) and differ in one
  person's record. An add/remove release is charged as a group of two (a replacement is a removal plus an
  addition): pure epsilon becomes 2 epsilon, zCDP rho becomes 4 rho, (epsilon, delta) becomes
  (2 epsilon, (1 + e^epsilon) delta).

**Composition** follows one rule per ledger, fixed when it is created, so that it also holds when later releases are
chosen after seeing earlier ones (a privacy filter):

- ``zcdp`` (the default when delta > 0): every release states a zCDP cost ``rho`` (pure epsilon-DP releases enter
  as epsilon**2 / 2); the charged rhos add, and a release is refused if the sum would pass ``rho_for(epsilon,
  delta)`` of the total. The filter is valid by the Renyi-filter theorem (Feldman and Zrnic 2021) at every order.
  The composed epsilon (the summed rho converted once at the ledger's delta) is what the budget limits; it is not
  the sum of the releases' own epsilons.
  An approximate-zCDP release ((rho, delta_extra): a thresholded histogram of keys read from the data, whose
  extra delta is the chance that a key held by one record is released) is charged with ``delta_extra``; the
  filter is then ``sum(rho) <= rho_for(epsilon, delta - sum(delta_extra))``: the conversion gets the total delta
  less the extras, so the composed statement stays (epsilon, delta).
- ``basic`` (the default when delta = 0, or chosen with ``accounting="basic"``): charged epsilons and deltas add
  (the approximate-DP filter of Rogers, Roth, Ullman and Vadhan 2016). Use it for releases that only have an
  (epsilon, delta) cost (for example DP-SGD accounted with a privacy-loss-distribution accountant).

**Content.** A charge may record the table's content fingerprint (:func:`dataset_fingerprint`) inside the ledger
file only; a fingerprint that differs from the last one recorded emits a :class:`~anonlab.errors.PrivacyWarning`
(a shuffled, re-serialised or column-dropped copy of the same people is still the same population; content is
checked only to warn). The fingerprint never appears in :meth:`Ledger.to_dict` or in any release artifact.

**What a ledger proves, and what not.** The checksums and chain detect an edited, reordered or corrupted file. The
head anchor (``LEDGER.head`` beside the ledger: the sequence number and chain hash of the last committed entry,
rewritten atomically and ``fsync``-ed after each append) detects a ledger cut short or replaced by an older copy
while the anchor stays: such a ledger is refused. Someone who can write both files can restore both together from
an old copy, or delete the anchor, and no file-local check can see that; proving to a third party that a ledger was
never rolled back needs a write-once / append-only store or an anchor kept elsewhere (for example the head hash
recorded by someone else after each release).

**Format versions.** Version 2 (this one) added the population, the neighbour relation, per-entry charged costs and
the head anchor. A version-1 ledger still opens and can be charged: it counts add/remove neighbours and its
population is its file name's stem.
"""

from __future__ import annotations

import datetime as _dt
import errno
import hashlib
import json
import math
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from anonlab.errors import (
    BudgetExceededError,
    InputError,
    OutputExistsError,
    PrivacyError,
    PrivacyWarning,
    UsageError,
)
from anonlab.privacy.accounting import ApproxDP, check_delta, check_epsilon, rho_for, zcdp_epsilon
from anonlab.privacy.fingerprint import dataset_fingerprint

__all__ = ["NEIGHBOURS", "Cost", "Ledger", "LedgerEntry", "Spent", "dataset_fingerprint", "head_path"]

_KIND = "anonlab-ledger"
_HEAD_KIND = "anonlab-ledger-head"
_VERSION = 2
_READABLE = (1, 2)
_TOL = 1e-9  # relative tolerance when comparing spending with the total (floating-point slack only)

NEIGHBOURS = ("add/remove", "replace-one")
"""The neighbour relations a ledger (and a release) may state."""


def head_path(path: str | os.PathLike) -> Path:
    """The head anchor file beside a ledger: ``LEDGER.head``."""
    p = Path(path)
    return p.with_name(p.name + ".head")


@dataclass(frozen=True)
class Cost:
    """A privacy cost: a valid (epsilon, delta)-DP statement and, when there is one, a zCDP cost rho."""

    epsilon: float
    delta: float
    rho: float | None
    #: for an approximate-zCDP release ((rho, delta_extra)-approximate zCDP, e.g. a thresholded histogram of
    #: keys read from the data): the part of ``delta`` that is not the zCDP conversion's; a zCDP ledger converts
    #: the summed rho at its total delta less the summed extras
    delta_extra: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = {"epsilon": self.epsilon, "delta": self.delta, "rho": self.rho}
        if self.delta_extra:
            out["delta_extra"] = self.delta_extra
        return out

    def group_of_two(self) -> Cost:
        """The cost of this release for two neighbouring steps (a replacement = a removal plus an addition):
        (2 epsilon, (1 + e^epsilon) delta) by group privacy of approximate DP, and 4 rho in zCDP
        (group privacy of zCDP: k**2 rho for a group of k). An approximate-zCDP extra delta is scaled like the
        approximate-DP delta, by (1 + e^epsilon)."""
        eps = 2 * self.epsilon
        factor = 1.0 + math.exp(min(self.epsilon, 700.0))
        delta = factor * self.delta if self.delta > 0 else 0.0
        extra = factor * self.delta_extra if self.delta_extra > 0 else 0.0
        return Cost(eps, delta, None if self.rho is None else 4 * self.rho, extra)


@dataclass(frozen=True)
class LedgerEntry:
    """One release charged to the ledger.

    epsilon, delta : the release's own standalone (epsilon, delta)-DP statement (what the command printed).
    rho : its own zCDP cost when it has one (Gaussian noise; pure releases get epsilon**2 / 2), else ``None``.
    neighbours : the release's own relation, ``"add/remove"`` or ``"replace-one"``.
    delta_extra : for an approximate-zCDP release, (rho, delta_extra)-approximate zCDP: the part of ``delta``
        outside the zCDP conversion (0 for a plain zCDP or (epsilon, delta) release).
    charged : what the ledger composes for it: the release's own cost, or its group-of-two cost for an add/remove
        release on a replace-one ledger.
    dataset : the table's content fingerprint when the caller gave one (kept in the ledger file only; not in
        :meth:`to_dict`).
    seed_commitment : for a seeded release, a salted slow-KDF commitment to its seed
        (:func:`anonlab.privacy.noise.seed_commitment`), so that a replay (:func:`anonlab.run_recipe`) can check it
        is given the same seed; kept in the ledger file only, like ``dataset`` (not in :meth:`to_dict`).
    """

    seq: int
    time: str
    dataset: str | None
    what: str
    mechanism: str
    epsilon: float
    delta: float
    rho: float | None
    details: dict[str, Any] = field(default_factory=dict)
    neighbours: str = "add/remove"
    charged: Cost | None = None
    delta_extra: float = 0.0
    seed_commitment: str | None = None

    @property
    def cost(self) -> Cost:
        """The release's own cost."""
        return Cost(self.epsilon, self.delta, self.rho, self.delta_extra)

    @property
    def charged_cost(self) -> Cost:
        """What the ledger charged (composes) for this release."""
        return self.charged if self.charged is not None else self.cost

    @property
    def group(self) -> int:
        """1, or 2 when an add/remove release was charged as a group of two on a replace-one ledger."""
        return 1 if self.charged is None else 2

    def to_dict(self) -> dict[str, Any]:
        """The entry as shown to the operator (``budget show --json``): without the content fingerprint and the
        seed commitment."""
        return {k: v for k, v in self._record().items() if k not in ("dataset", "seed_commitment")}

    def _record(self) -> dict[str, Any]:
        rec = {
            "seq": self.seq,
            "time": self.time,
            "dataset": self.dataset,
            "what": self.what,
            "mechanism": self.mechanism,
            "neighbours": self.neighbours,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "rho": self.rho,
            **({"delta_extra": self.delta_extra} if self.delta_extra else {}),
            "group": self.group,
            "charged": self.charged_cost.to_dict(),
            "details": self.details,
            **({"seed_commitment": self.seed_commitment} if self.seed_commitment is not None else {}),
        }
        return rec


@dataclass(frozen=True)
class Spent:
    """What a set of releases has spent together (composed by the ledger's rule from the charged costs)."""

    epsilon: float
    delta: float
    rho: float
    accounting: str  # "basic" or "zcdp"

    def to_dict(self) -> dict[str, Any]:
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "rho": self.rho,
            "accounting": self.accounting,
        }


def _spent(entries: list[LedgerEntry], total: ApproxDP, accounting: str) -> Spent:
    costs = [e.charged_cost for e in entries]
    if accounting == "zcdp":
        rho = sum(c.rho or 0.0 for c in costs)
        conv = total.delta - sum(c.delta_extra for c in costs)
        eps = (zcdp_epsilon(rho, conv) if conv > 0 else math.inf) if rho > 0 else 0.0
        return Spent(eps, total.delta if rho > 0 else 0.0, rho, "zcdp")
    eps = sum(c.epsilon for c in costs)
    delta = sum(c.delta for c in costs)
    return Spent(eps, delta, sum(c.rho or 0.0 for c in costs), "basic")


def _fits(entries: list[LedgerEntry], total: ApproxDP, accounting: str) -> bool:
    costs = [e.charged_cost for e in entries]
    if accounting == "zcdp":
        # approximate-zCDP releases: their extra deltas come off the delta of the one conversion
        conv = total.delta - sum(c.delta_extra for c in costs)
        if conv <= 0:
            return False
        return sum(c.rho or 0.0 for c in costs) <= rho_for(total.epsilon, conv) * (1 + _TOL)
    return (
        sum(c.epsilon for c in costs) <= total.epsilon * (1 + _TOL)
        and sum(c.delta for c in costs) <= total.delta * (1 + _TOL) + 1e-300
    )


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


def _checksum(rec: dict[str, Any]) -> str:
    body = {k: v for k, v in rec.items() if k != "sum"}
    text = json.dumps(body, sort_keys=True, allow_nan=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sealed_line(rec: dict[str, Any]) -> tuple[str, str]:
    """The JSON line for ``rec`` with its own checksum in ``sum``; returns (line, checksum)."""
    try:
        h = _checksum(rec)
        return json.dumps({**rec, "sum": h}, sort_keys=True, allow_nan=False, default=str), h
    except ValueError:
        raise UsageError("a ledger entry holds a NaN or infinite number") from None


def _verify_sum(rec: dict[str, Any]) -> bool:
    return isinstance(rec.get("sum"), str) and rec["sum"] == _checksum(rec)


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)


def _check_neighbours(value: Any, name: str = "neighbours") -> str:
    if value not in NEIGHBOURS:
        raise UsageError(f"{name} must be 'add/remove' or 'replace-one', got {value!r}")
    return str(value)


def _fsync_dir(folder: Path) -> None:
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - a platform without directory fds
        return
    try:
        os.fsync(dfd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on folders
        pass
    finally:
        os.close(dfd)


def _write_all(fd: int, data: bytes) -> None:
    done = 0
    while done < len(data):
        n = os.write(fd, data[done:])
        if n <= 0:  # pragma: no cover - a write that makes no progress
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        done += n


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while True:
        b = os.read(fd, 1 << 16)
        if not b:
            break
        chunks.append(b)
    return b"".join(chunks)


def _create_exclusive(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file ``path``: complete and fsync-ed, or not at all; never over an existing file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic, and fails if path exists
        except FileExistsError:
            raise
        except OSError:  # pragma: no cover - a file system without hard links
            out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                _write_all(out, data)
                os.fsync(out)
            finally:
                os.close(out)
    finally:
        try:
            os.unlink(tmp)
        except OSError:  # pragma: no cover
            pass
    _fsync_dir(path.parent)


def _write_head(path: Path, header_sum: str, seq: int, last_hash: str) -> None:
    """Anchor the ledger's head: written to a temporary file, fsync-ed, renamed over ``LEDGER.head``, folder
    fsync-ed. Raises OSError."""
    rec = {
        "kind": _HEAD_KIND,
        "version": 1,
        "ledger": path.name,
        "header": header_sum,
        "seq": seq,
        "hash": last_hash,
        "written": _now(),
    }
    line, _ = _sealed_line(rec)
    hp = head_path(path)
    fd, tmp = tempfile.mkstemp(dir=hp.parent, prefix=f".{hp.name}.", suffix=".tmp")
    try:
        try:
            _write_all(fd, (line + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, hp)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(hp.parent)


def _read_head(path: Path) -> dict[str, Any] | None:
    """The head anchor beside ``path``, ``None`` if there is none; :class:`InputError` if it is unreadable or
    corrupt (it is written atomically, so it is never half-written)."""
    hp = head_path(path)
    try:
        raw = hp.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"{hp}: cannot read the ledger's head anchor ({exc.strerror})") from None
    try:
        rec = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        rec = None
    if (
        not isinstance(rec, dict)
        or rec.get("kind") != _HEAD_KIND
        or not _verify_sum(rec)
        or not isinstance(rec.get("seq"), int)
        or isinstance(rec.get("seq"), bool)
        or rec["seq"] < 0
        or not isinstance(rec.get("hash"), str)
        or not isinstance(rec.get("header"), str)
    ):
        raise InputError(
            f"{hp}: corrupt head anchor of ledger {path.name} (edited?); the ledger is not opened until this is "
            "explained"
        )
    return rec


def _content_warning(path: Path, population: str) -> str:
    return (
        f"{path}: this table's content differs from the table last charged to this ledger (population "
        f"{population!r}); the release is charged to the same budget. A shuffled, re-serialised or column-dropped "
        "copy of the same people is fine; if it holds other people, use their population's own ledger"
    )


def _check_accounting(accounting: str | None, delta: float) -> str:
    """The ledger's composition rule: given, or ``zcdp`` when delta > 0 and ``basic`` otherwise."""
    if accounting is None:
        return "zcdp" if delta > 0 else "basic"
    if accounting not in ("zcdp", "basic"):
        raise UsageError(f"accounting= must be 'zcdp' or 'basic', got {accounting!r}")
    if accounting == "zcdp" and delta == 0:
        raise UsageError("accounting='zcdp' needs a total delta= above 0 (or use accounting='basic')")
    return accounting


def _check_population_size(neighbours: str, population_size: int | None) -> None:
    """A replace-one ledger needs the public number of people; an add/remove ledger must not have one."""
    if neighbours == "replace-one":
        if (
            population_size is None
            or isinstance(population_size, bool)
            or not isinstance(population_size, int)
            or population_size < 1
        ):
            raise UsageError(
                "neighbours='replace-one' needs the public population size n (population_size=, a positive "
                "integer): replace-one neighbours keep n fixed and public"
            )
    elif population_size is not None:
        raise UsageError(
            "population_size= is only for neighbours='replace-one' ledgers: under add/remove neighbours the number "
            "of people is private"
        )


def _replaces(path: Path) -> dict[str, Any] | None:
    """What a new ledger's header says about a removed ledger whose head anchor is still beside ``path``."""
    try:
        stale = _read_head(path)
    except InputError:
        stale = {"seq": None, "hash": None}
    if stale is None:
        return None
    return {
        "removed_ledger_entries": stale.get("seq"),
        "removed_ledger_head": stale.get("hash"),
        "note": "a head anchor was found without its ledger: this ledger replaces a removed one, whose "
        "spending is not carried over",
    }


class Ledger:
    """A privacy-budget ledger file for one population: the total (epsilon, delta) its data owner allows, and every
    release charged against it.

    - :meth:`create` writes a new ledger (never over an existing file); :meth:`open` reads and verifies one.
    - :meth:`charge` records a release, or refuses it (:class:`~anonlab.errors.BudgetExceededError`, nothing
      written) when it would pass the total; call it before drawing any noise. :meth:`check` asks the same
      question without writing.
    - :meth:`spent` is what the releases have spent together (composed by the ledger's rule: the binding figure);
      :meth:`remaining` and :meth:`remaining_rho` what is left; :meth:`per_release_sum` the plain sum of the
      releases' own figures (not binding).
    - :attr:`entries` lists the releases (:class:`LedgerEntry`); :attr:`total`, :attr:`population`,
      :attr:`neighbours`, :attr:`accounting` describe the ledger; :meth:`to_dict` is ``budget show --json``, and a
      notebook shows the ledger as a table.

    The object is a snapshot of the file when it was read; :meth:`charge` re-reads under the lock, so two processes
    charging the same file never lose an entry nor overspend together. Nothing it shows holds a table's content
    fingerprint.

    Example::

        led = Ledger.create("adult.ledger.jsonl", epsilon=2.0, delta=1e-6, population="Adult 1994")
        led.remaining()            # ApproxDP(epsilon=2.0, delta=1e-06)
        dp_stats(df, "count", epsilon=0.5, delta=1e-7, schema="adult", ledger=led)
        Ledger.open("adult.ledger.jsonl").spent()
    """

    def __init__(
        self,
        path: Path,
        header: dict[str, Any],
        entries: list[LedgerEntry],
        last_hash: str,
        tail: int = 0,
    ) -> None:
        self.path = Path(path)
        self._header = header
        self._entries = entries
        self._last_hash = last_hash
        self._tail = tail  # bytes of an uncommitted partial last line (ignored; cut at the next charge)
        self._warned: set[str] = set()

    # -- creation and reading ------------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        *,
        epsilon: float,
        delta: float = 0.0,
        population: str | None = None,
        neighbours: str = "add/remove",
        population_size: int | None = None,
        accounting: str | None = None,
        note: str | None = None,
        dataset: str | None = None,
    ) -> Ledger:
        """Write a new ledger holding the total budget (epsilon, delta) for one population. Never replaces or
        truncates an existing file: :class:`OutputExistsError` if ``path`` exists (starting over means the operator
        removes the file; the new header then says it was created fresh, and that it replaces a removed ledger if
        that ledger's head anchor is still beside it).

        epsilon : the total privacy loss the data owner allows over every release about this population (> 0).
        delta : the total probability of a failure of the epsilon bound (0 <= delta < 1; keep it far below
            1 / number of people). Default 0: pure DP, basic accounting.
        population : the name of the population (the people) the budget protects; default: the file's stem.
            Every table about these people, however shuffled or re-serialised, charges this one ledger.
        neighbours : the ledger's one relation: ``"add/remove"`` (default; the row count is private) or
            ``"replace-one"`` (the row count ``population_size`` is public; add/remove releases cost double).
        population_size : the public number of people n; required for ``"replace-one"``, refused otherwise (under
            add/remove n is private).
        accounting : ``"zcdp"`` (releases compose in zCDP; needs delta > 0; the default then) or ``"basic"``
            (epsilons and deltas add; the default when delta = 0; accepts releases with only an (epsilon, delta)
            cost).
        note : free text kept in the header (no secrets).
        dataset : optionally the content fingerprint of the table at creation (kept in the ledger only; a later
            release from a table with other content then warns).
        """
        path = Path(path)
        eps = check_epsilon(epsilon, "epsilon=")
        d = check_delta(delta, "delta=")
        accounting = _check_accounting(accounting, d)
        neighbours = _check_neighbours(neighbours, "neighbours=")
        _check_population_size(neighbours, population_size)
        pop = path.stem if population is None else str(population).strip()
        if not pop or "\n" in pop or len(pop) > 200:
            raise UsageError("population= must be a short one-line name (the people this budget protects)")
        if dataset is not None and (not isinstance(dataset, str) or not dataset):
            raise UsageError("dataset= must be a content fingerprint (dataset_fingerprint(df)) or None")
        if path.exists() or path.is_symlink():
            raise OutputExistsError(_exists_message(path))
        if path.parent != Path("") and not path.parent.is_dir():
            raise InputError(f"{path}: cannot create the ledger (no folder {path.parent})")
        header: dict[str, Any] = {
            "kind": _KIND,
            "version": _VERSION,
            "created": _now(),
            "fresh": True,
            "accounting": accounting,
            "epsilon": eps,
            "delta": d,
            "population": pop,
            "neighbours": neighbours,
            "population_size": population_size,
            "dataset": dataset,
        }
        replaces = _replaces(path)
        if replaces is not None:
            header["replaces"] = replaces
        if note:
            header["note"] = str(note)
        line, header_sum = _sealed_line(header)
        try:
            _create_exclusive(path, (line + "\n").encode("utf-8"))
        except FileExistsError:
            raise OutputExistsError(_exists_message(path)) from None
        except OSError as exc:
            raise InputError(f"{path}: cannot create the ledger ({exc.strerror or exc})") from None
        try:
            _write_head(path, header_sum, 0, header_sum)
        except OSError as exc:
            warnings.warn(
                f"{head_path(path)}: could not write the head anchor ({exc.strerror or exc}); truncation of this "
                "ledger cannot be detected until a charge writes it",
                PrivacyWarning,
                stacklevel=2,
            )
        return cls.open(path)

    @classmethod
    def open(cls, path: str | os.PathLike) -> Ledger:
        """Read and verify a ledger (checksums, chain, sequence, head anchor). :class:`InputError` (exit 2) for a
        missing, unreadable, corrupt, truncated or rolled-back file. An uncommitted partial last line (a crash or
        a full disk during an append) is ignored with a :class:`PrivacyWarning`: its release never happened."""
        import fcntl

        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: no such ledger (create one with `anonlab budget init`)")
        if path.is_dir():
            raise InputError(f"{path}: is a folder, not a ledger file")
        if not path.is_file():  # /dev/zero would be read forever, a FIFO would block the open
            raise InputError(f"{path}: not a regular file (a FIFO, device or socket), not a ledger file")
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise InputError(f"{path}: cannot read ledger ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)  # a charge in progress finishes its line and its anchor first
            data = _read_all(fd)
            head = _read_head(path)
        except OSError as exc:
            raise InputError(f"{path}: cannot read ledger ({exc.strerror})") from None
        finally:
            os.close(fd)
        led = cls._parse(path, data, head)
        if led._tail:
            warnings.warn(
                f"{path}: ignored an uncommitted partial last line ({led._tail} bytes; a crash or full disk during "
                "an append; its release never happened); the next charge removes it",
                PrivacyWarning,
                stacklevel=2,
            )
        return led

    @classmethod
    def _parse(cls, path: Path, data: bytes, head: dict[str, Any] | None) -> Ledger:
        """A ledger from the file's bytes: the header, then every committed entry, each checked (checksums, chain,
        sequence), then the head anchor. An uncommitted partial last line is left as ``_tail``."""
        lines, tail = _committed_lines(path, data)
        header = _parse_header(path, lines[0])
        entries, sums = _parse_entries(path, lines[1:], header)
        _check_head(path, sums, head, int(header["version"]))
        return cls(path, header, entries, sums[-1], tail)

    # -- state ---------------------------------------------------------------------------------------------
    @property
    def total(self) -> ApproxDP:
        """The total budget the ledger allows."""
        return ApproxDP(self._header["epsilon"], self._header["delta"])

    @property
    def version(self) -> int:
        """The file's format version (1: the landed format, read as add/remove; 2: this one)."""
        return int(self._header["version"])

    @property
    def population(self) -> str:
        """The population (the people) this ledger's budget protects, as named at creation (version-1 ledgers:
        the file's stem)."""
        return str(self._header["population"])

    @property
    def neighbours(self) -> str:
        """The ledger's one neighbour relation: ``"add/remove"`` or ``"replace-one"``."""
        return str(self._header["neighbours"])

    @property
    def population_size(self) -> int | None:
        """The public number of people n of a replace-one ledger; ``None`` under add/remove (n is private)."""
        n = self._header.get("population_size")
        return None if n is None else int(n)

    @property
    def dataset(self) -> str | None:
        """The content fingerprint last recorded (by the latest release that gave one, else at creation), or
        ``None``. Kept in the ledger only: never publish it."""
        for e in reversed(self._entries):
            if e.dataset:
                return e.dataset
        return self._header.get("dataset") or None

    @property
    def created(self) -> str:
        """When the ledger was created (UTC, ISO 8601)."""
        return str(self._header.get("created", ""))

    @property
    def fresh(self) -> bool | None:
        """True when the header says the ledger was created fresh (version 2); ``None`` for version 1."""
        return self._header.get("fresh")

    @property
    def replaces(self) -> dict[str, Any] | None:
        """What the header says about a removed ledger this one replaces (a stale head anchor found at
        creation), else ``None``."""
        return self._header.get("replaces")

    @property
    def note(self) -> str | None:
        """The free-text note given at creation, if any."""
        return self._header.get("note")

    @property
    def entries(self) -> list[LedgerEntry]:
        """The releases charged so far, oldest first (a copy: changing it changes nothing in the ledger)."""
        return list(self._entries)

    @property
    def accounting(self) -> str:
        """``"zcdp"`` or ``"basic"``: how this ledger composes its releases (fixed at creation)."""
        return str(self._header["accounting"])

    def spent(self) -> Spent:
        """What the recorded releases have spent together (their charged costs composed by the ledger's rule):
        the figure the budget limits."""
        return _spent(self._entries, self.total, self.accounting)

    def per_release_sum(self) -> Cost:
        """The plain sums of the releases' own epsilons, deltas and rhos (as each release stated them). Not what
        the budget limits: under zCDP the composed epsilon (:meth:`spent`) is usually smaller than this sum, and
        on a replace-one ledger add/remove releases are charged double."""
        return Cost(
            sum(e.epsilon for e in self._entries),
            sum(e.delta for e in self._entries),
            sum(e.rho or 0.0 for e in self._entries),
        )

    def remaining(self) -> ApproxDP:
        """What is left. zCDP ledgers: the epsilon left at the total delta (the delta is shared by the one
        conversion, so it stays whole). Basic ledgers: epsilon and delta left."""
        s = self.spent()
        t = self.total
        if self.accounting == "zcdp":
            return ApproxDP(max(0.0, t.epsilon - s.epsilon), t.delta)
        return ApproxDP(max(0.0, t.epsilon - s.epsilon), max(0.0, t.delta - s.delta))

    def remaining_rho(self) -> float:
        """The largest zCDP cost a further release may be charged and still fit (zCDP ledgers; for basic ledgers,
        the rho whose conversion at all the delta left fits in the epsilon left; 0 if nothing is left). On a
        replace-one ledger an add/remove release is charged 4 rho."""
        t = self.total
        if self.accounting == "zcdp":
            conv = t.delta - sum(e.charged_cost.delta_extra for e in self._entries)
            if conv <= 0:
                return 0.0
            return max(0.0, rho_for(t.epsilon, conv) - sum(e.charged_cost.rho or 0.0 for e in self._entries))
        s = self.spent()
        eps_left, delta_left = t.epsilon - s.epsilon, t.delta - s.delta
        if eps_left <= t.epsilon * _TOL or delta_left <= 0:
            return 0.0
        return rho_for(eps_left, delta_left)

    # -- spending ------------------------------------------------------------------------------------------
    def _candidate(
        self,
        epsilon: float,
        delta: float,
        rho: float | None,
        neighbours: str,
        dataset: str | None,
        what: str,
        mechanism: str,
        details,
        delta_extra: float = 0.0,
    ) -> LedgerEntry:
        neighbours = _check_neighbours(neighbours)
        if neighbours == "replace-one" and self.neighbours == "add/remove":
            raise PrivacyError(
                f"{self.path}: refused, nothing released: this ledger counts add/remove neighbours (population "
                f"{self.population!r}) and {what} is a replace-one release (it uses the exact row count), which has "
                "no add/remove guarantee; the method must release a DP estimate of n (charged) and fit with it, "
                "or charge a ledger created with `--neighbours replace-one --population-size N`"
            )
        eps = check_epsilon(epsilon, allow_zero=True)
        d = check_delta(delta)
        extra = check_delta(delta_extra, "delta_extra")
        if extra > 0 and (rho is None or not extra < d):
            raise UsageError(
                "delta_extra (the extra delta of an approximate-zCDP release) needs a rho and must be below the "
                f"release's delta (got delta_extra {extra:g}, delta {d:g})"
            )
        if rho is not None:
            rho = check_epsilon(rho, "rho", allow_zero=True)
            if d > 0:
                # never let the basic accounting count less than the zCDP cost implies
                eps = max(eps, zcdp_epsilon(rho, d - extra))
            elif rho > 0 and eps * eps / 2 < rho * (1 - 1e-9):
                raise UsageError(
                    "a release charged with rho and delta = 0 must be pure epsilon-DP with rho <= epsilon**2 / 2; "
                    "give the delta at which its epsilon holds"
                )
        elif d == 0:
            rho = eps * eps / 2  # epsilon-DP implies (epsilon**2 / 2)-zCDP
        elif self.accounting == "zcdp":
            raise UsageError(
                f"{self.path}: this ledger composes in zCDP and this release has only an (epsilon, delta) cost; "
                "give its rho, or use a ledger created with basic accounting"
            )
        if dataset is not None and (not isinstance(dataset, str) or not dataset):
            raise UsageError(
                "dataset must be the table's content fingerprint (dataset_fingerprint(df)) or None"
            )
        own = Cost(eps, d, rho, extra)
        charged = (
            own.group_of_two() if (self.neighbours == "replace-one" and neighbours == "add/remove") else None
        )
        return LedgerEntry(
            seq=len(self._entries) + 1,
            time=_now(),
            dataset=dataset,
            what=str(what),
            mechanism=str(mechanism),
            epsilon=eps,
            delta=d,
            rho=rho,
            details=dict(details or {}),
            neighbours=neighbours,
            charged=charged,
            delta_extra=extra,
        )

    def _verify(self, entry: LedgerEntry) -> None:
        mine = self.dataset
        if entry.dataset is not None and mine is not None and entry.dataset != mine:
            if entry.dataset not in self._warned:
                self._warned.add(entry.dataset)
                warnings.warn(_content_warning(self.path, self.population), PrivacyWarning, stacklevel=3)
        if not _fits(self._entries + [entry], self.total, self.accounting):
            left = self.remaining()
            t = self.total
            c = entry.charged_cost
            group = (
                " (charged as a group of two: an add/remove release on a replace-one ledger)"
                if entry.group == 2
                else ""
            )
            if self.accounting == "zcdp":
                pure = " (a pure-DP epsilon costs epsilon**2 / 2 here)" if entry.delta == 0 else ""
                raise BudgetExceededError(
                    f"{self.path}: refused, nothing released: {entry.what} costs rho {_fmt(c.rho or 0.0)} in "
                    f"zCDP{pure}{group}, but only rho {_fmt(self.remaining_rho())} is left (epsilon "
                    f"{_fmt(left.epsilon)} at delta {_fmt(t.delta)}) of the total epsilon {_fmt(t.epsilon)}, delta "
                    f"{_fmt(t.delta)}"
                )
            raise BudgetExceededError(
                f"{self.path}: refused, nothing released: {entry.what} needs epsilon {_fmt(c.epsilon)}, "
                f"delta {_fmt(c.delta)}{group}, but only epsilon {_fmt(left.epsilon)}, delta {_fmt(left.delta)} is "
                f"left of the total epsilon {_fmt(t.epsilon)}, delta {_fmt(t.delta)} (basic accounting)"
            )

    def check(
        self,
        *,
        epsilon: float,
        delta: float,
        rho: float | None = None,
        neighbours: str = "add/remove",
        dataset: str | None = None,
        delta_extra: float = 0.0,
    ) -> None:
        """Raise :class:`BudgetExceededError` (saying what is left) if a release of this cost would not fit, or
        :class:`PrivacyError` if its neighbour relation has no guarantee under the ledger's. Writes nothing. A
        ``dataset`` fingerprint that differs from the last one recorded only warns (:class:`PrivacyWarning`).

        In a zCDP ledger a check without ``rho`` and with delta > 0 assumes the release is a zCDP one that spends
        exactly (epsilon, delta), i.e. rho = rho_for(epsilon, delta); :meth:`charge` then needs the real rho."""
        if rho is None and self.accounting == "zcdp" and check_delta(delta) > 0:
            rho = rho_for(check_epsilon(epsilon), delta)
        self._verify(
            self._candidate(epsilon, delta, rho, neighbours, dataset, "this release", "", None, delta_extra)
        )

    def charge(
        self,
        *,
        what: str,
        mechanism: str,
        epsilon: float,
        delta: float,
        rho: float | None = None,
        neighbours: str = "add/remove",
        dataset: str | None = None,
        details: dict | None = None,
        delta_extra: float = 0.0,
        seed_commitment: str | None = None,
    ) -> LedgerEntry:
        """Record a release, or refuse it (nothing written) if it would pass the total. Call before drawing noise.

        epsilon, delta : a valid (epsilon, delta)-DP statement for this release alone.
        rho : its zCDP cost if it has one (then the ledger composes it in zCDP).
        delta_extra : for a (rho, delta_extra)-approximate-zCDP release (a thresholded histogram of keys read
            from the data, :mod:`anonlab.synth.domains`): the part of ``delta`` outside the zCDP conversion, so
            that ``(epsilon, delta)`` = (zcdp_epsilon(rho, delta - delta_extra), delta). A zCDP ledger keeps
            ``sum(rho) <= rho_for(total epsilon, total delta - sum(delta_extra))``; a basic ledger adds the deltas
            (``delta`` already holds the extra).
        neighbours : the release's own relation. On an add/remove ledger a ``"replace-one"`` release raises
            :class:`PrivacyError`; on a replace-one ledger an ``"add/remove"`` release is charged as a group of two.
        dataset : the table's content fingerprint (:func:`dataset_fingerprint`), kept in the ledger only; one
            that differs from the last recorded emits a :class:`PrivacyWarning`.
        details : parameters worth keeping (queries, seeded, --trust-domains); never secrets.
        seed_commitment : for a seeded release, :func:`anonlab.privacy.noise.seed_commitment` of its seed (a
            salted slow KDF); kept in the ledger only, like ``dataset``, so a replay can check its seed.

        The entry counts once its line is written and fsync-ed; a failed append (a full disk) is cut back and
        raises :class:`InputError`, leaving the ledger as it was. The head anchor is rewritten afterwards.
        """
        with self._locked() as fd:
            try:
                data = _read_all(fd)
            except OSError as exc:
                raise InputError(f"{self.path}: cannot read ledger ({exc.strerror})") from None
            fresh = Ledger._parse(self.path, data, _read_head(self.path))
            self._header, self._entries, self._last_hash = fresh._header, fresh._entries, fresh._last_hash
            entry = self._candidate(
                epsilon, delta, rho, neighbours, dataset, what, mechanism, details, delta_extra
            )
            if seed_commitment is not None:
                if not isinstance(seed_commitment, str) or not seed_commitment:
                    raise UsageError("seed_commitment must be a string (seed_commitment(seed)) or None")
                entry = replace(entry, seed_commitment=seed_commitment)
            self._verify(entry)
            line, checksum = _sealed_line({**entry._record(), "prev": self._last_hash})
            committed = len(data) - fresh._tail
            if fresh._tail:
                # the one truncation ever made: an uncommitted partial line, which no release followed
                try:
                    os.ftruncate(fd, committed)
                    os.fsync(fd)
                except OSError as exc:
                    raise InputError(
                        f"{self.path}: cannot remove the uncommitted partial last line ({exc.strerror}); "
                        "nothing was charged"
                    ) from None
                warnings.warn(
                    f"{self.path}: removed an uncommitted partial last line ({fresh._tail} bytes; its release "
                    "never happened)",
                    PrivacyWarning,
                    stacklevel=2,
                )
            self._append(fd, (line + "\n").encode("utf-8"), committed)
            self._entries.append(entry)
            self._last_hash = checksum
            self._tail = 0
            try:
                _write_head(self.path, self._header["sum"], entry.seq, checksum)
            except OSError as exc:
                warnings.warn(
                    f"{head_path(self.path)}: the release was charged, but its head anchor could not be updated "
                    f"({exc.strerror or exc}); truncation of this entry cannot be detected until the next charge",
                    PrivacyWarning,
                    stacklevel=2,
                )
        return entry

    def _append(self, fd: int, data: bytes, start: int) -> None:
        """Append ``data`` at ``start`` (the committed end) and fsync; on any failure cut the file back to
        ``start`` and raise :class:`InputError`."""
        try:
            os.lseek(fd, 0, os.SEEK_END)
            _write_all(fd, data)
            os.fsync(fd)
        except OSError as exc:
            try:
                os.ftruncate(fd, start)
                os.fsync(fd)
                state = "the ledger is unchanged"
            except OSError:
                state = "an uncommitted partial line may remain; it is ignored and removed at the next charge"
            reason = exc.strerror or str(exc)
            raise InputError(
                f"{self.path}: could not append the ledger entry ({reason}); nothing was charged or released, "
                f"{state}"
            ) from None

    @contextmanager
    def _locked(self) -> Iterator[int]:
        import fcntl

        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        except OSError as exc:
            raise InputError(f"{self.path}: cannot open ledger for writing ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    # -- output --------------------------------------------------------------------------------------------
    def binding(self) -> str:
        """One sentence: which figure the budget limits, and how it relates to the releases' own figures."""
        t = self.total
        if self.accounting == "zcdp":
            return (
                f"the composed figure: the charged rhos add and are converted once at the ledger's delta "
                f"{_fmt(t.delta)}; a release is refused when their sum would pass rho "
                f"{_fmt(rho_for(t.epsilon, t.delta))} (epsilon {_fmt(t.epsilon)}). Each release's own epsilon (at "
                "its own delta, as `dp stats` and `synth` print it) is a standalone statement; these do not add up "
                "under zCDP: for Gaussian releases the composed epsilon is smaller than their sum (pure-DP "
                "releases enter as epsilon**2 / 2 and can count for more at the ledger's delta)"
            )
        return (
            "the composed figure: the charged epsilons and deltas add (basic composition); a release is refused "
            f"when either sum would pass the total epsilon {_fmt(t.epsilon)}, delta {_fmt(t.delta)}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The ledger as shown to the operator (``budget show --json``). Holds no content fingerprint."""
        s = self.spent()
        r = self.remaining()
        return {
            "ledger": str(self.path),
            "format_version": self.version,
            "created": self.created,
            "created_fresh": self.fresh,
            "replaces": self.replaces,
            "note": self.note,
            "population": self.population,
            "neighbours": self.neighbours,
            "population_size": self.population_size,
            "accounting": self.accounting,
            "total": self.total.to_dict(),
            "total_rho": rho_for(self.total.epsilon, self.total.delta) if self.accounting == "zcdp" else None,
            "spent": s.to_dict(),
            "per_release_sum": self.per_release_sum().to_dict(),
            "binding": self.binding(),
            "remaining": {**r.to_dict(), "rho": self.remaining_rho()},
            "releases": [e.to_dict() for e in self._entries],
        }

    def __repr__(self) -> str:
        s = self.spent()
        return (
            f"Ledger({str(self.path)!r}, population={self.population!r}, total epsilon={_fmt(self.total.epsilon)} "
            f"delta={_fmt(self.total.delta)}, spent epsilon={_fmt(s.epsilon)}, releases={len(self._entries)})"
        )

    def _repr_html_(self) -> str:
        """The notebook view: the population's total, spent (composed) and remaining budget, then each release."""
        import html

        info = self.to_dict()
        t, s, r = info["total"], info["spent"], info["remaining"]
        cell = "<td>{}</td>".format
        rows = [
            ("total", t["epsilon"], t["delta"]),
            ("spent (composed, binding)", s["epsilon"], s["delta"]),
            ("remaining", r["epsilon"], r["delta"]),
        ]
        budget = "".join(
            f"<tr>{cell(html.escape(name))}{cell(_fmt(e))}{cell(_fmt(d))}</tr>" for name, e, d in rows
        )
        releases = "".join(
            "<tr>"
            + cell(e["seq"])
            + cell(html.escape(e["time"]))
            + cell(html.escape(e["what"]))
            + cell(_fmt(e["epsilon"]))
            + cell(_fmt(e["delta"]))
            + cell(_fmt(e["charged"]["epsilon"]))
            + "</tr>"
            for e in info["releases"]
        )
        head = (
            f"<p>ledger {html.escape(info['ledger'])}: population {html.escape(info['population'])}, "
            f"{html.escape(info['neighbours'])} neighbours, {html.escape(info['accounting'])} accounting</p>"
        )
        return (
            head
            + "<table><thead><tr><th></th><th>epsilon</th><th>delta</th></tr></thead>"
            + f"<tbody>{budget}</tbody></table>"
            + "<table><thead><tr><th>#</th><th>time</th><th>what</th><th>own epsilon</th><th>own delta</th>"
            + f"<th>charged epsilon</th></tr></thead><tbody>{releases}</tbody></table>"
        )


def _exists_message(path: Path) -> str:
    return (
        f"{path}: a ledger (or another file) exists here; anonlab never replaces or truncates a ledger, --force "
        "or not; to start over, remove the file yourself (the new ledger records that it was created fresh)"
    )


def _entry_from(rec: dict[str, Any], replace_one: bool) -> LedgerEntry:
    """A ledger line as an entry; raises KeyError/TypeError/ValueError/UsageError if a field is bad."""
    ds = rec.get("dataset")
    if ds is not None and not isinstance(ds, str):
        raise TypeError("dataset")
    commitment = rec.get("seed_commitment")
    if commitment is not None and not isinstance(commitment, str):
        raise TypeError("seed_commitment")
    own = Cost(
        check_epsilon(rec["epsilon"], allow_zero=True),
        check_delta(rec["delta"]),
        None if rec.get("rho") is None else check_epsilon(rec["rho"], allow_zero=True),
        check_delta(rec.get("delta_extra", 0.0), "delta_extra"),
    )
    if own.delta_extra > 0 and (own.rho is None or not own.delta_extra < own.delta):
        raise ValueError("delta_extra")
    neighbours = _check_neighbours(rec.get("neighbours", "add/remove"))  # version-1 lines: add/remove
    if neighbours == "replace-one" and not replace_one:
        raise ValueError("a replace-one release on an add/remove ledger")
    group = 2 if (replace_one and neighbours == "add/remove") else 1
    if "group" in rec and rec["group"] != group:
        raise ValueError("group")
    charged = own.group_of_two() if group == 2 else None
    if "charged" in rec or group == 2:  # version-1 lines have none; version-2 lines must match what follows
        c, want = rec["charged"], charged or own
        if not (
            _close(float(c["epsilon"]), want.epsilon)
            and _close(float(c["delta"]), want.delta)
            and (c["rho"] is None) == (want.rho is None)
            and (want.rho is None or _close(float(c["rho"]), want.rho))
            and _close(float(c.get("delta_extra", 0.0)), want.delta_extra)
        ):
            raise ValueError("charged")
    return LedgerEntry(
        seq=int(rec["seq"]),
        time=str(rec["time"]),
        dataset=ds,
        what=str(rec["what"]),
        mechanism=str(rec["mechanism"]),
        epsilon=own.epsilon,
        delta=own.delta,
        rho=own.rho,
        details=dict(rec.get("details") or {}),
        neighbours=neighbours,
        charged=charged,
        delta_extra=own.delta_extra,
        seed_commitment=commitment,
    )


def _check_head(path: Path, sums: list[str], head: dict[str, Any] | None, version: int) -> None:
    """Refuse a ledger that ends before its anchored head (truncated or rolled back), or that its anchor does not
    belong to. ``sums``: the header's checksum, then each entry's. A missing anchor only warns (version 2): the
    next charge writes one. An anchor that lags the file (a crash between an append and its anchor) is fine."""
    hp = head_path(path)
    if head is None:
        if version >= 2:
            warnings.warn(
                f"{path}: no head anchor ({hp.name}) beside the ledger; truncation or rollback cannot be checked "
                "this time (the next charge writes a new anchor)",
                PrivacyWarning,
                stacklevel=4,
            )
        return
    if head["header"] != sums[0]:
        raise InputError(
            f"{path}: the head anchor {hp.name} belongs to another ledger: this file was replaced (or the anchor "
            "copied); refusing it until this is explained"
        )
    seq, held = head["seq"], len(sums) - 1
    if held < seq:
        raise InputError(
            f"{path}: ledger truncated or rolled back: the anchor says {seq} entries, the file holds {held}; "
            "refusing it (spending may have been lost)"
        )
    if sums[seq] != head["hash"]:
        raise InputError(
            f"{path}: ledger rolled back and rewritten: entry {seq} does not match the head anchor {hp.name}; "
            "refusing it (spending may have been lost)"
        )


def _committed_lines(path: Path, data: bytes) -> tuple[list[str], int]:
    """The ledger's committed lines (each ended by a newline) and the length of an uncommitted partial tail."""
    if not data:
        raise InputError(f"{path}: corrupt ledger (empty file)")
    end = data.rfind(b"\n")
    if end < 0:
        raise InputError(f"{path}: corrupt ledger (the header line is incomplete)")
    try:
        text = data[:end].decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: corrupt ledger (not UTF-8 text)") from None
    return text.split("\n"), len(data) - end - 1


def _check_version(path: Path, version: Any) -> None:
    if version in _READABLE:
        return
    newer = isinstance(version, int) and not isinstance(version, bool) and version > _VERSION
    what = (
        "written by a newer anonlab: upgrade anonlab to read it"
        if newer
        else "not a version this anonlab reads (1 or 2)"
    )
    raise InputError(f"{path}: ledger format version {version!r} is {what}; the file is left unchanged")


def _check_total(path: Path, header: dict[str, Any]) -> None:
    """The header's total budget and accounting rule."""
    try:
        ApproxDP(header["epsilon"], header["delta"])
        if header["epsilon"] <= 0:
            raise UsageError("epsilon")
    except (KeyError, UsageError, TypeError):
        raise InputError(f"{path}: corrupt ledger (line 1: bad total budget)") from None
    if header.get("accounting") not in ("zcdp", "basic") or (
        header["accounting"] == "zcdp" and not header["delta"] > 0
    ):
        raise InputError(f"{path}: corrupt ledger (line 1: bad accounting)")
    ds = header.get("dataset")
    if ds is not None and not isinstance(ds, str):
        raise InputError(f"{path}: corrupt ledger (line 1: bad dataset)")


def _with_relation(path: Path, header: dict[str, Any]) -> dict[str, Any]:
    """The header with its population and neighbour relation checked (version 2) or implied (version 1)."""
    if header["version"] == 1:
        # the landed format: one relation (add/remove) was implied; the population is the file's stem
        return {**header, "neighbours": "add/remove", "population": path.stem, "population_size": None}
    n = header.get("population_size")
    if (
        header.get("neighbours") not in NEIGHBOURS
        or not isinstance(header.get("population"), str)
        or (header["neighbours"] == "replace-one" and not (isinstance(n, int) and n >= 1))
        or (header["neighbours"] == "add/remove" and n is not None)
    ):
        raise InputError(f"{path}: corrupt ledger (line 1: bad population or neighbour relation)")
    return header


def _parse_header(path: Path, line: str) -> dict[str, Any]:
    """Line 1: a sealed ledger header of a readable version with a valid total, rule and relation."""
    try:
        header = json.loads(line)
    except json.JSONDecodeError:
        raise InputError(f"{path}: not an anonlab ledger (line 1 is not JSON)") from None
    if not isinstance(header, dict) or header.get("kind") != _KIND:
        raise InputError(f"{path}: not an anonlab ledger (line 1 has no ledger header)")
    _check_version(path, header.get("version"))
    if not _verify_sum(header):
        raise InputError(f"{path}: corrupt ledger (line 1 fails its checksum; edited?)")
    _check_total(path, header)
    return _with_relation(path, header)


def _parse_entries(
    path: Path, lines: list[str], header: dict[str, Any]
) -> tuple[list[LedgerEntry], list[str]]:
    """The release lines after the header, each sealed, chained to the line before and in sequence. Returns the
    entries and the checksums (the header's first, then each entry's)."""
    replace_one = header["neighbours"] == "replace-one"
    sums = [header["sum"]]
    entries: list[LedgerEntry] = []
    for i, line in enumerate(lines, start=2):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            raise InputError(f"{path}: corrupt ledger (line {i} is not JSON)") from None
        if not isinstance(rec, dict) or not _verify_sum(rec):
            raise InputError(f"{path}: corrupt ledger (line {i} fails its checksum; edited?)")
        if rec.get("prev") != sums[-1]:
            raise InputError(f"{path}: corrupt ledger (line {i} does not follow line {i - 1}; edited?)")
        try:
            entry = _entry_from(rec, replace_one)
        except (KeyError, TypeError, ValueError, UsageError):
            raise InputError(f"{path}: corrupt ledger (line {i}: missing or bad field)") from None
        if entry.seq != i - 1:
            raise InputError(f"{path}: corrupt ledger (line {i}: out of sequence)")
        entries.append(entry)
        sums.append(rec["sum"])
    return entries, sums
