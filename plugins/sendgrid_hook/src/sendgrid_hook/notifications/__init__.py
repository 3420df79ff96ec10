"""Notifiers of the SendGrid provider."""
