"""Single-use, expiring nonces of OAuth flows and invite links, in the Airflow metadata database.

The API server may run several workers (and several instances), so "single use" needs shared
state: a small table ``sendgrid_connect_nonce`` next to Airflow's own tables (created on first
use). A nonce is consumed by one atomic ``UPDATE ... WHERE used_at IS NULL AND expires_at > now``;
of two concurrent callbacks only one sees a row count of 1. Rows hold no secret (the PKCE
verifier is derived from the nonce with the server key, see :mod:`.signing`); the
browser-binding cookie is stored as a keyed hash.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Column, Float, MetaData, String, Table, and_, delete, select, update

Purpose = Literal["oauth", "invite"]
#: The actor of an OAuth flow started from an invite link (``invite:<invite nonce>``).
INVITE_ACTOR = "invite:"

_metadata = MetaData()
NONCES = Table(
    "sendgrid_connect_nonce",
    _metadata,
    Column("nonce", String(64), primary_key=True),
    Column("purpose", String(16), nullable=False),
    Column("conn_id", String(250), nullable=False),
    Column("actor", String(300), nullable=False),
    Column("bind_hash", String(64), nullable=True),
    Column("next_path", String(500), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("used_at", Float, nullable=True),
)
_created = False
RETENTION = 7 * 86400  # keep used/expired rows a week (audit), then delete


@dataclass(frozen=True)
class Nonce:
    """One row of the nonce table."""

    nonce: str
    purpose: str
    conn_id: str
    actor: str
    bind_hash: str | None
    next_path: str | None
    created_at: float
    expires_at: float
    used_at: float | None

    @property
    def invite_flow(self) -> bool:
        """Whether this OAuth flow was started from an invite link (no Airflow user)."""
        return self.actor.startswith(INVITE_ACTOR)


def _ensure_table(session) -> None:
    global _created
    if not _created:
        NONCES.create(bind=session.get_bind(), checkfirst=True)
        _created = True


def issue(
    purpose: Purpose,
    conn_id: str,
    actor: str,
    ttl: float,
    *,
    bind_hash: str | None = None,
    next_path: str | None = None,
) -> str:
    """Create a nonce valid for ``ttl`` seconds; return it."""
    from airflow.utils.session import create_session

    nonce = secrets.token_urlsafe(24)
    now = time.time()
    with create_session() as session:
        _ensure_table(session)
        session.execute(delete(NONCES).where(NONCES.c.expires_at < now - RETENTION))
        session.execute(
            NONCES.insert().values(
                nonce=nonce,
                purpose=purpose,
                conn_id=conn_id,
                actor=actor,
                bind_hash=bind_hash,
                next_path=next_path,
                created_at=now,
                expires_at=now + ttl,
                used_at=None,
            )
        )
    return nonce


def get(nonce: str, purpose: Purpose) -> Nonce | None:
    """Return the row (used or not) or None."""
    from airflow.utils.session import create_session

    with create_session() as session:
        _ensure_table(session)
        row = session.execute(
            select(NONCES).where(NONCES.c.nonce == nonce, NONCES.c.purpose == purpose)
        ).first()
    return Nonce(**row._mapping) if row else None


def usable(row: Nonce | None) -> bool:
    """Whether ``row`` exists, is unused and unexpired."""
    return row is not None and row.used_at is None and row.expires_at > time.time()


def consume(nonce: str, purpose: Purpose) -> bool:
    """Mark ``nonce`` used; True only for the single caller that wins."""
    return _use(NONCES.c.nonce == nonce, purpose=purpose) == 1


def revoke(purpose: Purpose, conn_id: str, *, actor_prefix: str | None = None) -> int:
    """Mark every unused, unexpired ``purpose`` nonce of ``conn_id`` used; return how many.

    ``actor_prefix``: only the nonces whose actor starts with it.
    """
    which = NONCES.c.conn_id == conn_id
    if actor_prefix is not None:
        which = and_(which, NONCES.c.actor.startswith(actor_prefix, autoescape=True))
    return _use(which, purpose=purpose)


def _use(which: Any, *, purpose: Purpose) -> int:
    """Mark the unused, unexpired ``purpose`` nonces ``which`` selects used; return how many.

    One atomic ``UPDATE``: of two concurrent callers, only one marks a given nonce.
    """
    from airflow.utils.session import create_session

    now = time.time()
    with create_session() as session:
        _ensure_table(session)
        result = session.execute(
            update(NONCES)
            .where(
                which,
                NONCES.c.purpose == purpose,
                NONCES.c.used_at.is_(None),
                NONCES.c.expires_at > now,
            )
            .values(used_at=now)
        )
        return result.rowcount
