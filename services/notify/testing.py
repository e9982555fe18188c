"""Test doubles that are real servers: an SMTP server (aiosmtpd) and a webhook receiver.

Used by notify's tests, and useful to a department checking its receiver against
Lianxin: :class:`WebhookReceiver` records every request and answers what ``respond``
says (a status, optionally after a delay, to play a slow or failing endpoint).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lianxin.testing import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 recording requests; ``respond(received)`` returns the
    status, or ``(status, delay_seconds)``, or ``(status, delay_seconds, json_body)``
    (default 204)::

        with WebhookReceiver() as hooks:
            ... subscribe hooks.url ...
            wait_for(lambda: hooks.requests)
    """

    def __init__(self, respond: Callable[[Received], Any] | None = None):
        self.respond = respond or (lambda _r: 204)
        self.requests: list[Received] = []
        self.port = free_port()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                got = Received(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                    time.monotonic(),
                )
                receiver.requests.append(got)
                answer = receiver.respond(got)
                status, delay, body = (
                    (*answer, None)[:3] if isinstance(answer, tuple) else (answer, 0.0, None)
                )
                if delay:
                    time.sleep(delay)
                payload = json.dumps(body).encode() if body is not None else b""
                with contextlib.suppress(OSError):  # the sender may have given up waiting
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)

            do_GET = do_POST

            def log_message(self, *_args: Any) -> None:
                """Keep the test output free of access logs."""

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 keeping every message it accepts."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope) -> str:
                sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                sink.messages.append(
                    message_from_bytes(
                        envelope.original_content or envelope.content, policy=policy.default
                    )
                )
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.controller.stop()
