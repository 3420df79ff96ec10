"""Keep secrets out of logs, exception texts and warehouse rows.

Two layers: every secret the hook handles is registered with Airflow's secret masker
(:func:`register_secret`, which also remembers it locally), and :func:`scrub` removes both
the registered values and anything that *looks* like a credential (SendGrid keys, bearer
headers, OAuth token fields, sensitive query parameters) from free text before it is logged,
raised or stored. :class:`ScrubFilter` applies :func:`scrub` to third-party loggers that
are known to log token bodies at DEBUG level (``requests_oauthlib``).

A secret is masked in every form it travels in, not only verbatim: URL-encoded (form bodies,
query strings), base64 (standard and URL-safe, padded or not; also the HTTP Basic header of a
known ``user:secret`` pair, :func:`register_basic_auth`), JSON-escaped (slashes, non-ASCII), and
**split across lines**: a fragment of at least :data:`MIN_FRAGMENT` characters that ends a line
while the secret begins with it, or begins a line while the secret ends with it, is masked too
(a terminal or log shipper wrapping a long token, a log record cut in two).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from functools import lru_cache
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

MASK = "***"
#: Shortest piece of a secret masked at a line boundary (shorter pieces reveal too little).
MIN_FRAGMENT = 4
SENSITIVE_PARAMS = frozenset(
    {
        "access_token",
        "refresh_token",
        "client_secret",
        "code",
        "code_verifier",
        "password",
        "api_key",
        "apikey",
        "token",
        "id_token",
    }
)
#: A URL's user info before its ``@``: ``user`` or ``user:password``, the password possibly
#: with a ``/`` (not allowed unescaped, but pasted) unless it reads as a port and a path.
USER_INFO = r"""(?:[^/@\s'":]*:(?!/|\d+(?:[/\s'"]|$))[^@\s'"]*|[^/@\s'"]*)"""
_PATTERNS = (
    re.compile(r"SG\.[A-Za-z0-9_\-]{6,}\.[A-Za-z0-9_\-]{6,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=\-]+"),
    re.compile(
        r"(?i)([\"']?(?:access_token|refresh_token|client_secret|id_token|code_verifier|password)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"
    ),
    # a URL's user info (``//user:password@host``), also a password with an unescaped ``/``
    # (``//ops:pa/ss@host``); a port and a path (``//host:443/v3/bounces/a@x.org``) are kept
    re.compile(r"(//)(?:" + USER_INFO + "@)+"),  # up to the last ``@``, as urlsplit reads it
)
_known: set[str] = set()  # every form of every registered secret
_originals: set[str] = set()  # the secrets themselves (for fragments at line boundaries)
_lock = threading.Lock()


def forms(value: str) -> set[str]:
    """The forms in which ``value`` may appear in text: verbatim, encoded, escaped."""
    raw = value.encode()
    variants = {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(value)[1:-1].replace("/", "\\/"),
    }
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode()
        variants |= {text, text.rstrip("=")}
    return {v for v in variants if len(v) >= 6}


def register_secret(value: str | None, name: str | None = None) -> None:
    """Register ``value`` (all its :func:`forms`) with Airflow's masker and with :func:`scrub`.

    Args:
        value: The secret; empty values and very short strings are ignored.
        name: Field name, passed to Airflow's masker.
    """
    if not value or len(value) < 6:
        return
    variants = forms(value)
    with _lock:
        _known.update(variants)
        _originals.add(value)
    # In Airflow's masker (patterns in no particular order) unpadded base64 may win over the
    # padded form and leave its "=" padding: harmless, no character of the secret remains.
    _mask_in_airflow(variants, name)


#: A secret shorter than this is not looked for inside records: a short user-chosen value
#: (``abc123``) would also mask ordinary text (``abc123@example.com``).
ECHO_MIN_LENGTH = 16


@lru_cache(maxsize=256)
def echo_forms(values: tuple[str | None, ...]) -> tuple[str, ...]:
    """The :func:`forms` of ``values`` worth looking for inside records, longest first.

    Only forms of :data:`ECHO_MIN_LENGTH` characters or more count (see there).
    """
    found: set[str] = set()
    for value in values:
        if value and len(value) >= ECHO_MIN_LENGTH:
            found |= forms(value)
    return tuple(sorted((f for f in found if len(f) >= ECHO_MIN_LENGTH), key=len, reverse=True))


def register_basic_auth(user: str | None, secret: str | None) -> None:
    """Register the HTTP Basic credentials ``base64(user:secret)`` of a known pair."""
    if not secret or len(secret) < 6:
        return
    token = base64.b64encode(f"{user or ''}:{secret}".encode()).decode()
    with _lock:
        _known.update({token, token.rstrip("=")})
    _mask_in_airflow({token}, "authorization")


def _mask_in_airflow(values: set[str], name: str | None) -> None:
    try:
        from airflow.sdk.log import mask_secret

        for value in values:
            mask_secret(value, name)
    except Exception:  # noqa: S110 - masking is best effort outside an Airflow runtime
        pass


_longest_first: tuple[str, ...] = ()  # _known sorted, rebuilt when a form is added


def registered_forms() -> tuple[str, ...]:
    """Every registered form of every secret, longest first (the set only grows)."""
    global _longest_first
    if len(_longest_first) != len(_known):
        with _lock:
            _longest_first = tuple(sorted(_known, key=len, reverse=True))
    return _longest_first


def mask_known(text: str) -> str:
    """``text`` with every registered form of every secret replaced by :data:`MASK`.

    Only exact forms: :func:`scrub` adds cut fragments and credential-like patterns.
    """
    for form in registered_forms():
        if form in text:
            text = text.replace(form, MASK)
    return text


def mask_api_keys(text: str) -> str:
    """``text`` with every SendGrid API key (``SG.<id>.<secret>``) masked, whoever's it is."""
    return _PATTERNS[0].sub(MASK, text)


def scrub(text: object) -> str:
    """Return ``text`` as a string with known secrets and credential-like values masked."""
    out = mask_known(str(text))
    with _lock:
        originals = list(_originals)
    if originals:
        out = _mask_fragments(out, originals)
    out = mask_api_keys(out)
    out = _PATTERNS[1].sub(lambda m: m.group(1) + MASK, out)
    out = _PATTERNS[2].sub(lambda m: m.group(1) + MASK, out)
    return _PATTERNS[3].sub(lambda m: m.group(1) + MASK + "@", out)


def _mask_fragments(text: str, secrets: list[str]) -> str:
    """Mask pieces of secrets cut by a line break (or by the start/end of ``text``)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        for secret in secrets:
            line = _mask_edges(line, secret)
        lines[i] = line
    return "\n".join(lines)


def _mask_edges(line: str, secret: str) -> str:
    body = line.rstrip("\r")
    tail = line[len(body) :]
    longest = min(len(body), len(secret) - 1)
    for n in range(longest, MIN_FRAGMENT - 1, -1):  # a line ending with the secret's start
        if body.endswith(secret[:n]):
            body = body[:-n] + MASK
            break
    for n in range(min(len(body), len(secret) - 1), MIN_FRAGMENT - 1, -1):  # starting with its end
        if body.startswith(secret[-n:]):
            body = MASK + body[n:]
            break
    return body + tail


def scrub_url(url: str) -> str:
    """Return ``url`` with sensitive query parameters and user info masked."""
    parts = urlsplit(url)
    query = [
        (k, MASK if k.lower() in SENSITIVE_PARAMS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return scrub(urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), "")))


def url_origin(url: str) -> str:
    """Only the scheme, host and port of ``url`` (a customer's webhook or token endpoint).

    User info, path, query and fragment can all carry a third party's credentials (basic auth
    in the URL, a token in a catch-hook path or a ``?key=`` parameter); the origin is what
    tells which service receives the events. Text that is not an absolute URL becomes
    :data:`MASK` unless it is empty.
    """
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return MASK if url else url
    if not (parts.scheme and host):
        return MASK if url else url
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


class ScrubFilter(logging.Filter):
    """Logging filter that renders a record's message and scrubs it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler
            return True
        record.msg = scrub(message)
        record.args = None
        return True


_FILTERED_LOGGERS = (
    "requests_oauthlib.oauth2_session",
    "oauthlib.oauth2.rfc6749.parameters",
    "oauthlib.oauth2.rfc6749.clients.base",
    "urllib3.connectionpool",
)
_installed = False


def install_log_filters() -> None:
    """Attach :class:`ScrubFilter` to third-party loggers that may log tokens (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    for name in _FILTERED_LOGGERS:
        logging.getLogger(name).addFilter(ScrubFilter())
