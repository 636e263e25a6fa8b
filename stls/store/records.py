"""The app's own records, in a small SQLite file beside the data file (``stls.duckdb`` →
``stls.store.records.sqlite``), never in the analytics file the readers share.

Every replica and the command line that use the same data file see the same records at once
(SQLite's own locking; each write is one transaction). Today it holds the sign-ins that were
signed out, so a copied cookie stops working on every replica the moment its owner signs out.
"""
from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOG = logging.getLogger(__name__)
SCHEMA_VERSION = 3   # 1: sign-outs; 2: releases and the draft (stls/store/releases.py); 3: subscriptions and sends
_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS signed_out (
           token TEXT PRIMARY KEY,       -- stls.access.rules.sign_in_token: the identity token's issuer, subject, time
           email TEXT,
           at REAL NOT NULL,             -- when it was signed out (Unix time)
           until REAL NOT NULL           -- when the sign-in would have ended anyway: kept no longer
       )""",
    """CREATE TABLE IF NOT EXISTS releases (
           number INTEGER PRIMARY KEY,   -- 1, 2, ...: never reused
           published_at REAL NOT NULL,   -- Unix time
           by TEXT NOT NULL,             -- a signed-in person, 'import key', or 'command line (login)'
           note TEXT NOT NULL DEFAULT '',
           imports TEXT NOT NULL,        -- JSON list of the import log ids it first published
           file TEXT NOT NULL,           -- its file's name in the releases folder
           ino INTEGER NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,   -- that file's identity
           kept INTEGER NOT NULL DEFAULT 1,      -- 0: its file was dropped (STLS_KEEP_RELEASES)
           pending INTEGER NOT NULL DEFAULT 0    -- 1: being published (its draft not yet swapped in)
       )""",
    """CREATE TABLE IF NOT EXISTS draft (
           created_at REAL NOT NULL, by TEXT NOT NULL,
           base INTEGER,                 -- the release it was copied from (NULL: a new database)
           imports TEXT NOT NULL         -- JSON list of the import log ids loaded into it
       )""",
    """CREATE TABLE IF NOT EXISTS subscriptions (
           email TEXT PRIMARY KEY,       -- lower case
           districts TEXT NOT NULL,      -- JSON list of district codes; [] = Kent and all twelve
           kpis TEXT NOT NULL,           -- JSON list of KPI ids; [] = every KPI
           pack INTEGER NOT NULL DEFAULT 0,      -- 1: attach the PDF meeting pack
           by TEXT NOT NULL, at REAL NOT NULL    -- who set it up, when
       )""",
    """CREATE TABLE IF NOT EXISTS sent (
           email TEXT NOT NULL, release INTEGER NOT NULL,
           at REAL NOT NULL, status TEXT NOT NULL,   -- 'sent' | 'failed'
           detail TEXT NOT NULL DEFAULT '',
           PRIMARY KEY (email, release)
       )""",
]


def records_path(data_path: Path) -> Path:
    data_path = Path(data_path)
    return data_path.with_name(data_path.stem + ".records.sqlite")


class Records:
    """The records beside ``data_path``; the file is made on the first write."""

    def __init__(self, data_path: Path):
        self.path = records_path(data_path)

    @contextmanager
    def connect(self, write: bool) -> Iterator[sqlite3.Connection]:
        """One transaction (``write``: immediate, with the schema brought up to date first)."""
        con = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            if write and con.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                for ddl in _SCHEMA:
                    con.execute(ddl)
                con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            yield con
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    def sign_out(self, token: str, email: str | None, until: float, now: float | None = None) -> None:
        """Record that the sign-in ``token`` was signed out; past sign-outs that have expired go."""
        now = time.time() if now is None else now
        with self.connect(write=True) as con:
            con.execute("INSERT OR REPLACE INTO signed_out (token, email, at, until) VALUES (?, ?, ?, ?)",
                        (token, email, now, until))
            con.execute("DELETE FROM signed_out WHERE until < ?", (now,))

    def is_signed_out(self, token: str) -> bool:
        """Whether ``token`` was signed out. A records file that cannot be read counts as signed
        out (the safe answer): the person signs in again once it is mended."""
        if not self.path.exists():
            return False
        try:
            with self.connect(write=False) as con:
                if con.execute("SELECT 1 FROM sqlite_master WHERE name = 'signed_out'").fetchone() is None:
                    return False
                return con.execute("SELECT 1 FROM signed_out WHERE token = ?", (token,)).fetchone() is not None
        except sqlite3.Error as exc:
            LOG.error("the app's records at %s cannot be read (%s): sign-ins are refused until they can", self.path, exc)
            return True
