"""STLS Insight: the frame. Page config, navigation, shared filters, URL state, banner.

Start with ``python -m stls serve`` (or ``streamlit run app.py``); with no database the
synthetic demo is built first. Each page's URL path is its file name, so a link opens it.
With sign-in configured (``[auth]`` in secrets.toml) every page waits for it (stls/ui/signin.py).
"""
import streamlit as st

from stls.store.db import DatabaseError
from stls.ui import frame, signin

MEETING = st.query_params.get("mode") == "meeting"
st.set_page_config(page_title="STLS Insight", page_icon=":material/school:", layout="wide",
                   initial_sidebar_state="collapsed" if MEETING else "auto")

PAGES = [
    st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("app_pages/scorecard.py", title="KPI scorecard", icon=":material/fact_check:"),
    st.Page("app_pages/district.py", title="District profile", icon=":material/location_on:"),
    st.Page("app_pages/activity_and_outcomes.py", title="Activity and outcomes", icon=":material/insights:"),
    st.Page("app_pages/exceptions.py", title="Exceptions", icon=":material/notification_important:"),
    st.Page("app_pages/impact.py", title="Impact of support", icon=":material/trending_up:"),
    st.Page("app_pages/areas_of_need.py", title="Areas of need", icon=":material/diversity_3:"),
    st.Page("app_pages/meeting.py", title="Meeting mode", icon=":material/co_present:"),
    st.Page("app_pages/data.py", title="Data", icon=":material/database:"),
    st.Page("app_pages/accessibility.py", title="Accessibility", icon=":material/accessibility:"),
]
who = signin.visitor()   # with sign-in configured, nothing below runs until it has been made
page = st.navigation(PAGES, position="sidebar" if who.may_view else "hidden")
signin.gate(who)
# each page's own title (WCAG 2.4.2); a process the evaluation spawns from AppTest re-runs this
# file with no runtime, where the page has no title
st.set_page_config(page_title=f"{getattr(page, 'title', 'Dashboard')} – STLS Insight")
if MEETING and page.url_path != "meeting":   # ?mode=meeting on a page: meeting mode at that page's slide
    from stls.ui import meeting_ui
    meeting_ui.open_meeting(page.url_path or "overview", st.query_params.to_dict())
try:
    filters = frame.open_frame(page.url_path or "overview")
    try:
        page.run()
    finally:
        frame.close_frame(filters)
except DatabaseError as exc:   # a damaged file found mid-page: what is wrong and what to do, never its path
    st.error(f"The dashboard cannot read its database: {exc.public}", icon=":material/database_off:")
