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


@pytest.fixture
def slow_marks(container_factory, service_config, rpc, bus):
    """The probe with marks that wait a second (and a grace long enough for that); the
    outbox's UPDATEs counted."""
    from sqlalchemy import event

    from lianxin.outbox import find_database

    config = service_config(
        "tickets", OUTBOX_HANDOFF_GRACE_SECONDS=20, OUTBOX_MARK_SECONDS=1, OUTBOX_POLL_SECONDS=0.2
    )
    container = container_factory(OutboxProbe, config)
    container.start()
    updates: list[str] = []

    def count(conn, cursor, statement, *_):
        if statement.startswith("UPDATE outbox"):
            updates.append(statement)

    event.listen(find_database(container).engine, "before_cursor_execute", count)
    queue = bus.bind("outboxprobe", str(CENTER_UPDATED))
    writer = rpc().outboxprobe
    writer.write(["add:warm-up", "commit"])  # the first scan, then hand-offs
    _drain(bus, queue, until="warm-up")
    return container, writer, queue, config, updates


def _unsent(config: dict) -> list[str]:
    engine = create_engine(config["DB_URL"])
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    select(outbox_table.c.body).where(outbox_table.c.sent_at.is_(None))
                ).scalars()
            )
    finally:
        engine.dispose()


def test_the_marks_of_several_hand_offs_go_in_one_statement(slow_marks, bus):
    """Under load a hand-off every few milliseconds each wrote its own UPDATE; the marks
    now wait (OUTBOX_MARK_SECONDS) and go together, and no row is left unsent."""
    _container, writer, queue, config, updates = slow_marks
    wait_for(lambda: not _unsent(config), timeout=10)  # the warm-up's mark
    updates.clear()
    for name in ("a", "b", "c"):
        writer.write([f"add:{name}", "commit"])
    assert _drain(bus, queue, until="c") == ["a", "b", "c"]
    wait_for(lambda: not _unsent(config), timeout=10)
    assert len(updates) == 1


def test_marks_still_waiting_are_written_when_the_service_stops(slow_marks, bus):
    """A stop (a deploy's rolling restart) leaves nothing to publish again."""
    container, writer, queue, config, _updates = slow_marks
    wait_for(lambda: not _unsent(config), timeout=10)
    writer.write(["add:last", "commit"])
    _drain(bus, queue, until="last")
    container.stop()
    assert _unsent(config) == []
