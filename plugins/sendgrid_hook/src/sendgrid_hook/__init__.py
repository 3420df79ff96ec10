"""Airflow provider for the SendGrid utilization pipeline (connection type ``sendgrid``)."""

from __future__ import annotations

__version__ = "0.1.0"
