"""Benchmark: what one event costs notify, part by part, in one process (no broker).

    .venv/bin/python bench/notify_handler.py [--events 1000] [--directory seed] [--subscribers 0]
                                             [--batch 32]

Migrates a scratch SQLite notify database, fills the directory (``seed``: the demo center's,
as ``lianxin seed`` does; ``duty``: the duty cadre with an e-mail; ``intake``: the duty
cadre with a phone only, as ``bench/intake.py``), adds ``--subscribers`` department
webhooks, then takes ``--events`` ticket.created events through the paths a message can
take in the service, timing each part:

* one at a time, as the kit's single mode does: ``parse_event`` (envelope and data
  validated), notify's ``NotifyService.handle_event`` with the service's real cache, the
  processed mark INSERT and the COMMIT;
* the processed mark inserted *first*, in the handler's transaction (``ON CONFLICT DO
  NOTHING``; a repeat is a mark that was not inserted) — an alternative once considered;
* in batches of ``--batch`` (default: notify's own ``EVENT_BATCH``), as the kit's batch mode
  does (notify's handlers use it):
  ``parse_event`` for each, ``NotifyService.handle_events`` for the batch, the batch's
  processed marks in one INSERT, one COMMIT.

What nameko adds (spawning the worker, AMQP ack — once per batch in batch mode) is not
here: ``bench/notify_fanout.py`` and ``bench/intake.py`` measure whole processes. Prints
ms per event; asserts nothing.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import types
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CENTER = "yanminghu"
HANDLER = "notify.handle_tickets_ticket_created"
# Each path is first run on this many events (at most ``--events``), untimed.
WARM_UP = 50

Parts = dict[str, list[float]]
Run = Callable[[list[dict], Parts], None]
Results = dict[str, tuple[float, Parts]]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--directory", choices=("seed", "duty", "intake"), default="seed")
    parser.add_argument("--subscribers", type=int, default=0)
    from services.notify.handlers import EVENT_BATCH

    parser.add_argument("--batch", type=int, default=EVENT_BATCH)
    return parser.parse_args()


def fill_directory(factory: sessionmaker[Session], directory: str, subscribers: int) -> None:
    """The contacts ``--directory`` names, and ``subscribers`` department webhooks."""
    from lianxin.contracts.notify import operations as nt
    from lianxin.contracts.notify.operations import NewSubscription
    from lianxin.contracts.schema import load
    from lianxin.db import session_scope
    from lianxin.roles import Principal
    from lianxin.seed import notify_steps
    from services.notify import directory as contacts_directory
    from services.notify import subscriptions

    with session_scope(factory) as session:
        duty = {
            "person_id": "staff-duty-1",
            "name": "李卫东",
            "role": "staff",
            **({"phone": "13800000001"} if directory == "intake" else {"email": "duty@example.cn"}),
        }
        contacts = [duty]
        if directory == "seed":
            contacts += [
                call[1]
                for _label, _service, method, call in notify_steps(datetime.now(UTC))
                if method == "upsert_contact"
            ]
        for payload in contacts:
            contacts_directory.upsert_contact(
                db_session=session, center_id=CENTER, data=load(nt.ContactCreate, payload)
            )
        department = Principal(sub="bench-dept", role="department", centers=(CENTER,))
        for n in range(subscribers):
            subscriptions.create_subscription(
                db_session=session,
                principal=department,
                data=NewSubscription(
                    url=f"http://127.0.0.1:9/hook-{n}",
                    types=["cn.lianxin.tickets.*"],
                    centers=[CENTER],
                ),
            )


def notify_worker() -> Any:
    """A ``NotifyService`` worker with the service's real cache and no dispatcher thread."""
    from nameko.testing.services import worker_factory

    from services.notify.cache import ReadCache
    from services.notify.service import NotifyService
    from services.notify.settings import Settings

    settings = Settings.from_config({"QUIET_HOURS": "off"})
    return worker_factory(
        NotifyService,
        cache=ReadCache(ttl=5),
        dispatcher=types.SimpleNamespace(settings=settings, count=lambda _o: None),
    )


def ticket_created(tag: str, count: int, now: datetime) -> list[dict]:
    from lianxin.contracts import make_event
    from lianxin.contracts.tickets import events as tk

    return [
        make_event(
            tk.TICKET_CREATED,
            center_id=CENTER,
            subject=f"t-{tag}{n}",
            data={
                "ticket_id": f"t-{tag}{n}",
                "category": "sanitation",
                "category_name": "环境卫生",
                "party": "property",
                "channel": "hotline",
                "summary": f"第{n}条诉求：3号楼门口垃圾没人清运",
                "ack_due_at": now + timedelta(minutes=10),
                "resolve_due_at": now + timedelta(days=1),
            },
        )
        for n in range(count)
    ]


def each(path: Callable[[dict, Parts], None]) -> Run:
    def run(bodies: list[dict], parts: Parts) -> None:
        for body in bodies:
            path(body, parts)

    return run


