"""Settling an intake request the gateway stopped waiting for: exactly one of "stored" and
"abandoned" wins for a request key, and an abandoned request stores nothing."""

from datetime import timedelta

import pytest

from lianxin.clock import now_utc
from lianxin.contracts.schema import load
from lianxin.contracts.tickets import operations as ops
from services.tickets import configuration, intake, settling
from services.tickets.models import IntakeClaim, Ticket

CENTER = "yanminghu"


@pytest.fixture
def db(service_session):
    session = service_session("tickets")
    configuration.create_center(
        db_session=session, data=load(ops.CenterCreate, {"id": CENTER, "name": "雁鸣湖"})
    )
    configuration.add_category(
        db_session=session,
        center_id=CENTER,
        data=load(
            ops.CategoryCreate, {"code": "sanitation", "name": "环境卫生", "party": "property"}
        ),
    )
    session.commit()
    return session


class Outbox:
    def __init__(self):
        self.events = []

    def add_many(self, events, traces=None):
        self.events.extend(events)


def request(key, description="东村3号楼门口垃圾没人清运"):
    return ops.IntakeRequest(
        center_id=CENTER,
        payload={"category": "sanitation", "description": description, "channel": "web"},
        authorization=None,
        intake_key=None,
        request_key=key,
    )


def take_in(db, *requests):
    def admit(r):
        data = load(ops.TicketCreate, r.payload)
        return intake.Admission(data, "reporter-1")

    answers = intake.take_in(db_session=db, outbox=Outbox(), requests=requests, admit=admit)
    db.commit()
    return answers


def test_a_stored_request_settles_as_its_ticket(db):
    [answer] = take_in(db, request("k" * 32))
    ticket = settling.settle(db_session=db, center_id=CENTER, request_key="k" * 32)
    db.commit()
    assert ticket is not None and ticket.id == answer["ticket"].id
    # asked again (a second settle), the same ticket
    assert settling.settle(db_session=db, center_id=CENTER, request_key="k" * 32).id == ticket.id


def test_a_request_settled_first_is_abandoned_and_its_late_copy_stores_nothing(db):
    assert settling.settle(db_session=db, center_id=CENTER, request_key="a" * 32) is None
    db.commit()
    late, other = take_in(db, request("a" * 32), request("b" * 32, "另一件事：路灯不亮"))
    assert late == {"error": settling.IntakeAbandoned().to_dict()}
    assert late["error"]["kind"] == "unavailable"
    assert other["ticket"].description == "另一件事：路灯不亮"  # its batch-mate stands
    assert [t.description for t in db.query(Ticket)] == ["另一件事：路灯不亮"]
    # and it stays abandoned: settling again still finds no ticket
    assert settling.settle(db_session=db, center_id=CENTER, request_key="a" * 32) is None


def test_a_key_is_settled_only_for_its_own_center(db):
    take_in(db, request("c" * 32))
    assert settling.settle(db_session=db, center_id="fenghuangtai", request_key="c" * 32) is None


def test_requests_without_a_key_are_taken_in_as_before(db):
    [answer] = take_in(db, request(None))
    assert "ticket" in answer and db.query(IntakeClaim).count() == 0


def test_outcomes_are_kept_a_day(db):
    take_in(db, request("d" * 32))
    assert settling.prune(db_session=db, now=now_utc() + timedelta(hours=23)) == 0
    assert settling.prune(db_session=db, now=now_utc() + settling.KEEP + timedelta(seconds=1)) == 1
    db.commit()
    assert db.query(IntakeClaim).count() == 0
