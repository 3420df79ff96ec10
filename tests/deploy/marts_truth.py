"""Compare the utilization marts with the SendGrid simulator's ground truth (``truth()``)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

#: marts ``suppression_kind`` -> truth key
SUPPRESSION_KINDS = {
    "bounce": "bounces",
    "block": "blocks",
    "spam_report": "spam_reports",
    "invalid_email": "invalid_emails",
    "unsubscribe": "unsubscribes",
}


def marts_vs_truth(conn: Any, truth: dict, conn_id_of: dict[str, str]) -> list[str]:
    """Differences between the marts and the truth (empty = equal).

    Args:
        conn: psycopg connection to the warehouse.
        truth: The simulator's truth document.
        conn_id_of: simulator tenant id -> Airflow connection id (the marts' ``tenant_id``).
    """
    problems: list[str] = []

    def check(tenant: str, what: str, got: Any, expected: Any) -> None:
        if got != expected:
            problems.append(f"{tenant} {what}: marts {got!r} != truth {expected!r}")

    expected_ids = sorted(conn_id_of[t["tenant_id"]] for t in truth["tenants"])
    got_ids = [r[0] for r in conn.execute(
        "select tenant_id from sendgrid_marts.dim_sendgrid_tenants order by 1")]  # fmt: skip
    check("*", "tenants", got_ids, expected_ids)

    dims = {r[0]: r[1:] for r in conn.execute(
        "select tenant_id, credits_total, credits_used, subuser_count, enabled_subuser_count"
        " from sendgrid_marts.dim_sendgrid_tenants")}  # fmt: skip
    seats = {r[0]: r[1:] for r in conn.execute(
        "select tenant_id, owner_count, admin_count, teammate_count, pending_invites_valid,"
        " pending_invites_expired, subusers_total, subusers_disabled, subusers_active_30d"
        " from sendgrid_marts.fct_sendgrid_seat_utilization where is_latest_day")}  # fmt: skip
    suppressions: dict[str, dict[str, int]] = defaultdict(dict)
    for tenant_id, kind, total in conn.execute(
        "select tenant_id, suppression_kind, sum(new_suppressions)::bigint"
        " from sendgrid_marts.fct_sendgrid_suppressions_monthly group by 1, 2"
    ):
        suppressions[tenant_id][SUPPRESSION_KINDS.get(kind, kind)] = total
    activity: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for tenant_id, sender_type, month, requests in conn.execute(
        "select tenant_id, sender_type, to_char(activity_date, 'YYYY-MM'), sum(requests)::bigint"
        " from sendgrid_marts.fct_sendgrid_email_activity_daily group by 1, 2, 3"
    ):
        activity[(tenant_id, sender_type)][month] = requests
    keys = dict(conn.execute(
        "select tenant_id, count(*) filter (where not is_deleted) from"
        " sendgrid_marts.dim_sendgrid_api_keys where coalesce(subuser_username, '') = ''"
        " group by 1"))  # fmt: skip

    for tenant in truth["tenants"]:
        tid = conn_id_of[tenant["tenant_id"]]
        agg = tenant["aggregates"]
        subs = tenant.get("subusers") or {}
        if tid not in dims:
            continue
        check(tid, "credits/subusers", dims[tid], (
            agg["credits"]["total"], agg["credits"]["used"], agg["subusers"]["total"],
            agg["subusers"]["total"] - agg["subusers"]["disabled"]))  # fmt: skip
        roles, pending, su = agg["teammates_by_role"], agg["pending_invites"], agg["subusers"]
        check(tid, "seats", seats.get(tid), (
            roles.get("owner", 0), roles.get("admin", 0), roles.get("teammate", 0),
            pending["valid"], pending["expired"], su["total"], su["disabled"],
            # truth "active" = enabled; active in 30 days = enabled minus inactive_30d
            su["active"] - su["inactive_30d"]))  # fmt: skip
        expected_supp = dict(agg["suppressions"])
        for sub in subs.values():
            for kind, n in (sub.get("suppressions") or {}).items():
                expected_supp[kind] = expected_supp.get(kind, 0) + n
        got_supp = {k: v for k, v in suppressions.get(tid, {}).items() if v}
        check(tid, "suppressions", got_supp, {k: v for k, v in expected_supp.items() if v})
        check(tid, "parent requests by month", activity.get((tid, "parent"), {}),
              agg["requests_by_month"])  # fmt: skip
        sub_months: dict[str, int] = defaultdict(int)
        for sub in subs.values():
            for month, n in (sub.get("requests_by_month") or {}).items():
                sub_months[month] += n
        got_sub = {m: n for m, n in activity.get((tid, "subuser"), {}).items() if n}
        check(tid, "subuser requests by month", got_sub, {m: n for m, n in sub_months.items() if n})
        check(tid, "api keys", keys.get(tid, 0), agg["api_keys"])
    return problems
