"""Releases: published versions of the data, that a meeting can quote and find again.

A release is the data file as it was when it was published, kept as a hard link in a folder beside
it (``stls.duckdb`` → ``stls.releases/release-0014.duckdb``). The dashboard never writes into a data
file in place (``db.writable_copy`` writes a copy and swaps it in), so a published file never
changes, and keeping it costs no disk until an import replaces the current file; from then on a
release holds the one file it was.

A draft is a loaded file held back for review (``stls.draft.duckdb``): a copy of the current
release with the new files loaded into it, seen by data owners and administrators only, until it
is published (swapped in as the data file and recorded as the next release) or discarded.

Which releases exist, who published them and why, and the draft, are in the app's own records
(``records.py``, SQLite), never in the analytics file. The current release is the one whose file
*is* the data file (the same inode), so every replica and the command line agree at once, and a
process killed part-way through publishing leaves either the old release current and the draft
intact, or the new release current: never a mixture.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from stls.store import db as dbmod
from stls.store.ingest.load import Report, import_file
from stls.store.records import Records

COMMAND_LINE = "command line"


class ReleaseError(ValueError):
    """A release or draft operation that cannot be done, said in one line for its reader."""


def keep_releases() -> int | None:
    """How many releases to keep (``STLS_KEEP_RELEASES``); None keeps them all."""
    raw = os.environ.get("STLS_KEEP_RELEASES", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ReleaseError(f"STLS_KEEP_RELEASES must be a whole number of releases, 1 or more (it is {raw!r})")
    return int(raw)


def command_line_actor() -> str:
    """Who a command-line action is recorded as: 'command line (login)'."""
    import getpass
    try:
        login = getpass.getuser()
    except (KeyError, OSError):   # no name for this uid (a container): say so rather than fail
        login = "unknown user"
    return f"{COMMAND_LINE} ({login})"


def long_date(when: float) -> str:
    """'3 December 2026' (GOV.UK style: no leading zero)."""
    day = dt.datetime.fromtimestamp(when)
    return f"{day.day} {day:%B %Y}"


@dataclass(frozen=True)
class Release:
    number: int
    published_at: float           # Unix time
    by: str                       # a signed-in person's e-mail, "import key", or "command line (login)"
    note: str
    imports: tuple[int, ...]      # the import log ids first published in this release
    file: Path                    # the kept file (None once a release is no longer kept)
    size: int                     # bytes
    kept: bool = True

    @property
    def label(self) -> str:
        """'release 14, published 3 December 2026'."""
        return f"release {self.number}, published {long_date(self.published_at)}"

    @property
    def figures_as_at(self) -> str:
        """'Figures as at release 14, published 3 December 2026'."""
        return f"Figures as at {self.label}"


@dataclass(frozen=True)
class Draft:
    created_at: float
    by: str
    base: int | None              # the release it was copied from
    imports: tuple[int, ...]      # the import log ids loaded into it
    file: Path


def _identity(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns


def _loaded_imports(path: Path) -> tuple[int, ...]:
    """The import log ids that loaded data into the file at ``path``."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("SELECT import_id FROM import_log WHERE status = 'loaded' ORDER BY import_id").fetchall()
    finally:
        con.close()
    return tuple(int(r[0]) for r in rows)


