"""Where health alerts go: recipients, Slack connection and reminder period, from Variables.

Read once per batch (:meth:`AlertSettings.from_airflow`). A Variable that cannot be read (an
execution-API error) marks the settings ``unread``: an alert that then reaches no external
channel is released for the next run (:func:`sendgrid_elt.connection_health.send_alert`).
Read, but with neither recipients nor a Slack connection: one warning per read (per batch, per
failed run), since alerts then reach the task log only and count as sent. The Airflow UI's base
URL (the alerts' links) is resolved here too, once per batch
(:func:`sendgrid_hook.base_url.airflow_base_url`: the Variable, else ``[api] base_url``), so
no alert reads it again; one that is not http(s) is never sent as a link: it is logged as an
ERROR naming where it is set and the alerts link to the default address, as for a bad reminder
period, a misconfigured link must not stop the extraction.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field, replace
from typing import Any

from sendgrid_hook.airflow_reads import UnreadableError, read_variable
from sendgrid_hook.base_url import airflow_base_url, checked_base_url
from sendgrid_hook.errors import SendGridRetriableError

from sendgrid_elt.health_store import DEFAULT_REMINDER
from sendgrid_elt.settings import (
    ALERT_RECIPIENTS_VARIABLE,
    ALERT_SLACK_VARIABLE,
    RECONNECT_REMINDER_VARIABLE,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertSettings:
    """Where alerts go (defaults from Airflow Variables)."""

    to: tuple[str, ...] = ()
    smtp_conn_id: str = "smtp_default"
    from_email: str | None = None
    slack_webhook_conn_id: str | None = None
    connect_base_url: str | None = None
    reminder_after: dt.timedelta = DEFAULT_REMINDER
    extra_to: tuple[str, ...] = field(default_factory=tuple)
    #: The Variables could not all be read (an execution-API error): an alert that reached no
    #: external channel is released for the next run instead of counting as sent.
    unread: bool = False

    def __post_init__(self) -> None:
        """Refuse a base URL that is not http(s) (``ValueError``: the links would run it)."""
        if self.connect_base_url is not None:
            checked = checked_base_url(self.connect_base_url, "the alerts' connect_base_url")
            object.__setattr__(self, "connect_base_url", checked)

    @classmethod
    def from_airflow(cls, **overrides: Any) -> AlertSettings:
        """Settings from the alert Variables (recipients, Slack connection, reminder hours).

        Keyword arguments win over the Variables. The base URL is resolved here, once:
        the Variable, else Airflow's ``[api] base_url``, else the default link
        (:func:`~sendgrid_hook.base_url.airflow_base_url`). A reminder period that is not a
        positive number of hours, or a base URL that is no http(s) address (a ``javascript:``
        link would run in the reader's browser), is logged as an error and the default used:
        neither must stop the extraction.
        """
        unread: list[str] = []
        hours = _variable(RECONNECT_REMINDER_VARIABLE, unread)
        values: dict[str, Any] = {
            "to": tuple(_split(_variable(ALERT_RECIPIENTS_VARIABLE, unread))),
            "slack_webhook_conn_id": _variable(ALERT_SLACK_VARIABLE, unread),
            "reminder_after": _hours(hours),
            "unread": bool(unread),
        }
        if overrides.get("connect_base_url") is None:
            values["connect_base_url"] = airflow_base_url(log)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        if not settings.unread and not settings.has_channel:
            log.warning(
                "no alert channel configured (Variables %s and %s are unset): health and run "
                "failure alerts go to the task log only, and count as sent; tenants' own "
                "alert_emails still get mail (docs/deploy.md, Alerts)",
                ALERT_RECIPIENTS_VARIABLE,
                ALERT_SLACK_VARIABLE,
            )
        return settings

    def for_tenant(self, hook: Any) -> AlertSettings:
        """These settings plus the tenant connection's own ``alert_emails`` (``extra_to``).

        A connection that could not be read (an execution-API or secrets-backend error, which
        the hook raises as ``SendGridRetriableError``) marks the settings ``unread``: the
        tenant's recipients are unknown, so an alert no external channel took is released for
        the next run, as for unreadable alert Variables. One that no longer exists, or whose
        extra is invalid (the alert says so), adds no recipient.
        """
        try:
            emails = tuple(hook.settings.alert_emails)
        except SendGridRetriableError as exc:
            log.warning(
                "tenant %s: its alert_emails could not be read (%s): an alert no external "
                "channel takes is retried by the next run",
                hook.tenant_id,
                exc,
            )
            return replace(self, unread=True)
        except Exception:  # gone, or an invalid extra: the global recipients only
            emails = ()
        return replace(self, extra_to=emails)

    @property
    def has_channel(self) -> bool:
        """Global recipients or a Slack connection: an alert can reach someone off the log."""
        return bool(self.to or self.slack_webhook_conn_id)


def _variable(key: str, unread: list[str]) -> str | None:
    """The Variable's text (``None``: unset); a failed read is appended to ``unread``.

    Read with :func:`~sendgrid_hook.airflow_reads.read_variable`: the SDK's ``Variable.get`` takes
    an execution-API error for "unset", and the alerts then went to nobody, counted as sent.
    """
    try:
        value = read_variable(key)
    except Exception as exc:  # UnreadableError; outside Airflow, no SDK or configuration
        what = exc.what if isinstance(exc, UnreadableError) else type(exc).__name__
        log.warning("alert Variable %s could not be read (%s): alerts that reach no external "
                    "channel are retried by the next run", key, what)  # fmt: skip
        unread.append(key)
        return None
    return value if value else None


def _hours(value: str | None) -> dt.timedelta:
    """The reminder period from the Variable's text; the default when unset or not valid."""
    if not value:
        return DEFAULT_REMINDER
    try:
        hours = float(value)
    except ValueError:
        hours = float("nan")
    if not math.isfinite(hours) or hours <= 0:
        log.warning("Variable %s=%r is not a positive number of hours: %s used",
                    RECONNECT_REMINDER_VARIABLE, value[:40], DEFAULT_REMINDER)  # fmt: skip
        return DEFAULT_REMINDER
    return dt.timedelta(hours=hours)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").replace(";", ",").split(",") if v.strip()]


def undelivered(notifier: Any, settings: AlertSettings) -> bool:
    """Whether a sent alert is to be released for the next run (one rule for every alert).

    No external channel (mail, Slack) took it, and one failed or the settings could not be
    read (the recipients may be missing): the log alone does not count as told.
    """
    external = [channel for channel in notifier.delivered if channel != "log"]
    return not external and (bool(notifier.failed) or settings.unread)
