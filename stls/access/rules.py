"""Who may do what when the dashboard runs behind the council's sign-in (``[auth]`` configured).

Three roles, each including the one before: a **viewer** sees every page; a **data owner** may
also load and replace files on the Data page; an **administrator** may do everything (today,
what a data owner may; the role exists so that the council can name who runs the service).

Roles are given by rules on the signed-in person's identity token: an email address, an email
domain, or a group (or app role) named in a claim such as ``groups`` or ``roles`` (Microsoft
Entra ID sends group object ids or app role names there). They are declared in a ``[roles]``
section of ``.streamlit/secrets.toml`` or in a small TOML file (``STLS_ROLES``, default
``.streamlit/roles.toml``)::

    groups_claim = "roles"          # the token claim that lists groups or app roles
    session_hours = 8               # a sign-in older than this must be made again
    # emails_verified_by_provider = true   # only for a provider that sends no email_verified
    #                                      # claim and owns every address it signs in (one tenant)

    [viewer]
    domains = ["kent.gov.uk"]

    [data_owner]
    emails = ["stls.data@kent.gov.uk"]
    groups = ["STLS.DataOwner"]

    [administrator]
    emails = ["head.of.sen@kent.gov.uk"]

Email and domain rules match only a **verified** address: the token's ``email_verified`` claim is
true (or ``emails_verified_by_provider`` says the provider owns its addresses); an unverified
address gets no role from them (groups still count: the provider asserts them). A sign-in that
was signed out (``stls.store.records``) is refused on every replica, whatever cookie carries it.

A bad file is refused at start (``python -m stls serve``) with its source, key and value. This
module knows nothing of Streamlit: ``stls.ui.signin`` applies it to ``st.user``.
"""
from __future__ import annotations

import enum
import os
import re
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ROLES_ENV = "STLS_ROLES"
DEFAULT_ROLES_FILE = Path(".streamlit") / "roles.toml"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class Role(enum.IntEnum):
    viewer = 1
    data_owner = 2
    administrator = 3

    @property
    def label(self) -> str:
        return {"viewer": "viewer", "data_owner": "data owner", "administrator": "administrator"}[self.name]


