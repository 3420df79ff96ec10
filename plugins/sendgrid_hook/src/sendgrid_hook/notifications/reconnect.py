"""Tell an admin that a tenant's SendGrid access broke, still is broken, or works again.

Also that some of its data is not collected (``degraded``), and that those problems are over
(``resolved``).

:class:`ReconnectNotifier` is an Airflow ``BaseNotifier``: usable directly (``notifier(context)``)
or as ``on_failure_callback``. Channels: the task log (always), e-mail through the SMTP provider
(when recipients are given) and a Slack incoming webhook (when a webhook connection is given).
Deciding *whether* to alert (one per transition, reminders, recovery) is not its job: see
``sendgrid_elt.connection_health``.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal
from urllib.parse import urlencode

from airflow.sdk import BaseNotifier

from sendgrid_hook.base_url import airflow_base_url
from sendgrid_hook.constants import CONNECT_PAGE_PATH
from sendgrid_hook.redaction import scrub

log = logging.getLogger(__name__)
AlertKind = Literal["needs_reconnect", "reminder", "reconnected", "degraded", "resolved"]


def one_line(text: str) -> str:
    """``text`` as one line of an alert.

    Each run of spaces and non-printable characters (line breaks, ANSI escapes, bidi
    overrides) becomes one space. Names and reasons come from connection descriptions and
    SendGrid's answers: a line break in one broke the e-mail's headers or forged lines of the
    alert.
    """
    return re.sub(r"\s+", " ", "".join(c if c.isprintable() else " " for c in text)).strip()


def slack_text(text: str) -> str:
    """``text`` escaped for Slack: ``&``, ``<`` and ``>`` as entities.

    Slack reads ``<!channel>`` as a mention and ``<url|text>`` as a link showing only its text.
    ``*``, ``_``, ``~`` and backticks have no escape in Slack's markup: :func:`slack_message`
    turns the markup off instead.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(subject: str, body: str) -> dict[str, Any]:
    """The Slack webhook payload of an alert: its text, read literally.

    Names in an alert (a display name, a subuser, SendGrid's words) may hold ``*``, ``_``,
    ``~`` or backticks, which Slack's markup reads as bold, italics, strike-through or code
    (``*urgent*``, a name cut into italics). Slack has no escape for them, so the message
    turns the markup off (``mrkdwn: false``: the subject is a plain first line) and escapes the
    control characters, which Slack parses regardless (:func:`slack_text`).
    """
    return {"text": f"{slack_text(subject)}\n{slack_text(body)}", "mrkdwn": False}


def connect_url(tenant_id: str, base_url: str | None = None) -> str:
    """Link to the Connect page for ``tenant_id``.

    Without ``base_url`` (an alert built without settings) Airflow's is read as the alert is
    written (:func:`~sendgrid_hook.base_url.airflow_base_url`); ``AlertSettings.from_airflow``
    reads it once per batch instead.
    """
    root = (base_url or airflow_base_url(log)).rstrip("/")
    return f"{root}{CONNECT_PAGE_PATH}?{urlencode({'tenant': tenant_id})}"  # ids may hold '#'


def airflow_url(path: str, base_url: str | None = None) -> str:
    """Link to ``path`` (``/dags/...``) in the Airflow UI, on the Connect page's base URL."""
    return f"{(base_url or airflow_base_url(log)).rstrip('/')}{path}"


