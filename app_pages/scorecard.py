"""KPI scorecard: every KPI by outcome theme, one indicator's SPC chart, and the districts × KPIs matrix."""
import streamlit as st

from stls.kpi import catalogue, spc
from stls.present.views import benchmarks, scorecard
from stls.ui import data, frame, state, widgets

PAGE = "scorecard"
f = frame.filters(PAGE)
st.title("KPI scorecard")
st.caption(f"{f.caption()} · each KPI's latest year in the range; change is on the year before")

st.header("Indicators by outcome theme", divider="gray")   # the themes are h3 under it (heading order)
for theme, table in data.call(scorecard.theme_tables, f).items():
    st.subheader(theme)
    widgets.scorecard_table(table, f"KPI scorecard: {theme}", f.caption(), f"sc_{theme[:12]}")
st.caption("RAG: ✔ Green target met · ▲ Amber floor met, target not · ✖ Red floor missed · [z] no target "
           "(demand indicators have no good direction). Variation and assurance follow NHS 'Making Data Count': "
           + "; ".join(f"{scorecard.VARIATION_ICON[k]} = {v}" for k, v in spc.VARIATION_TEXT.items()) + ".")

st.header("One indicator in detail", divider="gray")
ids = list(catalogue.catalogue())
key, init = state.page_choice("kpi", ids, ids[0])
kpi_id = st.selectbox("Indicator", ids, index=ids.index(init), key=key, format_func=lambda k: catalogue.get(k).label)
state.remember("kpi", kpi_id)
kpi = catalogue.get(kpi_id)
with st.expander("About this indicator", expanded=True, icon=":material/info:"):
    widgets.about(kpi)
neighbours = data.call(benchmarks.for_kpi, kpi_id)   # a published outcome: Kent among its neighbours
if neighbours is not None:
    st.subheader("Kent and its statistical neighbours (published DfE figures)")
    widgets.chart(neighbours, "sc_sn", "Kent")
widgets.chart(data.call(scorecard.spc_view, f, kpi_id), "sc_spc", f.caption())

st.header("Districts and KPIs", divider="gray")
st.caption("Each district's latest value and RAG. Use 'Open profile' to drill into a district.")
widgets.district_table(data.call(scorecard.district_matrix, f.with_(districts=())), "Districts and KPIs", f)
