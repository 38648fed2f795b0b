"""The workspace: the one folder ``anonlab serve`` reads from and writes to.

Layout: ``tables/`` (uploads, mode 0600), ``folders/NAME/`` (folders of DICOM files or photos), ``hierarchies/``
(ARX-format generalisation hierarchies, ``NAME.csv``), ``ledgers/NAME.ledger`` (privacy budgets), ``releases/ID/``
(a release, its evaluation and its recipe) and ``secrets/`` (mode 0700: the pseudonym key and each seeded
release's seed file, every one mode 0600; never listed, shown or served). Tables the user put at the top of the
folder can be picked too. Every path the browser names is looked up in what this module lists, never joined onto
the folder as given, so no name can reach outside the workspace (no ``..``, no absolute path, no link out of it).

Nothing half-made is ever listed: an uploaded table is written to an anonymous temporary and linked into place
whole; an uploaded folder and a release are filled under a hidden name (``.partial-*``) and appear by one rename;
a release's seed file is made as ``secrets/.pending-ID.seed`` and gets its final name only once the release is
published. What a killed server left behind (hidden folders, pending seeds) is removed by :meth:`Workspace.sweep`
when the next server starts (:meth:`Workspace.claim`: one server at a time sweeps a workspace).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from anonlab.errors import InputError, UsageError
from anonlab.io import TABLE_SUFFIXES

__all__ = ["Workspace", "RELEASE_FILES", "KEY_FILE"]

#: the workspace's pseudonym key, relative to it: made (mode 0600) on first use, never read by a page
KEY_FILE = "secrets/pseudonym.key"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_LEDGER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_RELEASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,79}$")
_HIERARCHY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.csv$")
_PENDING = ".pending-"
_PARTIAL = ".partial-"
#: the file a serving process holds locked for as long as it runs (see :meth:`Workspace.claim`)
LOCK_FILE = ".anonlab-serve.lock"
# the files of a release that may be downloaded, and how they are served
RELEASE_FILES = {
    "release.csv": "text/csv",
    "report.html": "text/html",
    "recipe.toml": "application/toml",
    "release.json": "application/json",
    "release.zip": "application/zip",
    "audit.json": "application/json",
    "evaluation.json": "application/json",
}


def _is_table(name: str) -> bool:
    low = name.lower()
    return any(low.endswith(s) for s in TABLE_SUFFIXES)


@dataclass(frozen=True)
class Workspace:
    """A folder the app may use. ``root`` is created (mode 0700) when missing."""

    root: Path

    @classmethod
    def open(cls, root: str | os.PathLike) -> Workspace:
        path = Path(root).expanduser().resolve()
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        for sub in ("tables", "folders", "hierarchies", "ledgers", "releases", "secrets"):
            (path / sub).mkdir(mode=0o700, exist_ok=True)
        return cls(path)

    def _inside(self, path: Path) -> bool:
        try:
            path.resolve().relative_to(self.root)
        except ValueError:
            return False
        return True

    # -- tables ---------------------------------------------------------------------------------------------
    def tables(self) -> list[str]:
        """Tables that may be picked, as paths relative to the workspace (``tables/adult.csv``, ``mine.csv``)."""
        found = []
        for folder in (self.root, self.root / "tables"):
            for p in sorted(folder.iterdir()):
                if p.is_file() and _is_table(p.name) and self._inside(p):
                    found.append(p.relative_to(self.root).as_posix())
        return found

    def table(self, name: str) -> Path:
        """The file of a listed table; anything else (``../x.csv``, ``/etc/passwd``) is refused."""
        if name not in self.tables():
            raise InputError(f"{name!r} is not a table in the workspace (pick one from the list)")
        return self.root / name

    def save_upload(self, filename: str, data: bytes) -> str:
        """Store uploaded bytes under ``tables/`` with mode 0600, never over an existing file (a suffix is added).
        The client's file name is reduced to its last part and checked; returns the workspace-relative name."""
        base = os.path.basename(filename.replace("\\", "/")).strip()
        if not _NAME.match(base) or not _is_table(base):
            raise UsageError(
                f"{filename!r}: upload a table named like data.csv, data.tsv, data.csv.gz or data.parquet "
                "(letters, digits, . _ - only)"
            )
        suffix = next(s for s in sorted(TABLE_SUFFIXES, key=len, reverse=True) if base.lower().endswith(s))
        return self._store(self.root / "tables", base, suffix, data)

    def _store(self, folder: Path, base: str, suffix: str, data: bytes) -> str:
        """Write ``data`` whole (an anonymous temporary, mode 0600, linked into place: a kill leaves nothing) as
        ``base`` in ``folder``, or ``STEM-1SUFFIX`` ... when that name is taken; never over a file."""
        from anonlab.io import Temporary

        stem = base[: -len(suffix)]
        tmp = Temporary(folder, base, 0o600)
        try:
            with open(tmp.path, "wb") as fh:
                fh.write(data)
            tmp.chmod(0o600)
            for i in range(1000):
                path = folder / (base if i == 0 else f"{stem}-{i}{suffix}")
                try:
                    tmp.link(path, sync=i == 0)
                except FileExistsError:
                    continue
                return path.relative_to(self.root).as_posix()
        finally:
            tmp.close()
        raise UsageError(f"{base!r}: too many uploads of that name; rename the file")

    def remove(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)

    # -- folders (DICOM, photos) ---------------------------------------------------------------------------
    def folders(self) -> list[str]:
        """Folders under ``folders/`` that may be picked (DICOM files or photos), by name."""
        base = self.root / "folders"
        return sorted(
            p.name for p in base.iterdir() if p.is_dir() and _NAME.match(p.name) and self._inside(p)
        )

    def folder(self, name: str) -> Path:
        """The listed folder ``name``; anything else is refused."""
        if name not in self.folders():
            raise InputError(f"{name!r} is not a folder in the workspace (pick one from the list)")
        return self.root / "folders" / name

    def save_folder(self, name: str, files: list[tuple[str, bytes]]) -> str:
        """Store uploaded files (each mode 0600, names reduced to their last part) in a new folder
        ``folders/NAME`` (``NAME-1`` when it exists); returns the folder's name."""
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", os.path.basename(name.replace("\\", "/"))).strip(".-")[:60]
        base = base or "upload"
        if not _NAME.match(base):
            base = f"upload-{base}"[:60]
        # filled under a hidden name, then renamed: a kill never leaves a folder that looks whole
        folder = self.root / "folders" / f"{_PARTIAL}{secrets.token_hex(6)}"
        folder.mkdir(mode=0o700)
        try:
            self._fill(folder, files)
            for i in range(1000):
                folder_name = base if i == 0 else f"{base}-{i}"
                final = self.root / "folders" / folder_name
                if final.exists() or final.is_symlink():
                    continue
                os.rename(folder, final)
                return folder_name
            raise UsageError(f"{base!r}: too many folders of that name")
        finally:
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)

    @staticmethod
    def _fill(folder: Path, files: list[tuple[str, bytes]]) -> None:
        used: set[str] = set()
        for filename, data in files:
            leaf = os.path.basename(filename.replace("\\", "/")).strip()
            leaf = re.sub(r"[^A-Za-z0-9._-]+", "_", leaf).lstrip(".") or "file"
            while leaf in used:
                leaf = f"_{leaf}"
            used.add(leaf)
            fd = os.open(
                folder / leaf, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600
            )
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)

    # -- hierarchies ----------------------------------------------------------------------------------------
    def hierarchies(self) -> list[str]:
        """Hierarchy files under ``hierarchies/`` (ARX format), as workspace-relative names."""
        base = self.root / "hierarchies"
        return sorted(
            f"hierarchies/{p.name}"
            for p in base.iterdir()
            if p.is_file() and _HIERARCHY.match(p.name) and self._inside(p)
        )

    def hierarchy(self, name: str) -> str:
        """A listed hierarchy file's workspace-relative name (what a recipe names); anything else is refused."""
        if name not in self.hierarchies():
            raise InputError(f"{name!r} is not a hierarchy file in the workspace (pick one from the list)")
        return name

    def save_hierarchy(self, filename: str, data: bytes) -> str:
        """Store an uploaded hierarchy CSV under ``hierarchies/`` (mode 0600, never over a file); its name."""
        base = os.path.basename(filename.replace("\\", "/")).strip()
        if not _HIERARCHY.match(base):
            raise UsageError(
                f"{filename!r}: upload a hierarchy named like age.csv (letters, digits, . _ - only)"
            )
        return self._store(self.root / "hierarchies", base, ".csv", data)

    # -- secrets --------------------------------------------------------------------------------------------
    def key_path(self) -> Path:
        """The workspace's pseudonym key file, made with mode 0600 when missing. Its content is never read here."""
        from anonlab.deid.keys import write_key

        path = self.root / KEY_FILE
        if not path.exists():
            write_key(path)
        return path

    def new_seed(self, rid: str) -> str:
        """A fresh secret seed file for release ``rid`` (mode 0600), pending until the release is published
        (``secrets/.pending-ID.seed``; :meth:`publish` gives it its final name, :meth:`seed_name`); its
        workspace-relative name."""
        from anonlab.seedfile import write_seed_file

        name = f"secrets/{_PENDING}{rid}.seed"
        write_seed_file(self.root / name)
        return name

    @staticmethod
    def seed_name(rid: str) -> str:
        """The seed file of published release ``rid``, workspace-relative (what its recipe names)."""
        return f"secrets/{rid}.seed"

    def finish_seed(self, rid: str) -> None:
        """Give a published release's pending seed file its final name (never over a file)."""
        pending = self.root / "secrets" / f"{_PENDING}{rid}.seed"
        if pending.exists():
            try:
                os.link(pending, self.root / self.seed_name(rid))
            except FileExistsError:
                pass
            pending.unlink()

    def remove_secret(self, name: str | None) -> None:
        """Remove the seed file of a release that did not happen (a pending one, or one named by release id)."""
        if name and re.fullmatch(r"secrets/(\.pending-)?[A-Za-z0-9-]+\.seed", name):
            (self.root / name).unlink(missing_ok=True)

    # -- ledgers --------------------------------------------------------------------------------------------
    def ledgers(self) -> list[str]:
        return sorted(
            p.name[: -len(".ledger")] for p in (self.root / "ledgers").glob("*.ledger") if p.is_file()
        )

    def ledger_path(self, name: str, *, exists: bool = True) -> Path:
        if not _LEDGER.match(name or ""):
            raise UsageError(f"ledger name {name!r}: letters, digits, _ and - only (at most 64)")
        path = self.root / "ledgers" / f"{name}.ledger"
        if exists and name not in self.ledgers():
            raise InputError(f"no ledger named {name!r} in the workspace (create one on the budget page)")
        return path

    # -- releases -------------------------------------------------------------------------------------------
    def new_release(self, label: str) -> tuple[str, Path]:
        """A fresh release id (time, label, a random part) and a hidden folder (mode 0700) to fill; the release
        appears, whole, when :meth:`publish` renames it."""
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        label = re.sub(r"[^A-Za-z0-9-]+", "-", label).strip("-")[:30] or "release"
        rid = f"{stamp}-{label}-{secrets.token_hex(3)}"
        path = self.root / "releases" / f"{_PARTIAL}{rid}"
        path.mkdir(mode=0o700)
        return rid, path

    def publish(self, rid: str, partial: Path) -> Path:
        """Make release ``rid`` appear, whole, by one rename; then its seed file (if any) gets its final name."""
        final = self.root / "releases" / rid
        os.rename(partial, final)
        self.finish_seed(rid)
        return final

    def discard(self, partial: Path) -> None:
        if partial.name.startswith(_PARTIAL) and partial.parent == self.root / "releases":
            shutil.rmtree(partial, ignore_errors=True)

    # -- what a killed server left ----------------------------------------------------------------------------
    def claim(self):
        """Lock the workspace for this serving process (an open file holding an exclusive ``flock``, released
        when the process ends, however it ends), or ``None`` when another live process holds it. Only the holder
        may :meth:`sweep`: another server's jobs may be filling their hidden folders."""
        import fcntl

        fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return os.fdopen(fd, "r+b")

    def sweep(self) -> list[str]:
        """Remove what jobs that never completed left (call it holding :meth:`claim`, before any job starts):
        hidden release and folder stages (``.partial-*``) and pending seed files of releases that were never
        published; a pending seed whose release did appear (the server died between the two renames) gets its
        final name. Returns the workspace-relative names removed."""
        removed: list[str] = []
        for sub in ("releases", "folders"):
            for p in (self.root / sub).iterdir():
                if p.name.startswith(_PARTIAL) and not p.is_symlink() and p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                    removed.append(f"{sub}/{p.name}")
        for p in (self.root / "secrets").iterdir():
            if p.name.startswith(_PENDING) and p.name.endswith(".seed"):
                rid = p.name[len(_PENDING) : -len(".seed")]
                if self.published(rid):
                    self.finish_seed(rid)
                else:
                    p.unlink(missing_ok=True)
                    removed.append(f"secrets/{p.name}")
        return removed

    def published(self, rid: str) -> bool:
        """Whether release ``rid`` has appeared (whole)."""
        return bool(_RELEASE.match(rid or "")) and (self.root / "releases" / rid).is_dir()

    def releases(self) -> list[str]:
        folder = self.root / "releases"
        return sorted(
            (p.name for p in folder.iterdir() if p.is_dir() and _RELEASE.match(p.name)), reverse=True
        )

    def release_files(self, rid: str) -> list[str]:
        """The downloadable files a listed release holds."""
        if not _RELEASE.match(rid or "") or rid not in self.releases():
            return []
        return [n for n in RELEASE_FILES if (self.root / "releases" / rid / n).is_file()]

    def release_file(self, rid: str, name: str) -> Path:
        """A downloadable file of a release; other names, and ids not listed, are refused."""
        if name not in RELEASE_FILES or not _RELEASE.match(rid or "") or rid not in self.releases():
            raise InputError(f"no file {name!r} in release {rid!r}")
        path = self.root / "releases" / rid / name
        if not path.is_file() or not self._inside(path):
            raise InputError(f"no file {name!r} in release {rid!r}")
        return path
