"""Assemble the demo tables and write them into a fresh database file, atomically."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from stls import reference as ref
from stls.store import db, published
from stls.store.demo import activity, impact, population

DEFAULT_SEED = 2019  # the year of the LIFT review
DEMO_IMPORT_ID = 1


def demo_tables(seed: int = DEFAULT_SEED, scale: float = 1.0, until: dt.date | None = None,
                effect: float = impact.DEFAULT_EFFECT) -> dict[str, Any]:
    """Every contract table of the demo as frames (Arrow for activity), and the planted answer of
    the evaluation of support (``truth``, JSON). Same seed, same tables."""
    until = until or ref.last_complete_month()
    rng = np.random.default_rng(seed)
    settings = impact.characteristics(np.random.default_rng([seed, 4]), population.build_settings(rng))
    settings["first_support"] = impact.first_support_plan(np.random.default_rng([seed, 5]), settings)
    indexed = settings.assign(
        district_index=settings["district_code"].map(ref.DISTRICT_CODES.index),
        phase_index=settings["phase"].map(list(ref.PHASES).index))
    # A separate stream for activity so --scale changes only the activity rows.
    county = population.county_figures(published.shipped())   # the real county the districts add up to
    act = activity.build_activity(np.random.default_rng([seed, 1]), indexed, until, scale,
                                  population.district_shares())
    attainment = population.build_attainment(np.random.default_rng([seed, 3]), county)
    first = impact.realised_first_support(act)
    return {
        "settings": settings.drop(columns=["standing", "first_support"]),
        "sen_pupils": population.build_sen_pupils(np.random.default_rng([seed, 2]), county),
        "attainment": attainment,
        "setting_outcomes": impact.build_setting_outcomes(np.random.default_rng([seed, 6]), settings, attainment,
                                                          first, effect),
        "budget": population.build_budget(ref.academic_year_start(until)),
        "activity": act,
        "truth": impact.truth(effect, first),
    }


def build_demo(path: Path | str, seed: int = DEFAULT_SEED, scale: float = 1.0,
               until: dt.date | None = None, effect: float = impact.DEFAULT_EFFECT) -> dict[str, int]:
    """Replace the database at ``path`` with the demo; returns row counts per table. ``effect``
    is the planted effect of Intensive Specialist Support (``stls.store.demo.impact``; 0 allowed)."""
    until = until or ref.last_complete_month()
    tables = demo_tables(seed, scale, until, effect)
    truth = tables.pop("truth")
    with db.writable_copy(path, fresh=True) as con:
        # the demo's record keys follow from its seed, so a rebuild shows the same protected figures
        # (a real database's salt is random: stls.store.db.create_schema)
        salt = hashlib.sha256(f"stls demo seed {seed}".encode()).hexdigest()[:32]
        con.execute("UPDATE meta SET value = ? WHERE key = 'record_key_salt'", [salt])
        for name, frame in tables.items():
            con.register("_demo", frame)
            cols = ", ".join(frame.column_names if name == "activity" else frame.columns)
            if name in db.KEYED:
                db.insert_keyed(con, name, cols, "_demo", DEMO_IMPORT_ID)
            else:
                extra = f", {DEMO_IMPORT_ID}" if name == "setting_outcomes" else ""
                con.execute(f"INSERT INTO {name} SELECT {cols}{extra} FROM _demo")
            con.unregister("_demo")
        _log_and_meta(con, seed, scale, until, tables["activity"].num_rows)
        con.execute("INSERT INTO meta VALUES ('impact_truth', ?)", [truth])
        db.refresh_derived(con)
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}
    from stls.store.releases import Releases  # a new database: its first data is release 1
    Releases(path).start_over("demo build", f"the synthetic demo (seed {seed})")
    return counts


def _log_and_meta(con: duckdb.DuckDBPyConnection, seed: int, scale: float, until: dt.date, rows: int) -> None:
    now = dt.datetime.now().replace(microsecond=0)
    con.execute("INSERT INTO import_log VALUES (?, 'demo', ?, NULL, ?, ?, ?, 'loaded', ?, ?, ?)",
                [DEMO_IMPORT_ID, f"synthetic demo (seed {seed}, scale {scale:g})",
                 dt.date(ref.FIRST_ACADEMIC_YEAR, 9, 1), until, rows,
                 "Synthetic data for demonstration; not real Kent figures.", now, "python -m stls demo"])
    meta = {"synthetic": "true", "seed": str(seed), "scale": f"{scale:g}", "built_at": now.isoformat(),
            "activity_to": until.isoformat()}
    con.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
