"""Which SendGrid account a credential reaches: ``GET /v3/user/username``.

Two connections whose credentials answer with the same user id and username reach one account
(two keys of it, or a parent's key and a subuser's). The hook reads the answer so that a Test
and the Connect page can name the account a credential reaches; the reports' own matching is
dbt's (``int_sendgrid__account_identities``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

#: The endpoint naming the calling credential's account, and the scope it needs.
USERNAME_PATH = "/v3/user/username"
USERNAME_SCOPE = "user.username.read"


class AccountIdentity(NamedTuple):
    """The SendGrid account behind a credential.

    Attributes:
        user_id: SendGrid's numeric user id.
        username: The account's username.
    """

    user_id: int
    username: str

    def label(self) -> str:
        """``"account 'acme', user id 42"``."""
        return f"account {self.username!r}, user id {self.user_id}"


def parse_identity(body: Any) -> AccountIdentity | None:
    """The identity in a ``GET /v3/user/username`` body; ``None`` when it has no user id."""
    if not isinstance(body, dict):
        return None
    user_id, username = body.get("user_id"), body.get("username")
    if isinstance(user_id, bool) or not isinstance(user_id, int | str) or not username:
        return None
    try:
        return AccountIdentity(int(user_id), str(username))
    except ValueError:
        return None
