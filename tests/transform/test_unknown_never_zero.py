"""Unknown is never zero: a figure whose stream could not be read is null, never 0.

Tenants added beside the ``built`` scenario (``conftest``), each with the statuses the loader
writes (missing scope, never synced, read and empty), then removed again.
"""

from __future__ import annotations

import datetime as dt

import psycopg
from psycopg import sql

from tests.transform.dbt_runner import as_of_vars, run_dbt
from tests.transform.marts_reading import AS_OF, AS_OF_DAY, rows
from tests.transform.staging_data import Staging, metrics
from tests.transform.staging_rows import epoch

#: Tenants added by the readability test: (tenant, name, how /v3/stats and /v3/api_keys read).
UNREADABLE_TENANTS = (
    ("t04-dynamo-restricted", "Dynamo Restricted", "missing_scope"),  # key lacks stats.read
    ("t05-elm-idle", "Elm Idle", "ok"),  # read, sent nothing, no keys
    ("t06-fir-never", "Fir Never Synced", None),  # never synced: nothing read
)


def _add_unreadable_tenants(target, now: dt.datetime) -> None:
    """Three Free tenants beside the scenario's: stats and keys unreadable / read and empty /
    never read. The first two have their credits and account read (the key works)."""
    extra = Staging(now=now)
    today = (now - dt.timedelta(microseconds=1)).date()  # the as-of day
    for tenant, name, read in UNREADABLE_TENANTS:
        extra.tenants.append((tenant, name))
        if read is None:
            continue
        extra.add("user_account", tenant, {"type": "free", "reputation": 100})
        extra.add("user_credits", tenant, {"remain": 70, "total": 100, "overage": 0, "used": 30,
                                           "last_reset": today.isoformat(),
                                           "next_reset": (today + dt.timedelta(days=1)).isoformat(),
                                           "reset_frequency": "daily"})  # fmt: skip
        for stream, status in (("user_account", "ok"), ("user_credits", "ok"),
                               ("subusers", "not_licensed"),  # Free: no subusers, a true 0
                               ("global_stats", read), ("api_keys", read)):  # fmt: skip
            extra.statuses.append((tenant, stream, status))
            if status == "ok":
                extra.syncs.append((tenant, stream, now))
        missing = ["api_keys.read", "stats.read"] if read == "missing_scope" else []
        extra.health.append({"tenant_id": tenant, "display_name": name,
                             "status": "degraded" if missing else "connected",
                             "status_since": now - dt.timedelta(days=1), "last_error": None,
                             "last_success_at": now, "missing_scopes": missing})  # fmt: skip
    extra.write(target)


#: A Free tenant whose stats were last read by yesterday's run (today's failed): its stats
#: cover the days through the day before yesterday, so a 30-day sum would miss a day.
BEHIND, BEHIND_RUN = "t08-hazel-behind", "scheduled__yesterday"


def _add_tenant_read_yesterday(target, now: dt.datetime) -> None:
    yesterday = now - dt.timedelta(days=1)  # the run of the day before, as of AS_OF - 1 day
    late = Staging(now=yesterday)
    late.tenants.append((BEHIND, "Hazel Read Yesterday"))
    for stream, status in (("global_stats", "ok"), ("subusers", "not_licensed")):
        late.statuses.append((BEHIND, stream, status))
    late.syncs.append((BEHIND, "global_stats", yesterday))
    for days_ago in range(1, 5):  # mail sent on the days it read
        day = AS_OF_DAY - dt.timedelta(days=days_ago)
        late.add("global_stats", BEHIND, {"date": day.isoformat(),
                                          "stats": [{"metrics": metrics(40, days_ago)}]},
                 day.isoformat())  # fmt: skip
    late.write(target, run_id=BEHIND_RUN)
    with psycopg.connect(target.conninfo()) as conn:
        conn.execute(
            "insert into sendgrid_staging.extract_runs (run_id, as_of, published_at)"
            " values (%s, %s, %s)",
            [BEHIND_RUN, AS_OF - dt.timedelta(days=1), yesterday],
        )


