"""One polite, resilient GET: retries, backoff, rate limits, budgets, typed errors.

:class:`Transport` owns the hook's ``requests.Session`` (connection pooling, keep-alive) and
turns every HTTP outcome into either a parsed JSON body or a typed exception
(:mod:`sendgrid_hook.errors`). Retries use **tenacity** with full-jitter exponential
backoff; 429s wait for ``Retry-After`` or the window reset instead, never longer than
``max_wait`` (a longer demand ends the request at once); a 429 that names neither backs off
exponentially like a 5xx. A 401 lets the auth object refresh once
(OAuth) before it becomes :class:`ReconnectRequired`.

Bounds, so that no server can hold a task: only URLs and redirects on the configured origin are
ever requested (the bearer token cannot leak to another host through a pagination link or a
redirect), each attempt has a deadline for the whole request and a body-size cap
(:mod:`sendgrid_hook.bounded_fetch`), the number of requests is capped (``request_budget``),
and an optional **time budget** (:meth:`Transport.set_time_budget`) refuses any request or wait
that would not finish before it ends.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from json import loads
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import tenacity
import urllib3

from sendgrid_hook import __version__
from sendgrid_hook.bounded_fetch import (
    DeadlineExceeded,
    Fetched,
    bounded_get,
    describe_origin,
    origin,
)
from sendgrid_hook.display import printable
from sendgrid_hook.errors import (
    ReconnectRequired,
    SendGridBudgetExceededError,
    SendGridFatalError,
    SendGridForbiddenError,
    SendGridNotFoundError,
    SendGridRetriableError,
    SendGridTimeBudgetExceededError,
)
from sendgrid_hook.json_body import parse_json
from sendgrid_hook.on_behalf_of import header_value
from sendgrid_hook.rate_limit import RateLimiter, retry_after_seconds
from sendgrid_hook.redaction import scrub, scrub_url

log = logging.getLogger(__name__)
USER_AGENT = f"sendgrid-hook/{__version__}"


@dataclass(frozen=True)
class ApiResponse:
    """A successful response: status, headers and the parsed JSON body."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: Any


class _Unauthorized(Exception):
    """Internal: a 401, handled outside the retry loop."""


class _RetryableAttempt(SendGridRetriableError):
    """Internal: one failed attempt that tenacity may retry."""

    def __init__(self, message: str, *, status_code: int | None = None, wait: float | None = None):
        super().__init__(message, status_code=status_code)
        self.wait = wait


DEFAULT_REQUEST_TIMEOUT = 120.0
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024


def error_message(response: Fetched) -> str:
    """Return the API's ``errors[].message`` texts (scrubbed), or a short body excerpt.

    Any body the parse cannot read as ``{"errors": [{"message": ...}]}`` (not JSON, another
    shape such as ``{"errors": 5}``, nesting too deep to parse) gives the excerpt: the message
    must never keep the response from being classified (a 503 retried, a 401 reconnected).
    Line breaks and escapes in it are written as escapes (:func:`~.display.printable`).
    """
    try:
        errors = loads(response.content).get("errors") or []
        text = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
    except (ValueError, AttributeError, TypeError, RecursionError):
        text = response.content[:200].decode("utf-8", "replace")
    return printable(scrub(text or response.reason or ""))  # scrub first: it masks at line ends


