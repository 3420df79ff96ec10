"""Read a ``sendgrid`` Airflow connection into a typed, validated settings object.

Field mapping (see ``get_provider_info.py`` for the form):

* ``password`` - the API key (``auth_type = api_key``); an ``api_key`` extra is also accepted.
* ``host`` - base URL override (simulator or proxy); else the ``region`` host.
* ``description`` - tenant display name when the ``display_name`` extra is empty.
* extras - ``auth_type``, ``client_id``, ``client_secret``, ``refresh_token``, ``token_url``,
  ``oauth_scopes``, ``region``, ``subusers``, ``display_name``, ``alert_emails``,
  ``lock_conn_id``, ``required_scopes`` and the limits in :data:`LIMITS` (``request_budget``,
  ``connect_timeout``, ``read_timeout``, ``request_timeout``, ``max_retries``, ``max_wait``,
  ``max_response_bytes``, ``time_budget``). The UI may store an extra either bare (``region``)
  or prefixed (``extra__sendgrid__region``); both are read.

Every field is checked on its own and all problems are reported together, per field, in one
:class:`~sendgrid_hook.errors.SendGridConfigError` (``fields`` maps each field to its problem).
The value of a secret field is never repeated in a message; other values are shown scrubbed and
shortened so that a typo such as ``"read_timeout": "30s"`` is easy to find.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple
from urllib.parse import urlsplit

from sendgrid_hook.constants import CONN_TYPE, WAREHOUSE_CONN_ID
from sendgrid_hook.errors import SendGridConfigError
from sendgrid_hook.redaction import USER_INFO, scrub

if TYPE_CHECKING:
    from collections.abc import Mapping

REGION_HOSTS = {"global": "https://api.sendgrid.com", "eu": "https://api.eu.sendgrid.com"}
DEFAULT_REQUEST_BUDGET = 50_000
AuthType = Literal["api_key", "oauth2"]
SubusersFilter = Literal["all", "none"] | list[str]
SECRET_FIELDS = ("api_key", "client_secret", "refresh_token")


class Limit(NamedTuple):
    """A numeric extra: its type, default, smallest accepted value and what it means."""

    kind: type
    default: float | int | None
    minimum: float
    unit: str


#: Numeric extras (``None`` default: not set unless given).
LIMITS: dict[str, Limit] = {
    "request_budget": Limit(int, DEFAULT_REQUEST_BUDGET, 1, "requests per task"),
    "connect_timeout": Limit(float, 10.0, 0.001, "seconds"),
    "read_timeout": Limit(float, 60.0, 0.001, "seconds"),
    "request_timeout": Limit(float, 120.0, 0.001, "seconds for a whole request"),
    "max_retries": Limit(int, 5, 0, "retries"),
    "max_wait": Limit(float, 120.0, 0, "seconds of the longest rate-limit wait"),
    "max_response_bytes": Limit(int, 64 * 1024 * 1024, 1024, "bytes"),
    "time_budget": Limit(float, None, 1, "seconds per task for this tenant"),
}


def _extra(extra: Mapping[str, Any], name: str, default: Any = None) -> Any:
    for key in (name, f"extra__{CONN_TYPE}__{name}"):
        value = extra.get(key)
        if value not in (None, ""):
            return value
    return default


def parse_subusers(value: Any) -> SubusersFilter:
    """Turn ``all`` / ``none`` / ``"a, b"`` / ``["a", "b"]`` into the filter value.

    Raises:
        TypeError: Neither a string nor a list.
    """
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "all")):
        return "all"
    if isinstance(value, str) and value.strip().lower() == "none":
        return "none"
    if not isinstance(value, str | list | tuple):
        raise TypeError("must be 'all', 'none', a comma-separated string or a list of names")
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [str(v).strip() for v in items if str(v).strip()]
    return names or "none"


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    if not isinstance(value, str | list | tuple):
        raise TypeError("must be a string (comma or space separated) or a list")
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    return [str(v).strip() for v in items if str(v).strip()]


#: A URL's user info with or without its scheme (``ops:pw@proxy``; ``scrub`` needs the ``//``).
_USER_INFO = re.compile(r"(?<![^\s'\"/@])" + USER_INFO + "@")
_NO_USER_INFO = (
    "must not carry a user name or password (user:password@): SendGrid takes the API key or "
    "OAuth token, and a proxy's credentials go in HTTPS_PROXY"
)


def has_user_info(url: str | None) -> bool:
    """Whether ``url`` carries ``user:password@`` (never accepted in an endpoint: see above)."""
    return bool(url) and "@" in urlsplit(str(url)).netloc


def shown(value: Any, *, url: bool = False) -> str:
    """A short, scrubbed rendering of a bad (non-secret) value for an error message.

    ``url``: the value is an endpoint, whose user info is masked up to its last ``@`` whatever
    it holds (a password with a space or a quote, which the user-info pattern stops at).
    """
    if url and isinstance(value, str) and "@" in value:
        head, _, tail = value.rpartition("@")
        value = (head.split("//", 1)[0] + "//" if "//" in head else "") + "***@" + tail
    text = _USER_INFO.sub("***@", scrub(repr(value)))
    return text if len(text) <= 40 else text[:37] + "..."


class _Reader:
    """Reads fields of one connection, collecting a problem per field instead of stopping."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.problems: dict[str, str] = {}
        text = getattr(conn, "extra", None)
        try:
            # Airflow logs bad JSON and returns {}: parse the text first to say so.
            extra = json.loads(text) if isinstance(text, str) and text.strip() else None
            extra = extra if extra is not None else conn.extra_dejson or {}
        except ValueError as exc:
            self.problems["extra"] = f"is not valid JSON ({type(exc).__name__} at {exc.pos})"
            extra = {}
        if not isinstance(extra, dict):
            self.problems["extra"] = "must be a JSON object"
            extra = {}
        self.extra: dict[str, Any] = dict(extra)

    def get(self, name: str, default: Any = None) -> Any:
        return _extra(self.extra, name, default)

    def text(self, name: str, default: str | None = None, *, secret: bool = False) -> str | None:
        value = self.get(name, default)
        if value is None or isinstance(value, str):
            return value
        self.problems[name] = "must be a string" + ("" if secret else f", got {shown(value)}")
        return default

    def number(self, name: str) -> Any:
        kind, default, minimum, unit = LIMITS[name]
        value = self.get(name, default)
        if value is None:
            return None
        try:
            if isinstance(value, bool):
                raise ValueError
            number = kind(float(value)) if kind is int else float(value)
            if kind is int and float(value) != number:
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            what = "a whole number" if kind is int else "a number"
            self.problems[name] = f"must be {what} ({unit}), got {shown(value)}"
            return default
        if number < minimum or number != number:  # NaN
            self.problems[name] = f"must be at least {minimum:g} ({unit}), got {shown(value)}"
            return default
        return number

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.get(name, default)
        if not isinstance(value, str) or value.strip().lower() not in allowed:
            self.problems[name] = f"must be one of {', '.join(allowed)}, got {shown(value)}"
            return default
        return value.strip().lower()

    def listing(self, name: str, parse: Any = _as_list) -> Any:
        value = self.get(name)
        try:
            return parse(value)
        except TypeError as exc:
            self.problems[name] = f"{exc}, got {shown(value)}"
            return parse(None)


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
    request_timeout: float = 120.0
    max_retries: int = 5
    max_wait: float = 120.0
    max_response_bytes: int = 64 * 1024 * 1024
    time_budget: float | None = None
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
            SendGridConfigError: Naming every invalid or missing field (``fields``), never a
                secret's value.
        """
        r = _Reader(conn)
        auth_type = r.choice("auth_type", "api_key", ("api_key", "oauth2"))
        region = r.choice("region", "global", tuple(REGION_HOSTS))
        base_url = _base_url(conn.host, region, r.problems)
        secrets = {name: r.text(name, secret=True) for name in SECRET_FIELDS}
        if conn.password:
            secrets["api_key"] = conn.password
        secrets["api_key"] = _header_safe(secrets["api_key"], r.problems)
        required = r.listing("required_scopes")
        settings = cls(
            conn_id=conn.conn_id,
            auth_type=auth_type,  # type: ignore[arg-type]
            base_url=base_url,
            display_name=str(r.text("display_name") or conn.description or conn.conn_id),
            subusers=r.listing("subusers", parse_subusers),
            api_key=secrets["api_key"],
            client_id=r.text("client_id") or conn.login,
            client_secret=secrets["client_secret"],
            refresh_token=secrets["refresh_token"],
            token_url=_token_url(r, base_url),
            oauth_scopes=tuple(r.listing("oauth_scopes")),
            alert_emails=tuple(r.listing("alert_emails")),
            lock_conn_id=str(r.text("lock_conn_id", WAREHOUSE_CONN_ID)),
            required_scopes=tuple(required) if required else None,
            **{name: r.number(name) for name in LIMITS},
        )
        if r.problems:
            raise config_error(conn.conn_id, r.problems)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Check that the chosen auth type has its credentials.

        Raises:
            SendGridConfigError: Naming the missing field (never its value).
        """
        if self.auth_type == "api_key" and not self.api_key:
            raise config_error(self.conn_id, {"password": "empty"}, "the API key is empty")
        if self.auth_type == "oauth2":
            missing = [n for n in ("client_id", "client_secret") if not getattr(self, n)]
            if missing:
                problems = {n: "required for OAuth2" for n in missing}
                raise config_error(self.conn_id, problems, f"OAuth2 needs {', '.join(missing)}")
        if self.request_budget <= 0:
            raise config_error(self.conn_id, {"request_budget": "must be positive"})


