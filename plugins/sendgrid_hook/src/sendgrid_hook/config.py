"""Read a ``sendgrid`` Airflow connection into a typed, validated settings object.

Field mapping (see ``get_provider_info.py`` for the form):

* ``password`` - the API key (``auth_type = api_key``); an ``api_key`` extra is also accepted.
* ``host`` - base URL override (simulator or proxy); else the ``region`` host.
* ``description`` - tenant display name when the ``display_name`` extra is empty.
* extras - ``auth_type``, ``client_id``, ``client_secret``, ``refresh_token``, ``token_url``,
  ``oauth_scopes``, ``region``, ``subusers``, ``display_name``, ``request_budget``,
  ``connect_timeout``, ``read_timeout``, ``max_retries``, ``alert_emails``, ``lock_conn_id``.
  The UI may store an extra either bare (``region``) or prefixed
  (``extra__sendgrid__region``); both are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from sendgrid_hook.constants import CONN_TYPE, WAREHOUSE_CONN_ID
from sendgrid_hook.errors import SendGridConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

REGION_HOSTS = {"global": "https://api.sendgrid.com", "eu": "https://api.eu.sendgrid.com"}
DEFAULT_REQUEST_BUDGET = 50_000
AuthType = Literal["api_key", "oauth2"]
SubusersFilter = Literal["all", "none"] | list[str]


def _extra(extra: Mapping[str, Any], name: str, default: Any = None) -> Any:
    for key in (name, f"extra__{CONN_TYPE}__{name}"):
        value = extra.get(key)
        if value not in (None, ""):
            return value
    return default


def parse_subusers(value: Any) -> SubusersFilter:
    """Turn ``all`` / ``none`` / ``"a, b"`` / ``["a", "b"]`` into the filter value."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "all")):
        return "all"
    if isinstance(value, str) and value.strip().lower() == "none":
        return "none"
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [str(v).strip() for v in items if str(v).strip()]
    return names or "none"


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    return [str(v).strip() for v in items if str(v).strip()]


@dataclass(frozen=True, repr=False)
class SendGridSettings:
    """Everything the hook needs from one connection (``repr`` hides the secrets)."""

    conn_id: str
    auth_type: AuthType
    base_url: str
    display_name: str
    subusers: SubusersFilter
    api_key: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None
    token_url: str | None = None
    oauth_scopes: tuple[str, ...] = ()
    request_budget: int = DEFAULT_REQUEST_BUDGET
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_retries: int = 5
    alert_emails: tuple[str, ...] = ()
    lock_conn_id: str = WAREHOUSE_CONN_ID
    required_scopes: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        return (
            f"SendGridSettings(conn_id={self.conn_id!r}, auth_type={self.auth_type!r}, "
            f"base_url={self.base_url!r})"
        )

    @classmethod
    def from_connection(cls, conn: Any) -> SendGridSettings:
        """Build settings from an Airflow connection (SDK or core ``Connection``).

        Raises:
            SendGridConfigError: A required field is missing or a value is invalid.
        """
        extra: dict[str, Any] = dict(conn.extra_dejson or {})
        auth_type = str(_extra(extra, "auth_type", "api_key")).strip().lower()
        if auth_type not in ("api_key", "oauth2"):
            raise SendGridConfigError(f"auth_type must be 'api_key' or 'oauth2', got {auth_type!r}")
        base_url = _base_url(conn.host, str(_extra(extra, "region", "global")))
        settings = cls(
            conn_id=conn.conn_id,
            auth_type=auth_type,  # type: ignore[arg-type]
            base_url=base_url,
            display_name=str(_extra(extra, "display_name") or conn.description or conn.conn_id),
            subusers=parse_subusers(_extra(extra, "subusers")),
            api_key=conn.password or _extra(extra, "api_key"),
            client_id=_extra(extra, "client_id") or conn.login,
            client_secret=_extra(extra, "client_secret"),
            refresh_token=_extra(extra, "refresh_token"),
            token_url=_extra(extra, "token_url") or f"{base_url}/oauth/token",
            oauth_scopes=tuple(_as_list(_extra(extra, "oauth_scopes"))),
            request_budget=int(_extra(extra, "request_budget", DEFAULT_REQUEST_BUDGET)),
            connect_timeout=float(_extra(extra, "connect_timeout", 10.0)),
            read_timeout=float(_extra(extra, "read_timeout", 60.0)),
            max_retries=int(_extra(extra, "max_retries", 5)),
            alert_emails=tuple(_as_list(_extra(extra, "alert_emails"))),
            lock_conn_id=str(_extra(extra, "lock_conn_id", WAREHOUSE_CONN_ID)),
            required_scopes=(
                tuple(_as_list(_extra(extra, "required_scopes")))
                if _extra(extra, "required_scopes")
                else None
            ),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Check that the chosen auth type has its credentials.

        Raises:
            SendGridConfigError: Naming the missing field (never its value).
        """
        if self.auth_type == "api_key" and not self.api_key:
            raise SendGridConfigError(f"connection {self.conn_id!r}: the API key is empty")
        if self.auth_type == "oauth2":
            missing = [n for n in ("client_id", "client_secret") if not getattr(self, n)]
            if missing:
                raise SendGridConfigError(
                    f"connection {self.conn_id!r}: OAuth2 needs {', '.join(missing)}"
                )
        if self.request_budget <= 0:
            raise SendGridConfigError("request_budget must be positive")


def _base_url(host: str | None, region: str) -> str:
    if host:
        url = host.strip().rstrip("/")
        if "://" not in url:
            url = f"https://{url}"
        if not urlsplit(url).hostname:
            raise SendGridConfigError("base URL override has no host name")
        return url
    region = region.strip().lower()
    if region not in REGION_HOSTS:
        raise SendGridConfigError(f"region must be one of {sorted(REGION_HOSTS)}, got {region!r}")
    return REGION_HOSTS[region]
