"""Sign-in and roles (stls/access/rules.py, stls/ui/signin.py): configuration checks, who gets which
role, and pages under AppTest with and without sign-in configured. The end-to-end sign-in
against a real OpenID Connect provider is in test_browser_auth.py."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from stls.access import rules as access
from stls.access.rules import ConfigError, Role

ROOT = Path(__file__).resolve().parent.parent
SECRET = "0123456789abcdef" * 4
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": SECRET,
        "client_id": "stls", "client_secret": "s", "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
ROLES = {"groups_claim": "roles", "session_hours": 8,
         "viewer": {"domains": ["kent.gov.uk"]},
         "data_owner": {"emails": ["Owner@Kent.gov.uk"], "groups": ["STLS.DataOwner"]},
         "administrator": {"emails": ["head@kent.gov.uk"]}}


def claims(email: str | None, groups=(), iat: float | None = None, **more) -> dict:
    out = {"is_logged_in": True, "iat": time.time() - 60 if iat is None else iat, "email_verified": True,
           "roles": groups if isinstance(groups, str) else list(groups), **more}
    if email:
        out["email"] = email
    return out


def test_roles_by_email_domain_and_group_highest_wins():
    roles = access.parse(ROLES, "test")
    assert roles.role_for(claims("someone@kent.gov.uk")) is Role.viewer
    assert roles.role_for(claims("owner@kent.gov.uk")) is Role.data_owner          # emails compare without case
    assert roles.role_for(claims("someone@kent.gov.uk", ["STLS.DataOwner"])) is Role.data_owner
    assert roles.role_for(claims("head@kent.gov.uk")) is Role.administrator          # also a viewer by domain
    assert roles.role_for(claims("someone@medway.gov.uk")) is None
    assert roles.role_for(claims("someone@notkent.gov.uk")) is None                  # a domain is a whole domain
    # Entra ID's UPN counts only where the provider is declared to own its addresses: email_verified
    # vouches for the email claim, never for preferred_username (a re-attack made one administrator)
    assert roles.role_for(claims(None, preferred_username="owner@kent.gov.uk")) is None
    trusting = access.parse({**ROLES, "emails_verified_by_provider": True}, "test")
    assert trusting.role_for(claims(None, preferred_username="owner@kent.gov.uk")) is Role.data_owner
    assert roles.role_for(claims("x@medway.gov.uk", "STLS.DataOwner")) is Role.data_owner   # a claim given as a string


def test_an_unverified_email_is_given_no_role_by_address():
    """Penetration test: a provider user with ``email_verified: false`` and the Head of SEN's
    address became administrator. Rules by address now need a verified address; groups still count."""
    roles = access.parse(ROLES, "test")
    assert roles.role_for(claims("head@kent.gov.uk", email_verified=False)) is None
    assert roles.role_for(claims("head@kent.gov.uk", email_verified="false")) is None
    assert roles.role_for({k: v for k, v in claims("head@kent.gov.uk").items() if k != "email_verified"}) is None
    assert roles.role_for(claims("head@kent.gov.uk", email_verified="true")) is Role.administrator
    assert roles.role_for(claims("x@medway.gov.uk", ["STLS.DataOwner"], email_verified=False)) is Role.data_owner
    who = access.visitor(roles, claims("head@kent.gov.uk", email_verified=False))
    assert not who.may_view and "not verified its email address" in who.refused
    trusting = access.parse({**ROLES, "emails_verified_by_provider": True}, "test")   # e.g. one Entra ID tenant
    assert trusting.role_for({k: v for k, v in claims("head@kent.gov.uk").items() if k != "email_verified"}) \
        is Role.administrator


def test_a_signed_out_sign_in_is_refused_on_every_reader(tmp_path):
    """Penetration test: a copied cookie still showed every page after sign-out. The sign-out is
    recorded beside the data file, so any process reading the same file refuses that sign-in."""
    from stls.store.records import Records
    roles = access.parse(ROLES, "test")
    mine = claims("a@kent.gov.uk", sub="a", iss="https://login.example")
    token = access.sign_in_token(mine)
    assert token == access.sign_in_token(dict(mine))                               # a copy carries the same token
    assert token != access.sign_in_token({**mine, "iat": mine["iat"] + 1})          # a new sign-in is another
    here, replica = Records(tmp_path / "stls.duckdb"), Records(tmp_path / "stls.duckdb")
    assert not replica.is_signed_out(token)                                         # no file yet: nothing signed out
    here.sign_out(token, "a@kent.gov.uk", until=time.time() + 3600)
    assert replica.is_signed_out(token) and not replica.is_signed_out(access.sign_in_token({**mine, "sub": "b"}))
    who = access.visitor(roles, mine, signed_out=replica.is_signed_out(token))
    assert not who.may_view and "signed out" in who.refused
    here.sign_out("old", None, until=time.time() - 1)                               # expired entries are dropped
    assert not here.is_signed_out("old") and here.is_signed_out(token)
    (tmp_path / "stls.store.records.sqlite").write_bytes(b"not a database" * 100)        # unreadable: refused, safely
    assert replica.is_signed_out(token)


@pytest.mark.parametrize("data, words", [
    ({"viewer": {"domains": ["@kent.gov.uk"]}}, ["viewer.domains", "'@kent.gov.uk' is not an email domain"]),
    ({"viewer": {"emails": ["head.kent.gov.uk"]}}, ["viewer.emails", "'head.kent.gov.uk' is not an email address"]),
    ({"viewers": {"domains": ["kent.gov.uk"]}}, ["viewers", "unknown key"]),
    ({"viewer": {"domain": ["kent.gov.uk"]}}, ["viewer.domain", "unknown key"]),
    ({"session_hours": 0, "viewer": {"domains": ["kent.gov.uk"]}}, ["session_hours", "greater than 0"]),
    ({"viewer": {}}, ["no one is given a role"]),
])
def test_bad_roles_are_refused_with_where_and_what(data, words):
    with pytest.raises(ConfigError) as err:
        access.parse(data, "roles.toml")
    assert str(err.value).startswith("roles.toml: ")
    for w in words:
        assert w in str(err.value)


def test_auth_section_checked_before_the_first_sign_in(tmp_path, monkeypatch):
    monkeypatch.setenv(access.ROLES_ENV, str(tmp_path / "none.toml"))
    assert access.validate({}) is None                                    # no [auth]: open
    with pytest.raises(ConfigError, match="missing cookie_secret, client_secret"):
        access.validate({"auth": {k: v for k, v in AUTH.items() if k not in ("cookie_secret", "client_secret")}})
    with pytest.raises(ConfigError, match="shorter than 32"):
        access.validate({"auth": {**AUTH, "cookie_secret": "short"}})
    with pytest.raises(ConfigError, match="must end with /oauth2callback"):
        access.validate({"auth": {**AUTH, "redirect_uri": "http://localhost:8501/"}})
    with pytest.raises(ConfigError, match="no roles are"):
        access.validate({"auth": AUTH})
    named = {k: v for k, v in AUTH.items() if k in ("redirect_uri", "cookie_secret")}
    named["microsoft"] = {k: v for k, v in AUTH.items() if k not in named}
    assert access.providers(named) == ["microsoft"]
    assert access.validate({"auth": named, "roles": ROLES}).groups_claim == "roles"
    (tmp_path / "roles.toml").write_text('[viewer]\ndomains = ["kent.gov.uk"\n')
    monkeypatch.setenv(access.ROLES_ENV, str(tmp_path / "roles.toml"))
    with pytest.raises(ConfigError, match="roles.toml: cannot be read as TOML"):
        access.validate({"auth": AUTH})
    (tmp_path / "roles.toml").write_text('session_hours = 2\n[viewer]\ndomains = ["kent.gov.uk"]\n')
    assert access.validate({"auth": AUTH}).session_hours == 2


def test_visitor_refused_without_role_or_when_the_sign_in_is_old():
    roles = access.parse(ROLES, "test")
    now = 1_800_000_000.0
    assert access.visitor(None, {}).open and access.visitor(None, {}).may_view
    assert not access.visitor(roles, {"is_logged_in": False}).may_view
    viewer = access.visitor(roles, claims("a@kent.gov.uk", iat=now - 3600), now)
    assert viewer.may_view and not viewer.may_import and viewer.actor == "a@kent.gov.uk (viewer)"
    owner = access.visitor(roles, claims("owner@kent.gov.uk", iat=now - 3600), now)
    assert owner.may_import
    old = access.visitor(roles, claims("owner@kent.gov.uk", iat=now - 8 * 3600 - 1), now)
    assert not old.may_view and not old.may_import and "more than 8 hours old" in old.refused
    stranger = access.visitor(roles, claims("a@medway.gov.uk", iat=now), now)
    assert not stranger.may_view and "has no role" in stranger.refused
    assert not access.visitor(roles, {"is_logged_in": True, "email": "a@kent.gov.uk"}, now).may_view   # no iat


def test_serve_refuses_to_start_on_a_bad_configuration(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\ncookie_secret = "{SECRET}"\n'
                       'client_id = "a"\nclient_secret = "b"\nserver_metadata_url = "http://127.0.0.1:9/x"\n'
                       '[roles.viewer]\ndomains = ["@kent.gov.uk"]\n')
    out = subprocess.run([sys.executable, "-m", "stls", "serve", "--secrets.files", str(secrets),
                          "--server.port", "8597", "--server.headless", "true"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "STLS Insight cannot start" in out.stderr
    assert "secrets.toml [roles]: viewer.domains: '@kent.gov.uk' is not an email domain" in out.stderr


# --- pages under AppTest --------------------------------------------------------------------

def _app(db: Path, monkeypatch, page: str | None = None, **user) -> AppTest:
    monkeypatch.setenv("STLS_DB", str(db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.secrets["auth"] = AUTH
    at.secrets["roles"] = ROLES
    if user:
        at.user = user  # type: ignore[attr-defined]
    if page:
        at.switch_page(page)
    return at


def _texts(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.title]
    parts += [str(e.value) for e in at.warning] + [str(e.value) for e in at.info] + [e.label for e in at.button]
    return "\n".join(str(p) for p in parts)


def _shown_data(at: AppTest) -> list[str]:
    """Every element that carries figures: tables, charts, cards, and the sidebar's filters."""
    found = [f"dataframe {d.proto.id}" for d in at.dataframe] + [f"metric {m.label}" for m in at.metric]
    found += [f"chart {c.type}" for c in at.get("plotly_chart")] + [f"filter {w.key}" for w in at.sidebar.selectbox]
    found += [f"slider {w.key}" for w in at.sidebar.select_slider] + [f"table {t}" for t in at.table]
    return found


