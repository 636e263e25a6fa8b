"""The server's front door: an ASGI middleware in front of Streamlit's own endpoints
(``stls.ui.asgi`` mounts it; ``python -m stls serve`` runs that app).

Streamlit's HTTP endpoints answer any visitor with a session, signed in or not. This layer
decides, per request, before Streamlit sees it:

- **uploads** (``/_stcore/upload_file/<session>/...``): only from a session the Data page has
  let upload (a signed-in data owner, or the holder of the import key: ``allow_uploads``), and
  no larger than the upload limit; anything else is refused before its body is read;
- **downloads and media** (``/media/...``): with sign-in configured, only to a request whose
  sign-in cookie belongs to someone who may see the dashboard now (a role, not too old, not
  signed out);
- **sign-out** (``/auth/logout``): the sign-in is recorded as signed out (``stls.store.records``), so a
  copy of its cookie stops working on every replica at once;
- **health** (``/_stcore/health``): fails (503) when the database cannot be read, so a load
  balancer stops sending people to this replica;
- **metrics** (``/_stcore/metrics``): not served (cache sizes and session counts are nobody's
  business outside the server).

It also stops a browser from clearing the server-wide caches (Streamlit's "Clear cache", which
any client can send over its websocket): ``install()``.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from stls.access import rules as access

LOG = logging.getLogger("stls.access.guard")
UPLOAD_GRANT_S = 30 * 60      # a grant lasts this long after the Data page last renewed it
HEALTH_CACHE_S = 5.0          # a health answer is reused this long (load balancers poll every few seconds)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

# --- uploads --------------------------------------------------------------------------------

_upload_grants: dict[str, float] = {}
_grants_lock = threading.Lock()


def allow_uploads(session_id: str, now: float | None = None) -> None:
    """Let ``session_id`` upload for the next ``UPLOAD_GRANT_S`` (the Data page calls this on
    every run in which its visitor may upload)."""
    now = time.monotonic() if now is None else now
    with _grants_lock:
        for sid in [s for s, until in _upload_grants.items() if until < now]:
            del _upload_grants[sid]
        _upload_grants[session_id] = now + UPLOAD_GRANT_S


def forbid_uploads(session_id: str) -> None:
    with _grants_lock:
        _upload_grants.pop(session_id, None)


def may_upload(session_id: str, now: float | None = None) -> bool:
    now = time.monotonic() if now is None else now
    with _grants_lock:
        return _upload_grants.get(session_id, 0.0) >= now


def current_session_id() -> str | None:
    """The running script's session id (None outside a script run, e.g. under a bare import)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else None


DEFAULT_UPLOAD_MB = 20   # Streamlit's own server.maxUploadSize (.streamlit/config.toml) is set to the same


def upload_limit_mb() -> float:
    """The largest file the Data page takes, in MB (``STLS_UPLOAD_MAX_MB``; at most Streamlit's
    ``server.maxUploadSize``, which refuses larger bodies itself)."""
    try:
        return float(os.environ.get("STLS_UPLOAD_MAX_MB", DEFAULT_UPLOAD_MB))
    except ValueError:
        return DEFAULT_UPLOAD_MB


def upload_limit_bytes() -> int:
    """The request body allowed for an upload: the file's limit plus room for the form around it."""
    return int(upload_limit_mb() * 2**20) + 64 * 1024


# --- sign-in ----------------------------------------------------------------------------------

def _secrets() -> Mapping[str, Any]:
    from streamlit.runtime.secrets import secrets_singleton
    try:
        return secrets_singleton.to_dict() if secrets_singleton.load_if_toml_exists() else {}
    except Exception:  # noqa: BLE001 - no secrets file is the open demo
        return {}


def roles() -> access.Roles | None:
    """The sign-in rules (None: no sign-in configured). A broken configuration counts as signed-in
    mode with no one let in (the server refuses to start on one; this is the fail-safe)."""
    try:
        return access.validated(_secrets())
    except access.ConfigError:
        return access.Roles(session_hours=8.0, viewer=access.Rule(emails=["nobody@invalid.invalid"]))


def cookie_claims(scope: Scope) -> dict[str, Any]:
    """The claims of the request's sign-in cookie, its signature checked with the cookie secret
    (empty when there is none, or it does not verify)."""
    from starlette.requests import Request
    try:   # Streamlit's own reader of its (possibly chunked) signed cookie; private, so guarded
        from streamlit.web.server.starlette.starlette_auth_routes import _get_cookie_value_from_request
        from streamlit.web.server.starlette.starlette_server_config import USER_COOKIE_NAME
        raw = _get_cookie_value_from_request(Request(scope), USER_COOKIE_NAME)
        claims = json.loads(raw) if raw else {}
    except Exception as exc:  # noqa: BLE001 - an unreadable cookie is no sign-in
        LOG.info("sign-in cookie not read: %s", exc)
        return {}
    return claims if isinstance(claims, dict) else {}


