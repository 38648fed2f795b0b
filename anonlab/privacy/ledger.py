"""A privacy-budget ledger per dataset: the total a data owner allows, and every release charged against it.

The ledger is a JSON-lines file. Its first line states the total budget (epsilon, delta) and, once known, the
dataset it belongs to (a fingerprint of the table's content); each further line is one release: what was released,
when, by which mechanism, at what cost, and whether its noise was seeded. Each line carries a SHA-256 checksum of
its own content and each release line the checksum of the line before it, so an accidentally edited, truncated or
reordered ledger is detected and refused (this detects corruption; it does not stop a deliberate forger who can
write the file).

Spending is refused *before* any noise is drawn: callers :meth:`Ledger.charge` first and release afterwards. A
charge takes an exclusive lock on the file (``fcntl.flock``), re-reads it so that a concurrent writer's entries
count, checks the budget, and appends its line with one ``write`` followed by ``fsync``; a refused charge writes
nothing.

Composition follows one rule per ledger, fixed when it is created, so that it also holds when later releases are
chosen after seeing earlier ones (a privacy filter):

- ``zcdp`` (the default when delta > 0): every release states a zCDP cost ``rho`` (pure epsilon-DP releases enter
  as epsilon**2 / 2); the rhos add, and a release is refused if the sum would pass ``rho_for(epsilon, delta)`` of
  the total, i.e. if the tight conversion of the summed rho at the total delta would pass the total epsilon. The
  filter is valid by the Renyi-filter theorem (Feldman and Zrnic 2021) applied at every order.
- ``basic`` (the default when delta = 0, or chosen with ``accounting="basic"``): epsilons add and deltas add (the
  approximate-DP filter of Rogers, Roth, Ullman and Vadhan 2016). Use it for releases that only have an
  (epsilon, delta) cost (for example DP-SGD accounted with a privacy-loss-distribution accountant).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anonlab.errors import BudgetExceededError, InputError, PrivacyError, UsageError
from anonlab.privacy.accounting import ApproxDP, check_delta, check_epsilon, rho_for, zcdp_epsilon

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Ledger", "LedgerEntry", "Spent", "dataset_fingerprint"]

_KIND = "anonlab-ledger"
_VERSION = 1
_TOL = 1e-9  # relative tolerance when comparing spending with the total (floating-point slack only)


def dataset_fingerprint(df: pd.DataFrame) -> str:
    """A stable SHA-256 of a table's content (column names and values, columns in sorted order).

    Names the dataset a ledger belongs to. It reveals nothing readable, but anyone holding a candidate copy of the
    whole table can confirm it matches.
    """
    cols = sorted(map(str, df.columns))
    frame = df.copy()
    frame.columns = [str(c) for c in frame.columns]
    text = frame[cols].to_csv(index=False, lineterminator="\n")
    h = hashlib.sha256(b"anonlab-dataset-v1\n")
    h.update(text.encode("utf-8"))
    return h.hexdigest()


@dataclass(frozen=True)
class LedgerEntry:
    """One release charged to the ledger.

    epsilon, delta : a valid standalone (epsilon, delta)-DP statement for this release.
    rho : its zCDP cost when it has one (Gaussian noise; pure releases get epsilon**2 / 2), else ``None``.
    """

    seq: int
    time: str
    dataset: str
    what: str
    mechanism: str
    epsilon: float
    delta: float
    rho: float | None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "dataset": self.dataset,
            "what": self.what,
            "mechanism": self.mechanism,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "rho": self.rho,
            "details": self.details,
        }


@dataclass(frozen=True)
class Spent:
    """What a set of releases has spent, and by which accounting."""

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
    if accounting == "zcdp":
        rho = sum(e.rho or 0.0 for e in entries)
        eps = zcdp_epsilon(rho, total.delta) if rho > 0 else 0.0
        return Spent(eps, total.delta if rho > 0 else 0.0, rho, "zcdp")
    eps = sum(e.epsilon for e in entries)
    delta = sum(e.delta for e in entries)
    return Spent(eps, delta, sum(e.rho or 0.0 for e in entries), "basic")


def _fits(entries: list[LedgerEntry], total: ApproxDP, accounting: str) -> bool:
    if accounting == "zcdp":
        return sum(e.rho or 0.0 for e in entries) <= rho_for(total.epsilon, total.delta) * (1 + _TOL)
    return (
        sum(e.epsilon for e in entries) <= total.epsilon * (1 + _TOL)
        and sum(e.delta for e in entries) <= total.delta * (1 + _TOL) + 1e-300
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


class Ledger:
    """A privacy-budget ledger file. Open with :meth:`open`, create with :meth:`create`.

    The object is a snapshot of the file when it was read; :meth:`charge` re-reads under the lock, so two processes
    charging the same file never lose an entry nor overspend together.
    """

    def __init__(
        self, path: Path, header: dict[str, Any], entries: list[LedgerEntry], last_hash: str
    ) -> None:
        self.path = Path(path)
        self._header = header
        self._entries = entries
        self._last_hash = last_hash

    # -- creation and reading ------------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        *,
        epsilon: float,
        delta: float,
        dataset: str | None = None,
        force: bool = False,
        note: str | None = None,
        accounting: str | None = None,
    ) -> Ledger:
        """Write a new ledger holding the total budget (epsilon, delta) for one dataset.

        epsilon : the total privacy loss the data owner allows over every release from this dataset (> 0).
        delta : the total probability of a failure of the epsilon bound (0 <= delta < 1; keep it far below
            1 / number of people).
        dataset : the dataset's fingerprint (:func:`dataset_fingerprint`), or ``None`` to bind the ledger to the
            dataset of its first release.
        accounting : ``"zcdp"`` (releases compose in zCDP; needs delta > 0; the default then) or ``"basic"``
            (epsilons and deltas add; the default when delta = 0; accepts releases with only an (epsilon, delta)
            cost).
        """
        from anonlab.io import write_text

        eps = check_epsilon(epsilon)
        d = check_delta(delta)
        if accounting is None:
            accounting = "zcdp" if d > 0 else "basic"
        if accounting not in ("zcdp", "basic"):
            raise UsageError(f"accounting must be 'zcdp' or 'basic', got {accounting!r}")
        if accounting == "zcdp" and d == 0:
            raise UsageError("zCDP accounting needs a total delta above 0 (or use basic accounting)")
        header = {
            "accounting": accounting,
            "kind": _KIND,
            "version": _VERSION,
            "created": _now(),
            "epsilon": eps,
            "delta": d,
            "dataset": dataset,
        }
        if note:
            header["note"] = note
        line, _ = _sealed_line(header)
        write_text(path, line + "\n", force=force)
        return cls.open(path)

    @classmethod
    def open(cls, path: str | os.PathLike) -> Ledger:
        """Read and verify a ledger. :class:`InputError` (exit 2) for a missing, unreadable or corrupt file."""
        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: no such ledger (create one with `anonlab budget init`)")
        if path.is_dir():
            raise InputError(f"{path}: is a folder, not a ledger file")
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{path}: corrupt ledger (not UTF-8 text)") from None
        except OSError as exc:
            raise InputError(f"{path}: cannot read ledger ({exc.strerror})") from None
        return cls._parse(path, text)

    @classmethod
    def _parse(cls, path: Path, text: str) -> Ledger:
        if not text:
            raise InputError(f"{path}: corrupt ledger (empty file)")
        if not text.endswith("\n"):
            raise InputError(f"{path}: corrupt ledger (the last line is incomplete)")
        lines = text[:-1].split("\n")
        try:
            header = json.loads(lines[0])
        except json.JSONDecodeError:
            raise InputError(f"{path}: not an anonlab ledger (line 1 is not JSON)") from None
        if not isinstance(header, dict) or header.get("kind") != _KIND:
            raise InputError(f"{path}: not an anonlab ledger (line 1 has no ledger header)")
        if not _verify_sum(header):
            raise InputError(f"{path}: corrupt ledger (line 1 fails its checksum; edited?)")
        if header.get("version") != _VERSION:
            raise InputError(f"{path}: ledger version {header.get('version')!r} is not supported")
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
        prev = header["sum"]
        entries: list[LedgerEntry] = []
        for i, line in enumerate(lines[1:], start=2):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                raise InputError(f"{path}: corrupt ledger (line {i} is not JSON)") from None
            if not isinstance(rec, dict) or not _verify_sum(rec):
                raise InputError(f"{path}: corrupt ledger (line {i} fails its checksum; edited?)")
            if rec.get("prev") != prev:
                raise InputError(f"{path}: corrupt ledger (line {i} does not follow line {i - 1}; edited?)")
            try:
                entry = LedgerEntry(
                    seq=int(rec["seq"]),
                    time=str(rec["time"]),
                    dataset=str(rec["dataset"]),
                    what=str(rec["what"]),
                    mechanism=str(rec["mechanism"]),
                    epsilon=check_epsilon(rec["epsilon"], allow_zero=True),
                    delta=check_delta(rec["delta"]),
                    rho=None if rec.get("rho") is None else check_epsilon(rec["rho"], allow_zero=True),
                    details=dict(rec.get("details") or {}),
                )
            except (KeyError, TypeError, ValueError, UsageError):
                raise InputError(f"{path}: corrupt ledger (line {i}: missing or bad field)") from None
            if entry.seq != i - 1:
                raise InputError(f"{path}: corrupt ledger (line {i}: out of sequence)")
            entries.append(entry)
            prev = rec["sum"]
        return cls(path, header, entries, prev)

    # -- state ---------------------------------------------------------------------------------------------
    @property
    def total(self) -> ApproxDP:
        """The total budget the ledger allows."""
        return ApproxDP(self._header["epsilon"], self._header["delta"])

    @property
    def dataset(self) -> str | None:
        """The fingerprint of the dataset this ledger belongs to (``None`` until the first release)."""
        if self._header.get("dataset"):
            return self._header["dataset"]
        return self._entries[0].dataset if self._entries else None

    @property
    def created(self) -> str:
        return str(self._header.get("created", ""))

    @property
    def entries(self) -> list[LedgerEntry]:
        return list(self._entries)

    @property
    def accounting(self) -> str:
        """``"zcdp"`` or ``"basic"``: how this ledger composes its releases (fixed at creation)."""
        return str(self._header["accounting"])

    def spent(self) -> Spent:
        """What the recorded releases have spent together, by the ledger's accounting."""
        return _spent(self._entries, self.total, self.accounting)

    def remaining(self) -> ApproxDP:
        """What is left. zCDP ledgers: the epsilon left at the total delta (the delta is shared by the one
        conversion, so it stays whole). Basic ledgers: epsilon and delta left."""
        s = self.spent()
        t = self.total
        if self.accounting == "zcdp":
            return ApproxDP(max(0.0, t.epsilon - s.epsilon), t.delta)
        return ApproxDP(max(0.0, t.epsilon - s.epsilon), max(0.0, t.delta - s.delta))

    def remaining_rho(self) -> float:
        """The largest zCDP cost a further release may have and still fit (zCDP ledgers; for basic ledgers, the
        rho whose conversion at all the delta left fits in the epsilon left; 0 if nothing is left)."""
        t = self.total
        if self.accounting == "zcdp":
            return max(0.0, rho_for(t.epsilon, t.delta) - sum(e.rho or 0.0 for e in self._entries))
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
        dataset: str,
        what: str,
        mechanism: str,
        details,
    ) -> LedgerEntry:
        eps = check_epsilon(epsilon, allow_zero=True)
        d = check_delta(delta)
        if rho is not None:
            rho = check_epsilon(rho, "rho", allow_zero=True)
            if d > 0:
                # never let the basic accounting count less than the zCDP cost implies
                eps = max(eps, zcdp_epsilon(rho, d))
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
        if not isinstance(dataset, str) or not dataset:
            raise UsageError("a charge must name its dataset (its fingerprint)")
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
        )

    def _verify(self, entry: LedgerEntry) -> None:
        mine = self.dataset
        if mine is not None and entry.dataset != mine:
            raise PrivacyError(
                f"{self.path}: this ledger belongs to another dataset (fingerprint {mine[:12]}...), "
                f"not to this input ({entry.dataset[:12]}...); use that dataset's own ledger"
            )
        if not _fits(self._entries + [entry], self.total, self.accounting):
            left = self.remaining()
            t = self.total
            if self.accounting == "zcdp":
                pure = " (a pure-DP epsilon costs epsilon**2 / 2 here)" if entry.delta == 0 else ""
                raise BudgetExceededError(
                    f"{self.path}: refused, nothing released: {entry.what} costs rho {_fmt(entry.rho or 0.0)} in "
                    f"zCDP{pure}, but only rho {_fmt(self.remaining_rho())} is left (epsilon {_fmt(left.epsilon)} "
                    f"at delta {_fmt(t.delta)}) of the total epsilon {_fmt(t.epsilon)}, delta {_fmt(t.delta)}"
                )
            raise BudgetExceededError(
                f"{self.path}: refused, nothing released: {entry.what} needs epsilon {_fmt(entry.epsilon)}, "
                f"delta {_fmt(entry.delta)}, but only epsilon {_fmt(left.epsilon)}, delta {_fmt(left.delta)} is "
                f"left of the total epsilon {_fmt(t.epsilon)}, delta {_fmt(t.delta)} (basic accounting)"
            )

    def check(self, *, epsilon: float, delta: float, dataset: str, rho: float | None = None) -> None:
        """Raise :class:`BudgetExceededError` (saying what is left) if a release of this cost would not fit, or
        :class:`PrivacyError` if the ledger belongs to another dataset. Writes nothing.

        In a zCDP ledger a check without ``rho`` and with delta > 0 assumes the release is a zCDP one that spends
        exactly (epsilon, delta), i.e. rho = rho_for(epsilon, delta); :meth:`charge` then needs the real rho."""
        if rho is None and self.accounting == "zcdp" and check_delta(delta) > 0:
            rho = rho_for(check_epsilon(epsilon), delta)
        self._verify(self._candidate(epsilon, delta, rho, dataset, "this release", "", None))

    def charge(
        self,
        *,
        dataset: str,
        what: str,
        mechanism: str,
        epsilon: float,
        delta: float,
        rho: float | None = None,
        details: dict | None = None,
    ) -> LedgerEntry:
        """Record a release, or refuse it (nothing written) if it would pass the total. Call before drawing noise.

        epsilon, delta : a valid (epsilon, delta)-DP statement for this release alone.
        rho : its zCDP cost if it has one (then the ledger composes it in zCDP).
        details : parameters worth keeping (queries, seeded, --trust-domains); never secrets.
        """
        with self._locked() as fd:
            fresh = Ledger._parse(self.path, _read_fd(fd))
            self._header, self._entries, self._last_hash = fresh._header, fresh._entries, fresh._last_hash
            entry = self._candidate(epsilon, delta, rho, dataset, what, mechanism, details)
            self._verify(entry)
            line, checksum = _sealed_line({**entry.to_dict(), "prev": self._last_hash})
            data = (line + "\n").encode("utf-8")
            os.lseek(fd, 0, os.SEEK_END)
            written = os.write(fd, data)
            if written != len(data):  # pragma: no cover - a full disk
                raise InputError(f"{self.path}: could not append the ledger entry (disk full?)")
            os.fsync(fd)
            self._entries.append(entry)
            self._last_hash = checksum
        return entry

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
    def to_dict(self) -> dict[str, Any]:
        s = self.spent()
        r = self.remaining()
        return {
            "ledger": str(self.path),
            "created": self.created,
            "accounting": self.accounting,
            "dataset": self.dataset,
            "total": self.total.to_dict(),
            "spent": s.to_dict(),
            "remaining": {**r.to_dict(), "rho": self.remaining_rho()},
            "releases": [e.to_dict() for e in self._entries],
        }


def _read_fd(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while True:
        b = os.read(fd, 1 << 16)
        if not b:
            break
        chunks.append(b)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("ledger: corrupt (not UTF-8 text)") from None
