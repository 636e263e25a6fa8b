"""STLS Insight: the frame. Page config, navigation, shared filters, URL state, banner.

Run with ``streamlit run app.py``; with no database it builds the synthetic demo first.
"""
import streamlit as st

from stls.ui import data, state, widgets

st.set_page_config(page_title="STLS Insight", page_icon=":material/school:", layout="wide")

# A folder named pages/ makes Streamlit also register each file as a v1 page under its file
# name; a URL path equal to a file name would then run that file without this frame on rerun.
# So every url_path below differs from its file's name.
PAGES = [
    st.Page("pages/county_overview.py", title="Overview", icon=":material/dashboard:", url_path="overview",
            default=True),
]
page = st.navigation(PAGES)

extent = data.extent()
filters = state.sidebar_filters(extent)
st.session_state["filters"] = filters
if data.is_synthetic():
    widgets.synthetic_banner()
for problem in state.url_problems():
    st.info(problem, icon=":material/link_off:")

page.run()
state.write_url(filters)
