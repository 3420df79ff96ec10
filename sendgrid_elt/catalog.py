"""The stream catalog: every SendGrid endpoint the pipeline extracts, as data.

One :class:`StreamSpec` per stream, built from :data:`DEFAULTS` plus the fields that differ.
The extractor (:mod:`sendgrid_elt.extract`) interprets the specs; there is no class per stream.

Vocabulary (see ``docs/staging-contract.md`` for how rows land):

* ``mode``: ``snapshot`` (state-like: every run reads everything; versions are kept with
  first/last seen and keys missing from a complete snapshot are marked deleted),
  ``incremental`` (append-like, a :class:`Cursor` on a record field; a run starts after a
  settled cursor, else the cursor's settle time before it) or
  ``date_window`` (stats by day/month, a :class:`Window` re-pulling the last days).
* ``pagination`` / ``records_path``: the hook's paginator names (``none``, ``offset``,
  ``plain_offset`` for stats, ``created_window``, ``metadata_next``, ``keyset``) and record
  selectors (``result``, ``results``, a key, ``None`` for a bare array, ``"."`` when the body
  is the record, ``RESULT_OR_BODY`` for either).
* ``per_subuser``: also read the stream for every subuser with ``on-behalf-of``.
* ``fan_out``: one request (or chunk of requests) per id of a parent stream (template
  versions, category stats after the categories list, single-send stats, subuser credits, API
  key scopes).
* ``feature``: the plan feature the stream belongs to; 403/404 then means *not licensed*
  (what a credential's scopes mean for each stream: :mod:`sendgrid_elt.stream_scopes`).
* ``primary_key``: record fields (``@subuser``/``@parent`` name the fan-out context); a record
  lacking one is rejected (``sendgrid_elt.records``), except the ``key_optional`` fields, which
  may be empty (``ab_variation`` of a single send without an A/B test); ``key_alias`` names the
  field that stands in for an absent single key field (the spec's schema and its example name
  the pending invitation's key differently).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from sendgrid_hook.page_records import RESULT_OR_BODY

Mode = Literal["snapshot", "incremental", "date_window"]
#: How a cursor value is written: epoch seconds (an integer) or an ISO day (``YYYY-MM-DD``).
CursorKind = Literal["epoch", "date"]
#: Seconds a record's cursor may lie beyond the API's clock (the ``Date`` header) and still be
#: adopted as the stream's cursor; a later value (a record dated in the future) is loaded but
#: never moves the cursor, so the records created before that date are still read.
CLOCK_SKEW_SECONDS = 300
Pagination = Literal["none", "offset", "plain_offset", "created_window", "metadata_next", "keyset"]

MARKETING = "marketing_campaigns"
SUBUSERS = "subusers"
VALIDATION = "email_validation"


@dataclass(frozen=True)
class Cursor:
    """Incremental cursor on a record field bound to a request parameter.

    Attributes:
        field: Record field holding the cursor value.
        kind: How the value is written (values that do not parse are rejected records).
        start_param: Request parameter receiving the run's start (inclusive).
        settle: Seconds SendGrid may take to list a record after its cursor second (the lag
            assumed). When a unit's read ended with the API's clock (the ``Date`` header) this
            far past its cursor, every record stamped up to the cursor was listed: the cursor
            is saved ``settled`` and the next run starts one second after it, so a no-change
            rerun re-reads nothing. Otherwise the next run starts ``settle`` seconds before the
            cursor, so a record stamped before it but listed late is read too (the merge
            absorbs the records read again).
    """

    field: str = "created"
    kind: CursorKind = "epoch"
    start_param: str = "start_time"
    settle: int = 300


@dataclass(frozen=True)
class Window:
    """Date window for stats: ``start_param`` (``YYYY-MM-DD``) from cursor minus lookback.

    The cursor is the latest ``date`` loaded (kind ``date``). The look-back is deliberate:
    SendGrid keeps counting opens, clicks and spam reports of recent days for a while, so
    those days are re-read on every run (one request per unit for daily stats).

    Attributes:
        start_param: Parameter receiving the first day (``date`` for monthly endpoints).
        lookback_days: Recent days re-pulled every run (late opens/clicks change them).
        initial_months: First run without state or ``start_date``: from the first day of the
            month this many months back (category stats are kept 13 months).
        monthly: One request per calendar month (``date`` = the month's first day).
        extra_params: Fixed parameters such as ``aggregated_by``.
    """

    start_param: str = "start_date"
    lookback_days: int = 7
    initial_months: int = 13
    monthly: bool = False
    extra_params: tuple[tuple[str, str], ...] = (("aggregated_by", "day"),)
    field: str = "date"
    kind: CursorKind = "date"


@dataclass(frozen=True)
class FanOut:
    """Read a stream once per id (or chunk of ids) of a parent stream.

    Attributes:
        parent: Parent stream name (read before this one; ids come from its current rows).
        field: Parent record field holding the id.
        path_param: Path placeholder receiving one id (one request per id), or
        param: Query parameter receiving a chunk of ids (repeated parameter).
        chunk: Ids per request when ``param`` is used.
        joined: ``param`` takes the chunk as one comma-separated value (the OpenAPI
            ``explode: false`` form), not repeated.
        as_parent_key: Store the id in the ``parent_key`` column.
        as_subuser: Store the id in the ``subuser`` column (the record is about that subuser).
        child_field: Record field naming the parent id when ids are chunked (``param``).
    """

    parent: str
    field: str
    path_param: str | None = None
    param: str | None = None
    chunk: int = 1
    joined: bool = False
    as_parent_key: bool = False
    as_subuser: bool = False
    child_field: str | None = None


@dataclass(frozen=True)
class StreamSpec:
    """One SendGrid stream (see the module docstring for the vocabulary)."""

    name: str
    path: str
    scope: str | None
    primary_key: tuple[str, ...]
    key_optional: tuple[str, ...] = ()
    key_alias: str | None = None
    mode: Mode = "snapshot"
    pagination: Pagination = "none"
    records_path: str | None = None
    page_size: int | None = None
    params: tuple[tuple[str, str], ...] = ()
    feature: str | None = None
    per_subuser: bool = False
    fan_out: FanOut | None = None
    cursor: Cursor | None = None
    window: Window | None = None
    explode: str | None = None
    subuser_field: str | None = None
    scalar_field: str | None = None
    drop_fields: tuple[str, ...] = ()
    #: Keys (at any depth) holding a customer's URL: stored as its origin only (no credentials).
    url_fields: tuple[str, ...] = ()
    skip_empty: bool = True
    description: str = ""

    @property
    def versioned(self) -> bool:
        """Whether the table keeps one row per version (snapshot streams)."""
        return self.mode == "snapshot"

    @property
    def cursor_field(self) -> tuple[str, CursorKind] | None:
        """The record field that carries the stream's cursor and its kind (``None``: no cursor)."""
        if self.mode == "incremental" and self.cursor is not None:
            return self.cursor.field, self.cursor.kind
        if self.mode == "date_window" and self.window is not None:
            return self.window.field, self.window.kind
        return None

    @property
    def page_items(self) -> str | None:
        """The list a paginated one-record body pages through (the hook counts its entries)."""
        return self.explode if self.records_path == "." and self.pagination != "none" else None


DEFAULTS = StreamSpec(name="", path="", scope=None, primary_key=())


def _spec(name: str, path: str, scope: str | None, pk: tuple[str, ...], **kw: Any) -> StreamSpec:
    return replace(DEFAULTS, name=name, path=path, scope=scope, primary_key=pk, **kw)


#: Paged over a narrowing ``created`` window: a row deleted mid-read shifts no unread row.
_SUPPRESSION = {
    "mode": "incremental",
    "pagination": "created_window",
    "page_size": 500,
    "cursor": Cursor(),
    "per_subuser": True,
}
#: A spam report's ``created`` is "when the recipient marked your message as spam" (the spec's
#: ``SpamReportsResponse``): mailbox providers' feedback loops report complaints hours later,
#: so a report is listed long after newer ones. Its cursor settles after two days, and until
#: then each run reads the two days before it again (docs/api-notes.md).
SPAM_REPORT_SETTLE = 2 * 86400
#: A webhook's destination and OAuth token URLs may embed the receiver's credentials.
_WEBHOOK_URLS = ("url", "oauth_token_url")
_DAILY = Window()
_STATS = {"mode": "date_window", "window": _DAILY, "explode": "stats"}

STREAMS: tuple[StreamSpec, ...] = (
    # --- account, plan, credits -----------------------------------------------------------
    _spec("scopes", "/v3/scopes", None, ("scope",), records_path="scopes",
          scalar_field="scope", description="scopes of the tenant's credential"),
    # subusers first: every per_subuser stream fans out over its current rows
    _spec("subusers", "/v3/subusers", "subusers.read", ("id",), pagination="offset",
          page_size=500, feature=SUBUSERS),
    _spec("user_account", "/v3/user/account", "user.account.read", (), records_path=".",
          per_subuser=True),
    _spec("user_credits", "/v3/user/credits", "user.credits.read", (), records_path=".",
          per_subuser=True),
    _spec("user_username", "/v3/user/username", "user.username.read", ("user_id",),
          records_path=".", per_subuser=True),
    _spec("user_profile", "/v3/user/profile", "user.profile.read", (), records_path="."),
    # --- seats and access -----------------------------------------------------------------
    _spec("teammates", "/v3/teammates", "teammates.read", ("username",), pagination="offset",
          page_size=500, records_path="result"),
    # the spec's schema says `token`, its example `pending_id` (docs/api-notes.md)
    _spec("teammates_pending", "/v3/teammates/pending", "teammates.read", ("token",),
          key_alias="pending_id", records_path="result"),
    _spec("subuser_credits", "/v3/subusers/{subuser_name}/credits", "subusers.credits.read",
          ("@subuser",), records_path=".", feature=SUBUSERS,
          fan_out=FanOut("subusers", "username", path_param="subuser_name", as_subuser=True)),
    _spec("api_keys", "/v3/api_keys", "api_keys.read", ("api_key_id",), pagination="offset",
          page_size=100, records_path="result", per_subuser=True, drop_fields=("api_key",),
          description="names and ids only; SendGrid never returns key values"),
    _spec("api_key_scopes", "/v3/api_keys/{api_key_id}", "api_keys.read", ("api_key_id",),
          records_path=RESULT_OR_BODY, per_subuser=True, drop_fields=("api_key",),
          fan_out=FanOut("api_keys", "api_key_id", path_param="api_key_id"),
          description="each key's scopes (the list has none): one request per key"),
    # --- volume (stats) -------------------------------------------------------------------
    _spec("global_stats", "/v3/stats", "stats.read", ("date",), mode="date_window",
          window=_DAILY, pagination="plain_offset", page_size=500, per_subuser=True),
    _spec("categories", "/v3/categories", "categories.read", ("category",),
          pagination="offset", page_size=500, per_subuser=True),
    _spec("category_stats", "/v3/categories/stats", "categories.stats.read", ("date", "name"),
          per_subuser=True, fan_out=FanOut("categories", "category", param="categories",
                                           chunk=10), **_STATS),
    _spec("subuser_stats", "/v3/subusers/stats", "subusers.stats.read", ("date", "name"),
          pagination="plain_offset", page_size=500, feature=SUBUSERS, subuser_field="name",
          fan_out=FanOut("subusers", "username", param="subusers", chunk=10), **_STATS),
    _spec("subuser_stats_monthly", "/v3/subusers/stats/monthly", "subusers.stats.monthly.read",
          ("date", "name"), pagination="plain_offset", page_size=500, records_path=".",
          feature=SUBUSERS, subuser_field="name", mode="date_window", explode="stats",
          window=Window(start_param="date", lookback_days=31, monthly=True,
                        extra_params=())),
    _spec("parse_stats", "/v3/user/webhooks/parse/stats", "user.webhooks.parse.stats.read",
          ("date",), mode="date_window", window=_DAILY, pagination="plain_offset",
          page_size=500),
    # --- content --------------------------------------------------------------------------
    _spec("templates", "/v3/templates", "templates.read", ("id",),
          pagination="metadata_next", page_size=200, records_path="result",
          params=(("generations", "legacy,dynamic"),), per_subuser=True),
    _spec("template_versions", "/v3/templates/{template_id}", "templates.read", ("id",),
          records_path=".", explode="versions", per_subuser=True,
          fan_out=FanOut("templates", "id", path_param="template_id", as_parent_key=True)),
    # --- marketing campaigns --------------------------------------------------------------
    _spec("singlesends", "/v3/marketing/singlesends", "marketing.read", ("id",),
          pagination="metadata_next", page_size=100, records_path="result", feature=MARKETING),
    _spec("singlesend_stats", "/v3/marketing/stats/singlesends", "marketing.read",
          ("id", "ab_variation", "ab_phase", "aggregation"), key_optional=("ab_variation",),
          pagination="metadata_next", page_size=50, records_path="results", feature=MARKETING,
          fan_out=FanOut("singlesends", "id", param="singlesend_ids", chunk=25, joined=True,
                         as_parent_key=True, child_field="id")),
    _spec("automation_stats", "/v3/marketing/stats/automations", "marketing.read",
          ("id", "step_id", "aggregation"), pagination="metadata_next", page_size=50,
          records_path="results", feature=MARKETING),
    _spec("contacts_count", "/v3/marketing/contacts/count", "marketing.read", (),
          records_path=".", feature=MARKETING),
    _spec("marketing_lists", "/v3/marketing/lists", "marketing.read", ("id",),
          pagination="metadata_next", page_size=1000, records_path="result", feature=MARKETING),
    _spec("segments", "/v3/marketing/segments/2.0", "marketing.read", ("id",),
          records_path="results", feature=MARKETING),
    # --- sending infrastructure -----------------------------------------------------------
    _spec("ips", "/v3/ips", "ips.read", ("ip",), pagination="offset", page_size=500),
    _spec("ip_pools", "/v3/ips/pools", "ips.pools.read", ("name",)),
    _spec("ips_assigned", "/v3/ips/assigned", "ips.assigned.read", ("ip",)),
    _spec("send_ips", "/v3/send_ips/ips", "ips.read", ("ip",), pagination="keyset",
          page_size=100, records_path="result"),
    _spec("authenticated_domains", "/v3/whitelabel/domains", "whitelabel.read", ("id",),
          pagination="offset", page_size=500, per_subuser=True),
    _spec("link_branding", "/v3/whitelabel/links", "whitelabel.read", ("id",),
          pagination="offset", page_size=500, per_subuser=True),
    # --- webhooks, parse, validation, alerts ----------------------------------------------
    _spec("event_webhooks", "/v3/user/webhooks/event/settings/all",
          "user.webhooks.event.settings.read", ("id",), records_path="webhooks",
          per_subuser=True, url_fields=_WEBHOOK_URLS),
    _spec("event_webhook_limits", "/v3/user/webhooks/event/settings/all",
          "user.webhooks.event.settings.read", (), records_path=".", per_subuser=True,
          url_fields=_WEBHOOK_URLS,
          description="the whole body: max_allowed is the plan's webhook limit"),
    _spec("parse_settings", "/v3/user/webhooks/parse/settings",
          "user.webhooks.parse.settings.read", ("hostname",), records_path="result",
          per_subuser=True, url_fields=_WEBHOOK_URLS),
    _spec("validation_jobs", "/v3/validations/email/jobs", "validations.email.read", ("id",),
          records_path="result", feature=VALIDATION),
    _spec("alerts", "/v3/alerts", "alerts.read", ("id",), per_subuser=True),
    # --- suppressions ---------------------------------------------------------------------
    _spec("bounces", "/v3/suppression/bounces", "suppression.bounces.read", ("email",),
          **_SUPPRESSION),
    _spec("blocks", "/v3/suppression/blocks", "suppression.blocks.read", ("email",),
          **_SUPPRESSION),
    _spec("spam_reports", "/v3/suppression/spam_reports", "suppression.spam_reports.read",
          ("email",), **{**_SUPPRESSION, "cursor": Cursor(settle=SPAM_REPORT_SETTLE)}),
    _spec("invalid_emails", "/v3/suppression/invalid_emails", "suppression.invalid_emails.read",
          ("email",), **_SUPPRESSION),
    _spec("unsubscribes", "/v3/suppression/unsubscribes", "suppression.unsubscribes.read",
          ("email",), **_SUPPRESSION),
    _spec("asm_groups", "/v3/asm/groups", "asm.groups.read", ("id",), per_subuser=True),
)  # fmt: skip

BY_NAME: dict[str, StreamSpec] = {s.name: s for s in STREAMS}


def get(name: str) -> StreamSpec:
    """Return the spec of stream ``name``.

    Raises:
        KeyError: Unknown stream (message lists the known ones).
    """
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown stream {name!r}; known: {', '.join(BY_NAME)}") from None


def select(names: list[str] | None) -> list[StreamSpec]:
    """Streams to run, in catalog order; parents of requested fan-out streams come first.

    A parent is *read* only when requested; otherwise its ids come from the staging table.
    """
    if not names:
        return list(STREAMS)
    wanted = {get(n).name for n in names}
    return [s for s in STREAMS if s.name in wanted]


def _validate() -> None:
    seen: set[str] = set()
    for spec in STREAMS:
        if spec.name in seen:
            raise ValueError(f"duplicate stream {spec.name}")
        if spec.per_subuser and "subusers" not in seen:
            raise ValueError(f"{spec.name}: per_subuser streams must come after subusers")
        if spec.fan_out and spec.fan_out.parent not in seen:
            raise ValueError(f"{spec.name}: parent {spec.fan_out.parent} must come first")
        if spec.mode == "incremental" and spec.cursor is None:
            raise ValueError(f"{spec.name}: incremental stream without a cursor")
        if spec.mode == "date_window" and spec.window is None:
            raise ValueError(f"{spec.name}: date_window stream without a window")
        if not set(spec.key_optional) <= set(spec.primary_key):
            raise ValueError(f"{spec.name}: key_optional fields must be primary-key fields")
        seen.add(spec.name)


_validate()
