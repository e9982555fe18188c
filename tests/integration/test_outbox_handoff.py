"""The relay publishes what a commit hands it — only what was committed — and still
publishes, from the table, what another process wrote (a real broker, real SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from nameko.rpc import rpc as rpc_entrypoint
from sqlalchemy import create_engine, insert, select

from lianxin.contracts import make_event
from lianxin.contracts.tickets.events import CENTER_UPDATED
from lianxin.db import Database
from lianxin.outbox import Outbox
from lianxin.testing import wait_for
from services.tickets.models import Base, outbox_table

pytestmark = pytest.mark.integration


def _renamed(name: str) -> dict:
    return dict(id="yanminghu", name=name, status="active", actor_id=None, change="renamed")


class OutboxProbe:
    """Writes events as a service does, then commits, rolls back or walks away."""

    name = "outboxprobe"
    db = Database(Base.metadata)
    outbox = Outbox(outbox_table)

    def _add(self, name: str) -> None:
        self.outbox.add(CENTER_UPDATED, center_id="yanminghu", subject=name, data=_renamed(name))

    @rpc_entrypoint
    def write(self, steps: list[str]) -> None:
        """``add:X`` writes event X; ``undone:X`` writes X in a savepoint rolled back;
        ``commit``, ``rollback``; what is left is closed with the worker (not committed)."""
        for step in steps:
            verb, _, name = step.partition(":")
            if verb == "add":
                self._add(name)
            elif verb == "undone":
                savepoint = self.db.begin_nested()
                self._add(name)
                savepoint.rollback()
            elif verb == "kept":
                with self.db.begin_nested():
                    self._add(name)
            elif verb == "commit":
                self.db.commit()
            elif verb == "rollback":
                self.db.rollback()


@pytest.fixture
def probe(container_factory, service_config, rpc, bus):
    config = service_config("tickets", OUTBOX_HANDOFF_GRACE_SECONDS=0.5)
    container_factory(OutboxProbe, config).start()
    queue = bus.bind("outboxprobe", str(CENTER_UPDATED))
    writer = rpc().outboxprobe
    # The relay starts by scanning the table; once that finds it caught up, commits hand on.
    writer.write(["add:warm-up", "commit"])
    _drain(bus, queue, until="warm-up")
    return writer, queue, config


def _drain(bus, queue, until: str) -> list[str]:
    """Subjects received until (and with) ``until``."""
    got: list[str] = []

    def arrived() -> bool:
        for body in iter(lambda: bus.get(queue), None):
            got.append(body["subject"])
        return until in got

    wait_for(arrived, timeout=15)
    return got


def test_only_committed_events_are_published_and_in_commit_order(probe, bus):
    writer, queue, _ = probe
    writer.write(["add:a", "undone:b", "kept:c", "add:d", "commit"])
    writer.write(["add:e", "rollback", "add:f", "commit"])
    writer.write(["add:g"])  # never committed
    writer.write(["add:h", "commit"])
    assert _drain(bus, queue, until="h") == ["a", "c", "d", "f", "h"]


def test_an_event_another_process_wrote_is_published_from_the_table(probe, bus):
    writer, queue, config = probe
    body = make_event(CENTER_UPDATED, center_id="yanminghu", subject="cli", data=_renamed("cli"))
    engine = create_engine(config["DB_URL"])
    try:
        with engine.begin() as conn:  # as a command-line tool writes one: no relay of its own
            conn.execute(
                insert(outbox_table),
                dict(
                    event_id=body["id"],
                    center_id="yanminghu",
                    type=body["type"],
                    body=body,
                    created_at=datetime.now(UTC),
                ),
            )
        assert _drain(bus, queue, until="cli") == ["cli"]

        def sent() -> bool:
            with engine.connect() as conn:
                return conn.execute(select(outbox_table.c.sent_at)).scalar() is not None

        wait_for(sent)
    finally:
        engine.dispose()
