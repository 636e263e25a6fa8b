"""Who gets the digest of exceptions by e-mail, for which districts and KPIs, and what was sent to
whom for which release (so no one is sent the same release twice). In the app's own records
(``records.py``, SQLite beside the data file), never in the analytics file."""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from stls import reference as ref
from stls.store.records import Records

EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class SubscriptionError(ValueError):
    """A subscription that cannot be made, said in one line."""


@dataclass(frozen=True)
class Subscription:
    email: str
    districts: tuple[str, ...]    # district codes; () = Kent and all twelve districts
    kpis: tuple[str, ...]         # KPI ids; () = every KPI
    pack: bool                    # attach the PDF meeting pack
    by: str
    at: float

    @property
    def areas(self) -> tuple[str, ...]:
        """The geography codes in scope: Kent and every district, or the chosen districts."""
        return (ref.KENT_CODE, *ref.DISTRICT_CODES) if not self.districts else self.districts

    def covers(self, kpi: str, area: str) -> bool:
        """Whether an exception of ``kpi`` ("" for the tracker's returns) in ``area`` is in scope."""
        return area in self.areas and (not self.kpis or kpi == "" or kpi in self.kpis)


def check_email(email: str) -> str:
    """The address in lower case, or a refusal naming what is wrong."""
    email = email.strip().lower()
    if not EMAIL.match(email) or len(email) > 254:
        raise SubscriptionError(f"'{email}' is not an e-mail address such as name@kent.gov.uk")
    return email


class Subscriptions:
    """The subscriptions and sends of the data file at ``data_path``."""

    def __init__(self, data_path: Path | str) -> None:
        self.records = Records(Path(data_path))

    def _tables(self) -> bool:
        if not self.records.path.exists():
            return False
        with self.records.connect(write=False) as con:
            return con.execute("SELECT 1 FROM sqlite_master WHERE name = 'subscriptions'").fetchone() is not None

    def set(self, email: str, districts: tuple[str, ...] = (), kpis: tuple[str, ...] = (), pack: bool = False,
            by: str = "") -> Subscription:
        """Subscribe ``email`` (or change its scope); unknown districts or KPIs are refused by name."""
        from stls.kpi import catalogue  # the KPI ids are checked against the catalogue
        email = check_email(email)
        wrong = [d for d in districts if d not in ref.DISTRICT_CODES]
        if wrong:
            raise SubscriptionError(f"unknown district {', '.join(wrong)}: use a district's name or ONS code")
        unknown = [k for k in kpis if k not in catalogue.catalogue()]
        if unknown:
            raise SubscriptionError(f"unknown KPI {', '.join(unknown)}; known: {', '.join(catalogue.catalogue())}")
        sub = Subscription(email, tuple(sorted(set(districts), key=ref.DISTRICT_CODES.index)), tuple(dict.fromkeys(kpis)),
                           pack, by, time.time())
        with self.records.connect(write=True) as con:
            con.execute("INSERT OR REPLACE INTO subscriptions (email, districts, kpis, pack, by, at) VALUES (?, ?, ?, ?, ?, ?)",
                        (sub.email, json.dumps(list(sub.districts)), json.dumps(list(sub.kpis)), int(pack), by, sub.at))
        return sub

    def remove(self, email: str) -> bool:
        """Unsubscribe ``email``; whether it was subscribed."""
        email = check_email(email)
        with self.records.connect(write=True) as con:
            return con.execute("DELETE FROM subscriptions WHERE email = ?", (email,)).rowcount > 0

    def all(self) -> list[Subscription]:
        if not self._tables():
            return []
        with self.records.connect(write=False) as con:
            rows = con.execute("SELECT email, districts, kpis, pack, by, at FROM subscriptions ORDER BY email").fetchall()
        return [Subscription(e, tuple(json.loads(d)), tuple(json.loads(k)), bool(p), b, float(a)) for e, d, k, p, b, a in rows]

    def get(self, email: str) -> Subscription | None:
        email = email.strip().lower()
        return next((s for s in self.all() if s.email == email), None)

    def was_sent(self, email: str, release: int) -> bool:
        """Whether ``email`` has been sent the digest of ``release`` (a failed attempt does not count)."""
        if not self._tables():
            return False
        with self.records.connect(write=False) as con:
            return con.execute("SELECT 1 FROM sent WHERE email = ? AND release = ? AND status = 'sent'",
                               (email.lower(), release)).fetchone() is not None

    def record_send(self, email: str, release: int, status: str, detail: str = "") -> None:
        """Record an attempt: 'sent' (never sent again) or 'failed' (retried on the next run)."""
        with self.records.connect(write=True) as con:
            con.execute("INSERT OR REPLACE INTO sent (email, release, at, status, detail) VALUES (?, ?, ?, ?, ?)",
                        (email.lower(), release, time.time(), status, detail[:500]))

    def sends(self) -> list[tuple[str, int, float, str, str]]:
        if not self._tables():
            return []
        with self.records.connect(write=False) as con:
            return [tuple(r) for r in con.execute("SELECT email, release, at, status, detail FROM sent ORDER BY at")]
