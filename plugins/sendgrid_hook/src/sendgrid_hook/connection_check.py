"""The answer of a ``sendgrid`` connection's Test button (:meth:`SendGridHook.test_connection`).

One ``GET /v3/scopes`` (and ``GET /v3/user/username`` when granted, to name the account): the
credential works, which required scopes it lacks (the streams skipped until they are granted)
and which optional feature scopes are not granted. Never raises: every failure is the answer's
text, scrubbed of secrets.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sendgrid_hook.constants import INTERACTIVE_TIME_BUDGET_SECONDS, TEST_COPY_EXTRA
from sendgrid_hook.display import plural
from sendgrid_hook.errors import ReconnectRequired, SendGridError, SendGridTimeBudgetExceededError
from sendgrid_hook.redaction import scrub
from sendgrid_hook.scopes import missing_scopes, scope_requirements

if TYPE_CHECKING:
    from sendgrid_hook.hooks.sendgrid import SendGridHook

log = logging.getLogger(__name__)


def check_connection(hook: SendGridHook) -> tuple[bool, str]:
    """Test ``hook``'s credential: ``(works with every required scope, message)``.

    An OAuth connection tested through Airflow's ``POST /api/v2/connections/test`` (a copy
    under a random id, marked with :data:`~sendgrid_hook.constants.TEST_COPY_EXTRA`) is not
    refreshed: the rotated refresh token would be lost with the copy.
    """
    try:
        if hook.settings.auth_type == "oauth2" and _is_test_copy(hook):
            return False, (
                "Not tested here: this is an OAuth connection, and Airflow's Test runs on a "
                "copy under a random id, where a token refresh would rotate the stored "
                "refresh token away. Use Test on Admin -> SendGrid connections, or run "
                "`airflow connections test <conn id>`."
            )
        budget = hook.set_time_budget(INTERACTIVE_TIME_BUDGET_SECONDS)
        granted = hook.granted_scopes()
        needs = scope_requirements()
        required = hook.settings.required_scopes or needs.required
    except SendGridTimeBudgetExceededError as exc:
        return False, (
            f"SendGrid connection test could not finish within {budget:g} s ({scrub(exc)}): "
            "SendGrid is slow or rate-limiting this credential; try again later."
        )
    except ReconnectRequired as exc:
        return False, f"SendGrid refused the credential ({exc.reason}): {scrub(exc)}"
    except SendGridError as exc:
        return False, f"SendGrid connection test failed: {scrub(exc)}"
    except Exception as exc:
        return False, f"SendGrid connection test failed: {type(exc).__name__}: {scrub(exc)}"
    missing = missing_scopes(required, granted)
    optional = missing_scopes(needs.optional, granted)
    note = f" Not granted (features not licensed?): {', '.join(optional)}." if optional else ""
    # Airflow's Test button tests a copy under a random id: name the tenant only if named
    who = "" if hook.display_name == hook.tenant_id else f" as '{hook.display_name}'"
    who += _account_note(hook)
    if missing:
        return False, (
            f"Connected to SendGrid{who}, but the credential is missing {len(missing)} "
            f"required {plural('scope', len(missing))}; these streams are skipped until "
            f"they are granted: {needs.describe(missing)}.{note}"
        )
    return True, (
        f"Connected to SendGrid{who}: {len(granted)} scopes granted, "
        f"all {len(required)} required scopes present.{note}"
    )


def _is_test_copy(hook: SendGridHook) -> bool:
    """Whether the connection is Airflow's copy of one under test (marked by the form)."""
    try:
        extra = hook.get_connection(hook.sendgrid_conn_id).extra_dejson
    except Exception:  # a candidate hook (settings given) may have no stored connection
        return False
    return bool(extra.get(TEST_COPY_EXTRA))


def _account_note(hook: SendGridHook) -> str:
    """`` (account 'acme', user id 42)`` for a Test's answer; empty when unknown."""
    try:
        account = hook.account_identity()
    except SendGridError as exc:
        log.info("SendGrid account not named in the test: %s", scrub(exc))
        return ""
    return f" ({scrub(account.label())})" if account else ""  # the server's text: scrubbed
