"""Where the newest OAuth tokens of a connection live between tasks.

Tasks cannot update Connections in Airflow 3 (the execution API exposes them read-only), but
they can write Variables. So the newest (rotated) refresh token and the current access token
are kept in one Variable per connection, ``sendgrid_oauth_token__<conn_id>``:

* the key contains ``token``, so Airflow treats the value as sensitive (masked in the UI and
  in logs) and stores it Fernet-encrypted when a Fernet key is configured;
* the hook prefers this Variable over the connection's ``refresh_token`` extra, **unless** the
  connection's token changed since the Variable was derived from it (``seed_fingerprint``,
  a SHA-256 prefix, never the token): that is an admin reconnecting, and the new token wins;
* the Variable is keyed by connection id only, yet a connection *under that id* may be a
  caller's body (Airflow's ``enqueue-test`` runs one on a worker under the real id). So the
  stored tokens are used only by a connection holding the same seed refresh token and the same
  API base URL, token URL and client id (``binding``, see :func:`binding_of`): never sent to
  another host, nor refreshed at another token endpoint.

Inside a task the Variable is read and written through the execution API (the supervisor's
channel, as the SDK ``Variable`` does); elsewhere (API server, CLI Test button, scripts) with the
metadata-database ``Variable`` model. A read that fails is never taken for "no stored token".
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from sendgrid_hook.airflow_reads import UnreadableError, ask_supervisor, in_task
from sendgrid_hook.errors import SendGridRetriableError
from sendgrid_hook.redaction import register_secret

VARIABLE_PREFIX = "sendgrid_oauth_token__"


def fingerprint(secret: str | None) -> str | None:
    """Return a short, non-reversible fingerprint of ``secret`` (or None)."""
    if not secret:
        return None
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def binding_of(base_url: str | None, token_url: str | None, client_id: str | None) -> str:
    """Fingerprint of where a token may be used: API base URL, token URL and OAuth client id."""
    text = json.dumps([base_url or "", token_url or "", client_id or ""])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True, repr=False)
class StoredToken:
    """The persisted OAuth state of one connection."""

    refresh_token: str
    access_token: str | None = None
    expires_at: float | None = None
    rotated_at: float = 0.0
    seed_fingerprint: str | None = None
    binding: str | None = None

    def __repr__(self) -> str:
        return f"StoredToken(expires_at={self.expires_at}, rotated_at={self.rotated_at})"

    def to_json(self) -> str:
        """Serialize for the Variable."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str | dict[str, Any]) -> StoredToken:
        """Parse a Variable value; registers the tokens with the secret masker."""
        data = json.loads(raw) if isinstance(raw, str) else dict(raw)
        register_secret(data.get("refresh_token"), "refresh_token")
        register_secret(data.get("access_token"), "access_token")
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})


class VariableTokenStore:
    """Persist :class:`StoredToken` in an Airflow Variable per connection."""

    def key(self, conn_id: str) -> str:
        """Variable key of ``conn_id``."""
        return f"{VARIABLE_PREFIX}{conn_id}"

    def load(self, conn_id: str) -> StoredToken | None:
        """Read the newest stored token, bypassing Airflow's secrets cache.

        Raises:
            SendGridRetriableError: The execution API (in a task) or the metadata database
                (elsewhere) could not answer.
        """
        key = self.key(conn_id)
        _invalidate_cache(key)
        raw = _read_in_task(key) if in_task() else _read_metastore(key)
        return StoredToken.from_json(raw) if raw else None

    def save(self, conn_id: str, token: StoredToken) -> None:
        """Write ``token`` (overwrites)."""
        key = self.key(conn_id)
        description = f"OAuth tokens of SendGrid connection {conn_id} (managed by the hook)"
        if in_task():
            from airflow.sdk import Variable

            Variable.set(key, token.to_json(), description=description)
        else:
            from airflow.models import Variable as DbVariable

            DbVariable.set(key, token.to_json(), description=description)
        _invalidate_cache(key)

    def now(self) -> float:
        """Clock used for ``rotated_at`` (wall time)."""
        return time.time()


def _read_in_task(key: str) -> str | None:
    """The Variable's value as the execution API holds it; ``None`` only when it does not exist.

    Not the SDK's ``Variable.get``, which takes an error answer for "not found": taken for
    "never refreshed", that sent the connection's spent refresh token (the server then revokes
    the grant). :func:`sendgrid_hook.airflow_reads.ask_supervisor` tells the two apart.

    Raises:
        SendGridRetriableError: Any other answer or failure (the task may retry later).
    """
    try:
        return ask_supervisor(key)
    except UnreadableError as exc:
        raise SendGridRetriableError(
            f"could not read the OAuth token store {key!r} through the execution API "
            f"({exc.what}); the stored token is not replaced by the connection's, retry later"
        ) from None


def _read_metastore(key: str) -> str | None:
    """The Variable's value in the metadata database (``None`` only when it has no such row).

    That is where :meth:`VariableTokenStore.save` writes it outside a task.

    ``airflow.models.Variable.get`` logs a database error and returns the default, which would
    be taken for "never refreshed" (the spent seed sent again: the grant revoked).

    Raises:
        SendGridRetriableError: The query failed.
    """
    from airflow.models import Variable as DbVariable
    from airflow.utils.session import create_session
    from sqlalchemy import select

    try:
        with create_session() as session:
            row = session.scalar(select(DbVariable).where(DbVariable.key == key))
            return row.val if row is not None else None
    except Exception as exc:
        raise SendGridRetriableError(
            f"could not read the OAuth token store {key!r} from the metadata database "
            f"({type(exc).__name__}); the stored token is not replaced by the connection's, "
            "retry later"
        ) from None


def _invalidate_cache(key: str) -> None:
    try:
        from airflow.sdk.execution_time.cache import SecretCache

        SecretCache.invalidate_variable(key)
    except Exception:  # noqa: S110 - cache disabled or not initialised
        pass
