"""Keep secrets out of logs, exception texts and warehouse rows.

Two layers: every secret the hook handles is registered with Airflow's secret masker
(:func:`register_secret`, which also remembers it locally), and :func:`scrub` removes both
the registered values and anything that *looks* like a credential (SendGrid keys, bearer
headers, OAuth token fields, sensitive query parameters) from free text before it is logged,
raised or stored. :class:`ScrubFilter` applies :func:`scrub` to third-party loggers that
are known to log token bodies at DEBUG level (``requests_oauthlib``).
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
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
_PATTERNS = (
    re.compile(r"SG\.[A-Za-z0-9_\-]{6,}\.[A-Za-z0-9_\-]{6,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=\-]+"),
    re.compile(
        r"(?i)([\"']?(?:access_token|refresh_token|client_secret|id_token|code_verifier|password)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"
    ),
)
_known: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None, name: str | None = None) -> None:
    """Register ``value`` with Airflow's masker and with :func:`scrub`.

    Args:
        value: The secret; empty values and very short strings are ignored.
        name: Field name, passed to Airflow's masker.
    """
    if not value or len(value) < 6:
        return
    with _lock:
        _known.add(value)
    try:
        from airflow.sdk.log import mask_secret

        mask_secret(value, name)
    except Exception:  # noqa: S110 - masking is best effort outside an Airflow runtime
        pass


def scrub(text: object) -> str:
    """Return ``text`` as a string with known secrets and credential-like values masked."""
    out = str(text)
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in out:
            out = out.replace(value, MASK)
    out = _PATTERNS[0].sub(MASK, out)
    out = _PATTERNS[1].sub(lambda m: m.group(1) + MASK, out)
    return _PATTERNS[2].sub(lambda m: m.group(1) + MASK, out)


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
