"""The Airflow UI's base URL: the target of every Reconnect button and alert link.

It is configuration: the ``sendgrid_connect_base_url`` Variable
(:data:`~sendgrid_hook.constants.CONNECT_BASE_URL_VARIABLE`, or its ``AIRFLOW_VAR_`` form),
Airflow's ``[api] base_url``, the dashboard's ``--connect-base-url``. A link only ever opens
``http`` or ``https``: a ``javascript:`` or ``data:`` value would run in the reader's browser
when a button is clicked. :func:`checked_base_url` is the one rule, applied where the value is
read, so a wrong value is a clear error there, never a link. :func:`airflow_base_url` is the
one reader of Airflow's settings (the Variable, else ``[api] base_url``), for a batch's alert
settings and for an alert written without them.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from sendgrid_hook.airflow_reads import UnreadableError, read_variable
from sendgrid_hook.constants import CONNECT_BASE_URL_VARIABLE

#: The schemes a base URL may have.
BASE_URL_SCHEMES = ("http", "https")
#: Where alert links point when Airflow names no (valid) base URL.
DEFAULT_CONNECT_BASE_URL = "http://localhost:8080"


def checked_base_url(value: str, source: str) -> str:
    """``value`` without surrounding spaces and trailing ``/``, when an http(s) address.

    Args:
        value: The configured text.
        source: Where it was configured (named in the error).

    Raises:
        ValueError: ``value`` is not ``http(s)://host[/path]`` (another scheme, no host, a
            space or control character, a query or a fragment). The message names ``source``
            and the scheme found, never the value (it may embed a password).
    """
    text = value.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:  # an unbalanced "[" in the host
        parts, host = None, None
    scheme = parts.scheme.lower() if parts else ""
    if parts is None:
        found = "an address that does not parse"
    elif scheme not in BASE_URL_SCHEMES:
        found = f"a {scheme}: URL" if scheme else "no http:// or https:// scheme"
    elif not host or parts.query or parts.fragment:
        found = "no host, or a query or a fragment"
    elif not all(c.isprintable() and not c.isspace() for c in text):
        found = "a space or a control character"
    else:
        return text.rstrip("/")
    raise ValueError(
        f"{source} must be the Airflow UI's http(s) address, such as "
        f"https://airflow.example.com; found {found}"
    )


def airflow_base_url(logger: logging.Logger) -> str:
    """The base URL Airflow is configured with: the Variable, else ``[api] base_url``, checked.

    The Variable is :data:`~sendgrid_hook.constants.CONNECT_BASE_URL_VARIABLE`, read with
    :func:`~sendgrid_hook.airflow_reads.read_variable`; one that cannot be read is logged as a
    WARNING and counts as unset. Neither set:
    :data:`DEFAULT_CONNECT_BASE_URL`. A value that is not http(s) is never a link, and must not
    stop an alert or an extraction: it is logged as an ERROR on ``logger`` naming where it is
    set (:func:`checked_base_url`) and the default is returned.

    Args:
        logger: Where a refused value is reported (the caller's module).

    Returns:
        The checked base URL, or :data:`DEFAULT_CONNECT_BASE_URL`.
    """
    value, source = None, f"Variable {CONNECT_BASE_URL_VARIABLE}"
    try:
        value = read_variable(CONNECT_BASE_URL_VARIABLE)
    except UnreadableError as exc:
        logger.warning("%s: the alerts link to Airflow's [api] base_url (or %s) instead",
                       exc, DEFAULT_CONNECT_BASE_URL)  # fmt: skip
    except Exception:  # noqa: S110 - no Airflow SDK or configuration (outside Airflow)
        pass
    if not value:
        source = "Airflow's [api] base_url"
        try:
            from airflow.configuration import conf

            value = conf.get("api", "base_url", fallback=None)
        except Exception:  # noqa: S110 - no Airflow configuration
            pass
    if not value or not str(value).strip():
        return DEFAULT_CONNECT_BASE_URL
    try:
        return checked_base_url(str(value), source)
    except ValueError as exc:
        logger.error("%s; the alerts link to %s instead", exc, DEFAULT_CONNECT_BASE_URL)
        return DEFAULT_CONNECT_BASE_URL
