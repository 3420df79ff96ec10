"""The extract DAG's params are checked once, before any tenant runs, with a clear error."""

from __future__ import annotations

import datetime as dt

import pytest
from airflow.sdk.exceptions import AirflowFailException

from sendgrid_elt.run_params import check_params

#: A scheduled run's as-of: the end of its data interval (midnight UTC).
AS_OF = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "params",
    [
        None,
        {},
        {"streams": ["bounces"], "start_date": None},
        {"start_date": ""},
        {"start_date": "2026-11-28"},  # the run's as-of day: read from its start
        {"start_date": "2009-01-01"},
        {"start_date": dt.date(2025, 1, 1)},
    ],
)
def test_good_params_pass(params) -> None:
    check_params(params, AS_OF)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        # stored as every cursor, the next run would read each stream's whole history again
        ({"start_date": "2999-01-01"}, "param start_date: 2999-01-01 is after the run's as-of"),
        ({"start_date": "2026-11-29"}, "param start_date: 2026-11-29 is after the run's as-of"),
        ({"start_date": "1926-11-28"}, "param start_date: 1926-11-28 is before 2009-01-01"),
        ({"start_date": "28/11/2026"}, "param start_date: '28/11/2026' is not a YYYY-MM-DD"),
        ({"streams": ["bounce"]}, "param streams:"),
    ],
)
def test_bad_params_fail_once_naming_the_param(params, error: str) -> None:
    with pytest.raises(AirflowFailException, match=error.replace("(", r"\(")):
        check_params(params, AS_OF)


def test_a_run_without_an_as_of_checks_only_the_earliest_day() -> None:
    check_params({"start_date": "2026-12-01"}, None)
    with pytest.raises(AirflowFailException, match="before 2009-01-01"):
        check_params({"start_date": "2001-01-01"}, None)
