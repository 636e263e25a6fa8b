"""The Data page: templates, the data dictionary, import history and data quality."""
from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd

from stls import reference as ref
from stls.kpi import catalogue
from stls.present import charts
from stls.store import queries
from stls.store.ingest.schema import KINDS

LOW = 0.5   # a month under half the district's usual term-time level is flagged


def template_csv(db, kind: str) -> bytes:
    """The header and one example row for a kind of file. A URN in the example is a setting in
    this database's settings list (with its district and phase), so the example passes the check
    (a fixed URN failed it wherever that setting was not listed)."""
    spec = KINDS[kind]
    example = dict(zip([c.name for c in spec.columns], spec.example))
    setting = queries.example_setting(db) if kind in ("activity", "setting_outcomes") else None
    if setting is not None:
        example["urn" if kind == "setting_outcomes" else "setting_urn"] = setting["urn"]
        if kind == "activity":
            example["district"] = ref.DISTRICT_NAMES.get(setting["district_code"], example["district"])
            example["phase"] = ref.PHASES.get(setting["phase"], example["phase"])
    elif kind == "activity":
        example["setting_urn"] = ""   # no settings listed yet: a URN could not pass the check
    if kind == "activity":   # the month after the latest held (a month held would need --replace)
        last = queries.data_extent(db).get("last_month")
        if last is not None:
            following = (pd.Timestamp(last) + pd.offsets.MonthBegin(1)).date().replace(day=14)
            if following <= dt.date.today():
                example["date"] = following.isoformat()
    out = io.StringIO()
    pd.DataFrame([example]).to_csv(out, index=False)
    return out.getvalue().encode("utf-8")


def dictionary() -> pd.DataFrame:
    """Every column of every file the data owner loads, with what it must hold."""
    return pd.DataFrame([{"File": k.name, "Column": c.name, "Required": "yes" if c.required else "no",
                          "Blank allowed": "yes" if c.blank_ok else "no", "What it holds": c.description}
                         for k in KINDS.values() for c in k.columns])


def kpi_dictionary() -> pd.DataFrame:
    return pd.DataFrame([{"KPI": k.id, "Label": k.label, "Theme": k.theme.value, "Definition": k.description,
                          "Unit": k.unit.value, "Polarity": k.polarity.value.replace("_", " "),
                          "Target": k.target_text(), "Source": k.source}
                         for k in catalogue.catalogue().values()])


def history(db) -> pd.DataFrame:
    log = queries.import_log(db)
    log["imported_at"] = pd.to_datetime(log["imported_at"]).dt.strftime("%d %b %Y %H:%M")
    for col in ("period_from", "period_to"):
        log[col] = [v.strftime("%b %Y") if pd.notna(v) else "[x]" for v in log[col]]
    log["rows"] = log["rows"].map(lambda v: "[x]" if pd.isna(v) else f"{int(v):,}")
    log["actor"] = log["actor"].map(lambda v: "[x]" if v is None or pd.isna(v) else v)   # [x]: not recorded before
    return log.rename(columns={"import_id": "Import", "kind": "Kind", "file_name": "File", "status": "Status",
                               "rows": "Rows", "period_from": "From", "period_to": "To",
                               "imported_at": "When", "actor": "By", "message": "Message"}).astype(str)


def latest(db) -> pd.DataFrame:
    """The latest data held for each kind."""
    held = queries.latest_held(db)
    label = lambda v, f: "[x]" if v is None or pd.isna(v) else f(int(v))
    month = held["activity"]
    return pd.DataFrame([
        ("Activity", "[x]" if month is None or pd.isna(month) else f"{pd.Timestamp(month):%d %b %Y}"),
        ("Attainment", label(held["attainment"], ref.academic_year_label)),
        ("SEN pupils (census)", label(held["sen_pupils"], ref.academic_year_label)),
        ("Settings' own results", label(held["setting_outcomes"], ref.academic_year_label)),
        ("Settings", f"{int(held['settings'] or 0):,} settings ({int(held['open_settings'] or 0):,} open)"),
        ("Budget", label(held["budget"], ref.financial_year_label)),
    ], columns=["Data", "Latest held"])