def signed_out(claims: Mapping[str, Any]) -> bool:
    from stls.store import db as dbmod
    from stls.store.records import Records
    return bool(claims.get("is_logged_in")) and Records(dbmod.default_path()).is_signed_out(access.sign_in_token(claims))


def request_visitor(scope: Scope) -> access.Visitor:
    """Who sent this HTTP request, judged as the pages judge a session."""
    rules = roles()
    if rules is None:
        return access.Visitor(open=True)
    claims = cookie_claims(scope)
    return access.visitor(rules, claims, signed_out=signed_out(claims))


def record_sign_out(scope: Scope, now: float | None = None) -> None:
    """The request's sign-in, recorded as signed out until it would have expired anyway."""
    claims = cookie_claims(scope)
    if not claims.get("is_logged_in"):
        return
    from stls.store import db as dbmod
    from stls.store.records import Records
    rules = roles()
    now = time.time() if now is None else now
    iat = claims.get("iat")
    issued = float(iat) if isinstance(iat, int | float) else now
    until = issued + (rules.session_hours if rules else 24.0 * 30) * 3600
    try:
        Records(dbmod.default_path()).sign_out(access.sign_in_token(claims), claims.get("email"), until, now)
        LOG.info("signed out: %s", claims.get("email") or claims.get("sub"))
    except Exception:  # noqa: BLE001 - logged; the cookie is still cleared by Streamlit
        LOG.exception("a sign-out could not be recorded; the cookie is cleared but a copy would still work")


# --- health -----------------------------------------------------------------------------------

_health: tuple[float, str | None] = (-1e9, None)


def health(now: float | None = None) -> str | None:
    """None when the database can be read; else why not (no server path). Reused for a few seconds."""
    global _health
    now = time.monotonic() if now is None else now
    at, problem = _health
    if now - at < HEALTH_CACHE_S:
        return problem
    from stls.store import db as dbmod
    path = dbmod.default_path()
    problem = dbmod.health(path) if path.exists() else None   # no file yet: the first page builds the demo
    if problem is None and roles() is not None and not _records_writable(path):
        problem = "the app's records beside the database cannot be written, so a sign-out would not hold"
    _health = (now, problem)
    return problem


def _records_writable(data_path) -> bool:
    from stls.store.records import records_path
    records = records_path(data_path)
    return os.access(records, os.W_OK) if records.exists() else os.access(records.parent, os.W_OK)


# --- the middleware -----------------------------------------------------------------------------

async def _respond(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


def _route(scope: Scope) -> str:
    """The request's path without the server's base URL path."""
    from streamlit import config
    base = "/" + (config.get_option("server.baseUrlPath") or "").strip("/")
    path = scope.get("path", "")
    root = scope.get("root_path", "")   # `uvicorn --root-path /dash` puts the prefix in front of the path
    if root and path.startswith(root):
        path = path[len(root):] or "/"
    return path[len(base):] if base != "/" and path.startswith(base) else path


def _length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class Guard:
    """The ASGI middleware (see the module's docstring)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = await _refusal(scope)
            if refusal is not None:
                return await _respond(send, *refusal)
        return await self.app(scope, receive, send)


async def _refusal(scope: Scope) -> tuple[int, str] | None:
    """The answer (status, text) to give an HTTP request instead of passing it to Streamlit, or
    None to pass it on (a sign-out is recorded first)."""
    from anyio import to_thread
    path, method = _route(scope), scope.get("method", "GET")
    if path.startswith("/_stcore/upload_file/") and method in ("PUT", "POST"):
        return _upload_refusal(scope, path)
    if path.startswith("/media/"):
        who = await to_thread.run_sync(request_visitor, scope)
        return None if who.may_view else (403, "Sign in to download files from STLS Insight.")
    if path == "/auth/logout":
        await to_thread.run_sync(record_sign_out, scope)
    elif path == "/_stcore/metrics":
        return 404, "Not found."
    elif path == "/_stcore/health":
        problem = await to_thread.run_sync(health)
        if problem:
            return 503, f"database unavailable: {problem}"
    return None


def _upload_refusal(scope: Scope, path: str) -> tuple[int, str] | None:
    """Why an upload is refused before its body is read (no grant, no length, too large), or None."""
    session_id = path.split("/")[3] if path.count("/") >= 3 else ""
    if not may_upload(session_id):
        LOG.warning("upload refused: session %s may not upload", session_id[:8])
        return 403, "Uploading needs the data owner role or the import key."
    length = _length(scope)
    if length is None:
        return 411, "An upload must say its length."
    if length > upload_limit_bytes():
        return 413, "The file is larger than this server's upload limit."
    return None


def _refuse_clear_cache(self) -> None:   # AppSession method: see install()
    LOG.warning("a browser asked to clear the server-wide caches; refused")


def install() -> None:
    """A browser's "clear cache" request (any client can send it over the websocket, and it
    empties every session's cached figures and database handles) is logged and ignored."""
    from streamlit.runtime.app_session import AppSession
    AppSession._handle_clear_cache_request = _refuse_clear_cache  # type: ignore[method-assign]
