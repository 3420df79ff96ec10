"""What ``make airflow`` sets up before Airflow starts: where the UI listens, the mailbox."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_the_ui_listens_on_loopback_unless_the_user_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The demo's login is printed and kept in a file: not every interface (Airflow's 0.0.0.0)."""
    from sendgrid_demo.airflow_ui import standalone_environment

    monkeypatch.delenv("AIRFLOW__API__HOST", raising=False)
    assert standalone_environment(8080)["AIRFLOW__API__HOST"] == "127.0.0.1"
    monkeypatch.setenv("AIRFLOW__API__HOST", "0.0.0.0")  # noqa: S104 - the user's own choice
    assert standalone_environment(8080)["AIRFLOW__API__HOST"] == "0.0.0.0"  # noqa: S104


def test_the_demo_forks_a_few_task_processes_not_airflow_s_32(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """LocalExecutor forks ``parallelism`` workers at start-up: 8 for the demo, unless set."""
    from sendgrid_demo.airflow_ui import DEMO_PARALLELISM, standalone_environment

    monkeypatch.delenv("AIRFLOW__CORE__PARALLELISM", raising=False)
    assert standalone_environment(8080)["AIRFLOW__CORE__PARALLELISM"] == str(DEMO_PARALLELISM)
    assert DEMO_PARALLELISM < 32
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", "16")
    assert standalone_environment(8080)["AIRFLOW__CORE__PARALLELISM"] == "16"


def test_the_printed_mailbox_exists_before_any_mail(tmp_path: Path) -> None:
    """``make airflow`` prints ``Alert e-mails: .../mail/``: the folder must be there to open."""
    from sendgrid_demo.smtp_sink import SmtpSink

    mailbox = tmp_path / "demo" / "mail"
    sink = SmtpSink(mailbox=mailbox).start()
    try:
        assert mailbox.is_dir()
    finally:
        sink.stop()
