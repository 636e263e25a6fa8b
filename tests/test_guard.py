"""The server's front door (stls/access/guard.py, mounted by stls/ui/asgi.py), tested on the real server
(`python -m stls serve`, open mode with an import key) by a client that speaks Streamlit's own
websocket protocol, as an attacker's script would: no browser, a real session.

Each test here is a finding of the penetration test that failed on the main before the guard:
uploads before the import key, the open metrics endpoint, a browser clearing the server-wide
caches, and a health check that said ok while the database could not be read.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from conftest import ROOT
from test_browser import _free_port
from test_browser_auth import _wait

KEY = "the right import key"


def _get(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture(scope="module")
def open_server(demo_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("guard")
    db = folder / "stls.duckdb"
    shutil.copyfile(demo_path, db)
    port = _free_port()
    env = {**os.environ, "STLS_DB": str(db), "STLS_IMPORT_KEY_SHA256": hashlib.sha256(KEY.encode()).hexdigest()}
    log = open(folder / "server.log", "w+b")
    proc = subprocess.Popen([sys.executable, "-m", "stls", "serve", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    _wait(f"{url}/_stcore/health", proc, log, "the server")
    yield {"url": url, "db": db, "pid": proc.pid, "log": folder / "server.log"}
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


class Session:
    """A Streamlit session over the websocket, as the browser's JavaScript makes one."""

    def __init__(self, url: str):
        import websockets.sync.client as client
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        # close_timeout: each close waited the library's default 10 s for the server's half of the
        # closing handshake, which did not come (nothing here tests the closing)
        self.ws = client.connect(url.replace("http", "ws") + "/_stcore/stream", subprotocols=["streamlit"],
                                 origin=url, max_size=None, close_timeout=1)
        rerun = BackMsg()
        rerun.rerun_script.query_string = ""
        rerun.rerun_script.page_script_hash = ""
        self.ws.send(rerun.SerializeToString())
        self.id = ""
        while not self.id:
            msg = ForwardMsg()
            msg.ParseFromString(self.ws.recv(timeout=60))
            if msg.WhichOneof("type") == "new_session":
                self.id = msg.new_session.initialize.session_id

    def clear_cache(self) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        msg = BackMsg()
        msg.clear_cache = True
        self.ws.send(msg.SerializeToString())

    def close(self) -> None:
        self.ws.close()


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def _put(url: str, session: str, size: int) -> int:
    """An upload as Streamlit's uploader sends it, straight to the endpoint: its status (0 when
    the server closed the connection before the body was sent)."""
    boundary = "stlsboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode()
    body = head + b"a" * size + f"\r\n--{boundary}--\r\n".encode()
    try:
        return _get(f"{url}/_stcore/upload_file/{session}/file-{time.monotonic_ns()}", "PUT", body,
                    {"Content-Type": f"multipart/form-data; boundary={boundary}"})[0]
    except OSError:
        return 0


def test_no_one_uploads_before_the_import_key(open_server):
    """Penetration test: eight 45 MiB uploads from a visitor with a session, before the import
    key, took the server from 343 to 705 MiB. Now every upload is refused before its body is read."""
    url = open_server["url"]
    visitor = Session(url)
    try:
        before = _rss_mib(open_server["pid"])
        statuses = {_put(url, visitor.id, 45 * 2**20) for _ in range(8)}
        assert statuses <= {403, 0}, statuses
        assert _put(url, visitor.id, 1000) == 403                  # small ones too: no session was let upload
        assert _rss_mib(open_server["pid"]) - before < 100           # nothing held (eight bodies would be 360 MiB)
    finally:
        visitor.close()


def test_streamlit_refuses_any_upload_over_the_limit_itself():
    """Streamlit's own ceiling (server.maxUploadSize) is the project's 20 MB, not its 50."""
    import tomllib
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    from stls.access import guard
    assert config["server"]["maxUploadSize"] == guard.DEFAULT_UPLOAD_MB == 20
    assert config["client"]["showErrorDetails"] == "none"   # no traceback or path reaches a browser


def test_metrics_are_not_served(open_server):
    """Penetration test: /_stcore/metrics was open to anyone."""
    status, body = _get(f"{open_server['url']}/_stcore/metrics")
    assert status == 404 and b"cache" not in body