def _remove_tenants(target, tenants: list[str], streams: tuple[str, ...] = ()) -> None:
    tables = ("user_account", "user_credits", "stream_status", "sync_state", "connection_health",
              "tenants", *streams)  # fmt: skip
    with psycopg.connect(target.conninfo()) as conn:
        for table in tables:
            conn.execute(
                sql.SQL("delete from sendgrid_staging.{} where tenant_id = any(%s)").format(
                    sql.Identifier(table)
                ),
                [tenants],
            )
        # the incremental models keep what a run wrote (the daily activity takes the added
        # tenants' days: loaded at the table's high-water mark, within its reprocess window)
        for mart in ("fct_sendgrid_plan_utilization_history", "fct_sendgrid_email_activity_daily"):
            conn.execute(
                sql.SQL("delete from sendgrid_marts.{} where tenant_id = any(%s)").format(
                    sql.Identifier(mart)
                ),
                [tenants],
            )


def _build_green(target, work) -> None:
    """``dbt build`` at the pinned as-of: every model and test passes."""
    proc, results = run_dbt(target, work, "build", *as_of_vars(AS_OF), check=False)
    failed = [r["unique_id"] for r in results if r["status"] in ("error", "fail")]
    assert (proc.returncode, failed) == (0, []), proc.stdout[-4000:]


def test_a_stream_that_was_not_readable_is_unknown_never_zero(built) -> None:
    """Volume and API keys whose stream was not readable (missing scope, never synced) are
    null and get no plan recommendation; a tenant read that sent nothing shows 0."""
    target, _, _, _, work, staging = built
    _add_unreadable_tenants(target, staging.now)
    _add_tenant_read_yesterday(target, staging.now)
    try:
        _build_green(target, work)
        overview = {r["tenant_id"]: r for r in rows(target, "rpt_sendgrid_utilization_overview")}
        recs = {r["tenant_id"]: r for r in rows(target, "rpt_sendgrid_plan_recommendation")}
        keys = {r["tenant_id"]: r for r in rows(target, "rpt_sendgrid_api_key_summary")}
        restricted, idle, never = (overview[t] for t, _, _ in UNREADABLE_TENANTS)

        # stats.read missing: the volume is unknown, and there is nothing to size a plan on
        assert restricted["requests_30d"] is None
        assert restricted["bounce_rate_30d"] is None
        assert restricted["credits_used_pct"] == 30  # what was readable is still shown
        assert restricted["recommendation"] == "no_data"
        assert restricted["recommended_plan_code"] is None
        rec = recs["t04-dynamo-restricted"]
        assert (rec["months_observed"], rec["peak_monthly_requests"],
                rec["p95_monthly_requests"], rec["required_monthly_emails"]) == (
            None, None, None, None)  # fmt: skip
        assert (rec["recommendation"], rec["recommended_plan_code"]) == ("no_data", None)
        assert "not readable" in rec["recommendation_text"]
        assert rec["monthly_cost_change_usd"] is None
        assert keys["t04-dynamo-restricted"]["active_keys"] is None
        assert keys["t04-dynamo-restricted"]["full_access_keys"] is None

        # read, nothing sent: a true zero, and a plan sized on it
        assert idle["requests_30d"] == 0
        rec = recs["t05-elm-idle"]
        assert (rec["months_observed"], rec["peak_monthly_requests"]) == (0, 0)
        assert (rec["recommendation"], rec["recommended_plan_code"]) == ("keep", "free")
        assert (keys["t05-elm-idle"]["active_keys"], keys["t05-elm-idle"]["total_keys"]) == (0, 0)

        # never synced: nothing is known
        assert never["requests_30d"] is None
        assert (never["features_used"], never["features_licensed"]) == (None, None)
        assert never["recommendation"] == "no_data"
        assert keys["t06-fir-never"]["active_keys"] is None

        # read through the day before yesterday (today's run failed): its 30 days would be
        # 29, so the figures are unknown rather than short
        assert (overview[BEHIND]["requests_30d"], overview[BEHIND]["bounce_rate_30d"]) == (
            None, None)  # fmt: skip
        assert overview[BEHIND]["credits_used_pct"] is None  # (its credits were never read)

        # unknowns sort last and are not summed as zeros
        unknown = {"t04-dynamo-restricted", "t06-fir-never", BEHIND}
        last = sorted(overview.values(), key=lambda o: o["display_order"])[-len(unknown) :]
        assert {o["tenant_id"] for o in last} == unknown
        (portfolio,) = rows(target, "rpt_sendgrid_portfolio")
        assert portfolio["requests_30d"] == sum(o["requests_30d"] or 0 for o in overview.values())
        known = [o for o in overview.values() if o["requests_30d"] is not None]
        assert portfolio["requests_30d_tenant_count"] == len(known) == len(overview) - 3
        # credits never read: neither over plan nor at risk, counted apart (the header names
        # them; "0 over plan · 0 at risk" read as risk-free)
        assert {BEHIND, "t06-fir-never"} <= {
            t for t, o in overview.items() if o["utilization_status"] == "unknown"}  # fmt: skip
        assert portfolio["credits_unknown_count"] == sum(
            o["utilization_status"] == "unknown" for o in overview.values()
            if o["is_counted_in_totals"])  # fmt: skip
    finally:
        _remove_tenants(target, [*(t for t, _, _ in UNREADABLE_TENANTS), BEHIND], ("global_stats",))
        with psycopg.connect(target.conninfo()) as conn:
            conn.execute(
                "delete from sendgrid_staging.extract_runs where run_id = %s", [BEHIND_RUN]
            )
        run_dbt(target, work, "run", *as_of_vars(AS_OF))


