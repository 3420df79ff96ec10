"""Invite links: a signed, single-use link for a SendGrid admin without an Airflow account.

An invite is bound to the **identity** of the connection it was made for (its row id and a
random marker, :func:`sendgrid_connect.tenants.identity`), not to its id: once that connection
is deleted the link is dead, even if a new connection is later created under the same id.
Single use and expiry come from the nonce table (:mod:`.nonces`). A connection has at most
one open invite: a new link, or a credential saved by any means on the page, ends the others
(a forwarded old link cannot replace a working credential).
"""

from __future__ import annotations

import hmac
import logging

from sendgrid_connect import nonces, signing, tenants

log = logging.getLogger(__name__)


class InviteInvalid(Exception):
    """The link cannot be used (the message is safe to show)."""


def issue(conn_id: str, user_id: str) -> str:
    """A new invite token for ``conn_id``, made by Airflow user ``user_id`` (ends older ones)."""
    revoke(conn_id)
    nonce = nonces.issue("invite", conn_id, f"invited-by:{user_id}", signing.INVITE_TTL)
    bound = signing.identity_fingerprint(tenants.identity(conn_id, create=True) or "")
    return signing.sign({"n": nonce, "c": conn_id, "f": bound}, signing.SALT_INVITE)


def revoke(conn_id: str) -> int:
    """End every open invite link of ``conn_id``; return how many were open.

    An OAuth flow an invite already started (the invitee is at SendGrid's consent page) ends
    too: its callback is refused, so it cannot replace a credential saved since.
    """
    count = nonces.revoke("invite", conn_id)
    count += nonces.revoke("oauth", conn_id, actor_prefix=nonces.INVITE_ACTOR)
    if count:
        log.info("%d open invite link(s) for %s revoked", count, conn_id)
    return count


def validate(token: str) -> tuple[str, str]:
    """The invite's nonce and connection id, if it is valid for the connection stored now.

    Raises:
        InviteInvalid: Bad signature, expired, used, or made for a connection that is gone.
    """
    try:
        data = signing.unsign(token, signing.SALT_INVITE, signing.INVITE_TTL)
        nonce, conn_id, bound = str(data["n"]), str(data["c"]), str(data["f"])
    except (signing.InvalidSignedValue, KeyError, TypeError):
        raise InviteInvalid("This invitation link is invalid or has expired") from None
    row = nonces.get(nonce, "invite")
    if row is None or row.conn_id != conn_id or not nonces.usable(row):
        raise InviteInvalid("This invitation link has expired or was already used")
    try:
        current = tenants.identity(conn_id)
    except tenants.TenantError:
        current = None
    if current is None or not hmac.compare_digest(signing.identity_fingerprint(current), bound):
        log.warning("invite for %s refused: the connection it was made for is gone", conn_id)
        raise InviteInvalid("This invitation link is no longer valid")
    return nonce, conn_id
