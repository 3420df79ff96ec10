"""The ``sendgrid_marts`` tables, created from the dbt contract, filled with realistic rows.

The DDL is generated from the contracts of ``dbt_project/models/marts/_sendgrid__marts.yml`` and
``dbt_project/models/reporting/_sendgrid__reporting.yml`` (column names, data types and not-null
constraints), so a renamed or retyped mart column breaks these tests the way it would break the
dashboard on the real marts.

Four tenants, deterministic, as of 2026-11-28 (stats to 2026-11-27):

* ``acme_prod``: Pro 300K, connected, two busy subusers, under-used credits, downgrade advised;
* ``globex_eu``: Essentials 100K in the EU region, **overage** this month, upgrade advised, two
  teammates on a one-seat plan;
* ``initech``: Pro 100K whose key was revoked: **needs_reconnect**, data 30 hours old;
* ``xss_tenant``: a free account named ``<script>…`` that requested nothing (**null rates**),
  daily credit resets, degraded by missing scopes.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import random
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg import sql

REPO = Path(__file__).resolve().parents[2]
MODELS_YML = (
    REPO / "dbt_project" / "models" / "marts" / "_sendgrid__marts.yml",
    REPO / "dbt_project" / "models" / "reporting" / "_sendgrid__reporting.yml",
)
FEATURE_SEED = REPO / "dbt_project" / "seeds" / "sendgrid_feature_catalog.csv"
SCHEMA = "sendgrid_marts"

TODAY = dt.date(2026, 11, 28)
LAST_STATS_DAY = TODAY - dt.timedelta(days=1)
SYNC_AT = dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.UTC)
BUILD_AT = dt.datetime(2026, 11, 28, 6, 20, tzinfo=dt.UTC)
AS_OF = SYNC_AT  # the transform's as-of instant (var sendgrid_as_of)
REVOKED_AT = dt.datetime(2026, 11, 27, 0, 10, tzinfo=dt.UTC)
XSS_NAME = '<script>alert("x")</script> & Sons'

Row = dict[str, Any]


@functools.cache
def mart_columns() -> dict[str, list[tuple[str, str, bool]]]:
    """model → [(column, data_type, not_null)] from the marts and reporting yml."""
    models = {}
    for model in (m for path in MODELS_YML for m in yaml.safe_load(path.read_text())["models"]):
        cols = []
        for col in model["columns"]:
            not_null = any(c.get("type") == "not_null" for c in col.get("constraints") or [])
            cols.append((col["name"], col["data_type"], not_null))
        models[model["name"]] = cols
    return models


def create_marts(conn: psycopg.Connection) -> None:
    """The reporting models' tables (only those: the dashboard reads nothing else), empty."""
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(SCHEMA)))
    for model, cols in mart_columns().items():
        if not model.startswith("rpt_"):
            continue
        body = sql.SQL(", ").join(
            sql.SQL("{} {}{}").format(
                sql.Identifier(name),
                sql.SQL(data_type),
                sql.SQL(" not null" if not_null else ""),
            )
            for name, data_type, not_null in cols
        )
        conn.execute(
            sql.SQL("create table {}.{} ({})").format(
                sql.Identifier(SCHEMA), sql.Identifier(model), body
            )
        )


def insert(conn: psycopg.Connection, model: str, rows: Sequence[Row]) -> None:
    if not rows:
        return
    names = [name for name, _, _ in mart_columns()[model]]
    rows = [{n: r.get(n) for n in names} for r in rows]
    query = sql.SQL("insert into {}.{} ({}) values ({})").format(
        sql.Identifier(SCHEMA),
        sql.Identifier(model),
        sql.SQL(", ").join(map(sql.Identifier, names)),
        sql.SQL(", ").join(sql.Placeholder() * len(names)),
    )
    with conn.cursor() as cur:
        cur.executemany(query, [[r[n] for n in names] for r in rows])