#: A Pro 300K tenant whose key lost teammates.read and subusers.read ten days ago (an earlier
#: key read its owner and two teammates); its volume (/v3/stats) is read: ~9,000 emails/month.
SEATLESS = "t07-gale-seatless"
SEAT_STREAMS = ("teammates", "teammates_pending", "subusers", "subuser_stats")
#: Like it, but only its dedicated IPs (ips.read) are not readable.
IPLESS = "t08-holly-ipless"
#: Like it, but only its teammates and invitations (teammates.read) are not readable.
TEAMLESS = "t09-ivy-teamless"


def _pro_300k_sending_9k(extra: Staging, t: str, name: str) -> None:
    """A Pro 300K account (its credits) sending ~9,000 emails a month (/v3/stats, 120 days)."""
    today = (extra.now - dt.timedelta(microseconds=1)).date()  # the as-of day
    month_start = today.replace(day=1)
    extra.tenants.append((t, name))
    extra.add("user_account", t, {"type": "paid", "reputation": 98})
    extra.add("user_credits", t, {"remain": 291000, "total": 300000, "overage": 0, "used": 9000,
                                  "last_reset": month_start.isoformat(),
                                  "next_reset": (month_start + dt.timedelta(days=32))
                                  .replace(day=1).isoformat(),
                                  "reset_frequency": "monthly"})  # fmt: skip
    for i in range(120):
        day = (today - dt.timedelta(days=i)).isoformat()
        extra.add("global_stats", t, {"date": day, "stats": [{"metrics": metrics(300, i)}]}, day)