@pytest.mark.parametrize("page", [None, "app_pages/scorecard.py", "app_pages/district.py", "app_pages/impact.py", "app_pages/data.py",
                                  "app_pages/meeting.py"])
def test_not_signed_in_gets_a_sign_in_page_and_no_figures(app_env, monkeypatch, page):
    at = _app(app_env, monkeypatch, page, is_logged_in=False)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert _shown_data(at) == []
    assert [t.value for t in at.title] == ["STLS Insight"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert "Sign in with your council account" in _texts(at)
    assert not at.file_uploader and not at.text_input


def test_signed_in_without_a_role_or_too_long_ago_sees_nothing(app_env, monkeypatch):
    at = _app(app_env, monkeypatch, None, **claims("someone@medway.gov.uk"))
    at.run()
    assert _shown_data(at) == [] and "someone@medway.gov.uk has no role in STLS Insight" in _texts(at)
    assert [b.label for b in at.button] == ["Sign out"]
    old = _app(app_env, monkeypatch, None, **claims("owner@kent.gov.uk", iat=time.time() - 9 * 3600))
    old.run()
    assert _shown_data(old) == [] and "more than 8 hours old" in _texts(old)


def test_a_viewer_sees_the_pages_but_cannot_upload(app_env, monkeypatch):
    monkeypatch.delenv("STLS_IMPORT_KEY_SHA256", raising=False)
    at = _app(app_env, monkeypatch, None, **claims("someone@kent.gov.uk"))
    at.run()
    assert not at.exception and len(at.metric) == 5
    assert any("Signed in as `someone@kent.gov.uk` (viewer)" in c.value for c in at.sidebar.caption)
    assert "Sign out" in [b.label for b in at.sidebar.button]
    data = _app(app_env, monkeypatch, "app_pages/data.py", **claims("someone@kent.gov.uk"))
    data.run()
    assert not data.file_uploader and not data.text_input
    assert any("needs the data owner role" in i.value and "viewer" in i.value for i in data.info)


def test_a_data_owner_uploads_without_the_key_and_the_log_names_them(app_env, monkeypatch, tmp_path):
    import shutil

    from stls.store import queries
    from stls.store.db import Database
    db = tmp_path / "stls.duckdb"
    shutil.copy(app_env, db)
    monkeypatch.delenv("STLS_IMPORT_KEY_SHA256", raising=False)
    at = _app(db, monkeypatch, "app_pages/data.py", **claims("owner@kent.gov.uk"))
    at.run()
    assert not at.text_input                                   # no import key when signed in as a data owner
    body = (ROOT / "tests" / "data" / "good" / "budget_2027.csv").read_bytes()
    rows = len(body.decode().strip().splitlines()) - 1
    at.file_uploader(key="imp_file").set_value(("budget-2027.csv", body, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    at.button(key="imp_go").click().run()
    assert any(f"loaded {rows} rows" in s.value for s in at.success), [e.value for e in at.error]
    assert queries.import_log(Database(db)).iloc[0]["file_name"] != "budget-2027.csv"   # a draft: not published yet
    assert at.subheader[0].value == "Draft waiting to be published"
    at.text_input(key="dr_note").set_value("2027/28 budget")
    at.button(key="dr_publish").click().run()
    assert any("Published release 2, published " in s.value for s in at.success), [e.value for e in at.error]
    log = queries.import_log(Database(db))
    assert log.iloc[0]["actor"] == "owner@kent.gov.uk (data owner)"
    assert log.iloc[0]["file_name"] == "budget-2027.csv"
    again = _app(db, monkeypatch, "app_pages/data.py", **claims("owner@kent.gov.uk"))
    again.run()
    history = next(d.value for d in again.dataframe if "By" in d.value.columns)
    assert history.iloc[0]["By"] == "owner@kent.gov.uk (data owner)"


def test_open_when_no_sign_in_is_configured(app_env, monkeypatch):
    monkeypatch.setenv("STLS_DB", str(app_env))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert len(at.metric) == 5
    assert any("Open access: no sign-in is configured" in c.value for c in at.sidebar.caption)


def test_a_refused_upload_is_logged_once_with_who_tried(app_env, monkeypatch, tmp_path):
    import shutil

    from stls.store import queries
    from stls.store.db import Database
    db = tmp_path / "stls.duckdb"
    shutil.copy(app_env, db)
    before = len(queries.import_log(Database(db)))
    at = _app(db, monkeypatch, "app_pages/data.py", **claims("owner@kent.gov.uk"))
    at.run()
    body = b"financial_year,service,allocation_gbp\n2027-28,Nowhere,100\n"
    at.file_uploader(key="imp_file").set_value(("budget-bad.csv", body, "text/csv")).run()
    assert any("refused" in e.value for e in at.error)
    at.checkbox(key="imp_replace").check().run()      # a rerun with another option: a new attempt
    at.run()                                          # a plain rerun: the same attempt, not logged again
    log = queries.import_log(Database(db))
    assert len(log) == before + 2
    assert (log.head(2)["status"] == "refused").all() and (log.head(2)["actor"] == "owner@kent.gov.uk (data owner)").all()


def test_an_older_log_gains_who_and_the_command_line_is_named(tmp_path):
    import datetime as dt
    import getpass

    import duckdb

    from stls.present.views import data as view
    from stls.store import db as dbmod
    from stls.store import queries
    from stls.store.demo import build_demo
    path = tmp_path / "old.duckdb"
    build_demo(path, until=dt.date(2023, 8, 1))
    con = duckdb.connect(str(path))
    con.execute("ALTER TABLE import_log DROP COLUMN actor")
    con.close()
    dbmod.check_database(path)
    handle = dbmod.Database(path)
    assert view.history(handle).iloc[0]["By"] == "[x]"          # not recorded before: not available
    handle.close()
    out = subprocess.run([sys.executable, "-m", "stls", "import", "budget", str(ROOT / "tests" / "data" / "good" / "budget_2027.csv"),
                          "--db", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert queries.import_log(dbmod.Database(path)).iloc[0]["actor"] == f"command line ({getpass.getuser()})"
