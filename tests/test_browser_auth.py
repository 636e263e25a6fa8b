"""Sign-in end to end: the real server behind a real OpenID Connect provider (oidc-provider-mock,
started here on loopback), driven by headless Chromium.

A visitor who has not signed in is sent no figure (checked on what reaches the browser: every
websocket frame, not only what is drawn); a viewer signs in, sees the pages and cannot upload; a
data owner uploads a file and the import log names them; a tampered session cookie and a
sign-in older than the configured session length are refused; signing out ends the session, and a
copy of its cookie stops working at once; an unverified email is given no role; downloads are
served only to a signed-in person.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from conftest import ROOT
from test_browser import BROWSER_ARGS, CHROMIUM, SHOTS, _free_port, axe_violations, quiet, settled

COOKIE_SECRET = "browser-test-cookie-secret-" + "0" * 16
USER_COOKIE = "_streamlit_user"
# Words that only a page's figures carry: district names, the synthetic-data banner, Arrow tables
# (Streamlit sends st.dataframe as Arrow IPC, which starts ARROW1) and Plotly figures.
DATA_MARKERS = [b"Swale", b"Ashford", b"Tunbridge Wells", b"Synthetic data", b"ARROW1", b"plotly"]


def _wait(url: str, proc: subprocess.Popen, log, what: str) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.3)
    proc.kill()
    log.seek(0)
    pytest.fail(f"{what} did not start: " + log.read().decode()[-3000:])


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    port = _free_port()
    log = open(tmp_path_factory.mktemp("oidc-log") / "provider.log", "w+b")
    users = [{"sub": "viewer@kent.gov.uk", "email": "viewer@kent.gov.uk", "email_verified": True},
             {"sub": "owner", "email": "owner@kent.gov.uk", "email_verified": True, "roles": ["STLS.DataOwner"]},
             # anyone can make a provider account with someone else's address: not verified
             {"sub": "mallory", "email": "head.of.sen@kent.gov.uk", "email_verified": False}]
    args = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), "--host", "127.0.0.1"]
    for u in users:
        args += ["--user-claims", json.dumps(u)]
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    _wait(f"{url}/.well-known/openid-configuration", proc, log, "the OpenID provider")
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def signed_server(demo_path, provider, tmp_path_factory):
    folder = tmp_path_factory.mktemp("auth")
    db = folder / "stls.duckdb"
    shutil.copyfile(demo_path, db)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    secrets = folder / "secrets.toml"
    secrets.write_text(f"""
[auth]
redirect_uri = "{url}/oauth2callback"
cookie_secret = "{COOKIE_SECRET}"
client_id = "stls-insight"
client_secret = "browser-test-client-secret"
server_metadata_url = "{provider}/.well-known/openid-configuration"