def _add_seatless_tenant(target, now: dt.datetime) -> None:
    extra = Staging(now=now)
    t = SEATLESS
    _pro_300k_sending_9k(extra, t, "Gale Seatless")
    for name, role in (("gale_owner", "owner"), ("galeA", "teammate"), ("galeB", "teammate")):
        extra.add("teammates", t, {"username": name, "user_type": role, "is_admin": False},
                  name, first_seen_at=now - dt.timedelta(days=30))  # fmt: skip
    # a subuser the earlier key listed; its activity (subuser_stats) was never readable
    extra.add("subusers", t, {"disabled": False, "id": 7001, "username": "gale-sub1"}, "7001",
              first_seen_at=now - dt.timedelta(days=30))  # fmt: skip
    # a block read, but the subuser list is not: the subusers' blocks are unknown
    extra.add("blocks", t, {"created": epoch(now - dt.timedelta(days=5)), "email": "b@x.org"},
              "b@x.org")  # fmt: skip
    extra.statuses.append((t, "blocks", "ok"))
    extra.syncs.append((t, "blocks", now))
    for stream in ("user_account", "user_credits", "global_stats"):
        extra.statuses.append((t, stream, "ok"))
        extra.syncs.append((t, stream, now))
    for stream in SEAT_STREAMS:
        extra.statuses.append((t, stream, "missing_scope"))
    extra.syncs.append((t, "teammates", now - dt.timedelta(days=10)))  # the earlier key's read
    # feature evidence: read three days ago then failed (licensed: it answered), only failed
    extra.statuses += [(t, "ip_pools", "error"), (t, "link_branding", "error")]
    extra.syncs.append((t, "ip_pools", now - dt.timedelta(days=3)))
    extra.health.append({"tenant_id": t, "display_name": "Gale Seatless", "status": "degraded",
                         "status_since": now - dt.timedelta(days=10), "last_error": None,
                         "last_success_at": now,
                         "missing_scopes": ["teammates.read", "subusers.read"]})  # fmt: skip
    # the same plan and volume, everything read but the dedicated IPs (ips.read missing)
    t = IPLESS
    _pro_300k_sending_9k(extra, t, "Holly IP-less")
    extra.add("teammates", t, {"username": "holly", "user_type": "owner", "is_admin": True},
              "holly", first_seen_at=now - dt.timedelta(days=30))  # fmt: skip
    for stream in ("user_account", "user_credits", "global_stats", *SEAT_STREAMS):
        extra.statuses.append((t, stream, "ok"))
        extra.syncs.append((t, stream, now))
    extra.statuses.append((t, "ips", "missing_scope"))
    t = TEAMLESS
    _pro_300k_sending_9k(extra, t, "Ivy Teamless")
    for stream in ("user_account", "user_credits", "global_stats", "subusers", "subuser_stats",
                   "ips"):  # fmt: skip
        extra.statuses.append((t, stream, "ok"))
        extra.syncs.append((t, stream, now))
    extra.statuses += [(t, "teammates", "missing_scope"), (t, "teammates_pending", "missing_scope")]
    # three bounces the earlier key read (60 days ago; bounces not readable now), one block
    for i in range(3):
        email = f"gone{i}@example.org"
        extra.add("bounces", t, {"created": epoch(now - dt.timedelta(days=60)), "email": email},
                  email, first_seen_at=now - dt.timedelta(days=30))  # fmt: skip
    extra.add("blocks", t, {"created": epoch(now - dt.timedelta(days=5)), "email": "b@x.org"},
              "b@x.org")  # fmt: skip
    extra.statuses += [(t, "bounces", "missing_scope"), (t, "blocks", "ok")]
    extra.syncs += [(t, "bounces", now - dt.timedelta(days=10)), (t, "blocks", now)]
    extra.write(target)