def completeness(db, last_months: int = 36) -> charts.Chart:
    """Months × districts: activity as a share of the district's usual term-time month; gaps and lows flagged."""
    frame = queries.activity_by_district_month(db)
    if frame.empty:
        return charts.Chart(charts.empty("No activity loaded yet", "Import log"), "No data.", pd.DataFrame(), "No data")
    months = pd.date_range(end=pd.Timestamp(frame["month"].max()), periods=last_months, freq="MS").date
    wide = frame.pivot(index="district", columns="month", values="n").reindex(
        index=list(ref.DISTRICT_CODES), columns=months).fillna(0)
    # a district-month is a count of activity, most of it about children: protected in the data
    # layer, [c] in the table and unshaded, unlabelled in the heat map
    small = frame.pivot(index="district", columns="month", values="n_hidden").reindex(
        index=list(ref.DISTRICT_CODES), columns=months).fillna(False).astype(bool)
    term = [m for m in months if m.month != 8]
    usual = wide[term].median(axis=1).replace(0, np.nan)
    share = wide.div(usual, axis=0) * 100
    # not returned: the same district-months the figures show as [x] (queries.not_returned)
    gaps = queries.not_returned(db)
    missing = pd.DataFrame(False, index=wide.index, columns=wide.columns)
    for d, m in zip(gaps["district"], gaps["month"]):
        if m in missing.columns:
            missing.at[d, m] = True
    low = (share < LOW * 100) & np.array([m.month != 8 for m in months]) & ~missing
    names = [ref.DISTRICT_NAMES[d] for d in wide.index]
    labels = [f"{m:%b %y}" for m in months]
    text = np.where(missing.to_numpy(), "[x]", np.where(low.to_numpy(), "low", ""))
    n_missing, n_low = int(missing.to_numpy().sum()), int(low.to_numpy().sum())
    title = (f"In the last {last_months} months, {n_missing} district-month{'s' if n_missing != 1 else ''} not returned "
             f"and {n_low} unusually low" if n_missing or n_low
             else f"Every district returned every month of the last {last_months}, none unusually low")
    small = small.to_numpy()
    text = np.where(small, "[c]", text)
    # August has no term: unshaded and marked [z] (not applicable), not drawn as a near-empty month
    august = np.array([[m.month == 8 for m in months]] * len(names)) & ~missing.to_numpy()
    text = np.where(august & ~small, "[z]", text)
    shaded = np.where(small | august, np.nan, share.clip(upper=150).to_numpy(dtype=float))
    fig = charts.heatmap(shaded, labels, names, text, title,
                         "Import log · STLS activity tracker", labels[::3])
    table = wide.astype(int).astype(str).where(~low, wide.astype(int).astype(str) + " (low)") \
        .mask(small, "[c]").mask(missing, "[x]")
    table.columns = labels
    table.insert(0, "District", names)
    alt = (f"Heat map of monthly activity for each of the 12 districts over the last {last_months} months, shaded by "
           f"the share of the district's usual term-time month; months with no tracker return are marked [x] and "
           f"months under {LOW:.0%} of usual 'low'; August, with no term, is marked [z] and not shaded. {title}.")
    return charts.Chart(fig, alt, table.reset_index(drop=True), title)


