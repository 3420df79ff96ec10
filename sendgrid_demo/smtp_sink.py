"""A local SMTP server that keeps what it receives: where the demo's alert e-mails land."""

from __future__ import annotations

import html
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

SMTP_CONN_ENV = "AIRFLOW_CONN_SMTP_DEFAULT"


@dataclass
class SmtpSink:
    """aiosmtpd on a free loopback port, registered as the ``smtp_default`` connection."""

    messages: list[Message] = field(default_factory=list)
    #: Folder where each received message is also written as ``<n>.eml`` (viewable later).
    mailbox: Path | None = None
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Any = None

    def start(self) -> SmtpSink:
        """Start listening (creating :attr:`mailbox`, so it can be opened at once); return self."""
        from aiosmtpd.controller import Controller

        if self.mailbox is not None:
            self.mailbox.mkdir(parents=True, exist_ok=True)
        sink = self

        class _Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                with sink._lock:
                    sink.messages.append(message_from_bytes(envelope.content))
                    sink._keep(envelope.content)
                return "250 OK"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._controller = Controller(_Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def _keep(self, content: bytes) -> None:
        if self.mailbox is None:
            return
        self.mailbox.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        (self.mailbox / f"{stamp}-{len(self.messages):03d}.eml").write_bytes(content)

    def stop(self) -> None:
        """Stop listening."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def connection_json(self) -> str:
        """``AIRFLOW_CONN_SMTP_DEFAULT`` value pointing at this server (plain SMTP, loopback)."""
        return json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": self.port,
                "extra": {
                    "disable_ssl": True,
                    "disable_tls": True,
                    "from_email": "sendgrid-pipeline@localhost",
                    "retry_limit": 1,
                    "timeout": 10,
                },
            }
        )

    def received(self) -> list[Message]:
        """A copy of the messages received so far."""
        with self._lock:
            return list(self.messages)


def message_text(message: Message) -> str:
    """The readable text of an e-mail: its ``text/plain`` part, else its HTML without tags.

    The alert notifiers send HTML only (``SmtpHook.send_email_smtp`` has no plain-text part).
    """
    parts = {part.get_content_type(): part for part in message.walk()}
    part = parts.get("text/plain") or parts.get("text/html")
    if part is None:
        return ""
    text = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8", "replace")
    if part.get_content_type() == "text/html":
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return text.strip()