def compose(
    kind: AlertKind,
    *,
    tenant_id: str,
    display_name: str,
    reason: str,
    link: str,
    since: str | None = None,
    missing_scopes: Sequence[str] = (),
    problems: Sequence[str] = (),
) -> tuple[str, str]:
    """Return ``(subject, plain-text body)`` of an alert: who, why and what to do.

    ``problems``: the kinds of stream problems a ``degraded`` alert tells of (keys of
    :data:`PROBLEM_ADVICE`): its advice is theirs. ``display_name`` and ``reason`` are put on
    one line (:func:`one_line`; the reason after :func:`scrub`, which masks a secret's pieces
    at line breaks).
    """
    display_name, reason = one_line(display_name), one_line(scrub(reason))
    who = f"{display_name} ({tenant_id})"
    since_text = f" since {since}" if since else ""
    if kind == "reconnected":
        if missing_scopes:  # reconnected with a credential that still lacks scopes
            return (
                f"[SendGrid] {display_name}: access restored, some data still missing",
                f"SendGrid access for {who} works again; data collection has resumed.\n"
                + _missing_scopes_text(who, missing_scopes, link),
            )
        return (
            f"[SendGrid] {display_name}: access restored",
            f"SendGrid access for {who} works again; data collection has resumed.\n"
            f"No action needed.\nConnection page: {link}",
        )
    if kind == "degraded":
        return _degraded(who, display_name, reason, link, missing_scopes, problems)
    if kind == "resolved":
        earlier = f"Reported earlier: {reason}.\n" if reason else ""
        return (
            f"[SendGrid] {display_name}: resolved, all data collected again",
            f"SendGrid data collection for {who} is back to normal: every stream that failed or "
            "rejected records has loaded since, and no scope is missing.\n"
            f"{earlier}No action needed.\nConnection page: {link}",
        )
    prefix = "Reminder: " if kind == "reminder" else ""
    return (
        f"[SendGrid] {prefix}{display_name} needs to be reconnected",
        f"{prefix}SendGrid access for {who} stopped working{since_text}.\n"
        f"Why: {reason}\n"
        f"What to do: reconnect {display_name} (sign in to SendGrid and approve access, or enter "
        f"a new API key) on the SendGrid connections page:\n{link}\n"
        "Until then no data is collected for this tenant and its runs fail. Its batch is not "
        "retried for it, but a retry for another tenant's passing failure tries it again "
        "(without another alert).",
    )


def _missing_scopes_text(who: str, missing_scopes: Sequence[str], link: str) -> str:
    """What a credential lacks and what to do, for the degraded and the reconnected notices."""
    return (
        f"The SendGrid credential of {who} lacks these scopes: {', '.join(missing_scopes)}.\n"
        "Streams that need them are skipped; everything else is still collected.\n"
        "What to do: give the API key read access to these scopes (or reconnect with "
        f"them approved) on the SendGrid connections page:\n{link}"
    )


#: Kinds of stream problems (``compose(problems=...)``) and what an admin should know of each.
PROBLEM_ADVICE = {
    "failed": "Failed streams are retried by the next run.",
    "rejected": "Rejected records are kept in the staging table `rejects` with the reason.",
    "skipped_units": (
        "SendGrid refused the subusers named above, so their volume is missing from the totals "
        "(the rest of each stream was loaded). What to do in SendGrid: a subuser refused with "
        "451 keeps its data in the EU region: connect it as its own tenant with region eu; one "
        "refused with 403 or 404: check that the subuser is enabled and that this credential "
        "may read its data (the API key's scopes, the subuser's access). The next run reads it "
        "again."
    ),
    "refused_ids": (
        "SendGrid refused the ids named above (an API key, a template) while their list still "
        "reads, so their data (a key's scopes, a template's versions) is missing; the rows "
        "read before were kept and the rest of each stream was loaded. What to do in SendGrid: "
        "check that this credential may read them (the API key's scopes, the subuser's "
        "access). The next run reads them again."
    ),
    "held_deletions": (
        "A complete read of the units named above lacked most of their keys at once, which an "
        "incident at SendGrid (an empty or cut-short list) looks like as much as a real mass "
        "deletion: their rows were kept, none marked deleted. The next run decides: if its "
        "complete read misses them again they are marked deleted, if they are back nothing "
        "changes. Nothing to do, unless they should not have been deleted in SendGrid."
    ),
}


def _degraded(
    who: str,
    display_name: str,
    reason: str,
    link: str,
    missing_scopes: Sequence[str],
    problems: Sequence[str] = (),
) -> tuple[str, str]:
    """A degraded tenant: scopes missing, and/or stream problems, each kind with its advice.

    ``problems``: the kinds (failed streams, refused subusers, refused ids, held deletions,
    rejected records); none given reads as failed or rejected.
    """
    parts, why = [], []
    if missing_scopes:
        why.append("missing scopes")
        parts.append(_missing_scopes_text(who, missing_scopes, link))
    if reason:
        kinds = [k for k in PROBLEM_ADVICE if k in problems] or ["failed", "rejected"]
        if "failed" in kinds or "rejected" in kinds:
            why.append("some streams failed or rejected records")
        if "skipped_units" in kinds:
            why.append("subusers refused")
        if "refused_ids" in kinds:
            why.append("ids refused")
        if "held_deletions" in kinds:
            why.append("deletions held")
        advice = " ".join(PROBLEM_ADVICE[k] for k in kinds)
        parts.append(
            f"Some SendGrid data of {who} was not loaded: {reason}.\n"
            f"Everything else was loaded. {advice}\nConnection page: {link}"
        )
    subject = f"[SendGrid] {display_name}: some data is not collected ({', '.join(why)})"
    return subject, "\n\n".join(parts) or f"{who} is degraded. Connection page: {link}"