def config_error(
    conn_id: str, problems: dict[str, str], summary: str | None = None
) -> SendGridConfigError:
    """One error naming each field and its problem (``summary`` replaces the field list)."""
    detail = summary or "; ".join(f"{name}: {problem}" for name, problem in problems.items())
    return SendGridConfigError(f"connection {conn_id!r}: {detail}", fields=problems)


#: Why a key is refused whose inside holds what no HTTP header may carry (never its value).
_NOT_HEADER_SAFE = (
    "has a space, tab, line break or control character inside (a wrapped paste?); a SendGrid "
    "API key has none"
)


def _header_safe(key: str | None, problems: dict[str, str]) -> str | None:
    """The API key without surrounding whitespace; refused when its inside is not header-safe.

    Sent as it is, a line break inside the ``Authorization`` header makes ``http.client`` raise
    a ``ValueError`` that quotes the whole header, the key included.
    """
    if key is None:
        return None
    key = key.strip()
    if any(c.isspace() or not c.isprintable() for c in key):
        problems["password"] = _NOT_HEADER_SAFE
        return None
    return key


def _token_url(r: _Reader, base_url: str) -> str:
    url = r.text("token_url")
    if url and urlsplit(url).scheme not in ("http", "https"):
        r.problems["token_url"] = f"must be an http(s) URL, got {shown(url, url=True)}"
        url = None
    elif has_user_info(url):
        r.problems["token_url"] = _NO_USER_INFO
        url = None
    return url or f"{base_url}/oauth/token"


def _base_url(host: Any, region: str, problems: dict[str, str]) -> str:
    if not host:
        return REGION_HOSTS[region]
    url = str(host).strip().rstrip("/")
    if "://" not in url:
        url = f"https://{url}"
    try:
        parts = urlsplit(url)
        ok = bool(parts.hostname) and parts.scheme in ("http", "https")
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        ok = False
    if not ok:
        shown_host = shown(host, url=True)
        problems["host"] = f"must be an http(s) base URL with a host name, got {shown_host}"
        return REGION_HOSTS[region]
    if has_user_info(url):
        problems["host"] = _NO_USER_INFO
        return REGION_HOSTS[region]
    return url
