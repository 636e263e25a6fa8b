"""The Exceptions page's subscription form: a signed-in person subscribes themselves to the e-mail
digest (a data owner or administrator may manage anyone's); with no sign-in configured, the holder
of the import key manages them. The digest itself is sent by ``python -m stls notify``."""
from __future__ import annotations

import streamlit as st

from stls import reference as ref
from stls.kpi import catalogue
from stls.store import db as dbmod
from stls.store.subscriptions import SubscriptionError, Subscriptions
from stls.ui import importer
from stls.ui import signin as access
from stls.ui.widgets import plain


def _who_manages() -> tuple[str | None, bool, str]:
    """(the address the form is for, whether any address may be entered, who is acting)."""
    who = access.visitor()
    if not who.open:
        return who.email, who.may_import, who.actor
    expected = importer.configured_hash()
    if not expected:
        st.info("Subscriptions are managed on the server with `python -m stls subscribe name@kent.gov.uk` while sign-in is not "
                "configured and no import key is set.", icon=":material/lock:")
        return None, False, ""
    entered = st.text_input("Import key (to manage subscriptions)", type="password", key="sub_key")
    if not entered:
        return None, False, ""
    refused = importer.check_key(entered, expected, st.session_state, source=st.context.ip_address or "unknown")
    if refused:
        st.error(refused, icon=":material/key_off:")
        return None, False, ""
    return "", True, "import key (no sign-in configured)"


def form() -> None:
    """Subscribe (or change what to receive) and unsubscribe, for the person signed in, or anyone
    for a data owner, an administrator or the import key's holder."""
    own, manages_any, actor = _who_manages()
    if own is None:
        return
    st.caption("A digest of the exceptions in your districts and KPIs, once for each new release of the data, with "
               "links to each view (and the meeting pack as a PDF if you ask).")
    email = st.text_input("E-mail address", value=own or "", key="sub_email", disabled=not manages_any)
    subs = Subscriptions(dbmod.default_path())
    current = subs.get(email) if email else None
    codes = list(ref.DISTRICT_CODES)
    districts = st.multiselect("Districts (none = Kent and all twelve)", codes,
                               default=list(current.districts) if current else [], key="sub_districts",
                               format_func=lambda c: ref.DISTRICT_NAMES[c])
    ids = list(catalogue.catalogue())
    kpis = st.multiselect("KPIs (none = every KPI)", ids, default=list(current.kpis) if current else [], key="sub_kpis",
                          format_func=lambda k: catalogue.get(k).label)
    pack = st.checkbox("Attach the meeting pack (PDF)", value=current.pack if current else False, key="sub_pack")
    if current:
        scope = ", ".join(ref.DISTRICT_NAMES[d] for d in current.districts) or "Kent and all twelve districts"
        st.markdown(f"**Subscribed:** {plain(current.email)} · {scope} · "
                    f"{len(current.kpis) or 'every'} KPI{'s' if len(current.kpis) != 1 else ''}")
    left, right = st.columns(2)
    if left.button("Subscribe" if current is None else "Save changes", type="primary", key="sub_go",
                   icon=":material/mail:"):
        try:
            saved = subs.set(email, tuple(districts), tuple(kpis), pack, actor)
        except SubscriptionError as exc:
            st.error(plain(str(exc)))
            return
        st.success(f"{plain(saved.email)} will get the digest for each new release.", icon=":material/mark_email_read:")
    if current is not None and right.button("Unsubscribe", key="sub_stop", icon=":material/unsubscribe:"):
        subs.remove(current.email)
        st.success(f"{plain(current.email)} will get no more digests.")
