"""The dashboard as an ASGI application: Streamlit's ``st.App`` running ``app.py``, with
``stls.access.guard`` in front of Streamlit's endpoints and one handler for a page that fails.

``python -m stls serve`` runs it (with Streamlit's own server runner, so every
``--server.*`` flag still applies); a deployment may also run ``uvicorn stls.ui.asgi:app``.
``streamlit run app.py`` runs the same pages without this layer: fine on a laptop, not on a
server anyone else can reach (docs/sign-in.md, Security).
"""
from __future__ import annotations

import logging
import time

import streamlit as st
from starlette.middleware import Middleware

from stls import ROOT
from stls.access import guard

APP = ROOT / "app.py"
LOG = logging.getLogger("stls.page")


def page_failed(exc: Exception) -> bool:
    """A page that raised: the whole error (with its traceback and paths) goes to the server log;
    the browser gets what happened and what to do, never the traceback."""
    stamp = time.strftime("%H:%M:%S")
    LOG.error("a page failed at %s", stamp, exc_info=exc)
    st.error(f"This page could not be shown: something went wrong on the server (logged at {stamp}). "
             "Try again, change the filters back, or open the Overview from the menu; if it happens again, "
             f"tell the dashboard's administrator the time, {stamp}.", icon=":material/error:")
    return True   # handled: Streamlit shows nothing more


guard.install()
app = st.App(APP, middleware=[Middleware(guard.Guard)], on_script_error=page_failed)