def md5(*parts: object) -> str:
    return hashlib.md5("|".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def rate(num: int, den: int) -> Decimal | None:
    return None if den == 0 else round(Decimal(num) / Decimal(den), 6)


def pct(num: int | float, den: int | float | None) -> Decimal | None:
    return None if not den else round(Decimal(num) * 100 / Decimal(den), 2)


def days(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    d = start
    while d <= end:
        yield d
        d += dt.timedelta(days=1)


def month_start(d: dt.date, back: int = 0) -> dt.date:
    y, m = d.year, d.month - back
    while m <= 0:
        y, m = y - 1, m + 12
    return dt.date(y, m, 1)


def next_month(d: dt.date) -> dt.date:
    return dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)


TENANTS: dict[str, dict[str, Any]] = {
    "acme_prod": {
        "display_name": "Acme Retail",
        "region": "global",
        "account_type": "paid",
        "reputation": Decimal("98.5"),
        "plan": ("pro_300k", "Pro 300K", 300_000, Decimal("249.00"), 1000),
        "basis": "credits match a tier",
        "status": "connected",
        "senders": {"": 3_200, "acme-news": 1_700, "acme-receipts": 1_100},
        "admins": 3,
        "teammates": 9,
        "subusers": 4,
    },
    "globex_eu": {
        "display_name": "Globex Europe",
        "region": "eu",
        "account_type": "paid",
        "reputation": Decimal("91.2"),
        "plan": ("essentials_100k", "Essentials 100K", 100_000, Decimal("34.95"), 1),
        "basis": "credits match a tier",
        "status": "connected",
        "senders": {"": 3_750},
        "admins": 1,
        "teammates": 1,
        "subusers": 0,
    },
    "initech": {
        "display_name": "Initech",
        "region": "global",
        "account_type": "paid",
        "reputation": Decimal("87"),
        "plan": ("pro_100k", "Pro 100K", 100_000, Decimal("89.95"), 1000),
        "basis": "nearest tier above credits",
        "status": "needs_reconnect",
        "senders": {"": 2_900, "initech-alerts": 350},
        "admins": 1,
        "teammates": 2,
        "subusers": 2,
    },
    "xss_tenant": {
        "display_name": XSS_NAME,
        "region": "global",
        "account_type": "free",
        "reputation": Decimal("100"),
        "plan": ("free", "Free", 100, Decimal("0.00"), 1),
        "basis": "free account",
        "status": "degraded",
        "senders": {"": 0},
        "admins": 0,
        "teammates": 0,
        "subusers": 0,
    },
}


def _activity(rng: random.Random) -> list[Row]:
    rows = []
    for tid, t in TENANTS.items():
        last = LAST_STATS_DAY - dt.timedelta(days=1 if t["status"] == "needs_reconnect" else 0)
        first = LAST_STATS_DAY - dt.timedelta(days=420 if tid != "xss_tenant" else 45)
        for sub, base in t["senders"].items():
            for d in days(first, last):
                growth = 1 + 0.35 * (d - first).days / 420
                weekly = 0.55 if d.weekday() >= 5 else 1.0
                req = int(base * growth * weekly * rng.uniform(0.8, 1.2))
                if tid == "globex_eu" and d >= month_start(LAST_STATS_DAY):
                    req = int(req * 1.05)
                if sub == "acme-news" and rng.random() < 0.05:
                    req = 0  # a quiet day: null rates for that sender-day
                bounces = int(req * rng.uniform(0.004, 0.03 if tid == "globex_eu" else 0.012))
                blocks = int(req * rng.uniform(0.0, 0.006))
                drops = int(req * rng.uniform(0.0, 0.004))
                delivered = max(0, req - bounces - blocks - drops - int(req * 0.002))
                spam = int(delivered * rng.uniform(0.0, 0.0009))
                opens = int(delivered * rng.uniform(0.25, 0.4))
                uopens = int(opens * 0.7)
                clicks = int(delivered * rng.uniform(0.02, 0.05))
                uclicks = int(clicks * 0.8)
                unsub = int(delivered * rng.uniform(0.0, 0.002))
                rows.append(
                    {
                        "activity_day_id": md5(tid, sub, d),
                        "tenant_id": tid,
                        "sender_type": "subuser" if sub else "parent",
                        "subuser_username": sub,
                        "sender_username": sub or f"{tid}-owner",
                        "activity_date": d,
                        "requests": req,
                        "processed": req - drops,
                        "delivered": delivered,
                        "opens": opens,
                        "unique_opens": uopens,
                        "clicks": clicks,
                        "unique_clicks": uclicks,
                        "bounces": bounces,
                        "blocks": blocks,
                        "deferred": int(req * 0.01),
                        "spam_reports": spam,
                        "unsubscribes": unsub,
                        "invalid_emails": int(req * 0.001),
                        "drops": drops,
                        "delivery_rate": rate(delivered, req),
                        "unique_open_rate": rate(uopens, delivered),
                        "unique_click_rate": rate(uclicks, delivered),
                        "bounce_rate": rate(bounces, req),
                        "block_rate": rate(blocks, req),
                        "spam_report_rate": rate(spam, delivered),
                        "unsubscribe_rate": rate(unsub, delivered),
                        "source_extracted_at": SYNC_AT,
                        "dbt_updated_at": BUILD_AT,
                    }
                )
    return rows


def _periods(activity: list[Row]) -> list[Row]:
    requested: dict[tuple[str, dt.date], int] = {}
    for r in activity:
        key = (r["tenant_id"], month_start(r["activity_date"]))
        requested[key] = requested.get(key, 0) + r["requests"]
    rows = []
    for tid, t in TENANTS.items():
        _, _, credits, _, _ = t["plan"]
        if tid == "xss_tenant":  # free: 100 credits a day, reset daily
            for back in range(20, -1, -1):
                start = TODAY - dt.timedelta(days=back)
                used = [3, 0, 12, 0, 0, 1][back % 6]
                rows.append(
                    _period(
                        tid,
                        start,
                        start + dt.timedelta(days=1),
                        "daily",
                        1,
                        credits,
                        used,
                        back == 0,
                    )
                )
            continue
        for back in range(13, -1, -1):
            start = month_start(TODAY, back)
            end = next_month(start)
            current = back == 0
            elapsed = (TODAY - start).days + 1 if current else (end - start).days
            used = requested.get((tid, start), 0)
            if tid == "acme_prod":
                used = int(used * 0.9)
            rows.append(_period(tid, start, end, "monthly", elapsed, credits, used, current))
    return rows


def _period(
    tid: str,
    start: dt.date,
    end: dt.date,
    freq: str,
    elapsed: int,
    total: int,
    used: int,
    current: bool,
) -> Row:
    period_days = (end - start).days
    run_rate = round(Decimal(used) / elapsed, 4)
    projected = int(run_rate * period_days) if current else used
    remain = max(total - used, 0)
    overage = max(used - total, 0)
    projected_pct = pct(projected, total)
    closed = end <= TODAY
    if overage:
        status = "overage"
    elif not closed and elapsed < 7 and freq != "daily":
        status = "insufficient_data"
    elif projected > total:
        status = "at_risk"
    elif projected < total * 0.5:
        status = "under_used"
    else:
        status = "healthy"
    return {
        "credit_period_id": md5(tid, start),
        "tenant_id": tid,
        "period_start_date": start,
        "period_end_date": end,
        "reset_frequency": freq,
        "period_days": period_days,
        "days_elapsed": elapsed,
        "days_remaining": period_days - elapsed,
        "is_current_period": current,
        "is_period_closed": closed,
        "credits_total": total,
        "credits_used": used,
        "credits_remain": remain,
        "credits_overage": overage,
        "emails_requested": used,
        "credits_used_pct": pct(used, total),
        "daily_run_rate": run_rate,
        "projection_basis": "actual" if closed else "period_to_date",
        "rate_days_observed": period_days if closed else elapsed,
        "projection_confidence": "high" if closed else "medium" if elapsed >= 7 else "low",
        "projection_note": "actual use of a closed period"
        if closed
        else f"daily rate of the period so far ({elapsed} days)",
        "projected_credits_used": projected,
        "projected_used_pct": projected_pct,
        "projected_overage_emails": max(projected - total, 0),
        "projected_overage_cost_usd": None,
        "projected_exhaustion_date": None,
        "days_until_exhausted": (
            None if used == 0 else 0 if remain == 0 else int(remain / run_rate)
        ),
        "utilization_status": status,
        "observed_at": REVOKED_AT if tid == "initech" else SYNC_AT,
        "as_of_at": AS_OF,
    }


def _seats() -> list[Row]:
    rows = []
    for tid, t in TENANTS.items():
        code, _, _, _, limit = t["plan"]
        first = TODAY - dt.timedelta(days=120)
        for d in days(first, TODAY):
            age = (d - first).days
            admins = min(t["admins"], 1 + age // 40) if t["admins"] else 0
            mates = max(0, t["teammates"] - (120 - age) // 15)
            used = admins + mates
            subs = t["subusers"]
            active = min(subs, len(t["senders"]) - 1)
            rows.append(
                {
                    "seat_day_id": md5(tid, d),
                    "tenant_id": tid,
                    "seat_date": d,
                    "owner_count": 1,
                    "admin_count": admins,
                    "teammate_count": mates,
                    "seats_used": used,
                    "pending_invites_valid": 2 if tid == "acme_prod" else 0,
                    "pending_invites_expired": 1 if tid == "acme_prod" else 0,
                    "plan_code": code,
                    "seat_limit": limit,
                    "seats_used_pct": pct(used, limit),
                    "subusers_total": subs,
                    "subusers_disabled": 1 if subs > 2 else 0,
                    "subusers_active_30d": active,
                    "subusers_inactive_30d": subs - active,
                    "subusers_active_60d": active,
                    "subusers_inactive_60d": subs - active,
                    "subusers_active_90d": active,
                    "subusers_inactive_90d": subs - active,
                    "is_latest_day": d == TODAY,
                }
            )
    return rows


def _features(rng: random.Random) -> list[Row]:
    with FEATURE_SEED.open() as fh:
        catalog = list(csv.DictReader(fh))
    rows = []
    for tid in TENANTS:
        for i, f in enumerate(catalog):
            roll = (i * 7 + len(tid)) % 10
            if tid == "xss_tenant":
                licensed = None if i % 3 == 0 else i % 2 == 0
                count = 1 if i == 5 else 0
            elif tid == "globex_eu":
                licensed = i < 10
                count = rng.randint(1, 40) if licensed and roll < 6 else 0
            else:
                licensed = True if roll < 8 else (None if roll == 8 else False)
                count = rng.randint(1, 900) if licensed and roll < 5 else 0
            limit = 5 if f["feature_code"] == "event_webhooks" else None
            if limit and count:
                count = min(count, 3)
            status = {True: "ok", False: "not_licensed", None: "missing_scope"}[licensed]
            rows.append(
                {
                    "tenant_feature_id": md5(tid, f["feature_code"]),
                    "tenant_id": tid,
                    "feature_code": f["feature_code"],
                    "feature_name": f["feature_name"],
                    "is_licensed": licensed,
                    "is_used": count > 0,
                    "feature_state": "used"
                    if count > 0
                    else {True: "unused_paid", False: "not_licensed", None: "unknown"}[licensed],
                    "usage_count": count,
                    "emails_90d": None,
                    "usage_limit": limit,
                    "usage_limit_pct": pct(count, limit) if limit else None,
                    "last_activity_at": SYNC_AT - dt.timedelta(days=i) if count else None,
                    "evidence_stream": f["evidence_stream"],
                    "evidence_stream_status": status,
                    "usage_measure": f["usage_measure"],
                }
            )
    return rows


def _keys() -> list[Row]:
    specs = {
        "acme_prod": [
            ("", "Production mail", 3, False, False),
            ("", "Terraform admin", 143, True, False),
            ("acme-news", "Newsletter sender", 2, False, False),
            ("", "Old CI key", 140, True, True),
            ("acme-receipts", "Receipts", 2, False, False),
        ],
        "globex_eu": [
            ("", "Globex app", 5, False, False),
            ("", "Legacy full key", 150, True, False),
        ],
        "initech": [("", "Reporting", None, None, False), ("", "Intern key", 12, False, True)],
        "xss_tenant": [("", "<img src=x onerror=alert(1)>", 150, True, False)],
    }
    rows = []
    for tid, keys in specs.items():
        for i, (sub, name, scopes, full, deleted) in enumerate(keys):
            key_id = f"{tid[:3].upper()}key{i:02d}"
            rows.append(
                {
                    "tenant_api_key_id": md5(tid, sub, key_id),
                    "tenant_id": tid,
                    "subuser_username": sub,
                    "api_key_id": key_id,
                    "api_key_name": name,
                    "scope_count": scopes,
                    "has_full_access": full,
                    "is_deleted": deleted,
                    "first_seen_at": SYNC_AT - dt.timedelta(days=200 - 30 * i),
                    "last_seen_at": SYNC_AT - dt.timedelta(days=12) if deleted else SYNC_AT,
                    "deleted_at": SYNC_AT - dt.timedelta(days=11) if deleted else None,
                }
            )
    return rows


def _suppressions(rng: random.Random) -> list[Row]:
    rows = []
    kinds = ("bounce", "block", "spam_report", "invalid_email", "unsubscribe")
    for tid, scale in (("acme_prod", 900), ("globex_eu", 1400), ("initech", 300)):
        totals = dict.fromkeys(kinds, 0)
        for back in range(15, -1, -1):
            month = month_start(TODAY, back)
            for j, kind in enumerate(kinds):
                new = int(scale / (j + 1) * rng.uniform(0.6, 1.3))
                totals[kind] += new
                rows.append(
                    {
                        "suppression_month_id": md5(tid, month, kind),
                        "tenant_id": tid,
                        "suppression_month": month,
                        "suppression_kind": kind,
                        "new_suppressions": new,
                        "cumulative_suppressions": totals[kind],
                    }
                )
    return rows


def _health() -> list[Row]:
    common = {
        "missing_scopes": None,
        "streams_missing_scopes": None,
        "missing_scope_stream_count": 0,
        "streams_not_licensed": None,
        "not_licensed_stream_count": 0,
        "streams_in_error": None,
        "last_error": None,
        "ok_stream_count": 31,
    }
    specs = {
        "acme_prod": {
            "status_since_at": SYNC_AT - dt.timedelta(days=90),
            "data_age_hours": Decimal("0.33"),
        },
        "globex_eu": {
            "status_since_at": SYNC_AT - dt.timedelta(days=40),
            "data_age_hours": Decimal("0.33"),
            "streams_not_licensed": "ip_pools,validation_jobs,singlesends",
            "not_licensed_stream_count": 3,
            "ok_stream_count": 28,
        },
        "initech": {
            "status_since_at": REVOKED_AT,
            "data_age_hours": Decimal("30.17"),
            "last_error": "401 Unauthorized: authorization grant is invalid, expired, or revoked",
            "streams_in_error": "user_account,stats,teammates",
            "ok_stream_count": 0,
        },
        "xss_tenant": {
            "status_since_at": SYNC_AT - dt.timedelta(days=3),
            "data_age_hours": Decimal("0.33"),
            "missing_scopes": "suppression.read,<b>templates.read</b>",
            "streams_missing_scopes": "bounces,templates",
            "missing_scope_stream_count": 2,
            "last_error": "403 Forbidden: access forbidden <for> stream 'templates'",
            "ok_stream_count": 12,
        },
    }
    rows = []
    for tid, t in TENANTS.items():
        spec = specs[tid]
        success = REVOKED_AT - dt.timedelta(hours=6) if tid == "initech" else SYNC_AT
        rows.append(
            {
                "tenant_id": tid,
                "display_name": t["display_name"],
                "connection_status": t["status"],
                **common,
                **spec,
                "sync_state": "stale" if t["status"] == "needs_reconnect" else "synced",
                "has_data": True,
                "last_success_at": success,
                "last_checked_at": SYNC_AT,
                "last_data_at": success,
                "granted_scope_count": 40,
                "as_of_at": AS_OF,
            }
        )
    return rows


def _recommendations(activity: list[Row]) -> list[Row]:
    recs = {
        "acme_prod": ("pro_100k", "Pro 100K", Decimal("89.95"), "downgrade"),
        "globex_eu": ("pro_300k", "Pro 300K", Decimal("249.00"), "upgrade"),
        "initech": ("pro_100k", "Pro 100K", Decimal("89.95"), "keep"),
        "xss_tenant": ("free", "Free", Decimal("0.00"), "keep"),
    }
    monthly: dict[tuple[str, dt.date], int] = {}
    for r in activity:
        key = (r["tenant_id"], month_start(r["activity_date"]))
        monthly[key] = monthly.get(key, 0) + r["requests"]
    rows = []
    for tid, t in TENANTS.items():
        code, _, _, price, _ = t["plan"]
        full = [v for (k, m), v in monthly.items() if k == tid and m < month_start(LAST_STATS_DAY)][
            -12:
        ]
        peak = max(full, default=0)
        p95 = sorted(full)[max(0, int(len(full) * 0.95) - 1)] if full else 0
        rcode, rname, rprice, rec = recs[tid]
        rows.append(
            {
                "tenant_id": tid,
                "current_plan_code": code,
                "current_monthly_price_usd": price,
                "is_contract_price": False,
                "months_observed": len(full),
                "peak_monthly_requests": peak,
                "p95_monthly_requests": p95,
                "required_monthly_emails": max(peak, int(p95 * 1.2) + 1),
                "seats_used": t["admins"] + t["teammates"],
                "enabled_subusers": max(0, t["subusers"] - (1 if t["subusers"] > 2 else 0)),
                "dedicated_ips": 1 if code.startswith("pro") else 0,
                "recommended_plan_code": rcode,
                "recommended_plan_name": rname,
                "recommended_monthly_price_usd": rprice,
                "current_monthly_overage_usd": Decimal("0.00"),
                "current_monthly_cost_usd": price,
                "monthly_cost_change_usd": Decimal("0.00") if rec == "keep" else rprice - price,
                "recommendation": rec,
                "recommendation_text": _recommendation_text(rec, rname, rprice - price),
                "as_of_at": AS_OF,
            }
        )
    return rows


def _tenants_and_overview(
    periods: list[Row],
    seats: list[Row],
    features: list[Row],
    activity: list[Row],
    recs: list[Row],
) -> tuple[list[Row], list[Row]]:
    dims, overview = [], []
    for tid, t in TENANTS.items():
        code, name, credits, _, _ = t["plan"]
        cur = next(p for p in periods if p["tenant_id"] == tid and p["is_current_period"])
        seat = next(s for s in seats if s["tenant_id"] == tid and s["is_latest_day"])
        feats = [f for f in features if f["tenant_id"] == tid]
        last = max(r["activity_date"] for r in activity if r["tenant_id"] == tid)
        recent = [
            r
            for r in activity
            if r["tenant_id"] == tid and r["activity_date"] > last - dt.timedelta(days=30)
        ]
        req = sum(r["requests"] for r in recent)
        delivered = sum(r["delivered"] for r in recent)
        rec = next(r for r in recs if r["tenant_id"] == tid)
        sync = REVOKED_AT - dt.timedelta(hours=6) if tid == "initech" else SYNC_AT
        dims.append(
            {
                "tenant_id": tid,
                "display_name": t["display_name"],
                "company_name": t["display_name"],
                "country": "DE" if t["region"] == "eu" else "US",
                "region": t["region"],
                "account_type": t["account_type"],
                "reputation": t["reputation"],
                "credits_total": credits,
                "credits_used": cur["credits_used"],
                "credits_reset_frequency": cur["reset_frequency"],
                "plan_code": code,
                "plan_name": name,
                "plan_inference_basis": t["basis"],
                "seats_used": seat["seats_used"],
                "subuser_count": t["subusers"],
                "enabled_subuser_count": rec["enabled_subusers"],
                "connection_status": t["status"],
                "sync_state": "stale" if t["status"] == "needs_reconnect" else "synced",
                "has_data": True,
                "last_successful_sync_at": sync,
            }
        )
        overview.append(
            {
                "tenant_id": tid,
                "display_name": t["display_name"],
                "plan_name": name,
                "connection_status": t["status"],
                "credits_used_pct": cur["credits_used_pct"],
                "utilization_status": cur["utilization_status"],
                "seats_used_pct": seat["seats_used_pct"],
                "features_used": sum(1 for f in feats if f["is_used"]),
                "features_licensed": sum(1 for f in feats if f["is_licensed"]),
                "requests_30d": req,
                "bounce_rate_30d": rate(sum(r["bounces"] for r in recent), req),
                "spam_report_rate_30d": rate(sum(r["spam_reports"] for r in recent), delivered),
                "recommended_plan_name": rec["recommended_plan_name"],
                "recommended_plan_code": rec["recommended_plan_code"],
                "recommendation": rec["recommendation"],
                "monthly_cost_change_usd": rec["monthly_cost_change_usd"],
                "recommendation_text": rec["recommendation_text"],
                "last_successful_sync_at": sync,
                "display_order": 0,
                "sync_state": dims[-1]["sync_state"],
                "has_data": True,
                "projection_basis": cur["projection_basis"],
                "projection_confidence": cur["projection_confidence"],
                "is_overage_expected": cur["utilization_status"] in ("overage", "at_risk"),
                "seats_used": seat["seats_used"],
                "pending_invites_valid": seat["pending_invites_valid"],
                "subusers_total": seat["subusers_total"],
                "subusers_active_30d": seat["subusers_active_30d"],
                "subusers_active_60d": seat["subusers_active_60d"],
                "subusers_active_90d": seat["subusers_active_90d"],
                "subusers_inactive_30d": seat["subusers_inactive_30d"],
                "subusers_inactive_90d": seat["subusers_inactive_90d"],
                "features_unused_paid": sum(
                    1 for f in feats if f["feature_state"] == "unused_paid"
                ),
                "features_not_licensed": sum(
                    1 for f in feats if f["feature_state"] == "not_licensed"
                ),
                "features_unknown": sum(1 for f in feats if f["feature_state"] == "unknown"),
                "as_of_at": AS_OF,
            }
        )
    ordered = sorted(overview, key=lambda o: (-o["requests_30d"], o["display_name"]))
    for i, o in enumerate(ordered, start=1):
        o["display_order"] = i
    return dims, overview


def _recommendation_text(rec: str, name: str, change: Decimal) -> str:
    if rec == "keep":
        return "keep current plan"
    if change > 0:
        return f"{rec} to {name}: +${change:,.2f}/month"
    return f"{rec} to {name}: saves ${-change:,.2f}/month"


def _portfolio(overview: list[Row], health: list[Row]) -> Row:
    """``rpt_sendgrid_portfolio``: the totals over the overview rows."""

    def count(**match: Any) -> int:
        return sum(1 for o in overview if all(o[k] == v for k, v in match.items()))

    downgrades = [o for o in overview if o["recommendation"] == "downgrade"]
    upgrades = [o for o in overview if o["recommendation"] == "upgrade"]
    return {
        "as_of_at": AS_OF,
        "tenant_count": len(overview),
        "connected_count": count(connection_status="connected"),
        "needs_reconnect_count": count(connection_status="needs_reconnect"),
        "degraded_count": count(connection_status="degraded"),
        "never_synced_count": count(sync_state="never_synced"),
        "failed_sync_count": count(sync_state="failed"),
        "stale_count": count(sync_state="stale"),
        "requests_30d": sum(o["requests_30d"] for o in overview),
        "credits_at_risk_count": count(utilization_status="at_risk"),
        "credits_overage_count": count(utilization_status="overage"),
        "projected_overage_cost_usd": Decimal("0.00"),
        "features_used": sum(o["features_used"] for o in overview),
        "features_licensed": sum(o["features_licensed"] for o in overview),
        "features_unused_paid": sum(o["features_unused_paid"] for o in overview),
        "downgrade_savings_usd": -sum(
            (o["monthly_cost_change_usd"] for o in downgrades), Decimal(0)
        ),
        "downgrade_count": len(downgrades),
        "upgrade_cost_usd": sum((o["monthly_cost_change_usd"] for o in upgrades), Decimal(0)),
        "upgrade_count": len(upgrades),
        "last_successful_sync_at": max(
            h["last_success_at"] for h in health if h["last_success_at"]
        ),
    }


def build_rows() -> dict[str, list[Row]]:
    """Every mart's rows, keyed by model name."""
    rng = random.Random(7)
    activity = _activity(rng)
    periods = _periods(activity)
    seats = _seats()
    features = _features(rng)
    recs = _recommendations(activity)
    dims, overview = _tenants_and_overview(periods, seats, features, activity, recs)
    health = _health()
    return {
        "dim_sendgrid_tenants": dims,
        "fct_sendgrid_plan_utilization": periods,
        "fct_sendgrid_email_activity_daily": activity,
        "fct_sendgrid_seat_utilization": seats,
        "fct_sendgrid_feature_adoption": features,
        "dim_sendgrid_api_keys": _keys(),
        "fct_sendgrid_suppressions_monthly": _suppressions(rng),
        "fct_sendgrid_connection_health": health,
        "fct_sendgrid_plan_recommendation": recs,
        "rpt_sendgrid_utilization_overview": overview,
        "rpt_sendgrid_portfolio": [_portfolio(overview, health)],
    }


def load_marts(conninfo: str) -> dict[str, list[Row]]:
    """Create the reporting models in the database and fill them; return their rows as stored.

    The rows are read back (not the Python values inserted): the column types of the contract
    round numerics (``numeric(18, 2)``), and the page must show the mart values.
    """
    from .reporting_fixture import build_reporting

    rows = build_reporting()
    with psycopg.connect(conninfo) as conn:
        create_marts(conn)
        for model, model_rows in rows.items():
            insert(conn, model, model_rows)
        conn.commit()
        return {model: read_mart(conn, model) for model in rows}


def read_mart(conn: psycopg.Connection, model: str) -> list[Row]:
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            sql.SQL("select * from {}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(model))
        )
        return cur.fetchall()
