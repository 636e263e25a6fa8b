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
    st.Page("pages/kpi_scorecard.py", title="KPI scorecard", icon=":material/fact_check:", url_path="scorecard"),
    st.Page("pages/district_profile.py", title="District profile", icon=":material/location_on:", url_path="district"),
    st.Page("pages/activity_outcomes.py", title="Activity and outcomes", icon=":material/insights:",
            url_path="activity-and-outcomes"),
    st.Page("pages/need_areas.py", title="Areas of need", icon=":material/diversity_3:", url_path="areas-of-need"),
    st.Page("pages/accessibility_statement.py", title="Accessibility", icon=":material/accessibility:",
            url_path="accessibility"),
]
page = st.navigation(PAGES)

state.set_page(page.url_path or "overview")  # the default page has an empty path
extent = data.extent()
filters = state.sidebar_filters(extent)
st.session_state["filters"] = filters
if data.is_synthetic():
    widgets.synthetic_banner()
for problem in state.url_problems():
    st.info(problem, icon=":material/link_off:")

page.run()
state.write_url(filters)
