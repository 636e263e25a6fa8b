"""KPI scorecard: every KPI by outcome theme, its SPC chart, and the districts × KPIs matrix."""
import streamlit as st

from stls import catalogue, spc
from stls.ui import data, state, widgets
from stls.views import scorecard

f = st.session_state["filters"]
st.title("KPI scorecard")
st.caption(f.caption())

for theme, items in data.call(scorecard.themed, f).items():
    st.header(theme, divider="gray")
    for h, s in items:
        cols = st.columns([3, 2, 2, 2])
        with cols[0]:
            widgets.kpi_card(h)
        cols[1].markdown(f"**Change**  \n{h.kpi.fmt_change(h.change, h.previous) or '[x]'}"
                         f"{' on ' + h.previous_label if h.previous_label else ''}  \n**Trend**  \n{h.direction}")
        cols[2].markdown(f"**Variation (SPC)**  \n{scorecard.VARIATION_ICON[s.variation]}  \n"
                         f"**Assurance**  \n{scorecard.ASSURANCE_ICON.get(s.assurance, 'No target' if not h.kpi.has_rag else '[x]')}")
        with cols[3].popover("About this indicator", icon=":material/info:"):
            widgets.about(h.kpi)

st.header("Control chart", divider="gray")
ids = list(catalogue.catalogue())
key, init = state.page_choice("kpi", ids, ids[0])
kpi_id = st.selectbox("Indicator", ids, index=ids.index(init), key=key, format_func=lambda k: catalogue.get(k).label)
state.remember("kpi", kpi_id)
widgets.chart(data.call(scorecard.spc_view, f, kpi_id), "sc_spc", f.caption())
st.caption("Variation key: " + "; ".join(f"{scorecard.VARIATION_ICON[k]} = {v}" for k, v in spc.VARIATION_TEXT.items()))

st.header("Districts and KPIs", divider="gray")
st.caption("RAG: ✔ Green target met · ▲ Amber floor met, target not · ✖ Red floor missed. "
           "Select a district's link to open its profile.")
matrix = data.call(scorecard.district_matrix, f)
widgets.district_table(matrix, "Districts and KPIs", f)
