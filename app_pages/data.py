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
