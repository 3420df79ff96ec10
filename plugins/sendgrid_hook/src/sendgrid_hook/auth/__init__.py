"""Authentication for SendGrid requests: ``requests.AuthBase`` objects, one per scheme."""

from __future__ import annotations

from sendgrid_hook.auth.api_key import ApiKeyAuth
from sendgrid_hook.auth.oauth2 import OAuth2RefreshAuth

__all__ = ["ApiKeyAuth", "OAuth2RefreshAuth"]
