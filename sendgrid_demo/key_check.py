"""``make run``'s first step: one cheap request with the key before any DAG runs.

``GET /v3/scopes`` through the project's :class:`~sendgrid_hook.hooks.sendgrid.SendGridHook`
(the tenant's connection, so ``SENDGRID_BASE_URL`` and ``SENDGRID_REGION`` apply), with short
timeouts and one retry: an unreachable host or a rejected key is named within seconds, instead
of after the extract task's retries, and the key itself is never printed.

Airflow must be configured (its environment exported) before this module's functions run: the
hook reads the connection through Airflow.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

#: The check's own limits: fail fast (the pipeline's requests keep the connection's limits).
QUICK_LIMITS = {"connect_timeout": 5.0, "read_timeout": 20.0, "request_timeout": 30.0}
QUICK_RETRIES = 1


def check_key(conn_id: str) -> tuple[bool, str]:
    """Ask SendGrid whether the connection's key works (one ``GET /v3/scopes``, one retry).

    Args:
        conn_id: The tenant's Airflow connection (here ``AIRFLOW_CONN_*`` from the environment).

    Returns:
        ``(True, what was found)`` or ``(False, the problem and what to do)``; neither names
        the key.
    """
    from sendgrid_hook.errors import (
        ReconnectRequired,
        SendGridConfigError,
        SendGridError,
        SendGridForbiddenError,
        SendGridRetriableError,
        is_data_residency,
    )
    from sendgrid_hook.hooks.sendgrid import SendGridHook
    from sendgrid_hook.redaction import scrub
    from sendgrid_hook.scopes import missing_scopes, scope_requirements

    try:
        settings = SendGridHook(conn_id).settings
    except SendGridConfigError as exc:
        return False, f"the SendGrid settings are not valid: {scrub(exc)}"
    host = urlsplit(settings.base_url).netloc or settings.base_url
    quick = dataclasses.replace(settings, max_retries=QUICK_RETRIES, **QUICK_LIMITS)
    hook = SendGridHook(conn_id, settings=quick)
    try:
        granted = hook.granted_scopes()
    except ReconnectRequired:
        return False, (
            f"SendGrid at {host} rejected the API key (401 Unauthorized): it is mistyped, "
            "revoked or deleted. Create a key (SendGrid: Settings -> API Keys; README: Connect "
            "a real SendGrid account) and put it in SENDGRID_API_KEY."
        )
    except SendGridRetriableError as exc:
        if exc.status_code is None:  # no HTTP answer at all: DNS, refused, timeout, TLS
            return False, (
                f"cannot reach SendGrid at {host}: {scrub(exc)}. Check the network, a proxy "
                "(HTTPS_PROXY) or SENDGRID_BASE_URL."
            )
        return False, f"SendGrid at {host} did not answer: {scrub(exc)}. Try again later."
    except SendGridError as exc:
        hint = ""
        if is_data_residency(exc):
            hint = " The account's data is in another region: set SENDGRID_REGION (global | eu)."
        elif isinstance(exc, SendGridForbiddenError):
            hint = " Check the key's access (README: Connect a real SendGrid account)."
        return False, f"SendGrid at {host} refused GET /v3/scopes: {scrub(exc)}.{hint}"
    finally:
        hook.close()
    lacking = missing_scopes(settings.required_scopes or scope_requirements().required, granted)
    note = (
        f"; {len(lacking)} required scopes missing, their streams are skipped: "
        + ", ".join(lacking)
        if lacking
        else ""
    )
    return True, f"SendGrid at {host} accepted the API key ({len(granted)} scopes granted{note})"
