"""Helpers for Lianxin's tests (and for departments testing against Lianxin)."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from typing import Any

import eventlet

from lianxin.clock import now_utc


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        eventlet.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")


class TcpProxy:
    """A TCP proxy on 127.0.0.1 that a test can cut and restore, to take the broker away
    from one client (e.g. the outbox relay) while everything else keeps working."""

    def __init__(self, target_port: int, port: int | None = None):
        self.target_port = target_port
        self.port = port or free_port()
        self._server = None
        self._threads: list = []
        self._sockets: list = []

    def start(self) -> TcpProxy:
        server = eventlet.listen(("127.0.0.1", self.port))
        self._server = server
        self._threads.append(eventlet.spawn(self._accept, server))
        return self

    def stop(self) -> None:
        for thread in self._threads:
            thread.kill()
        for sock in [self._server, *self._sockets]:
            if sock is not None:
                with contextlib.suppress(OSError):  # already closed by the other side
                    sock.close()
        self._threads, self._sockets, self._server = [], [], None

    def _accept(self, server) -> None:
        while True:
            client, _ = server.accept()
            upstream = eventlet.connect(("127.0.0.1", self.target_port))
            self._sockets += [client, upstream]
            self._threads.append(eventlet.spawn(self._pipe, client, upstream))
            self._threads.append(eventlet.spawn(self._pipe, upstream, client))

    @staticmethod
    def _pipe(source, sink) -> None:
        try:
            with contextlib.suppress(OSError):  # a cut connection just ends the pipe
                while data := source.recv(65536):
                    sink.sendall(data)
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.close()


def ticket_created(summary: str = "垃圾未清运", center_id: str = "yanminghu") -> dict[str, Any]:
    """A valid ``ticket.created`` event of a new sanitation ticket (for consumer tests)."""
    from datetime import timedelta
    from uuid import uuid4

    from lianxin.contracts import make_event
    from lianxin.contracts.tickets.events import TICKET_CREATED

    now = now_utc()
    ticket_id = str(uuid4())
    return make_event(
        TICKET_CREATED,
        center_id=center_id,
        subject=ticket_id,
        data={
            "ticket_id": ticket_id,
            "category": "sanitation",
            "category_name": "环境卫生",
            "party": "property",
            "channel": "web",
            "summary": summary,
            "ack_due_at": now + timedelta(minutes=10),
            "resolve_due_at": now + timedelta(hours=24),
        },
    )


def batch_recorder(name: str, *, batch: int, retry_delay: float) -> type:
    """A service with one batch-mode handler of ``ticket.created`` for testing the kit: it
    records each event's effect in its own database (table ``effects``), lists each batch's
    summaries in ``cls.calls``, fails a batch holding the summary ``"boom"``, and waits on
    ``cls.gate`` (an event) when one is set."""
    from sqlalchemy import Column, Integer, MetaData, String, Table, insert

    from lianxin.consumer import event_handler
    from lianxin.contracts.tickets.events import TICKET_CREATED
    from lianxin.db import Database
    from lianxin.outbox import kit_tables

    metadata = MetaData()
    kit_tables(metadata)
    effects = Table(
        "effects",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False),
    )

    @event_handler("tickets", TICKET_CREATED, batch=batch, retry_delay=retry_delay)
    def handle_ticket_created(self, events: list[dict[str, Any]]) -> None:
        cls = type(self)
        cls.calls.append([e["data"]["summary"] for e in events])
        if cls.gate is not None:
            cls.gate.wait()
        if any(e["data"]["summary"] == "boom" for e in events):
            raise RuntimeError("the printer is on fire")
        self.db.execute(insert(effects), [{"event_id": e["id"]} for e in events])

    return type(
        name.title().replace("_", ""),
        (),
        {
            "name": name,
            "metadata": metadata,
            "effects": effects,
            "db": Database(metadata),
            "calls": [],
            "gate": None,
            "handle_ticket_created": handle_ticket_created,
        },
    )