def test_unreadable_seats_and_subusers_are_unknown_and_never_size_a_plan_down(built) -> None:
    """Seats, invitations and subusers whose stream the key cannot read are null from the day
    the access ended (earlier days keep what was read), and so is the subusers' email volume;
    the plan recommendation does not assume 0 of them: it keeps what the current plan holds
    and says so, and makes none without the whole volume."""
    target, _, _, _, work, staging = built
    _add_seatless_tenant(target, staging.now)
    with psycopg.connect(target.conninfo()) as conn:  # as a release before nullable volumes
        conn.execute("alter table sendgrid_marts.fct_sendgrid_plan_utilization_history"
                     " alter column emails_requested set not null")  # fmt: skip
    try:
        _build_green(target, work)  # the history's pre-hook relaxes it
        overview = {r["tenant_id"]: r for r in rows(target, "rpt_sendgrid_utilization_overview")}
        gale = overview[SEATLESS]
        # the parent's stats were read, the subusers' volume was not (subusers.read): unknown
        assert gale["requests_30d"] is None
        months = {r["activity_month"]: r for r in rows(target, "rpt_sendgrid_monthly_volume")
                  if r["tenant_id"] == SEATLESS}  # fmt: skip
        month = months[AS_OF_DAY.replace(day=1)]
        assert month["parent_requests"] > 0
        assert (month["subuser_requests"], month["requests"]) == (None, None)
        month = {r["activity_month"]: r for r in rows(target, "rpt_sendgrid_monthly_volume")
                 if r["tenant_id"] == IPLESS}[AS_OF_DAY.replace(day=1)]  # fmt: skip
        assert (month["subuser_requests"], month["requests"]) == (0, month["parent_requests"])
        # the credit projection rests on the credits, not on the parent's part of the volume
        periods = {r["tenant_id"]: r for r in rows(target, "fct_sendgrid_plan_utilization")
                   if r["is_current_period"]}  # fmt: skip
        assert (periods[SEATLESS]["projection_basis"], periods[SEATLESS]["emails_requested"]) == (
            "period_to_date", None)  # fmt: skip
        assert periods[IPLESS]["projection_basis"] == "trailing_window"
        assert periods[IPLESS]["emails_requested"] > 0
        history = [r for r in rows(target, "fct_sendgrid_plan_utilization_history")
                   if r["tenant_id"] == SEATLESS]  # fmt: skip
        assert [r["emails_requested"] for r in history] == [None]
        unknown = ("seats_used", "seats_used_pct", "pending_invites_valid", "subusers_total",
                   "subusers_enabled", "subusers_active_30d", "subusers_inactive_30d")  # fmt: skip
        assert {c: gale[c] for c in unknown} == dict.fromkeys(unknown)
        # the scenario's tenants read and empty or not licensed: true zeros
        assert overview["t02-bluebird-bakery"]["subusers_total"] == 0
        assert overview["t02-bluebird-bakery"]["pending_invites_valid"] == 0
        assert overview["t01-acme-retail"]["subusers_total"] == 2

        # the days before the key lost teammates.read keep what the earlier key read
        as_of_day = AS_OF_DAY
        seat_days = {
            r["seat_date"]: r
            for r in rows(target, "fct_sendgrid_seat_utilization")
            if r["tenant_id"] == SEATLESS
        }
        assert seat_days[as_of_day - dt.timedelta(days=20)]["seats_used"] == 2
        assert seat_days[as_of_day - dt.timedelta(days=20)]["subusers_total"] is None
        assert seat_days[as_of_day]["seats_used"] is None
        assert seat_days[as_of_day]["owner_count"] is None

        # without the subusers' volume, no plan is sized
        recs = {r["tenant_id"]: r for r in rows(target, "rpt_sendgrid_plan_recommendation")}
        rec = recs[SEATLESS]
        assert (rec["seats_used"], rec["enabled_subusers"]) == (None, None)
        assert (rec["recommendation"], rec["recommended_plan_code"]) == ("no_data", None)
        assert rec["recommendation_text"].endswith(
            "the email volume is not readable (subusers missing scope)"
        ), rec["recommendation_text"]
        # 9,000 emails a month would fit Essentials 50K, which holds one teammate: unknown
        # seats keep a Pro plan's (cheapest: Pro 100K)
        rec = recs[TEAMLESS]
        assert (rec["seats_used"], rec["enabled_subusers"], rec["dedicated_ips"]) == (None, 0, 0)
        assert (rec["recommendation"], rec["recommended_plan_code"]) == ("downgrade", "pro_100k")
        assert rec["recommendation_text"].endswith(
            "(seats not readable: sized to hold the current plan's)"
        ), rec["recommendation_text"]
        # only the dedicated IPs unknown: still a plan that includes one (Pro)
        rec = recs[IPLESS]
        assert (rec["seats_used"], rec["enabled_subusers"], rec["dedicated_ips"]) == (0, 0, None)
        assert (rec["recommendation"], rec["recommended_plan_code"]) == ("downgrade", "pro_100k")
        assert rec["recommendation_text"].endswith(
            "(dedicated IPs not readable: sized to hold the current plan's)"
        ), rec["recommendation_text"]
        # a subuser whose stats cannot be read is of unknown activity, never inactive
        (sub,) = [r for r in rows(target, "fct_sendgrid_seat_activity")
                  if r["tenant_id"] == SEATLESS and r["seat_kind"] == "subuser"]  # fmt: skip
        assert (sub["is_activity_known"], sub["is_active_30d"]) == (False, None)
        assert sub["activity_basis"] == "subuser stats not readable (missing scope)"
        (card,) = [r for r in rows(target, "rpt_sendgrid_seat_activity")
                   if r["tenant_id"] == SEATLESS and r["seat_kind"] == "subuser"]  # fmt: skip
        # the card's counts are unknown too (before: 0 active, 0 idle, read as a true zero)
        assert (card["seats_active_30d"], card["seats_inactive_30d"]) == (None, None)
        assert card["seats_activity_unknown"] == 1
        # nor are its seats the ones the earlier key listed (before: 2 teammates, 1 subuser)
        cards = {(r["tenant_id"], r["seat_kind"]): r
                 for r in rows(target, "rpt_sendgrid_seat_activity")}  # fmt: skip
        for kind in ("teammate", "subuser"):
            card = cards[(SEATLESS, kind)]
            assert (card["seats_total"], card["seats_enabled"]) == (None, None), kind
            assert (card["limited_credit_seats"], card["active_30d_share"]) == (None, None), kind
        assert cards[("t01-acme-retail", "subuser")]["seats_total"] == 2  # read: known

        # suppressions: months before bounces became unreadable keep what was read
        supp = {
            (r["tenant_id"], r["suppression_kind"], r["suppression_month"]): (
                r["new_suppressions"], r["cumulative_suppressions"])
            for r in rows(target, "fct_sendgrid_suppressions_monthly")
        }  # fmt: skip
        read_month = (staging.now - dt.timedelta(days=60)).date().replace(day=1)
        as_of_month = AS_OF_DAY.replace(day=1)
        assert supp[(TEAMLESS, "bounce", read_month)] == (3, 3)
        assert supp[(TEAMLESS, "bounce", as_of_month)] == (None, None)
        assert supp[(TEAMLESS, "block", as_of_month)] == (1, 1)
        assert supp[(TEAMLESS, "spam_report", as_of_month)] == (None, None)  # never read
        # the block read is the parent's alone: without the subuser list the total is unknown
        assert supp[(SEATLESS, "block", as_of_month)] == (None, None)

        # features: the same rule tells a licence from an unknown
        features = {
            r["feature_code"]: (r["is_licensed"], r["feature_state"], r["is_used"],
                                r["usage_count"])
            for r in rows(target, "fct_sendgrid_feature_adoption")
            if r["tenant_id"] == SEATLESS
        }  # fmt: skip
        assert features["ip_pools"] == (True, "unused_paid", False, 0)  # read before it failed
        assert features["link_branding"] == (None, "unknown", None, None)  # never read
        # listed by the earlier key; no scope now
        assert features["subusers"] == (None, "used", True, 1)
        assert features["categories"] == (None, "unknown", None, None)  # never read
        (dim,) = [r for r in rows(target, "dim_sendgrid_tenants") if r["tenant_id"] == SEATLESS]
        assert (dim["plan_code"], dim["seats_used"], dim["enabled_subuser_count"]) == (
            "pro_300k", None, None)  # fmt: skip
    finally:
        _remove_tenants(
            target,
            [SEATLESS, IPLESS, TEAMLESS],
            ("global_stats", "teammates", "subusers", "bounces", "blocks"),
        )
        run_dbt(target, work, "run", *as_of_vars(AS_OF))
