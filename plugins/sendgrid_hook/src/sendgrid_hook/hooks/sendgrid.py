"""SendGrid hook: turns a ``sendgrid`` Airflow connection into authenticated, polite requests.

The hook is deliberately thin: it reads the connection (:mod:`sendgrid_hook.config`), builds
the session with the right auth object (:mod:`sendgrid_hook.auth`), and delegates requests to
:mod:`sendgrid_hook.transport`, paging to :mod:`sendgrid_hook.pagination` and the Test button's
answer to :mod:`sendgrid_hook.connection_check`.

It subclasses :class:`~airflow.providers.http.hooks.http.HttpHook` (connection handling,
TCP keep-alive adapter, ``run``/``run_and_check`` for ad-hoc calls) but overrides
:meth:`get_conn`: ``HttpHook.get_conn`` copies **every connection extra into the request
headers** (that would send the OAuth client secret and refresh token to the API as headers)
and derives HTTP basic auth from login/password, neither of which fits SendGrid.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import requests
from airflow.providers.http.hooks.http import HttpHook

from sendgrid_hook.account import USERNAME_PATH, USERNAME_SCOPE, AccountIdentity, parse_identity
from sendgrid_hook.airflow_reads import UnreadableError, read_connection
from sendgrid_hook.auth.api_key import ApiKeyAuth
from sendgrid_hook.auth.oauth2 import OAuth2RefreshAuth
from sendgrid_hook.config import SendGridSettings, SubusersFilter
from sendgrid_hook.connection_check import check_connection
from sendgrid_hook.constants import CONN_TYPE, DEFAULT_CONN_ID
from sendgrid_hook.errors import SendGridFatalError, SendGridRetriableError
from sendgrid_hook.pagination import (
    DEFAULT_MAX_PAGES,
    PageProgress,
    create_paginator,
    iter_pages,
)
from sendgrid_hook.rate_limit import RateLimiter, date_header
from sendgrid_hook.redaction import echo_forms, install_log_filters
from sendgrid_hook.transport import ApiResponse, Transport, settle_environment

log = logging.getLogger(__name__)


class SendGridHook(HttpHook):
    """Interact with the SendGrid v3 Web API through a ``sendgrid`` connection.

    Args:
        sendgrid_conn_id: The Airflow connection holding the tenant's credentials.
        max_pages: Upper bound on pages per :meth:`iter_records` call.
        backoff_base: Multiplier of the retry backoff in seconds.
        backoff_max: Longest wait between two retries in seconds.
        token_store: OAuth token store (default: Airflow Variable, see ``auth.token_store``).
        refresh_lock: OAuth refresh lock (default: PostgreSQL advisory lock).
        settings: Use these settings instead of reading the connection (e.g. a candidate credential
            checked before it is saved).
    """

    conn_name_attr = "sendgrid_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "SendGrid"

    def __init__(
        self,
        sendgrid_conn_id: str = default_conn_name,
        *,
        max_pages: int = DEFAULT_MAX_PAGES,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        token_store: Any = None,
        refresh_lock: Any = None,
        settings: SendGridSettings | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(method="GET", http_conn_id=sendgrid_conn_id, **kwargs)
        self.sendgrid_conn_id = sendgrid_conn_id
        self.max_pages = max_pages
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._token_store = token_store
        self._refresh_lock = refresh_lock
        self._settings: SendGridSettings | None = settings
        self._reread = None if settings is not None else self.get_connection  # a stored one's
        self._session: requests.Session | None = None
        self._transport: Transport | None = None
        self._scopes: frozenset[str] | None = None
        self._scopes_response: ApiResponse | None = None
        self._init_lock = threading.RLock()
        self.last_progress: PageProgress | None = None
        install_log_filters()

    # -- connection attributes ------------------------------------------------------------
    @classmethod
    def get_connection(cls, conn_id: str) -> Any:
        """The Airflow connection ``conn_id``, read by :func:`.airflow_reads.read_connection`.

        Raises:
            AirflowNotFoundException: No secrets backend has it.
            SendGridRetriableError: It could not be read (an execution-API or secrets-backend
                error), which the SDK's own lookup reports as "isn't defined".
        """
        try:
            return read_connection(conn_id)
        except UnreadableError as exc:
            raise SendGridRetriableError(f"{exc}; retry later") from None

    @property
    def settings(self) -> SendGridSettings:
        """The parsed connection (read once)."""
        with self._init_lock:
            if self._settings is None:
                conn = self.get_connection(self.sendgrid_conn_id)
                self._settings = SendGridSettings.from_connection(conn)
            return self._settings

    @property
    def tenant_id(self) -> str:
        """The tenant's id: the connection id."""
        return self.sendgrid_conn_id

    @property
    def display_name(self) -> str:
        """Human name of the tenant (``display_name`` extra, description, or the id)."""
        return self.settings.display_name

    @property
    def subusers_filter(self) -> SubusersFilter:
        """``"all"``, ``"none"`` or the list of subuser names to include."""
        return self.settings.subusers

    @property  # type: ignore[override]
    def base_url(self) -> str:
        """API base URL (override, else the region's host)."""
        return self.settings.base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        """Ignore assignments: ``HttpHook.__init__`` sets ``""``; the settings decide."""

    @property
    def request_count(self) -> int:
        """API requests sent by this hook so far (retries included)."""
        return self._transport.request_count if self._transport else 0

    @property
    def transport(self) -> Transport:
        """The hook's transport (built on first use)."""
        with self._init_lock:
            if self._transport is None:
                s = self.settings
                self._transport = Transport(
                    s.base_url,
                    self.get_conn(),
                    limiter=RateLimiter(max_wait=s.max_wait),
                    budget=s.request_budget,
                    timeout=(s.connect_timeout, s.read_timeout),
                    request_timeout=s.request_timeout,
                    max_response_bytes=s.max_response_bytes,
                    max_retries=s.max_retries,
                    backoff_base=self.backoff_base,
                    backoff_max=self.backoff_max,
                )
                self._transport.set_time_budget(s.time_budget)
            return self._transport

    def set_time_budget(self, seconds: float | None) -> float | None:
        """Start the tenant's time budget now: no request or wait may run past its end.

        Args:
            seconds: The caller's budget (e.g. what fits in the task's ``execution_timeout``);
                the connection's ``time_budget`` extra, when smaller, wins.

        Returns:
            The budget in force, in seconds (``None``: unbounded).
        """
        limits = [b for b in (seconds, self.settings.time_budget) if b is not None]
        budget = min(limits) if limits else None
        self.transport.set_time_budget(budget)
        return budget

    def time_left(self) -> float | None:
        """Seconds left of the time budget (``None``: unbounded)."""
        return self.transport.time_left()

    def get_conn(
        self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None
    ) -> requests.Session:
        """Return the hook's pooled session with SendGrid auth (one per hook)."""
        with self._init_lock:
            if self._session is None:
                session = requests.Session()
                session.auth = self._make_auth()
                self._configure_session_from_mount_adapters(session)
                settle_environment(session, self.settings.base_url)
                self._session = session
        if headers:
            self._session.headers.update(headers)
        return self._session

    def _make_auth(self) -> ApiKeyAuth | OAuth2RefreshAuth:
        s = self.settings
        if s.auth_type == "api_key":
            return ApiKeyAuth(s.api_key or "")
        return OAuth2RefreshAuth(s, self._token_store, self._refresh_lock, reread=self._reread)

    def secret_forms(self) -> tuple[str, ...]:
        """Every form of the credentials this hook sends (an API may echo them in records)."""
        return echo_forms(self.get_conn().auth.secrets())

    def close(self) -> None:
        """Store rotated OAuth tokens a failed save left in memory; close the pooled session."""
        if self._session is not None:
            flush = getattr(self._session.auth, "flush", None)
            if flush is not None:
                flush()
            self._session.close()

    # -- requests -------------------------------------------------------------------------
    def get_json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        on_behalf_of: str | None = None,
    ) -> Any:
        """GET ``path`` once (with retries) and return the JSON body.

        Raises:
            sendgrid_hook.errors.SendGridError: A typed subclass on failure.
        """
        return self.transport.get(path, params, on_behalf_of=on_behalf_of).body

    def iter_records(self, path: str, **options: Any) -> Iterator[dict[str, Any]]:
        """Yield the records of ``path`` one by one, fetching one page at a time.

        Args:
            path: API path (``/v3/...``) or a same-host URL.
            **options: The keyword arguments of :meth:`iter_record_pages`.
        """
        for records in self.iter_record_pages(path, **options):
            yield from records

    def iter_record_pages(
        self,
        path: str,
        *,
        pagination: str,
        records_path: str | None,
        params: Mapping[str, Any] | None = None,
        page_size: int | None = None,
        on_behalf_of: str | None = None,
        on_page: Callable[[PageProgress], None] | None = None,
        page_items: str | None = None,
        route: str | None = None,
    ) -> Iterator[list[Any]]:
        """Yield the records of ``path``, one list per page (bulk consumers read these).

        Args:
            path: API path (``/v3/...``) or a same-host URL.
            params: Query parameters of the first request.
            page_size: Records per page (default: the paginator's).
            on_behalf_of: Subuser to read as (``on-behalf-of`` header).
            pagination: Paginator name (``none``, ``offset``, ``created_window``,
                ``metadata_next``, ``keyset``, ``after_subuser_id``).
            records_path: ``"result"``/``"results"``, another key, ``None`` (bare array) or ``"."``
                (the body is the record).
            on_page: Called with running totals after each page.
            page_items: With ``records_path="."``, the wrapper's list whose entries the
                paginator counts (a short list ends an offset pagination).
            route: The endpoint's path template when ``path`` holds an id (its rate limit).
        """
        paginator = create_paginator(pagination, page_size)
        progress = PageProgress(path)
        self.last_progress = progress
        for page in iter_pages(
            self.transport,
            path,
            paginator,
            records_path,
            params=params,
            on_behalf_of=on_behalf_of,
            max_pages=self.max_pages,
            progress=progress,
            on_page=on_page,
            page_items=page_items,
            route=route,
        ):
            log.debug("SendGrid %s: page %d, %d records", path, page.number, len(page.records))
            yield page.records
        log.debug(  # the stream's INFO line (pages, records, seconds) sums its units
            "SendGrid %s%s: %d records in %d pages",
            path,
            f" (on behalf of {on_behalf_of})" if on_behalf_of else "",
            progress.records,
            progress.pages,
        )

    # -- scopes ---------------------------------------------------------------------------
    def granted_scopes(self) -> frozenset[str]:
        """Scopes of the credential (one ``GET /v3/scopes`` per hook, then cached)."""
        if self._scopes is None:
            response = self.transport.get("/v3/scopes")
            body = response.body
            if not isinstance(body, dict) or not isinstance(body.get("scopes"), list):
                raise SendGridFatalError("malformed /v3/scopes response", status_code=200)
            self._scopes = frozenset(str(s) for s in body["scopes"])
            self._scopes_response = response
        return self._scopes

    def confirm_credential(self) -> None:
        """Ask SendGrid again whether the credential works (a fresh ``GET /v3/scopes``).

        Tells a credential that stopped working from one endpoint that refuses it (401).

        Raises:
            ReconnectRequired: It does not work any more.
            sendgrid_hook.errors.SendGridError: SendGrid could not say (the request failed).
        """
        self.transport.get("/v3/scopes")

    def account_identity(self) -> AccountIdentity | None:
        """The account the credential reaches (one ``GET /v3/user/username``).

        ``None`` when the credential lacks ``user.username.read`` (no request is made) or the
        answer carries no user id.

        Raises:
            sendgrid_hook.errors.SendGridError: The request failed.
        """
        if USERNAME_SCOPE not in self.granted_scopes():
            return None
        return parse_identity(self.transport.get(USERNAME_PATH).body)

    def api_date(self) -> dt.date | None:
        """The API's current date, from the ``Date`` header of the ``/v3/scopes`` response.

        The real API's header carries today; a simulator's carries its simulated clock. ``None``
        when the header is missing or unparseable.
        """
        now = self.api_time()
        return now.date() if now is not None else None

    def api_time(self) -> dt.datetime | None:
        """The API's clock (UTC) from the ``Date`` header of the ``/v3/scopes`` response.

        ``None`` when the header is missing or unparseable.
        """
        self.granted_scopes()
        headers = self._scopes_response.headers if self._scopes_response else {}
        return date_header(headers.get("Date"))

    def test_connection(self) -> tuple[bool, str]:
        """One ``GET /v3/scopes``; report missing scopes. Never raises.

        See :func:`sendgrid_hook.connection_check.check_connection`.
        """
        return check_connection(self)