def test_a_browser_cannot_clear_the_server_wide_caches(open_server):
    """Penetration test: an anonymous client could clear the caches of every session (Streamlit's
    "clear cache" message over the websocket). The message is refused and logged."""
    visitor = Session(open_server["url"])
    try:
        visitor.clear_cache()
        deadline = time.time() + 10
        while "clear the server-wide caches; refused" not in open_server["log"].read_text() and time.time() < deadline:
            time.sleep(0.2)
    finally:
        visitor.close()
    assert "a browser asked to clear the server-wide caches; refused" in open_server["log"].read_text()


def test_clear_cache_leaves_the_caches_alone():
    import streamlit as st
    from streamlit.runtime.app_session import AppSession

    from stls.access import guard
    calls = []

    @st.cache_resource
    def handle():
        calls.append(1)
        return object()

    first = handle()
    original = AppSession._handle_clear_cache_request
    try:
        guard.install()
        AppSession._handle_clear_cache_request(None)
    finally:
        AppSession._handle_clear_cache_request = original
    assert handle() is first and calls == [1]


def test_a_page_that_fails_shows_no_traceback_or_path(tmp_path):
    """The handler for a failed page: what to do, in words; the server log keeps the whole error."""
    from streamlit.testing.v1 import AppTest

    def script():
        from stls.ui import asgi
        try:
            raise OSError("cannot open /srv/secret/stls.duckdb")
        except OSError as exc:
            asgi.page_failed(exc)

    at = AppTest.from_function(script).run()
    shown = " ".join(e.value for e in at.error)
    assert "This page could not be shown" in shown and "administrator" in shown
    assert "/srv/secret" not in shown and "Traceback" not in shown and "OSError" not in shown


def test_health_fails_and_pages_say_so_when_the_database_is_damaged(open_server, tmp_path):
    """Penetration test: a half-truncated file gave raw tracebacks on every page while the health
    check said ok. (Last in this file: it damages the server's database.)"""
    url, db = open_server["url"], open_server["db"]
    assert _get(f"{url}/_stcore/health") == (200, b"ok")
    size = db.stat().st_size
    with open(db, "r+b") as f:
        f.truncate(size // 2)
    deadline = time.time() + 20   # the health answer is reused for a few seconds
    while (answer := _get(f"{url}/_stcore/health"))[0] == 200 and time.time() < deadline:
        time.sleep(0.5)
    status, body = answer
    assert status == 503 and body.startswith(b"database unavailable: ")
    assert str(db).encode() not in body and b"stls.duckdb" not in body


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_a_page_on_a_damaged_database_says_what_to_do(demo_path, tmp_path, monkeypatch, cut):
    from streamlit.testing.v1 import AppTest
    db = tmp_path / "stls.duckdb"
    shutil.copyfile(demo_path, db)
    with open(db, "r+b") as f:
        f.truncate(int(db.stat().st_size * cut))
    monkeypatch.setenv("STLS_DB", str(db))
    for page in ("app_pages/overview.py", "app_pages/scorecard.py"):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.switch_page(page)
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        shown = " ".join(e.value for e in at.error)
        assert "cannot" in shown and str(tmp_path) not in shown and "stls.duckdb" not in shown


def test_the_guard_sees_paths_under_a_root_path():
    """Re-attack: under `uvicorn stls.ui.asgi:app --root-path /dash` the guard compared the prefixed
    path and let everything through."""
    from stls.access import guard
    assert guard._route({"path": "/dash/_stcore/metrics", "root_path": "/dash"}) == "/_stcore/metrics"
    assert guard._route({"path": "/media/x.csv", "root_path": ""}) == "/media/x.csv"


def test_health_fails_when_a_sign_out_could_not_be_recorded(tmp_path, monkeypatch):
    """Re-attack: with the data folder read-only a sign-out was not recorded, so a copy of the
    cookie kept working. Signed-in mode now reports the replica unhealthy instead."""
    from stls.access import guard
    from stls.access import rules as access
    from stls.store import db as dbmod
    monkeypatch.setattr(guard, "roles", lambda: access.Roles(session_hours=8.0, viewer=access.Rule(domains=["kent.gov.uk"])))
    monkeypatch.setattr(dbmod, "health", lambda path: None)
    monkeypatch.setenv("STLS_DB", str(tmp_path / "stls.duckdb"))
    (tmp_path / "stls.duckdb").write_bytes(b"x")
    monkeypatch.setattr(guard, "_health", (-1e9, None))
    assert guard.health() is None
    monkeypatch.setattr(guard, "_health", (-1e9, None))
    monkeypatch.setattr(guard.os, "access", lambda p, mode: False)
    assert "sign-out would not hold" in guard.health()
