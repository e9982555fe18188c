"""A migrated SQLite volunteers database, an outbox on it, and builders for the usual records."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from lianxin.contracts import load_catalogue
from lianxin.contracts.schema import load
from lianxin.contracts.volunteers import operations as vc
from lianxin.outbox import OutboxWriter
from lianxin.roles import Principal
from services.volunteers import attendance, beneficiaries, registers, shifts, signups
from services.volunteers.models import outbox_table

load_catalogue()

CENTER = "yanminghu"
#: "Now" in these tests: Tuesday 2026-12-01 09:00 in Shanghai.
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
STAFF = Principal(sub="sw-1", role="staff", centers=(CENTER,))


@pytest.fixture
def db(service_session):
    return service_session("volunteers")


@pytest.fixture
def outbox(db):
    return OutboxWriter(db, outbox_table)


@pytest.fixture
def events(db):
    """``events(type=None)`` → the envelopes written to the outbox so far, oldest first."""

    def read(etype=None):
        rows = db.execute(select(outbox_table.c.body).order_by(outbox_table.c.id)).scalars()
        return [b for b in rows if etype is None or b["type"] == str(etype)]

    return read


@pytest.fixture
def volunteer(db, outbox):
    """``volunteer(person_id, skills=(), center=CENTER, name=None)`` → a registered volunteer."""

    def make(person_id, skills=("life_care", "cleaning"), center=CENTER, name=None):
        data = load(
            vc.VolunteerCreate,
            {"name": name or f"志愿者{person_id}", "person_id": person_id, "skills": list(skills)},
        )
        v = registers.register_volunteer(
            db_session=db, outbox=outbox, center_id=center, data=data, now=NOW - timedelta(days=30)
        )
        db.commit()
        return v

    return make


@pytest.fixture
def beneficiary(db, outbox):
    def make(name="刘敬州", file_no=None, center=CENTER, **extra):
        data = load(
            vc.BeneficiaryCreate,
            {
                "name": name,
                "category": "elderly_alone",
                "care_needs": ["life_care"],
                "address": "雁鸣湖镇东村社区 3 号楼",
                "birth_year": 1944,
                "file_no": file_no,
                **extra,
            },
        )
        b = beneficiaries.register_beneficiary(
            db_session=db, outbox=outbox, center_id=center, data=data, now=NOW - timedelta(days=30)
        )
        db.commit()
        return b

    return make


@pytest.fixture
def shift(db, outbox):
    """``shift(capacity=3, start_in=timedelta(days=1), hours=2, ...)`` → a published shift."""

    def make(capacity=3, start_in=timedelta(days=1), hours=2, center=CENTER, **extra):
        starts = NOW + start_in
        payload = {
            "title": "刘敬州家打扫卫生",
            "kind": "cleaning",
            "place": "东村社区 3 号楼 2 单元",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=hours)).isoformat(),
            "capacity": capacity,
            **extra,
        }
        s = shifts.publish_shift(
            db_session=db,
            outbox=outbox,
            center_id=center,
            data=load(vc.ShiftCreate, payload),
            created_by="sw-1",
            now=NOW - timedelta(days=2),
        )
        db.commit()
        return s

    return make


@pytest.fixture
def sign_up(db, outbox):
    def do(shift, volunteer, now=NOW):
        s = signups.sign_up(
            db_session=db,
            outbox=outbox,
            center_id=shift.center_id,
            shift_ref=shift.id,
            volunteer=volunteer,
            now=now,
        )
        db.commit()
        return s

    return do


@pytest.fixture
def attend(db, outbox):
    """``attend(shift, volunteer, check_in_at, check_out_at)`` → the completed sign-up."""

    def do(shift, volunteer, check_in_at, check_out_at):
        attendance.check_in(
            db_session=db,
            outbox=outbox,
            center_id=shift.center_id,
            shift_ref=shift.id,
            volunteer=volunteer,
            actor=STAFF,
            at=check_in_at,
            now=check_out_at,
        )
        s = attendance.check_out(
            db_session=db,
            outbox=outbox,
            center_id=shift.center_id,
            shift_ref=shift.id,
            volunteer=volunteer,
            actor=STAFF,
            at=check_out_at,
            now=check_out_at,
        )
        db.commit()
        return s

    return do


@pytest.fixture
def held(shift, volunteer, sign_up):
    """A 2-hour shift tomorrow 09:00 (Shanghai) and a volunteer confirmed on it."""
    s, v = shift(hours=2), volunteer("vol-1")
    sign_up(s, v)
    return s, v
