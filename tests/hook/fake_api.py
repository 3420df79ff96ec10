"""A deliberately misbehaving SendGrid-like HTTP server on a real socket, for hook tests.

Subclass :class:`JsonHandler` with a ``do_GET`` that answers through :meth:`JsonHandler.send`;
:func:`serving_hook` runs it and yields a real :class:`SendGridHook` connected to it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sendgrid_hook.hooks.sendgrid import SendGridHook


class JsonHandler(BaseHTTPRequestHandler):
    """A handler answering JSON bodies, without an access log."""

    def log_message(self, *args: Any) -> None:
        """Silence the default stderr access log."""

    def send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        """Answer ``status`` with ``payload`` as JSON and the extra ``headers``."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free local port; yield its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serving_hook(
    handler: type[JsonHandler],
    set_conn: Callable[[str, dict], Any],
    conn_id: str,
    **hook_options: Any,
) -> Iterator[SendGridHook]:
    """Serve ``handler`` on a free local port; yield a hook of ``conn_id`` pointed at it."""
    with serving(handler) as url:
        set_conn(conn_id, {"conn_type": "sendgrid", "host": url, "password": f"SG.{conn_id}.key"})
        yield SendGridHook(sendgrid_conn_id=conn_id, **hook_options)
