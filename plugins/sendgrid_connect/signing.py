"""Signed values of the Connect page: OAuth ``state``, invite links, CSRF tokens, flash messages.

Everything is signed with a key derived from Airflow's ``[api] secret_key`` (shared by all API
server instances, as Airflow requires) and a purpose-specific salt, so a value signed for one
purpose is never accepted for another. Signatures carry their issue time; every ``loads``
checks a maximum age. Single use is *not* a property of the signature: it comes from the nonce
table (:mod:`.nonces`).

The PKCE ``code_verifier`` is never stored or sent to the browser: it is derived from the
flow's nonce with an HMAC under the same key (:func:`pkce_verifier`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import posixpath
from functools import cache
from typing import Any
from urllib.parse import unquote, urlsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sendgrid_hook.constants import CONNECT_APP_PREFIX as APP_PREFIX
from sendgrid_hook.constants import CONNECT_PAGE_PATH

STATE_TTL = 600  # seconds between "Connect" and the provider redirecting back
CSRF_TTL = 8 * 3600
FLASH_TTL = 300
INVITE_TTL = 72 * 3600
INVITE_FORM_TTL = 3600  # the invitee's landing page, until "Continue to SendGrid"

SALT_STATE = "sendgrid-connect/oauth-state"
# Invite links of old carried the token in their path, which the access log records: a new
# salt retires every token signed for that form, so none sitting in a log can be used.
SALT_INVITE = "sendgrid-connect/invite-fragment"
SALT_INVITE_FORM = "sendgrid-connect/invite-form"
SALT_CSRF = "sendgrid-connect/csrf"
SALT_FLASH = "sendgrid-connect/flash"


class InvalidSignedValue(ValueError):
    """A signed value was missing, tampered with, expired, or signed for another purpose."""


@cache
def server_secret() -> bytes:
    """The key every signature of this app uses (derived, never Airflow's key itself)."""
    from airflow.configuration import conf

    base = conf.get("api", "secret_key", fallback="") or conf.get("core", "fernet_key", fallback="")
    if not base:
        raise RuntimeError("[api] secret_key is not configured: the Connect page cannot sign")
    return hmac.new(base.encode(), b"sendgrid-connect-page/v1", hashlib.sha256).digest()


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(server_secret(), salt=salt)


def sign(value: Any, salt: str) -> str:
    """Sign a JSON-serialisable ``value`` for ``salt``."""
    return _serializer(salt).dumps(value)


def unsign(token: str | None, salt: str, max_age: int) -> Any:
    """Verify and decode ``token``.

    Raises:
        InvalidSignedValue: Missing, bad signature, wrong salt or older than ``max_age``.
    """
    if not token or len(token) > 4096:
        raise InvalidSignedValue("missing")
    try:
        return _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise InvalidSignedValue("expired") from None
    except BadSignature:
        raise InvalidSignedValue("bad signature") from None


def pkce_verifier(nonce: str) -> str:
    """RFC 7636 ``code_verifier`` (43 chars) of the flow ``nonce``; secret, never stored."""
    mac = hmac.new(server_secret(), f"pkce:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def digest(value: str) -> str:
    """Keyed hash of a browser-binding cookie (the table stores only this)."""
    return hmac.new(server_secret(), f"bind:{value}".encode(), hashlib.sha256).hexdigest()


def identity_fingerprint(identity: str) -> str:
    """Keyed hash of a connection's identity (what an invite link is bound to)."""
    return hmac.new(server_secret(), f"identity:{identity}".encode(), hashlib.sha256).hexdigest()


def csrf_token(username: str) -> str:
    """CSRF token of a signed-in user (hidden field of every POST form)."""
    return sign({"u": username}, SALT_CSRF)


def csrf_valid(token: str | None, username: str) -> bool:
    """Whether ``token`` is a fresh CSRF token issued to ``username``."""
    try:
        data = unsign(token, SALT_CSRF, CSRF_TTL)
    except InvalidSignedValue:
        return False
    return isinstance(data, dict) and hmac.compare_digest(str(data.get("u", "")), username)


def safe_next(target: str | None, default: str = CONNECT_PAGE_PATH) -> str:
    """Return ``target`` if it is a path inside this app, else raise.

    Only same-origin absolute paths under ``/sendgrid/`` are accepted: no scheme, no host, no
    ``//``, no backslashes, no ``..`` escaping the prefix (checked after percent-decoding).

    Raises:
        InvalidSignedValue: The target points outside the app.
    """
    if target is None or target == "":
        return default
    decoded = unquote(unquote(target)).strip()
    if any(c in decoded for c in "\\\r\n\t\x00") or decoded.startswith("//"):
        raise InvalidSignedValue("redirect target outside the app")
    parts = urlsplit(decoded)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        raise InvalidSignedValue("redirect target outside the app")
    normalized = posixpath.normpath(parts.path)
    if normalized != APP_PREFIX and not normalized.startswith(APP_PREFIX + "/"):
        raise InvalidSignedValue("redirect target outside the app")
    return normalized + (f"?{parts.query}" if parts.query else "")