def paths_through_notify(
    service: Any, factory: sessionmaker[Session], batch: int
) -> tuple[tuple[str, Run], ...]:
    """The ways a message can go through the service, each labelled as the report has it."""
    # Closures rather than module functions: the timed code then reads these names as they
    # are, with nothing (an import, an attribute) between them and the clock.
    from sqlalchemy import insert
    from sqlalchemy.dialects.sqlite import insert as upsert

    from lianxin.contracts import parse_event
    from lianxin.contracts.tickets import events as tk
    from services.notify.models import processed_table

    processed = processed_table

    def one_at_a_time(body: dict, parts: Parts) -> None:
        """The kit's single mode: parse, handler, INSERT mark, COMMIT."""
        t0 = time.perf_counter()
        event = parse_event(body, expected=tk.TICKET_CREATED)
        t1 = time.perf_counter()
        service.db = session = factory()
        service.handle_event(event)
        t2 = time.perf_counter()
        session.execute(
            insert(processed).values(
                event_id=event["id"],
                handler=HANDLER,
                center_id=event["centerid"],
                processed_at=datetime.now(UTC),
            )
        )
        t3 = time.perf_counter()
        session.commit()
        session.close()
        t4 = time.perf_counter()
        for name, took in (
            ("kit: parse_event", t1 - t0),
            ("notify: handle_event", t2 - t1),
            ("kit: processed INSERT", t3 - t2),
            ("kit: COMMIT", t4 - t3),
        ):
            parts[name].append(took)

    mark = upsert(processed).on_conflict_do_nothing(index_elements=["event_id", "handler"])

    def mark_first(body: dict, parts: Parts) -> None:
        """The kit as it could be: parse, INSERT the mark first (a repeat inserts nothing), handler, COMMIT."""
        t0 = time.perf_counter()
        event = parse_event(body, expected=tk.TICKET_CREATED)
        t1 = time.perf_counter()
        service.db = session = factory()
        new = session.execute(
            mark,
            {
                "event_id": event["id"],
                "handler": HANDLER,
                "center_id": event["centerid"],
                "processed_at": datetime.now(UTC),
            },
        ).rowcount
        t2 = time.perf_counter()
        assert new == 1
        service.handle_event(event)
        t3 = time.perf_counter()
        session.commit()
        session.close()
        t4 = time.perf_counter()
        for name, took in (
            ("kit: parse_event", t1 - t0),
            ("kit: processed INSERT first", t2 - t1),
            ("notify: handle_event", t3 - t2),
            ("kit: COMMIT", t4 - t3),
        ):
            parts[name].append(took)

    def in_batches(bodies: list[dict], parts: Parts) -> None:
        """The kit's batch mode: parse each, one handler call, one INSERT of marks, one COMMIT."""
        t0 = time.perf_counter()
        events = [parse_event(body, expected=tk.TICKET_CREATED) for body in bodies]
        t1 = time.perf_counter()
        service.db = session = factory()
        service.handle_events(events)
        t2 = time.perf_counter()
        now = datetime.now(UTC)
        session.execute(
            insert(processed),
            [
                {
                    "event_id": e["id"],
                    "handler": HANDLER,
                    "center_id": e["centerid"],
                    "processed_at": now,
                }
                for e in events
            ],
        )
        t3 = time.perf_counter()
        session.commit()
        session.close()
        t4 = time.perf_counter()
        for name, took in (
            ("kit: parse_event", t1 - t0),
            ("notify: handle_events", t2 - t1),
            ("kit: processed INSERT (one)", t3 - t2),
            ("kit: COMMIT", t4 - t3),
        ):
            parts[name].append(took / len(bodies))

    def batched(bodies: list[dict], parts: Parts) -> None:
        for i in range(0, len(bodies), batch):
            in_batches(bodies[i : i + batch], parts)

    return (
        ("one at a time", each(one_at_a_time)),
        ("mark first", each(mark_first)),
        (f"batches of {batch}", batched),
    )


def measure(paths: tuple[tuple[str, Run], ...], events: int, now: datetime) -> Results:
    """Seconds each path took for ``events`` fresh events after its warm-up, and its parts."""
    results: Results = {}
    for label, path in paths:
        warm = ticket_created(f"{label}-warm-", events, now)[:WARM_UP]
        timed = ticket_created(label, events, now)
        path(warm, defaultdict(list))
        parts: Parts = defaultdict(list)
        began = time.perf_counter()
        path(timed, parts)
        results[label] = (time.perf_counter() - began, parts)
    return results


def deliveries_per_event(factory: sessionmaker[Session], paths: int, events: int) -> float:
    from sqlalchemy import func, select

    from services.notify.models import Delivery

    with factory() as session:
        deliveries = session.scalar(select(func.count()).select_from(Delivery)) or 0
    return deliveries / (paths * (events + WARM_UP))


def report(args: argparse.Namespace, per_event: float, results: Results) -> None:
    print(
        f"{args.events} ticket.created, directory: {args.directory}, subscribers: {args.subscribers}; "
        f"{per_event:.0f} deliveries per event; ms per event (mean, p50):"
    )
    for label, (took, parts) in results.items():
        print(
            f"  {label}: {took / args.events * 1000:6.2f} ms  = {args.events / took:7.1f} events/s"
        )
        for name, samples in parts.items():
            print(
                f"    {name:30s} {statistics.fmean(samples) * 1000:6.3f}  {statistics.median(samples) * 1000:6.3f}"
            )
    alone = results["one at a time"][0]
    for label, (took, _parts) in list(results.items())[1:]:
        print(f"  {label} / one at a time: {took / alone:.2f} of the time")


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.ERROR)
    var = Path(tempfile.mkdtemp(prefix="lianxin-bench-"))
    os.environ["LIANXIN_VAR_DIR"] = str(var)

    from lianxin import migrate
    from lianxin.db import make_engine, make_session_factory

    url = f"sqlite:///{var}/notify.db"
    migrate.upgrade("notify", url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    fill_directory(factory, args.directory, args.subscribers)
    paths = paths_through_notify(notify_worker(), factory, args.batch)
    results = measure(paths, args.events, datetime.now(UTC))
    report(args, deliveries_per_event(factory, len(paths), args.events), results)
    engine.dispose()


if __name__ == "__main__":
    main()
