"""Invite links: a signed, single-use link for a SendGrid admin without an Airflow account.

An invite is bound to the **identity** of the connection it was made for (its row id and a
random marker, :func:`sendgrid_connect.tenants.identity`), not to its id: once that connection
is deleted the link is dead, even if a new connection is later created under the same id.
Single use and expiry come from the nonce table (:mod:`.nonces`). A connection has at most
one open invite: a new link, or a credential saved by any means on the page, ends the others
(a forwarded old link cannot replace a working credential).

The token travels in the link's **fragment** (``/sendgrid/invite#<token>``): a browser never
sends a fragment to the server, so the token is in no request line and no access log. The
page at that URL reads it with a few lines of script and posts it in a form body; the page it
answers with carries a short-lived :func:`form_token` (not the link's token) to "Continue".
"""

from __future__ import annotations

import hmac
import logging
from typing import NamedTuple

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


class Invite(NamedTuple):
    """A valid invite: its nonce, its connection and the identity fingerprint it is bound to."""

    nonce: str
    conn_id: str
    bound: str


def validate(token: str) -> Invite:
    """The invite of a link's ``token``, if it is valid for the connection stored now.

    Raises:
        InviteInvalid: Bad signature, expired, used, or made for a connection that is gone.
    """
    refused = "This invitation link is invalid or has expired"
    return _check(_decode(token, signing.SALT_INVITE, signing.INVITE_TTL, refused))


def form_token(invite: Invite) -> str:
    """The signed value the landing page's form posts instead of the link's token."""
    data = {"n": invite.nonce, "c": invite.conn_id, "f": invite.bound}
    return signing.sign(data, signing.SALT_INVITE_FORM)


def validate_form(token: str) -> Invite:
    """The invite of a landing page's :func:`form_token`, if the invite is still valid.

    Raises:
        InviteInvalid: The form token is bad or older than its TTL, or the invite is not valid.
    """
    refused = "This page has expired; open the invitation link again"
    return _check(_decode(token, signing.SALT_INVITE_FORM, signing.INVITE_FORM_TTL, refused))


def _decode(token: str, salt: str, max_age: int, refused: str) -> Invite:
    try:
        data = signing.unsign(token, salt, max_age)
        nonce, conn_id, bound = str(data["n"]), str(data["c"]), str(data["f"])
    except (signing.InvalidSignedValue, KeyError, TypeError):
        raise InviteInvalid(refused) from None
    return Invite(nonce, conn_id, bound)


def _check(invite: Invite) -> Invite:
    nonce, conn_id, bound = invite
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
    return invite