class ConfigError(ValueError):
    """A roles or sign-in configuration that cannot be used: says where and what."""


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    emails: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)

    @field_validator("emails")
    @classmethod
    def _emails(cls, values: list[str]) -> list[str]:
        for v in values:
            if not _EMAIL.match(v):
                raise ValueError(f"{v!r} is not an email address")
        return [v.lower() for v in values]

    @field_validator("domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        for v in values:
            if not _DOMAIN.match(v):
                raise ValueError(f"{v!r} is not an email domain (write kent.gov.uk, without @)")
        return [v.lower() for v in values]

    @field_validator("groups")
    @classmethod
    def _groups(cls, values: list[str]) -> list[str]:
        for v in values:
            if not v.strip():
                raise ValueError("a group name is empty")
        return values

    def matches(self, email: str | None, groups: set[str]) -> bool:
        if email and (email in self.emails or email.rsplit("@", 1)[-1] in self.domains):
            return True
        return bool(groups & set(self.groups))

    @property
    def empty(self) -> bool:
        return not (self.emails or self.domains or self.groups)


class Roles(BaseModel):
    model_config = ConfigDict(extra="forbid")
    groups_claim: str = "groups"
    session_hours: float = Field(8.0, gt=0, le=24 * 30)
    emails_verified_by_provider: bool = False
    viewer: Rule = Field(default_factory=Rule)
    data_owner: Rule = Field(default_factory=Rule)
    administrator: Rule = Field(default_factory=Rule)

    def role_for(self, claims: Mapping[str, Any]) -> Role | None:
        """The highest role the token's claims are given, or None (signed in, but no role)."""
        if self.emails_verified_by_provider:   # the provider owns its addresses (Entra ID's UPN included)
            email = claims.get("email") or claims.get("preferred_username")
        else:   # email_verified vouches for the email claim only, never for preferred_username
            email = claims.get("email") if email_verified(claims) else None
        email = email.lower() if isinstance(email, str) and "@" in email else None
        raw = claims.get(self.groups_claim) or []
        groups = {str(g) for g in (raw if isinstance(raw, list | tuple) else [raw])}
        for role in sorted(Role, reverse=True):
            if getattr(self, role.name).matches(email, groups):
                return role
        return None


def email_verified(claims: Mapping[str, Any]) -> bool:
    """Whether the token says its email address is verified (``true``, or the string some
    providers send)."""
    flag = claims.get("email_verified")
    return flag is True or (isinstance(flag, str) and flag.strip().lower() == "true")


def sign_in_token(claims: Mapping[str, Any]) -> str:
    """One sign-in's name for the records: its issuer, subject (or email) and time of issue, hashed.
    A copied cookie carries the same claims, so it carries the same token."""
    import hashlib
    import json
    who = claims.get("sub") or claims.get("email") or claims.get("preferred_username")
    raw = json.dumps([claims.get("iss"), claims.get("provider"), who, claims.get("iat")], default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


MIN_IMPORT_KEY = 12   # characters: the one rule for an import key, at `python -m stls key` and on the Data page


def import_key_problem(key: str) -> str | None:
    """Why ``key`` cannot be an import key (too short), or None. The CLI refuses to hash such a
    key and the Data page refuses it even when a hash made some other way matches it."""
    if len(key) < MIN_IMPORT_KEY:
        return f"an import key has at least {MIN_IMPORT_KEY} characters (this one has {len(key)})"
    return None


def parse(data: Mapping[str, Any], source: str) -> Roles:
    """Roles from a TOML table, or ``ConfigError`` naming ``source``, the key and the value."""
    try:
        roles = Roles.model_validate(dict(data))
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"]) or "(top level)"
            message = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                message = ("unknown key (roles are viewer, data_owner, administrator; each has emails, domains, "
                           "groups; also groups_claim, session_hours, emails_verified_by_provider)")
            problems.append(f"{where}: {message}")
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None
    if all(getattr(roles, r.name).empty for r in Role):
        raise ConfigError(f"{source}: no one is given a role (add emails, domains or groups under viewer, "
                          "data_owner or administrator)")
    return roles


def roles_file() -> Path:
    return Path(os.environ.get(ROLES_ENV) or DEFAULT_ROLES_FILE)


def load(secrets: Mapping[str, Any]) -> Roles:
    """The roles: the secrets' ``[roles]`` section if there is one, else the roles file."""
    if "roles" in secrets:
        section = secrets["roles"]
        if not isinstance(section, Mapping):
            raise ConfigError("secrets.toml: roles must be a table ([roles])")
        return parse(section, "secrets.toml [roles]")
    path = roles_file()
    if not path.exists():
        raise ConfigError(f"sign-in is configured ([auth] in secrets.toml) but no roles are: add a [roles] section "
                          f"to secrets.toml or a roles file at {path} (or set {ROLES_ENV})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read as TOML ({exc})") from None
    return parse(data, str(path))


AUTH_KEYS = ("client_id", "client_secret", "server_metadata_url")


def providers(auth: Mapping[str, Any]) -> list[str | None]:
    """The providers an ``[auth]`` section configures: None for one unnamed provider (its keys
    directly under ``[auth]``), else each ``[auth.<name>]``'s name."""
    named: list[str | None] = [k for k, v in auth.items() if isinstance(v, Mapping)]
    return [None] if "client_id" in auth or not named else named


def check_auth(auth: Mapping[str, Any]) -> None:
    """The ``[auth]`` keys Streamlit needs, named when missing (Streamlit would only say so at
    the first sign-in)."""
    missing = [k for k in ("redirect_uri", "cookie_secret") if not auth.get(k)]
    for name in providers(auth):
        section = auth if name is None else auth[name]
        missing += [k if name is None else f"{name}.{k}" for k in AUTH_KEYS if not section.get(k)]
    if missing:
        raise ConfigError("secrets.toml [auth]: missing " + ", ".join(missing))
    if len(str(auth["cookie_secret"])) < 32:
        raise ConfigError("secrets.toml [auth]: cookie_secret is shorter than 32 characters "
                          "(make one with: python -c \"import secrets; print(secrets.token_hex(32))\")")
    if not str(auth["redirect_uri"]).endswith("/oauth2callback"):
        raise ConfigError(f"secrets.toml [auth]: redirect_uri must end with /oauth2callback "
                          f"(it is {auth['redirect_uri']!r})")


_checked: dict[tuple[str, str, float | None], Roles | None] = {}


def validated(secrets: Mapping[str, Any]) -> Roles | None:
    """``validate``, done once per secrets and roles file rather than on every page run and every
    request (a changed roles file is read again; a bad one raises each time)."""
    path = roles_file()
    try:
        stamp: float | None = path.stat().st_mtime
    except OSError:
        stamp = None
    key = (repr(secrets), str(path), stamp)
    if key not in _checked:
        roles = validate(secrets)
        _checked.clear()   # one configuration is current; an old one is not kept
        _checked[key] = roles
    return _checked[key]


def validate(secrets: Mapping[str, Any]) -> Roles | None:
    """None when sign-in is not configured (the open local demo); else the roles, every part of
    the configuration checked first."""
    auth = secrets.get("auth")
    if not auth:
        return None
    if not isinstance(auth, Mapping):
        raise ConfigError("secrets.toml: auth must be a table ([auth])")
    check_auth(auth)
    return load(secrets)


@dataclass(frozen=True)
class Visitor:
    """This session's person, as the dashboard treats them."""
    open: bool                     # no sign-in configured: everyone may view; uploads need the import key
    signed_in: bool = False
    email: str | None = None
    role: Role | None = None
    refused: str | None = None     # why a signed-in person sees no figures (no role, session too old)

    @property
    def may_view(self) -> bool:
        return self.open or (self.signed_in and self.role is not None and not self.refused)

    @property
    def may_import(self) -> bool:
        """Whether the Data page offers the upload without the import key (a data owner or an
        administrator signed in). With no sign-in configured the import key decides."""
        return not self.open and self.may_view and self.role is not None and self.role >= Role.data_owner

    @property
    def actor(self) -> str:
        """Who an import is logged as."""
        if self.open:
            return "import key (no sign-in configured)"
        return f"{self.email or 'unknown'} ({self.role.label if self.role else 'no role'})"


def visitor(roles: Roles | None, claims: Mapping[str, Any], now: float | None = None,
            signed_out: bool = False) -> Visitor:
    """The visitor for a session's identity claims (``st.user``): refused when signed in without a
    role, with a sign-in older than ``session_hours`` (by the identity token's ``iat``), or with a
    sign-in that was signed out (``signed_out``: ``stls.store.records`` says so for its token)."""
    if roles is None:
        return Visitor(open=True)
    if not claims.get("is_logged_in"):
        return Visitor(open=False)
    email = claims.get("email") or claims.get("preferred_username")
    email = str(email) if email else None
    now = time.time() if now is None else now
    issued = claims.get("iat")
    if not isinstance(issued, int | float) or isinstance(issued, bool):
        return Visitor(False, True, email, None, "your sign-in carries no time of issue; sign in again")
    if now - issued > roles.session_hours * 3600:
        return Visitor(False, True, email, None, f"your sign-in is more than {roles.session_hours:g} hours old; "
                                                  "sign in again")
    if signed_out:
        return Visitor(False, True, email, None, "this sign-in was signed out; sign in again")
    role = roles.role_for(claims)
    if role is None:
        why = ("has no role in STLS Insight" if email_verified(claims) or roles.emails_verified_by_provider
               else "has no role in STLS Insight (the sign-in provider has not verified its email address, so "
                    "rules by address do not apply)")
        return Visitor(False, True, email, None, f"{email or 'this account'} {why}: ask the "
                                                  "dashboard's administrator to add you")
    return Visitor(False, True, email, role)
