"""A real local SMTP server (aiosmtpd) on a free port that collects what it receives."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.postgres import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        message = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class CollectingHandler:
    """aiosmtpd handler: keeps every envelope (called in the server's thread)."""

    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        data = content if isinstance(content, bytes) else str(content).encode()
        with self._lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), data))
        return "250 Message accepted for delivery"

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)


class SMTPServer:
    """Start and stop an aiosmtpd server on 127.0.0.1 (a fixed port may be given to restart it there)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = CollectingHandler()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.handler.snapshot()

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int = 1, timeout: float = 30.0) -> list[Received]:
        """Block until ``count`` mails arrived (for mail sent by another process)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            received = self.received
            if len(received) >= count:
                return received
            time.sleep(0.1)
        raise AssertionError(f"SMTP server received {len(self.received)} of {count} mails in {timeout} s")


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[SMTPServer]:
    server = SMTPServer(port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def wait_for_mail(server: SMTPServer, count: int = 1, within: float = 30.0) -> list[Received]:
    """``SMTPServer.wait_for`` without blocking the event loop."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        received = server.received
        if len(received) >= count:
            return received
        await asyncio.sleep(0.1)
    raise AssertionError(f"SMTP server received {len(server.received)} of {count} mails in {within} s")