def sources(db, synthetic: bool) -> pd.DataFrame:
    """Each source the dashboard draws on: what it covers, its licence, when it was extracted or
    last loaded, and which figures on screen come from it."""
    from stls.store import published
    held = queries.latest_held(db)
    pub = queries.published_extent(db)
    made_up = "synthetic (demonstration data)" if synthetic else ""
    adds_up = "synthetic districts adding up to Kent's published figures" if synthetic else ""
    span = (f"{ref.academic_year_label(pub['first'])} to {ref.academic_year_label(pub['last'])}, {pub['rows']:,} values"
            if pub["rows"] else "[x]")
    rows = [
        ("DfE statistics via the Local Authority Interactive Tool (LAIT)",
         f"Kent, England, the South East and Kent's 10 statistical neighbours (May 2025): KS2, KS4, EYFS, phonics by SEN "
         f"group; % of pupils with an EHC plan or SEN support; EHC plans within 20 weeks. {span}",
         published.ATTRIBUTION,
         "shipped extract (data/published, LAIT commit 2e30e39)" if pub["shipped"] else f"imported {pub['imported']}",
         "Kent's and England's results on every outcome chart, card and scorecard row (where published); the "
         "statistical neighbours charts" + ("; the demo's districts are calibrated to add up to Kent's figures" if synthetic else "")),
        ("KCC STLS activity tracker", "Referrals, LIFT meetings, visits, training, advice, drop-ins and Intensive "
         "Specialist Support by district, service, need and phase", "KCC internal (personal data: disclosure control applies)",
         made_up or ("latest activity " + (f"{pd.Timestamp(held['activity']):%d %b %Y}" if held["activity"] else "[x]")),
         "Every activity KPI, card and chart; the completeness check"),
        ("DfE school census (January)", "Pupils by SEN group, primary need and phase, per district",
         "Open Government Licence v3.0 (district figures from KCC's own census returns)",
         adds_up or (ref.academic_year_label(int(held["sen_pupils"])) if held["sen_pupils"] else "[x]"),
         "Rates per 100 pupils; the areas-of-need pupil mix"),
        ("DfE attainment statistics (district level)", "KS2, KS4, EYFS and phonics by SEN group for Kent's districts",
         "Open Government Licence v3.0 (district figures from KCC's pupil-level results)",
         adds_up or (ref.academic_year_label(int(held["attainment"])) if held["attainment"] else "[x]"),
         "The districts' outcome KPIs, funnel plots, outcome charts and activity against outcomes"),
        ("KCC STLS budget", "Allocation per service and financial year", "KCC internal",
         made_up or (ref.financial_year_label(int(held["budget"])) if held["budget"] else "[x]"), "Cost per referral"),
    ]
    return pd.DataFrame(rows, columns=["Source", "What it covers", "Licence", "Extract or latest data", "Figures drawn from it"])


# --- releases ---------------------------------------------------------------------------------------

def release_table(releases: list, current_number: int | None) -> pd.DataFrame:
    """The releases, newest first: number, when, who, the imports each first published, its note,
    and whether its figures are still kept (``stls.store.releases``)."""
    from stls.store.releases import long_date
    rows = [{"Release": r.number, "Published": long_date(r.published_at), "By": r.by,
             "Imports": ", ".join(str(i) for i in r.imports) or "[x]", "Note": r.note or "[x]",
             "Figures": "current" if r.number == current_number else ("kept" if r.kept else "no longer kept"),
             "Size (MB)": f"{r.size / 2**20:,.1f}"} for r in reversed(releases)]
    return pd.DataFrame(rows, columns=["Release", "Published", "By", "Imports", "Note", "Figures", "Size (MB)"])


def changes_between(db, other_path: str, other_version: str):
    """What changes when the database at ``other_path`` (a draft, or another release; its
    ``other_version`` keys the result) replaces ``db`` (``stls.analysis.changes``)."""
    from stls.analysis import changes
    from stls.store.db import Database
    return changes.between(db, Database(other_path))


def revisions_with_reason(revisions: pd.DataFrame, note: str) -> pd.DataFrame:
    """Revisions to earlier months with the reason the data owner gave (the release's note)."""
    return revisions.assign(Reason=note or "[x]: no reason was given when it was published")