class ReconnectNotifier(BaseNotifier):
    """Send a reconnect / reminder / recovery / degraded / resolved notice for one tenant.

    Args:
        tenant_id: The tenant (Airflow connection id).
        kind: ``needs_reconnect``, ``reminder``, ``reconnected``, ``degraded`` or
            ``resolved``.
        reason: Why (already scrubbed text; scrubbed again).
        display_name: Human name of the tenant.
        to: E-mail recipients; no e-mail when empty.
        smtp_conn_id: SMTP connection (SMTP provider).
        from_email: Sender; defaults to the SMTP connection's ``from_email``.
        slack_webhook_conn_id: Slack incoming-webhook connection; no Slack when empty.
        connect_base_url: Base URL of the Airflow UI hosting the Connect page.
        since: When the state began (ISO text).
        missing_scopes: For ``degraded``.
        problems: For ``degraded``: the kinds of stream problems it tells of (see
            :data:`PROBLEM_ADVICE`).
    """

    template_fields = ("tenant_id", "display_name", "reason", "to")

    def __init__(
        self,
        *,
        tenant_id: str,
        kind: AlertKind = "needs_reconnect",
        reason: str = "",
        display_name: str | None = None,
        to: str | Iterable[str] | None = None,
        smtp_conn_id: str = "smtp_default",
        from_email: str | None = None,
        slack_webhook_conn_id: str | None = None,
        connect_base_url: str | None = None,
        since: str | None = None,
        missing_scopes: Sequence[str] = (),
        problems: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.tenant_id = tenant_id
        self.kind: AlertKind = kind
        self.reason = reason
        self.display_name = one_line(display_name or tenant_id)
        self.to = [to] if isinstance(to, str) else list(to or [])
        self.smtp_conn_id = smtp_conn_id
        self.from_email = from_email
        self.slack_webhook_conn_id = slack_webhook_conn_id
        self.connect_base_url = connect_base_url
        self.since = since
        self.missing_scopes = tuple(missing_scopes)
        self.problems = tuple(problems)
        self.delivered: list[str] = []
        self.failed: list[str] = []

    def message(self) -> tuple[str, str]:
        """The alert's subject and body."""
        return compose(
            self.kind,
            tenant_id=self.tenant_id,
            display_name=self.display_name,
            reason=self.reason,
            link=connect_url(self.tenant_id, self.connect_base_url),
            since=self.since,
            missing_scopes=self.missing_scopes,
            problems=self.problems,
        )

    def notify(self, context: Any) -> None:
        """Log the alert, then e-mail and Slack it; channel errors are logged, not raised."""
        subject, body = self.message()
        subject = one_line(subject)
        level = logging.INFO if self.kind in ("reconnected", "resolved") else logging.WARNING
        log.log(level, "%s\n%s", subject, body)
        self.delivered.append("log")
        if self.to:
            self._deliver("email", self._send_email, subject, body)
        if self.slack_webhook_conn_id:
            self._deliver("slack", self._send_slack, subject, body)

    def _deliver(self, channel: str, send: Any, subject: str, body: str) -> None:
        try:
            send(subject, body)
        except Exception as exc:
            self.failed.append(channel)
            log.error("reconnect alert via %s failed: %s", channel, scrub(exc))
        else:
            self.delivered.append(channel)

    def _send_email(self, subject: str, body: str) -> None:
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        to = [address for address in self.to if address.isprintable()]
        for address in self.to:  # a line break would fail the message for every recipient
            if address not in to:
                log.warning("alert recipient skipped (a line break or control character in "
                            "it): %r", address)  # fmt: skip
        content = f"<pre>{html.escape(body)}</pre>"
        with SmtpHook(smtp_conn_id=self.smtp_conn_id) as smtp:
            smtp.send_email_smtp(
                to=to, subject=subject, html_content=content, from_email=self.from_email
            )

    def _send_slack(self, subject: str, body: str) -> None:
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

        SlackWebhookHook(slack_webhook_conn_id=self.slack_webhook_conn_id).send(
            **slack_message(subject, body)
        )
