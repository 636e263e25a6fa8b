"""Sign-in for every page (``stls.access.rules`` applied to ``st.user``), before anything reads data.

``app.py`` calls ``visitor()`` then ``gate()`` ahead of the filters and the page, so a visitor who
has not signed in (or has no role, or whose sign-in is too old) is sent no figure, name or
table: the script stops before the first query. ``sidebar()`` says who is signed in, or that
the server runs open.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from stls.access import guard
from stls.access import rules as access


def secrets() -> Mapping[str, Any]:
    """The Streamlit secrets as a plain mapping (empty without a secrets file)."""
    try:
        return st.secrets.to_dict()
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return {}


def visitor() -> access.Visitor:
    """This session's visitor; a configuration error stops the page with its message (the server
    refuses to start on one, ``python -m stls serve``, so this is only reached when run otherwise)."""
    found = secrets()
    try:
        roles = access.validated(found)
    except access.ConfigError as exc:
        st.title("STLS Insight")
        st.error(f"Sign-in is misconfigured on this server, so no page is shown. {exc}", icon=":material/error:")
        st.stop()
    if roles is None:
        return access.Visitor(open=True)
    claims = st.user.to_dict()
    return access.visitor(roles, claims, signed_out=guard.signed_out(claims))   # signed out on any replica


def _provider() -> str | None:
    auth = secrets().get("auth") or {}
    return access.providers(auth)[0]


def gate(who: access.Visitor) -> None:
    """Stop the run here unless ``who`` may see the dashboard: a sign-in page instead."""
    if who.may_view:
        return
    provider = _provider()
    st.title("STLS Insight")
    st.markdown("Kent County Council's dashboard of the Specialist Teaching and Learning Service. "
                "**Sign in with your council account** to see it.")
    if who.refused:
        st.warning(f"Signed in as {who.email or 'an account without an email address'}, but {who.refused}.",
                   icon=":material/lock:")
        st.button("Sign out", key="auth_out", on_click=st.logout, icon=":material/logout:")
    else:
        st.button("Sign in", key="auth_in", type="primary", on_click=st.login,
                  args=(provider,) if provider else (), icon=":material/login:")
    st.stop()


def sidebar(who: access.Visitor) -> None:
    with st.sidebar:
        if who.open:
            st.caption("Open access: no sign-in is configured on this server (the local demo), so anyone who can "
                       "reach it sees every page. Loading files needs the import key.")
            return
        st.caption(f"Signed in as `{who.email}` ({who.role.label if who.role else 'no role'}).")
        st.button("Sign out", key="auth_sidebar_out", on_click=st.logout, icon=":material/logout:")
