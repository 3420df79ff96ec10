"""One polite, resilient GET: retries, backoff, rate limits, budget, typed errors.

:class:`Transport` owns the hook's ``requests.Session`` (connection pooling, keep-alive) and
turns every HTTP outcome into either a parsed JSON body or a typed exception
(:mod:`sendgrid_hook.errors`). Retries use **tenacity** with full-jitter exponential
backoff; 429s wait for ``Retry-After`` or the window reset instead. A 401 lets the auth object
refresh once (OAuth) before it becomes :class:`ReconnectRequired`. Only URLs on the
configured host are ever requested, so the bearer token cannot leak to another host through a
pagination link.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import tenacity

from sendgrid_hook import __version__
from sendgrid_hook.errors import (
    ReconnectRequired,
    SendGridBudgetExceededError,
    SendGridFatalError,
    SendGridForbiddenError,
    SendGridNotFoundError,
    SendGridRetriableError,
)
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


def error_message(response: requests.Response) -> str:
    """Return the API's ``errors[].message`` texts (scrubbed), or a short body excerpt."""
    try:
        errors = response.json().get("errors") or []
        text = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
    except (ValueError, AttributeError):
        text = response.text[:200]
    return scrub(text or response.reason or "")


class Transport:
    """Send GET requests for one connection.

    Args:
        base_url: Scheme and host (and optional path prefix) of the API.
        session: The pooled session (auth already attached).
        limiter: Client-side rate limiter.
        budget: Maximum number of API requests (attempts) this transport may send.
        timeout: ``(connect, read)`` timeouts in seconds.
        max_retries: Retries after the first attempt for retriable failures.
        backoff_base: Multiplier of the exponential backoff (seconds).
        backoff_max: Longest backoff between two attempts (seconds).
    """

    def __init__(
        self,
        base_url: str,
        session: requests.Session,
        *,
        limiter: RateLimiter | None = None,
        budget: int = 50_000,
        timeout: tuple[float, float] = (10.0, 60.0),
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
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.sleep = sleep
        self.request_count = 0
        self.retry_count = 0
        self.status_counts: dict[int, int] = {}
        self._count_lock = threading.Lock()
        session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})

    def resolve(self, path_or_url: str) -> str:
        """Absolute URL for a path or a same-host URL.

        Raises:
            SendGridFatalError: The URL points at another scheme/host.
        """
        url = urljoin(self.base_url + "/", path_or_url.lstrip("/"))
        if "://" in path_or_url:
            url = path_or_url
        want, got = urlsplit(self.base_url), urlsplit(url)
        if (got.scheme, got.netloc) != (want.scheme, want.netloc):
            raise SendGridFatalError(
                f"refusing to follow a URL on another host ({got.scheme}://{got.hostname})"
            )
        return url

    def get(
        self,
        path_or_url: str,
        params: Mapping[str, Any] | None = None,
        *,
        on_behalf_of: str | None = None,
        bucket: str | None = None,
    ) -> ApiResponse:
        """GET one resource and return its JSON body.

        Raises:
            SendGridRetriableError: Retries exhausted (429, 5xx, timeout, bad JSON).
            SendGridFatalError: Other 4xx or a body that is not JSON after retries.
            ReconnectRequired: 401 that a refresh could not fix.
        """
        url = self.resolve(path_or_url)
        headers = {"on-behalf-of": _header_value(on_behalf_of)} if on_behalf_of else {}
        bucket = bucket or f"{on_behalf_of or ''}|{urlsplit(url).path}"
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
            sleep=self.sleep,
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
        self._count_request()
        self.limiter.acquire(bucket)
        where = scrub_url(url)
        try:
            response = self.session.get(url, params=params, headers=headers, timeout=self.timeout)
        except requests.Timeout as exc:
            raise _RetryableAttempt(f"GET {where}: timeout ({type(exc).__name__})") from None
        except requests.RequestException as exc:
            reason = type(exc).__name__
            raise _RetryableAttempt(f"GET {where}: connection failed ({reason})") from None
        status = response.status_code
        with self._count_lock:
            self.status_counts[status] = self.status_counts.get(status, 0) + 1
        self.limiter.update(bucket, response.headers, status)
        return self._classify(response, where, bucket)

    def _classify(self, response: requests.Response, where: str, bucket: str) -> ApiResponse:
        status = response.status_code
        if 200 <= status < 300:
            return ApiResponse(response.url, status, response.headers, _json_body(response, where))
        message = f"GET {where}: {status} {error_message(response)}"
        if status == 401:
            raise _Unauthorized(message)
        if status == 429:
            wait = retry_after_seconds(response.headers)
            wait = max(wait or 0.0, self.limiter.seconds_until_reset(bucket))
            raise _RetryableAttempt(message, status_code=status, wait=wait)
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


def _json_body(response: requests.Response, where: str) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        raise _RetryableAttempt(
            f"GET {where}: truncated or invalid JSON body ({len(response.content)} bytes)",
            status_code=response.status_code,
        ) from None


def _header_value(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise SendGridFatalError("on-behalf-of must not contain line breaks")
    return value.strip()
