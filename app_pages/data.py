"""Data: load files (with the import key), import history, templates, dictionary, data quality."""
import streamlit as st

from stls.present.views import data as view
from stls.store.ingest import KINDS
from stls.ui import data, frame, importer, widgets

PAGE = "data"
f = frame.filters(PAGE)
st.title("Data")
st.caption("Loading the activity tracker and outcome files, and checking what is held.")

st.header("Load a file", divider="gray")
importer.uploader()

st.header("Releases", divider="gray")
st.caption("Each publish of new data is a release. A link copied from any page carries its release, so it opens "
           "the same figures later; figures revised in a later release are listed below with the reason given.")
releases = data.release_list()
shown, current = data.releases_now()
widgets.table(view.release_table(releases, current.number if current else None), "Releases", "", "dt_releases")
kept = [r for r in releases if r.kept]
if len(kept) >= 2:
    numbers = [r.number for r in kept]
    left, right = st.columns(2)
    a = left.selectbox("From release", numbers, index=len(numbers) - 2, key="dt_rel_from")
    b = right.selectbox("To release", numbers, index=len(numbers) - 1, key="dt_rel_to")
    if a == b:
        st.caption("Choose two different releases to see what changed between them.")
    else:
        before, after = (next(r for r in kept if r.number == n) for n in sorted((a, b)))
        found = data.compare_releases(before, after)
        st.info(f"From release {before.number} to release {after.number}: {found.summary()}", icon=":material/compare_arrows:")
        if len(found.revisions):
            widgets.table(view.revisions_with_reason(found.revisions, after.note),
                          f"Revisions: figures for earlier months changed in release {after.number}", "", "dt_rel_revisions")
        if len(found.kpis):
            widgets.table(found.kpi_table, "KPI values and RAG ratings that changed (the scorecard each area opens with)",
                          "", "dt_rel_kpis")

st.header("What is held", divider="gray")
widgets.table(data.call(view.latest), "Latest data held", "", "dt_latest")
widgets.chart(data.call(view.completeness), "dt_completeness")

st.header("Data sources", divider="gray")
widgets.table(data.call(view.sources, data.is_synthetic()), "Data sources", "", "dt_sources")

st.header("Import history", divider="gray")
widgets.table(data.call(view.history), "Import history", "", "dt_history")

st.header("Templates", divider="gray")
cols = st.columns(len(KINDS))
for col, kind in zip(cols, KINDS):
    col.download_button(f"{kind} template", data.call(view.template_csv, kind), file_name=f"stls-{kind}-template.csv",
                        mime="text/csv", key=f"dt_tpl_{kind}", icon=":material/download:",
                        on_click="ignore")

st.header("Data dictionary", divider="gray")
widgets.table(view.dictionary(), "Data dictionary: files", "", "dt_dict")
widgets.table(view.kpi_dictionary(), "Data dictionary: KPIs", "", "dt_kpis")
