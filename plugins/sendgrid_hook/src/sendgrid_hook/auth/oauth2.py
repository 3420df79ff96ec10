"""OAuth 2.0 bearer authentication with lazy, serialized refresh of rotating refresh tokens.

The token exchange itself is requests-oauthlib's ``OAuth2Session.refresh_token`` (no
hand-written OAuth client), sent by :func:`~sendgrid_hook.auth.token_session.refresh_exchange`.
This module adds what a multi-task pipeline needs around it:

1. the access token is refreshed lazily, when it is about to expire or when the API answers
   401 (:meth:`OAuth2RefreshAuth.handle_unauthorized`);
2. the refresh runs under a per-connection lock (:mod:`.refresh_lock`), and the stored state is
   **re-read after the lock is taken**: if another task already refreshed, its access token is
   adopted and the (already spent) refresh token is not used again;
3. the rotated tokens are adopted in memory first, then written to the token store
   (:mod:`.token_store`), retried a few times while the lock is held, so the next task starts
   from them. Should the store stay unwritable, the tokens live on in memory: a stored token whose
   refresh token this object already spent is never used again, the next refresh starts from the
   in-memory one and stores its successor;
4. a stored token of another grant than the connection's (an admin reconnected during the run)
   makes the hook re-read the connection and follow the new grant; a token of a grant other than
   the connection's current one is never refreshed, nor written over the current one's;
5. ``invalid_grant`` / ``invalid_client`` become :class:`ReconnectRequired`;
6. token requests never follow a redirect and end by a deadline
   (:class:`~sendgrid_hook.auth.token_session.BoundedOAuth2Session`): a ``307`` would make
   ``requests`` POST the refresh token and client secret again, to whatever host the
   ``Location`` names.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import tenacity
from requests.auth import AuthBase

from sendgrid_hook.auth.refresh_lock import PostgresAdvisoryLock
from sendgrid_hook.auth.token_session import is_loopback_http, refresh_exchange
from sendgrid_hook.auth.token_store import (
    StoredToken,
    VariableTokenStore,
    binding_of,
    fingerprint,
)
from sendgrid_hook.config import SendGridSettings
from sendgrid_hook.errors import ReconnectRequired, SendGridRetriableError
from sendgrid_hook.redaction import install_log_filters, register_basic_auth, register_secret, scrub

if TYPE_CHECKING:
    from requests import PreparedRequest


log = logging.getLogger(__name__)
#: Writes of the rotated tokens to the store, under the lock, before giving up (logged).
SAVE_ATTEMPTS = 4
#: Multiplier of the exponential wait between two of those writes, in seconds.
SAVE_WAIT_SECONDS = 0.5


def guard_credentials(settings: SendGridSettings, *tokens: str | None) -> None:
    """Keep a connection's OAuth secrets out of every log, at any level.

    Registers the client secret, the refresh token, the HTTP Basic form of the client
    credentials and any further ``tokens`` (e.g. just received) with the scrubber and
    Airflow's masker, and filters the loggers of requests-oauthlib and urllib3 (which log
    request headers and token responses at DEBUG).
    """
    install_log_filters()
    for name in ("client_secret", "refresh_token"):
        register_secret(getattr(settings, name), name)
    for token in tokens:
        register_secret(token, "token")
    register_basic_auth(settings.client_id, settings.client_secret)


class OAuth2RefreshAuth(AuthBase):
    """Bearer auth whose access token comes from a rotating refresh token.

    Args:
        settings: Connection settings (client id/secret, token URL, initial refresh token).
        store: Token store shared by all tasks (default: Airflow Variable).
        lock: Cross-process refresh lock (default: PostgreSQL advisory lock).
        clock: Time source, seconds since the epoch.
        reread: The hook's connection getter (``get_connection(conn_id)``), to read the stored
            connection again; ``None`` for settings that are not the stored connection's.
    """

    def __init__(
        self,
        settings: SendGridSettings,
        store: VariableTokenStore | None = None,
        lock: PostgresAdvisoryLock | None = None,
        clock: Any = time.time,
        reread: Callable[[str], Any] | None = None,
    ) -> None:
        is_loopback_http(settings.token_url or "")
        guard_credentials(settings)
        self.settings = settings
        self._reread = reread
        self.store = store or VariableTokenStore()
        self.lock = lock or PostgresAdvisoryLock(settings.lock_conn_id)
        self.clock = clock
        self.refresh_count = 0
        self._access_token: str | None = None
        self._refresh_token: str | None = None
        self._expires_at: float = 0.0
        self._issued_at: float = 0.0
        self._spent: set[str | None] = set()  # fingerprints of the refresh tokens exchanged here
        self._unsaved: tuple[StoredToken, StoredToken | None] | None = None  # (token, loaded)
        self._mutex = threading.RLock()

    def __repr__(self) -> str:
        return f"OAuth2RefreshAuth(conn_id={self.settings.conn_id!r})"

    def secrets(self) -> tuple[str | None, ...]:
        """The secrets this auth holds: client secret, seed and current tokens."""
        s = self.settings
        return s.client_secret, s.refresh_token, self._refresh_token, self._access_token

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        """Set ``Authorization: Bearer <access token>``, refreshing first if needed."""
        request.headers["Authorization"] = f"Bearer {self.access_token()}"
        return request

    def access_token(self) -> str:
        """Return a usable access token (adopting a stored one or refreshing)."""
        with self._mutex:
            now = self.clock()
            if self._access_token and _usable(self._expires_at, self._issued_at, now):
                return self._access_token
            stored = self._unspent(self._load())
            if stored and _stored_usable(stored, now):
                self._adopt(stored)
                return self._access_token or ""
            self.refresh(rejected=self._access_token)
            return self._access_token or ""

    def handle_unauthorized(self) -> bool:
        """React to a 401: refresh (or adopt a newer token) so the caller may retry once."""
        with self._mutex:
            self.refresh(rejected=self._access_token)
        return True

    def refresh(self, rejected: str | None = None) -> None:
        """Refresh under the cross-process lock, re-reading the store once the lock is held.

        Args:
            rejected: Access token known to be expired or refused; never adopted again.

        Raises:
            ReconnectRequired: No refresh token, or the server refused it.
            SendGridRetriableError: The store could not be read, or the token request failed.
        """
        conn_id = self.settings.conn_id
        with self.lock.hold(conn_id):
            now = self.clock()
            loaded = self.store.load(conn_id)
            stored = self._unspent(self._check(loaded))
            if (
                stored
                and stored.access_token not in (None, rejected)
                and _stored_usable(stored, now)
            ):
                log.info("OAuth: %s adopts the access token another task refreshed", conn_id)
                self._adopt(stored)
                return
            # the stored token, unless it is another grant's or one this object already spent:
            # then the newest one this object holds, else the connection's
            held = self._refresh_token or self.settings.refresh_token
            refresh_token = stored.refresh_token if stored else held
            if not refresh_token:
                raise ReconnectRequired(
                    f"connection {conn_id!r} has no OAuth refresh token: connect it first",
                    reason="not_connected",
                )
            token = refresh_exchange(self.settings, refresh_token)
            self._spent.add(fingerprint(refresh_token))
            new = StoredToken(
                refresh_token=token.get("refresh_token") or refresh_token,
                access_token=token["access_token"],
                expires_at=_expires_at(token, now),
                rotated_at=now,
                seed_fingerprint=fingerprint(self.settings.refresh_token),
                binding=self._binding(),
            )
            self._adopt(new)  # first: a failed save must not lose the rotated refresh token
            self.refresh_count += 1
            log.info("OAuth: refreshed the access token of %s (refresh token rotated)", conn_id)
            self._save(new, loaded)

    def _save(self, token: StoredToken, loaded: StoredToken | None) -> None:
        """Write ``token`` to the store (under the lock), retried; never over another grant's.

        The store is read again first: the Connect page writes a new grant's tokens without the
        lock, and they are kept when the store holds another grant than when ``loaded`` was read.
        A store still failing after :data:`SAVE_ATTEMPTS` writes is logged: ``token`` stays in
        memory, where the next refresh starts from it and stores its successor.
        """
        conn_id = self.settings.conn_id

        def write() -> None:
            current = self.store.load(conn_id)
            grant = current.seed_fingerprint if current else None
            if grant != (loaded.seed_fingerprint if loaded else None) and (
                grant != token.seed_fingerprint
            ):
                log.info("OAuth: %s was reconnected meanwhile; its new tokens are kept", conn_id)
                return
            self.store.save(conn_id, token)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(SAVE_ATTEMPTS),
            wait=tenacity.wait_exponential(multiplier=SAVE_WAIT_SECONDS, max=8.0),
            reraise=True,
        )
        try:
            retrying(write)
        except Exception as exc:
            self._unsaved = (token, loaded)
            log.error(
                "OAuth: could not store the rotated tokens of %s after %d attempts (%s); they "
                "stay in this task's memory and are stored at its next refresh or when the "
                "hook closes",
                conn_id,
                SAVE_ATTEMPTS,
                scrub(type(exc).__name__),
            )
            return
        self._unsaved = None

    def flush(self) -> bool:
        """Store rotated tokens whose save failed (the hook calls this when it closes).

        A task that ends before its next refresh would otherwise take the only copy of the
        rotated refresh token with it, and the next task would present the spent one, which
        SendGrid answers by revoking the grant.

        Returns:
            Whether nothing is left unsaved.
        """
        with self._mutex:
            if self._unsaved is None:
                return True
            try:
                with self.lock.hold(self.settings.conn_id):
                    self._save(*self._unsaved)
            except Exception as exc:  # the lock's database is down too: never raise on close
                log.error("OAuth: could not take the refresh lock to store the tokens of %s "
                          "(%s)", self.settings.conn_id, scrub(type(exc).__name__))  # fmt: skip
            if self._unsaved is not None:
                log.error(
                    "OAuth: the rotated refresh token of %s is lost with this task; the next "
                    "refresh presents a spent one, which may revoke the grant: reconnect the "
                    "connection if the next run asks for it",
                    self.settings.conn_id,
                )
            return self._unsaved is None

    def _load(self) -> StoredToken | None:
        """The stored state, if it belongs to this connection (:meth:`_check`)."""
        return self._check(self.store.load(self.settings.conn_id))

    def _check(self, stored: StoredToken | None) -> StoredToken | None:
        """``stored``, only for the connection it was derived from.

        The store is keyed by connection id, but a connection under that id may be a caller's
        body (Airflow's ``enqueue-test`` runs one on a worker under the real id). So the stored
        tokens are used only when this connection holds the same seed refresh token (a secret
        the caller cannot supply without knowing it) and, once recorded, the same API base URL,
        token URL and client id: never sent to another host or token endpoint. A changed seed
        is an admin reconnecting: the connection is read again (:meth:`_follow_reconnect`), and
        the stored tokens are used if they are its new grant's, else the connection's token wins.

        Raises:
            ReconnectRequired: The seed is the same but the endpoint or client changed (reason
                ``endpoint_changed``): neither the spent seed nor the stored tokens are sent.
        """
        if stored is None:
            return None
        seed = fingerprint(self.settings.refresh_token)
        if seed and stored.seed_fingerprint != seed and self._follow_reconnect():
            seed = fingerprint(self.settings.refresh_token)
        if not seed or stored.seed_fingerprint != seed:
            if seed:
                log.info("OAuth: %s was reconnected; using its new token", self.settings.conn_id)
            return None
        if stored.binding is not None and stored.binding != self._binding():
            # the same seed, but another API host, token URL or client id: the seed was spent at
            # the first rotation and the stored tokens belong to the previous endpoint, so
            # nothing is sent anywhere; the admin reconnects (a new seed starts afresh)
            raise ReconnectRequired(
                f"connection {self.settings.conn_id!r}: its API host, token URL or client id "
                "changed since it was connected, and its tokens were issued for the previous "
                "ones; reconnect it",
                reason="endpoint_changed",
            )
        return stored

    def _follow_reconnect(self) -> bool:
        """Read the connection again; adopt it if an admin reconnected it since it was read.

        Returns:
            Whether this object now holds the connection's new grant (its own tokens, of the
            previous grant, are dropped: never refreshed, nor stored, again).

        Raises:
            SendGridRetriableError: The connection's credential type, API host, token URL or
                client id changed too: the task's next try starts from the new connection.
        """
        if self._reread is None:
            return False
        fresh = SendGridSettings.from_connection(self._reread(self.settings.conn_id))
        if fresh.refresh_token == self.settings.refresh_token:
            return False
        if fresh.auth_type != "oauth2" or self._binding(fresh) != self._binding():
            raise SendGridRetriableError(
                f"connection {fresh.conn_id!r} was changed during the run (credential type, API "
                "host, token URL or client id); the task's next try uses it"
            )
        guard_credentials(fresh)
        log.info("OAuth: %s was reconnected during the run; following its new grant", fresh.conn_id)
        self.settings = fresh
        self._access_token = self._refresh_token = None
        self._expires_at = self._issued_at = 0.0
        return True

    def _unspent(self, stored: StoredToken | None) -> StoredToken | None:
        """``stored``, unless its refresh token is one this object already exchanged."""
        if stored is None or fingerprint(stored.refresh_token) in self._spent:
            return None
        return stored

    def _binding(self, settings: SendGridSettings | None = None) -> str:
        """The API host, token URL and client id the tokens belong to (default: this one's)."""
        s = settings or self.settings
        return binding_of(s.base_url, s.token_url, s.client_id)

    def _adopt(self, token: StoredToken) -> None:
        register_secret(token.access_token, "access_token")
        register_secret(token.refresh_token, "refresh_token")
        self._access_token = token.access_token
        self._refresh_token = token.refresh_token
        self._expires_at = token.expires_at or 0.0
        self._issued_at = token.rotated_at


def _usable(expires_at: float, issued_at: float, now: float) -> bool:
    """Whether a token stays valid beyond a margin of 10% of its lifetime (at most 30 s)."""
    margin = min(30.0, max(0.0, (expires_at - issued_at) * 0.1))
    return expires_at - margin > now


def _stored_usable(stored: StoredToken, now: float) -> bool:
    return bool(stored.access_token) and _usable(stored.expires_at or 0.0, stored.rotated_at, now)


def _expires_at(token: dict[str, Any], requested_at: float) -> float:
    """Expiry counted from when the token was *requested* (never later than the server's)."""
    if token.get("expires_in") is not None:
        return requested_at + float(token["expires_in"])
    if token.get("expires_at"):
        return float(token["expires_at"])
    return requested_at + 3600.0