class Transport:
    """Send GET requests for one connection.

    Args:
        base_url: Scheme and host (and optional path prefix) of the API.
        session: The pooled session (auth already attached).
        limiter: Client-side rate limiter.
        budget: Maximum number of API requests (attempts) this transport may send.
        timeout: ``(connect, read)`` socket timeouts in seconds.
        request_timeout: Deadline of one whole attempt (connect, headers and body), seconds.
        max_response_bytes: Largest accepted response body.
        max_retries: Retries after the first attempt for retriable failures.
        backoff_base: Multiplier of the exponential backoff (seconds).
        backoff_max: Longest backoff between two attempts (seconds).
        sleep: How to wait (tests may pass a recorder).
    """

    def __init__(
        self,
        base_url: str,
        session: requests.Session,
        *,
        limiter: RateLimiter | None = None,
        budget: int = 50_000,
        timeout: tuple[float, float] = (10.0, 60.0),
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.limiter = limiter or RateLimiter(sleep=sleep)
        self.budget = budget
        self.timeout = timeout
        self.request_timeout = request_timeout
        self.max_response_bytes = max_response_bytes
        self.deadline: float | None = None
        self.time_budget: float | None = None
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.sleep = sleep
        self.request_count = 0
        self.retry_count = 0
        self.status_counts: dict[int, int] = {}
        self._count_lock = threading.Lock()
        session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})

    def set_time_budget(self, seconds: float | None) -> None:
        """Refuse requests and waits that would not end within ``seconds`` from now.

        Args:
            seconds: The budget; ``None`` removes it.
        """
        self.time_budget = seconds
        self.deadline = None if seconds is None else time.monotonic() + seconds

    def time_left(self) -> float | None:
        """Seconds left of the time budget (``None`` without one)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def _check_time(self, needed: float = 0.0, what: str = "another request") -> None:
        left = self.time_left()
        if left is not None and left <= needed:
            raise SendGridTimeBudgetExceededError(
                f"the tenant's time budget of {self.time_budget:g} s is used up: no time "
                f"left for {what}"
            )

    def _sleep(self, seconds: float) -> None:
        self._check_time(seconds, f"a wait of {seconds:.1f} s")
        self.sleep(seconds)

    def resolve(self, path_or_url: str) -> str:
        """Absolute URL for a path or a same-origin URL (scheme, host and port, normalised).

        ``https://API.sendgrid.com:443`` is ``https://api.sendgrid.com``; another scheme, host
        or port, a port that is no number, and any user info are refused.

        Raises:
            SendGridFatalError: The URL points at another origin.
        """
        url = urljoin(self.base_url + "/", path_or_url.lstrip("/"))
        if "://" in path_or_url:
            url = path_or_url
        got = urlsplit(url)
        try:
            same = origin(url) == origin(self.base_url) and "@" not in got.netloc
            where = describe_origin(url)
        except ValueError:  # a port that is no number
            same, where = False, f"{got.scheme}://{got.hostname}"
        if not same:
            raise SendGridFatalError(f"refusing to follow a URL on another host ({where})")
        return url

    def get(
        self,
        path_or_url: str,
        params: Mapping[str, Any] | None = None,
        *,
        on_behalf_of: str | None = None,
        route: str | None = None,
    ) -> ApiResponse:
        """GET one resource and return its JSON body.

        ``route`` is the endpoint's path template (``/v3/api_keys/{api_key_id}``), the rate
        limiter's bucket: SendGrid limits an endpoint, not each id's URL, and counts the
        credential's requests whichever account they act as (default: the URL's path).

        Raises:
            SendGridRetriableError: Retries exhausted (429, 5xx, timeout, bad JSON).
            SendGridFatalError: Other 4xx or a body that is not JSON after retries.
            ReconnectRequired: 401 that a refresh could not fix.
        """
        url = self.resolve(path_or_url)
        headers = {"on-behalf-of": header_value(on_behalf_of)} if on_behalf_of else {}
        bucket = route or urlsplit(url).path
        try:
            return self._with_retries(url, params, headers, bucket)
        except _Unauthorized:
            handler = getattr(self.session.auth, "handle_unauthorized", None)
            if handler is None or not handler():
                raise ReconnectRequired(
                    "SendGrid answered 401", reason="unauthorized", status_code=401
                ) from None
        try:
            return self._with_retries(url, params, headers, bucket)
        except _Unauthorized:
            raise ReconnectRequired(
                "SendGrid rejected a freshly refreshed OAuth access token (401): access was "
                "revoked or consent withdrawn",
                reason="access_revoked",
                status_code=401,
            ) from None

    def _with_retries(
        self, url: str, params: Mapping[str, Any] | None, headers: dict[str, str], bucket: str
    ) -> ApiResponse:
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_RetryableAttempt),
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, url, params, headers, bucket)
        except _RetryableAttempt as exc:
            raise SendGridRetriableError(
                f"{exc} (gave up after {self.max_retries + 1} attempts)",
                status_code=exc.status_code,
            ) from None

    def _attempt(
        self, url: str, params: Mapping[str, Any] | None, headers: dict[str, str], bucket: str
    ) -> ApiResponse:
        self._check_time()
        self._count_request()
        delay = self.limiter.delay_for(bucket)
        if delay > 0:
            self._sleep(delay)
        deadline = time.monotonic() + self.request_timeout
        if self.deadline is not None:
            deadline = min(deadline, self.deadline)
        try:
            response = bounded_get(
                self.session, url, allowed_origin=self.base_url, params=params, headers=headers,
                timeout=self.timeout, deadline=deadline, max_bytes=self.max_response_bytes,
            )  # fmt: skip
        except (DeadlineExceeded, requests.Timeout, urllib3.exceptions.TimeoutError) as exc:
            where = scrub_url(url)  # only on the error paths: scrubbing costs CPU on each call
            if time.monotonic() >= deadline:
                self._check_time(0.0, f"the rest of GET {where}")
                raise _RetryableAttempt(
                    f"GET {where}: no complete response within {self.request_timeout:.0f} s "
                    "(request_timeout)"
                ) from None
            raise _RetryableAttempt(f"GET {where}: timeout ({type(exc).__name__})") from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            reason = type(exc).__name__
            raise _RetryableAttempt(f"GET {scrub_url(url)}: connection failed ({reason})") from None
        status = response.status
        with self._count_lock:
            self.status_counts[status] = self.status_counts.get(status, 0) + 1
        self.limiter.update(bucket, response.headers, status)
        return self._classify(response, url, bucket)

    def _classify(self, response: Fetched, url: str, bucket: str) -> ApiResponse:
        status = response.status
        if 200 <= status < 300:
            return ApiResponse(response.url, status, response.headers, _json_body(response, url))
        where = scrub_url(url)
        message = f"GET {where}: {status} {error_message(response)}"
        if status == 401:
            raise _Unauthorized(message)
        if status == 429:
            asked = retry_after_seconds(response.headers, self.limiter.clock())
            if asked is not None and asked > self.limiter.max_wait:
                raise SendGridRetriableError(
                    f"{message}; the server asks to wait {asked:.0f} s (Retry-After), over the "
                    f"{self.limiter.max_wait:.0f} s cap (max_wait): not retried",
                    status_code=status,
                )
            told = asked is not None or "X-RateLimit-Reset" in response.headers
            wait = max(asked or 0.0, self.limiter.seconds_until_reset(bucket)) if told else 0.0
            # without Retry-After or a reset, the full-jitter exponential backoff decides
            raise _RetryableAttempt(message, status_code=status, wait=wait or None)
        if status >= 500:
            raise _RetryableAttempt(message, status_code=status)
        if status == 403:
            raise SendGridForbiddenError(message, status_code=status)
        if status == 404:
            raise SendGridNotFoundError(message, status_code=status)
        raise SendGridFatalError(message, status_code=status)

    def _count_request(self) -> None:
        with self._count_lock:
            if self.request_count >= self.budget:
                raise SendGridBudgetExceededError(
                    f"request budget of {self.budget} requests exhausted for this connection"
                )
            self.request_count += 1

    def _wait(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, _RetryableAttempt) and exc.wait is not None:
            return min(exc.wait, self.limiter.max_wait) + random.uniform(0, 0.05)
        exponential = tenacity.wait_random_exponential(
            multiplier=self.backoff_base, max=self.backoff_max
        )
        return exponential(retry_state)

    def _before_sleep(self, retry_state: tenacity.RetryCallState) -> None:
        self.retry_count += 1
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        log.warning(
            "SendGrid: %s; retry %d/%d in %.2fs",
            exc,
            retry_state.attempt_number,
            self.max_retries,
            wait,
        )


def _json_body(response: Fetched, url: str) -> Any:
    """The parsed body; ``None`` only for 204 No Content (never records: a page read refuses it).

    An empty body or a JSON ``null`` with another status is not an empty list: read as one, a
    snapshot would look complete and every current row would be marked deleted. It is
    retried like a truncated body.
    """
    if response.status == 204:
        return None
    what = "an empty body"
    try:
        body = parse_json(response.content) if response.content else None
        what = "a JSON null" if response.content else what
    except ValueError:
        body, what = None, "a truncated or invalid JSON body"
    if body is None:
        raise _RetryableAttempt(
            f"GET {scrub_url(url)}: status {response.status} with {what} "
            f"({len(response.content)} bytes)",
            status_code=response.status,
        )
    return body


def settle_environment(session: requests.Session, base_url: str) -> None:
    """Resolve the environment's proxy and CA settings for ``base_url`` once, for every request.

    ``requests`` otherwise re-reads them on each request (``HTTPS_PROXY``, ``NO_PROXY``,
    ``REQUESTS_CA_BUNDLE``, scanning the whole environment), which costs more CPU than the rest
    of a small request. Every request of the hook goes to ``base_url``'s host, so the answer is
    the same; settings the session already has win.
    """
    env = session.merge_environment_settings(base_url, {}, None, None, None)
    for scheme, proxy in (env.get("proxies") or {}).items():
        session.proxies.setdefault(scheme, proxy)
    if session.verify is True and env.get("verify") not in (None, True):
        session.verify = env["verify"]
    if session.cert is None and env.get("cert") is not None:
        session.cert = env["cert"]
    session.trust_env = False
