"""The Airflow UI's base URL: the target of every Reconnect button and alert link.

It is configuration: the ``sendgrid_connect_base_url`` Variable
(:data:`~sendgrid_hook.constants.CONNECT_BASE_URL_VARIABLE`, or its ``AIRFLOW_VAR_`` form),
Airflow's ``[api] base_url``, the dashboard's ``--connect-base-url``. A link only ever opens
``http`` or ``https``: a ``javascript:`` or ``data:`` value would run in the reader's browser
when a button is clicked. :func:`checked_base_url` is the one rule, applied where the value is
read, so a wrong value is a clear error there, never a link.
"""

from __future__ import annotations

from urllib.parse import urlsplit

#: The schemes a base URL may have.
BASE_URL_SCHEMES = ("http", "https")


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
