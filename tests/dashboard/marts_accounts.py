"""Rows of the account marts: seats, features, API keys, suppressions, connection health."""

from __future__ import annotations

import csv
import datetime as dt
import random
from decimal import Decimal

from .marts_schema import (
    AS_OF,
    REPO,
    REVOKED_AT,
    SYNC_AT,
    TENANTS,
    TODAY,
    Row,
    days,
    last_success_at,
    md5,
    month_start,
    pct,
)

FEATURE_SEED = REPO / "dbt_project" / "seeds" / "sendgrid_feature_catalog.csv"


def seat_rows() -> list[Row]:
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


def feature_rows(rng: random.Random) -> list[Row]:
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


def key_rows() -> list[Row]:
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


def suppression_rows(rng: random.Random) -> list[Row]:
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


def health_rows() -> list[Row]:
    common = {
        "missing_scopes": None,
        "streams_missing_scopes": None,
        "missing_scope_stream_count": 0,
        "streams_feature_scope": None,
        "feature_scope_stream_count": 0,
        "streams_not_licensed": None,
        "not_licensed_stream_count": 0,
        "streams_in_error": None,
        "error_stream_count": 0,
        "status_reason": None,
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
            "streams_feature_scope": "subusers,subuser_stats",
            "feature_scope_stream_count": 2,
            "ok_stream_count": 26,
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
            "status_reason": "missing_scopes",
            "last_error": "403 Forbidden: access forbidden <for> stream 'templates'",
            "ok_stream_count": 12,
        },
    }
    rows = []
    for tid, t in TENANTS.items():
        spec = specs[tid]
        success = last_success_at(tid)
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