[roles]
groups_claim = "roles"
session_hours = 8
[roles.viewer]
domains = ["kent.gov.uk"]
[roles.data_owner]
groups = ["STLS.DataOwner"]
[roles.administrator]
emails = ["head.of.sen@kent.gov.uk"]
""")
    env = {k: v for k, v in os.environ.items() if k != "STLS_IMPORT_KEY_SHA256"}
    env["STLS_DB"] = str(db)
    log = open(folder / "server.log", "w+b")
    proc = subprocess.Popen([sys.executable, "-m", "stls", "serve", "--server.port", str(port), "--server.address",
                             "127.0.0.1", "--server.headless", "true", "--secrets.files", str(secrets)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    _wait(f"{url}/_stcore/health", proc, log, "streamlit")
    yield {"url": url, "db": db}
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


@pytest.fixture(scope="module")
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is not installed (apt-get install chromium); test.sh installs it")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield b
        b.close()


def _listen(page) -> list[bytes]:
    """Every websocket frame the server sends this page."""
    frames: list[bytes] = []

    def on_socket(ws):
        ws.on("framereceived", lambda payload: frames.append(payload if isinstance(payload, bytes) else payload.encode()))
    page.on("websocket", on_socket)
    return frames


def _settle(page) -> None:
    page.wait_for_selector("h1", timeout=60_000)
    page.wait_for_function("document.querySelectorAll('[data-testid=stStatusWidget]').length == 0", timeout=90_000)
    quiet(page)


def _sign_in(context, url: str, who: str):
    page = context.new_page()
    page.goto(url)
    _settle(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("input[name=sub]", timeout=30_000)
    page.fill("input[name=sub]", who)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{url}/**", timeout=30_000)
    _settle(page)
    return page


def _no_figures(page, frames: list[bytes]) -> None:
    assert page.locator(".js-plotly-plot").count() == 0
    assert page.locator("[data-testid=stMetric]").count() == 0
    assert page.locator("[data-testid=stDataFrame]").count() == 0
    sent = b"".join(frames)
    assert sent, "no websocket frames were recorded"
    leaked = [m.decode() for m in DATA_MARKERS if m in sent]
    assert not leaked, f"sent to a visitor who has not signed in: {leaked}"


@pytest.mark.parametrize("path", ["", "scorecard", "district?district=E07000113", "data"])
def test_a_visitor_who_has_not_signed_in_is_sent_no_figures(chromium, signed_server, path):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    frames = _listen(page)
    page.goto(f"{signed_server['url']}/{path}")
    _settle(page)
    assert page.get_by_role("button", name="Sign in").count() == 1
    assert page.locator("h1").first.inner_text() == "STLS Insight"
    _no_figures(page, frames)
    if not path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "sign-in.png"))
        ours, _ = axe_violations(page)
        assert ours == [], ours
    context.close()


def test_a_viewer_signs_in_sees_the_pages_and_cannot_upload(chromium, signed_server):
    url = signed_server["url"]
    context = chromium.new_context(viewport={"width": 1440, "height": 1600})
    page = _sign_in(context, url, "viewer@kent.gov.uk")
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2 && "
                           "document.querySelectorAll('[data-testid=stMetric]').length >= 5", timeout=60_000)
    assert page.locator("h1").first.inner_text() == "STLS overview"
    assert page.locator("[data-testid=stMetric]").count() == 5
    assert "Signed in as viewer@kent.gov.uk (viewer)" in page.locator("[data-testid=stSidebar]").inner_text()
    page.screenshot(path=str(SHOTS / "signed-in-viewer.png"))
    page.goto(f"{url}/data")
    _settle(page)
    body = page.locator("[data-testid=stMain]").inner_text()
    assert "Loading files needs the data owner role; you are signed in as viewer@kent.gov.uk (viewer)" in body
    assert page.locator("input[type=file]").count() == 0
    assert page.get_by_label("Import key").count() == 0
    context.close()


def test_a_data_owner_drafts_checks_and_publishes_and_a_viewer_never_sees_the_draft(chromium, signed_server):
    """Issue 31: upload → a draft (only the data owner sees it, with what changes) → publish with a
    note → the next release, named on every page; a viewer sees neither the draft nor its figures."""
    from stls.store import queries
    from stls.store.db import Database
    from stls.store.releases import Releases
    url = signed_server["url"]
    context = chromium.new_context(viewport={"width": 1440, "height": 1600})
    page = _sign_in(context, url, "owner")
    assert "Signed in as owner@kent.gov.uk (data owner)" in page.locator("[data-testid=stSidebar]").inner_text()
    page.goto(f"{url}/data")
    _settle(page)
    page.locator("input[type=file]").set_input_files(str(ROOT / "tests" / "data" / "good" / "budget_2027.csv"))
    page.get_by_role("button", name="Load into the draft").click(timeout=60_000)
    page.get_by_text("loaded 3 rows as import").wait_for(timeout=60_000)
    page.get_by_text("Draft waiting to be published").wait_for(timeout=60_000)
    summary = page.get_by_text("What changes when it is published:")
    summary.wait_for(timeout=120_000)
    assert "no new months" in summary.inner_text()        # a budget file: no new tracker month
    before = Releases(signed_server["db"]).current().number
    viewer = chromium.new_context(viewport={"width": 1440, "height": 1600})
    seen = _sign_in(viewer, url, "viewer@kent.gov.uk")
    seen.goto(f"{url}/data")
    _settle(seen)
    assert seen.get_by_text("Draft waiting").count() == 0 and seen.get_by_text("What changes").count() == 0
    assert seen.get_by_text(f"Figures as at release {before}, published").count() == 1
    page.get_by_label("Note for the release").fill("2027/28 budget allocations")
    page.get_by_role("button", name="Publish", exact=True).click()
    page.get_by_text(f"Published release {before + 1}, published").wait_for(timeout=60_000)
    page.screenshot(path=str(SHOTS / "signed-in-owner-upload.png"))
    handle = Database(signed_server["db"])
    log = queries.import_log(handle)
    handle.close()
    assert log.iloc[0]["file_name"] == "budget_2027.csv" and log.iloc[0]["status"] == "loaded"
    assert log.iloc[0]["actor"] == "owner@kent.gov.uk (data owner)"
    release = Releases(signed_server["db"]).current()
    assert release.number == before + 1 and release.by == "owner@kent.gov.uk (data owner)"
    assert release.note == "2027/28 budget allocations"
    seen.goto(f"{url}/scorecard")
    _settle(seen)
    assert seen.get_by_text(f"Figures as at release {before + 1}, published").count() == 1
    viewer.close()
    context.close()


def _signed_cookie(chromium, url: str) -> dict:
    context = chromium.new_context()
    _sign_in(context, url, "viewer@kent.gov.uk")
    cookie = next(c for c in context.cookies() if c["name"] == USER_COOKIE)
    context.close()
    return cookie


def _visit_with(chromium, url: str, cookie: dict):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{k: cookie[k] for k in ("name", "value", "domain", "path")}])
    page = context.new_page()
    frames = _listen(page)
    page.goto(url)
    _settle(page)
    return context, page, frames


def test_a_tampered_session_is_refused(chromium, signed_server):
    from streamlit.web.server.starlette.starlette_app_utils import decode_signed_value
    url = signed_server["url"]
    cookie = _signed_cookie(chromium, url)
    claims = json.loads(decode_signed_value(COOKIE_SECRET, USER_COOKIE, cookie["value"]))
    assert claims["email"] == "viewer@kent.gov.uk"
    value = cookie["value"]
    i = len(value) // 3                                    # a character of the signed payload changed
    tampered = value[:i] + ("A" if value[i] != "A" else "B") + value[i + 1:]
    assert decode_signed_value(COOKIE_SECRET, USER_COOKIE, tampered) is None
    context, page, frames = _visit_with(chromium, url, dict(cookie, value=tampered))
    assert page.get_by_role("button", name="Sign in").count() == 1
    _no_figures(page, frames)
    context.close()


def test_a_sign_in_older_than_the_session_length_is_refused(chromium, signed_server):
    from streamlit.web.server.starlette.starlette_app_utils import create_signed_value, decode_signed_value
    url = signed_server["url"]
    cookie = _signed_cookie(chromium, url)
    claims = json.loads(decode_signed_value(COOKIE_SECRET, USER_COOKIE, cookie["value"]))
    old = dict(claims, iat=int(time.time()) - 9 * 3600)     # signed properly, but signed in 9 hours ago
    value = create_signed_value(COOKIE_SECRET, USER_COOKIE, json.dumps(old)).decode()
    context, page, frames = _visit_with(chromium, url, dict(cookie, value=value))
    text = page.locator("[data-testid=stMain]").inner_text()
    assert "your sign-in is more than 8 hours old; sign in again" in text
    assert page.get_by_role("button", name="Sign out").count() == 1
    _no_figures(page, frames)
    context.close()


def test_sign_out_from_the_sidebar(chromium, signed_server):
    url = signed_server["url"]
    context = chromium.new_context(viewport={"width": 1440, "height": 1200})
    page = _sign_in(context, url, "viewer@kent.gov.uk")
    page.locator("[data-testid=stSidebar]").get_by_role("button", name="Sign out").click()
    # Streamlit clears its cookies and sends the browser to the provider's end-session page (as
    # Entra ID's), which sends it back to the dashboard
    page.wait_for_url("**/oauth2/end_session**", timeout=30_000)
    assert not any(c["name"].startswith(USER_COOKIE) for c in context.cookies([url]))
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{url}/**", timeout=30_000)
    _settle(page)
    assert page.get_by_role("button", name="Sign in").count() == 1
    context.close()


def _downloaded_url(page) -> str:
    """Open the first table alternative on the page and download its CSV: the media URL it came from."""
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2", timeout=60_000)
    expander = page.locator("[data-testid=stExpander]").filter(has_text="Table alternative for this chart").first
    expander.get_by_text("Table alternative for this chart").click()
    button = expander.locator("[data-testid=stDownloadButton] button")
    button.wait_for(timeout=30_000)
    settled(page, button)
    with page.expect_download(timeout=30_000) as download:
        button.click()
    return download.value.url


def _fetch(url: str, cookie: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if cookie:
        request.add_header("Cookie", f"{cookie['name']}={cookie['value']}")
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_downloads_are_served_only_to_a_signed_in_person(chromium, signed_server):
    """Penetration test: a viewer's /media/<id>.csv downloads were served to requests with no
    cookie, while the viewer was connected and after they left."""
    url = signed_server["url"]
    context = chromium.new_context(viewport={"width": 1440, "height": 1600}, accept_downloads=True)
    page = _sign_in(context, url, "viewer@kent.gov.uk")
    media = _downloaded_url(page)
    assert "/media/" in media
    cookie = next(c for c in context.cookies() if c["name"] == USER_COOKIE)
    status, body = _fetch(media, cookie)
    assert status == 200 and body.startswith(b"\xef\xbb\xbf")          # the viewer's own download: the CSV
    status, body = _fetch(media)
    assert status == 403 and b"Sign in" in body and b"Swale" not in body   # the same link without a sign-in
    context.close()
    assert _fetch(media)[0] == 403                                          # nor after the viewer has left


def test_sign_out_ends_the_session_for_a_copy_of_its_cookie(chromium, signed_server):
    """Penetration test: a copied sign-in cookie still showed every page after sign-out."""
    url = signed_server["url"]
    context = chromium.new_context(viewport={"width": 1440, "height": 1600}, accept_downloads=True)
    page = _sign_in(context, url, "viewer@kent.gov.uk")
    media = _downloaded_url(page)
    copied = next(c for c in context.cookies() if c["name"] == USER_COOKIE)
    assert _fetch(media, copied)[0] == 200
    page.locator("[data-testid=stSidebar]").get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/oauth2/end_session**", timeout=30_000)
    context.close()
    replay, page, frames = _visit_with(chromium, url, copied)             # the copy, after sign-out
    assert "this sign-in was signed out; sign in again" in page.locator("[data-testid=stMain]").inner_text()
    _no_figures(page, frames)
    replay.close()
    assert _fetch(media, copied)[0] == 403
    again = chromium.new_context(viewport={"width": 1280, "height": 900})   # signing in again works
    page = _sign_in(again, url, "viewer@kent.gov.uk")
    assert "Signed in as viewer@kent.gov.uk (viewer)" in page.locator("[data-testid=stSidebar]").inner_text()
    again.close()


def test_an_unverified_email_is_given_no_role(chromium, signed_server):
    """Penetration test: a provider user with email_verified false and the Head of SEN's address
    became administrator."""
    url = signed_server["url"]
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    frames = _listen(page)
    page.goto(url)
    _settle(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("input[name=sub]", timeout=30_000)
    page.fill("input[name=sub]", "mallory")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{url}/**", timeout=30_000)
    _settle(page)
    text = page.locator("[data-testid=stMain]").inner_text()
    assert "head.of.sen@kent.gov.uk has no role in STLS Insight" in text and "not verified" in text
    _no_figures(page, frames)
    context.close()


def test_a_viewer_subscribes_to_their_districts_exceptions(chromium, signed_server):
    """Issue 32: a signed-in viewer subscribes themselves on the Exceptions page (their own address
    only), choosing a district; the page passes axe with no serious finding of ours."""
    from stls.store.subscriptions import Subscriptions
    from tests.test_browser import axe_violations
    url = signed_server["url"]
    context = chromium.new_context(viewport={"width": 1440, "height": 2400})
    page = _sign_in(context, url, "viewer@kent.gov.uk")
    page.goto(f"{url}/exceptions")
    _settle(page)
    page.get_by_text("Summary of every KPI").wait_for(timeout=120_000)
    ours, _ = axe_violations(page)
    assert ours == [], ours
    address = page.get_by_label("E-mail address")
    assert address.input_value() == "viewer@kent.gov.uk" and address.is_disabled()   # only their own
    choose = page.get_by_label("Districts (none = Kent and all twelve)")
    choose.click()
    page.keyboard.type("Swale")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Subscribe").click()
    page.get_by_text("viewer@kent.gov.uk will get the digest for each new release.").wait_for(timeout=60_000)
    found = Subscriptions(signed_server["db"]).get("viewer@kent.gov.uk")
    assert found is not None and found.districts == ("E07000113",) and found.kpis == () and not found.pack
    assert found.by == "viewer@kent.gov.uk (viewer)"
    page.screenshot(path=str(SHOTS / "exceptions-subscribe.png"), full_page=True)
    context.close()