class Releases:
    """The releases and the draft of the data file at ``data_path``."""

    def __init__(self, data_path: Path | str) -> None:
        self.data = Path(data_path)
        self.folder = self.data.with_name(self.data.stem + ".releases")
        self.draft_file = self.data.with_name(self.data.stem + ".draft" + self.data.suffix)
        self.records = Records(self.data)

    # --- reading ---------------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection | None]:
        """A read transaction on the records, or None when there are none yet."""
        if not self.records.path.exists():
            yield None
            return
        with self.records.connect(write=False) as con:
            has = con.execute("SELECT 1 FROM sqlite_master WHERE name = 'releases'").fetchone()
            yield con if has else None

    def _release(self, row: tuple) -> Release:   # type: ignore[type-arg]
        number, at, by, note, imports, file, ino, size, mtime, kept = row
        return Release(int(number), float(at), str(by), str(note or ""), tuple(json.loads(imports)),
                       self.folder / str(file), int(size), bool(kept))

    _COLUMNS = "number, published_at, by, note, imports, file, ino, size, mtime_ns, kept"

    def all(self) -> list[Release]:
        """Every release published, oldest first (those no longer kept too: ``kept`` false). A
        release still being published counts once its file is the data file."""
        live = self._live()
        with self._read() as con:
            if con is None:
                return []
            rows = con.execute(f"SELECT {self._COLUMNS}, pending FROM releases ORDER BY number").fetchall()
        return [self._release(r[:-1]) for r in rows if not r[-1] or self._same(r, live)]

    def _live(self) -> tuple[int, int, int] | None:
        return _identity(self.data) if self.data.exists() else None

    @staticmethod
    def _same(row: tuple, live: tuple[int, int, int] | None) -> bool:   # type: ignore[type-arg]
        """Whether a releases row's file is the data file (the same inode, or a copy of it)."""
        ino, size, mtime = row[6], row[7], row[8]
        return live is not None and (ino == live[0] or (size, mtime) == live[1:])

    def get(self, number: int) -> Release:
        """Release ``number``, kept; a clear refusal otherwise."""
        found = {r.number: r for r in self.all()}
        if number not in found:
            span = f"releases 1 to {max(found)}" if found else "no releases yet"
            raise ReleaseError(f"there is no release {number} ({span})")
        release = found[number]
        if not release.kept or not release.file.exists():
            raise ReleaseError(f"release {number} is no longer kept (releases kept: "
                               f"{', '.join(str(r.number) for r in found.values() if r.kept) or 'none'})")
        return release

    def current(self) -> Release | None:
        """The release whose file is the data file now, or None (no data yet, or loaded outside
        releases: ``ensure_current`` records it)."""
        live = self._live()
        if live is None:
            return None
        with self._read() as con:
            rows = [] if con is None else con.execute(f"SELECT {self._COLUMNS} FROM releases ORDER BY number DESC").fetchall()
        return next((self._release(r) for r in rows if self._same(r, live)), None)

    def draft(self) -> Draft | None:
        """The draft waiting for review, if any (a record whose file has gone is not a draft)."""
        with self._read() as con:
            if con is None:
                return None
            row = con.execute("SELECT created_at, by, base, imports FROM draft").fetchone()
        if row is None or not self.draft_file.exists():
            return None
        return Draft(float(row[0]), str(row[1]), None if row[2] is None else int(row[2]), tuple(json.loads(row[3])),
                     self.draft_file)

    def disk_use(self) -> int:
        """Bytes the kept release files hold beyond the data file itself (a release that is the
        current file costs nothing extra)."""
        if not self.folder.exists():
            return 0
        live = _identity(self.data)[0] if self.data.exists() else None
        seen: set[int] = set()
        total = 0
        for path in self.folder.glob("release-*.duckdb"):
            st = os.stat(path)
            if st.st_ino != live and st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_size
        return total

    # --- writing ---------------------------------------------------------------------------------

    def _keep_file(self, source: Path, number: int) -> tuple[str, tuple[int, int, int]]:
        """Hard-link ``source`` as release ``number``'s file (a copy where links are not possible)."""
        self.folder.mkdir(exist_ok=True)
        name = f"release-{number:04d}.duckdb"
        target = self.folder / name
        target.unlink(missing_ok=True)   # left by a publish that was killed before it was recorded
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
        return name, _identity(target)

    def _insert(self, con: sqlite3.Connection, by: str, note: str, source: Path | None = None,
                pending: bool = False) -> Release:
        """Record ``source`` (the data file by default) as the next release; a publish records the
        draft ``pending`` before swapping it in. A pending release left by a publish that was killed
        before its swap (its file is not the data file) is dropped first: its draft is still there."""
        source = source or self.data
        live = self._live()
        for row in con.execute(f"SELECT {self._COLUMNS} FROM releases WHERE pending = 1").fetchall():
            if not self._same(row, live):
                (self.folder / str(row[5])).unlink(missing_ok=True)
                con.execute("DELETE FROM releases WHERE number = ?", (row[0],))
        number = int(con.execute("SELECT coalesce(max(number), 0) + 1 FROM releases").fetchone()[0])
        earlier = {i for (imports,) in con.execute("SELECT imports FROM releases") for i in json.loads(imports)}
        imports = tuple(i for i in _loaded_imports(source) if i not in earlier)
        name, (ino, size, mtime) = self._keep_file(source, number)
        now = time.time()
        con.execute(f"INSERT INTO releases ({self._COLUMNS}, pending) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                    (number, now, by, note, json.dumps(list(imports)), name, ino, size, mtime, int(pending)))
        return Release(number, now, by, note, imports, self.folder / name, size)

    def record(self, by: str, note: str = "") -> Release:
        """Record the data file as it is now as the next release (a load published in one step,
        the demo's build, a file found without a release). Nothing new if it is one already."""
        with dbmod.writer_lock(self.data):
            found = self.current()
            if found is not None:
                return found
            with self.records.connect(write=True) as con:
                release = self._insert(con, by, note)
        self.prune()
        return release

    def ensure_current(self, by: str = "found without a release") -> Release | None:
        """The current release, recording the data file as one if it is not (a database made before
        releases, or loaded by a tool that does not record them); None with no data file."""
        if not self.data.exists():
            return None
        current = self.current()
        if current is not None:
            return current
        dbmod.check_database(self.data)   # a file that is not the dashboard's is refused in one line, as everywhere
        if not _loaded_imports(self.data):
            return None   # an empty database: its first data will be release 1
        return self.record(by, "the data as found when releases began")

    def begin_draft(self, by: str) -> Draft:
        """The draft to load into: the one waiting, or a new copy of the current release."""
        with dbmod.writer_lock(self.data):
            waiting = self.draft()
            if waiting is not None:
                return waiting
            base = self.ensure_current() if self.data.exists() else None
            tmp = self.draft_file.with_name(f".{self.draft_file.name}.tmp")
            if self.data.exists():
                shutil.copyfile(self.data, tmp)
                os.replace(tmp, self.draft_file)
            with self.records.connect(write=True) as con:
                con.execute("DELETE FROM draft")
                con.execute("INSERT INTO draft (created_at, by, base, imports) VALUES (?, ?, ?, '[]')",
                            (time.time(), by, base.number if base else None))
        found = self.draft()
        if found is None:   # a new database: the draft file is made by its first load
            return Draft(time.time(), by, None, (), self.draft_file)
        return found

    def note_draft_import(self, import_id: int | None) -> None:
        """Add an import loaded into the draft to its record."""
        if import_id is None:
            return
        with self.records.connect(write=True) as con:
            row = con.execute("SELECT imports FROM draft").fetchone()
            if row is not None:
                con.execute("UPDATE draft SET imports = ?", (json.dumps([*json.loads(row[0]), import_id]),))

    def publish(self, by: str, note: str = "") -> Release:
        """The draft becomes the data file and the next release. Refused, with nothing changed,
        when there is no draft or another release was published since the draft was begun."""
        with dbmod.writer_lock(self.data):
            draft = self.draft()
            if draft is None:
                raise ReleaseError("there is no draft to publish: load a file as a draft first")
            if not draft.imports:
                raise ReleaseError("the draft holds no loaded file (every file loaded into it was refused): "
                                   "load a file that passes its checks, or discard the draft")
            current = self.current() if self.data.exists() else None
            if current is None and self.data.exists():
                current = self._record_locked("found without a release", "the data as found when releases began")
            if (current.number if current else None) != draft.base:
                raise ReleaseError(f"the draft was begun from release {draft.base}, but release "
                                   f"{current.number if current else '?'} has been published since: discard the draft "
                                   "and load its files again, so that nothing published since is lost")
            # 1. the draft recorded as the next release, pending (killed here: the draft is intact and
            #    the pending release is dropped by the next write); 2. swapped in, atomically (killed
            #    here: the new release is current, as its file is the data file); 3. the record settled
            with self.records.connect(write=True) as con:
                release = self._insert(con, by, note, source=self.draft_file, pending=True)
            os.replace(self.draft_file, self.data)   # readers see the old file or the new, whole
            dbmod.fsync_dir(self.data.parent)
            with self.records.connect(write=True) as con:
                con.execute("UPDATE releases SET pending = 0 WHERE number = ?", (release.number,))
                con.execute("DELETE FROM draft")
        self.prune()
        return release

    def _record_locked(self, by: str, note: str) -> Release:
        with self.records.connect(write=True) as con:
            return self._insert(con, by, note)

    def discard(self) -> Draft:
        """Drop the draft (its file and its record); the published data is untouched."""
        with dbmod.writer_lock(self.data):
            draft = self.draft()
            if draft is None:
                raise ReleaseError("there is no draft to discard")
            self.draft_file.unlink(missing_ok=True)
            with self.records.connect(write=True) as con:
                con.execute("DELETE FROM draft")
        return draft

    def prune(self) -> list[int]:
        """Drop the files of releases beyond the number kept (``STLS_KEEP_RELEASES``), oldest first;
        their records stay, marked as no longer kept. The current release is always kept."""
        keep = keep_releases()
        if keep is None:
            return []
        current = self.current()
        kept = [r for r in self.all() if r.kept]
        dropped = [r for r in kept[:-keep] if current is None or r.number != current.number]
        if not dropped:
            return []
        with self.records.connect(write=True) as con:
            for r in dropped:
                r.file.unlink(missing_ok=True)
                con.execute("UPDATE releases SET kept = 0 WHERE number = ?", (r.number,))
        return [r.number for r in dropped]

    def start_over(self, by: str, note: str) -> Release:
        """A new database in place of the old (the demo's build): its releases and draft are dropped
        and the data file as it is now is release 1."""
        with dbmod.writer_lock(self.data):
            self.draft_file.unlink(missing_ok=True)
            if self.folder.exists():
                shutil.rmtree(self.folder)
            with self.records.connect(write=True) as con:
                con.execute("DELETE FROM releases")
                con.execute("DELETE FROM draft")
                return self._insert(con, by, note)

    def open(self, number: int | None = None) -> dbmod.Database:
        """A read-only handle on release ``number`` (the data file itself for the current one)."""
        if number is None:
            return dbmod.Database(self.data)
        release = self.get(number)
        current = self.current()
        return dbmod.Database(self.data if current and current.number == number else release.file)


def load(file: Path | str, kind: str | None, data_path: Path | str, *, by: str, draft: bool = False, note: str = "",
         **options: object) -> tuple[Report, Release | Draft | None]:
    """Import ``file`` and publish it as the next release in one step, or (``draft``) load it into
    the draft for review; with the release or draft it went into (None when refused or a dry run).
    ``options`` are ``import_file``'s (replace, dry_run, earlier, data, log_refusal)."""
    releases = Releases(data_path)
    if draft and not options.get("dry_run"):
        held = releases.begin_draft(by)
        report = import_file(file, kind, releases.draft_file, actor=by, **options)  # type: ignore[arg-type]
        if report.status != "loaded":
            return report, None
        releases.note_draft_import(report.import_id)
        return report, releases.draft() or held
    report = import_file(file, kind, data_path, actor=by, **options)  # type: ignore[arg-type]
    if report.status != "loaded":
        return report, None
    return report, releases.record(by, note)
