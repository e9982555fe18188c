from datetime import UTC, datetime

import pytest

from lianxin.contracts.schema import load
from lianxin.contracts.tickets import operations as ops
from lianxin.outbox import OutboxWriter
from services.tickets import configuration
from services.tickets.models import outbox_table


@pytest.fixture
def db(service_session):
    """A session on a migrated tickets database with the demo center and two categories."""
    session = service_session("tickets")
    for center, name in (
        ("yanminghu", "雁鸣湖镇镇区社区党群服务中心"),
        ("fenghuangtai", "凤凰台街道党群服务中心"),
    ):
        configuration.create_center(
            db_session=session, data=load(ops.CenterCreate, {"id": center, "name": name})
        )
    for center in ("yanminghu", "fenghuangtai"):
        configuration.add_category(
            db_session=session,
            center_id=center,
            data=load(
                ops.CategoryCreate,
                {
                    "code": "sanitation",
                    "name": "环境卫生",
                    "party": "property",
                    "ack_minutes": 10,
                    "resolve_hours": 24,
                },
            ),
        )
    configuration.add_category(
        db_session=session,
        center_id="yanminghu",
        data=load(
            ops.CategoryCreate,
            {
                "code": "elderly_care",
                "name": "独居老人帮扶",
                "party": "social_work",
                "ack_minutes": 10,
                "resolve_hours": 48,
            },
        ),
    )
    session.commit()
    return session


@pytest.fixture
def outbox(db):
    return OutboxWriter(db, outbox_table)


@pytest.fixture
def report(db, outbox):
    """``report(center="yanminghu", reporter=None, when=None, **payload)`` → the new ticket
    (a :class:`services.tickets.intake.TicketRow`), committed."""
    from services.tickets import intake

    def make(center="yanminghu", reporter=None, when=None, **payload):
        data = load(
            ops.TicketCreate,
            {"category": "sanitation", "description": "3号楼门口垃圾两天没人清运", **payload},
        )
        row = intake.create_ticket(
            db_session=db,
            outbox=outbox,
            center_id=center,
            data=data,
            reporter_id=reporter,
            now=when,
        )
        db.commit()
        return row

    return make


#: 09:00 in Yanming Lake: when the tests' issues are reported unless they say otherwise.
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
def created(db, report):
    """``created(center="yanminghu", reporter="res-1", when=NOW, **payload)`` → a new web
    report read back as the ticket (to act on)."""
    from services.tickets import queries

    def make(center="yanminghu", reporter="res-1", when=NOW, **payload):
        new = report(center=center, reporter=reporter, when=when, **payload)
        return queries.get_ticket(db_session=db, center_id=center, ticket_id=new.id)

    return make


@pytest.fixture
def ticket(created):
    """A resident's (res-1) sanitation report at yanminghu, reported at NOW."""
    return created()


@pytest.fixture
def events(db):
    """``events()`` → the outbox's events so far, in order (``events.types()``: their verbs)."""
    from sqlalchemy import select

    from lianxin.contracts import parse_event

    class Events:
        def __call__(self):
            return [
                parse_event(body)
                for body in db.scalars(select(outbox_table.c.body).order_by(outbox_table.c.id))
            ]

        def types(self):
            return [e["type"].split(".")[4] for e in self()]

    return Events()


@pytest.fixture
def directory():
    """A stand-in for notify's ``check_reachable``: ``directory.people`` maps a person id to
    whether they can be reached (absent: unknown); ``directory.asked`` records the calls."""

    class Directory:
        def __init__(self):
            self.people = {"duty-1": True, "duty-2": True, "duty-3": True, "in-app-only": False}
            self.asked = []

        def __call__(self, center_id, person_id):
            self.asked.append((center_id, person_id))
            known = person_id in self.people
            reachable = self.people.get(person_id, False)
            return {
                "person_id": person_id,
                "known": known,
                "reachable": reachable,
                "channels": ["sms"] if reachable else [],
            }

    return Directory()


@pytest.fixture
def on_duty(db, directory):
    """``on_duty(person_id, start, end, center="yanminghu")`` puts someone on the roster
    (committed), as the admin does, with the directory stand-in answering for notify."""
    from services.tickets import configuration

    def add(person_id, start, end, center="yanminghu", name="值班干部"):
        shift = configuration.add_duty_shift(
            db_session=db,
            center_id=center,
            data=load(
                ops.DutyShiftCreate,
                {
                    "person_id": person_id,
                    "name": name,
                    "starts_at": start.isoformat(),
                    "ends_at": end.isoformat(),
                },
            ),
            check_reachable=directory,
        )
        db.commit()
        return shift

    return add


@pytest.fixture
def routing():
    """The replica's routing cache (what the Routing provider gives every worker)."""
    from services.tickets.routing import RoutingCache

    return RoutingCache()


@pytest.fixture
def suggestion_models():
    """The replica's category models (what the Suggestions provider gives every worker)."""
    from services.tickets.suggestions import SuggestionCache

    return SuggestionCache()


@pytest.fixture
def notify(directory):
    """notify as the service's ``notify_rpc`` sees it: ``check_reachable`` answers from the
    directory stand-in."""
    from unittest.mock import MagicMock

    proxy = MagicMock()
    proxy.check_reachable.side_effect = directory
    return proxy


@pytest.fixture
def service(db, routing, suggestion_models, notify):
    """``service(bearer=None)`` → a TicketsService worker (nameko's ``worker_factory``) on the
    test database, calling as the token's holder; its other dependencies are mocks."""
    from nameko.testing.services import worker_factory

    from lianxin import auth
    from services.tickets.service import TicketsService

    def make(bearer=None):
        return worker_factory(
            TicketsService,
            db=db,
            outbox=OutboxWriter(db, outbox_table),
            caller=auth.CallerCheck(bearer, auth.Verifier(auth.keys_for({}))),
            routing=routing,
            suggestions=suggestion_models,
            notify_rpc=notify,
        )

    return make
