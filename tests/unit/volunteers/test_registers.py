"""The volunteer register and the training records."""

import pytest

from lianxin.contracts.schema import load
from lianxin.contracts.volunteers import events as volunteers_events
from lianxin.contracts.volunteers import operations as vc
from lianxin.errors import Conflict, Forbidden, InvalidInput
from lianxin.roles import Principal
from services.volunteers import registers

from .conftest import CENTER


def test_registering_announces_the_volunteer_with_skills_and_person_id(volunteer, events):
    v = volunteer("vol-1", skills=["health", "emotional_support", "health"])
    [event] = events(volunteers_events.VOLUNTEER_REGISTERED)
    assert event["data"] == {
        "volunteer_id": v.id,
        "skills": ["emotional_support", "health"],
        "person_id": "vol-1",
    }


def test_a_person_is_registered_once_per_center(volunteer):
    volunteer("vol-1")
    with pytest.raises(Conflict):
        volunteer("vol-1")
    assert volunteer("vol-1", center="fenghuangtai").center_id == "fenghuangtai"


def test_availability_windows_must_end_after_they_start():
    with pytest.raises(InvalidInput) as err:
        load(
            vc.VolunteerCreate,
            {"name": "刘慧", "availability": [{"weekday": 6, "start": "14:00", "end": "09:00"}]},
        )
    assert err.value.fields == {"availability": {0: {"end": ["结束时间应晚于开始时间"]}}}


def test_profile_update_is_announced_only_when_something_changed(db, outbox, volunteer, events):
    v = volunteer("vol-1", skills=["cleaning"])
    registers.update_volunteer(
        db_session=db, outbox=outbox, center_id=CENTER, ref="vol-1", data={"skills": ["cleaning"]}
    )
    assert events(volunteers_events.VOLUNTEER_UPDATED) == []
    registers.update_volunteer(
        db_session=db,
        outbox=outbox,
        center_id=CENTER,
        ref=v.id,
        data={"skills": ["escort", "cleaning"], "status": "inactive"},
    )
    [event] = events(volunteers_events.VOLUNTEER_UPDATED)
    assert event["data"]["skills"] == ["cleaning", "escort"]
    assert event["data"]["status"] == "inactive"


def test_exchange_visit_goes_into_each_participants_training_record(db, outbox, volunteer, events):
    a, b = volunteer("vol-1"), volunteer("vol-2")
    data = load(
        vc.TrainingCreate,
        {
            "kind": "exchange_visit",
            "title": "同携手 创未来——志愿者骨干参观交流",
            "occurred_on": "2026-11-29",
            "programme": "yilu_growth",
            "hours": 6,
            "places": ["凤凰台街道党群服务中心", "银莺社区党群服务中心", "南刘庄社区党群服务中心"],
            "volunteer_ids": ["vol-1", b.id],
            "ref": "yilu-2026-11-29",
        },
    )
    registers.record_training(
        db_session=db, outbox=outbox, center_id=CENTER, data=data, recorded_by="sw-1"
    )
    [training] = registers.trainings_of(db_session=db, volunteer=a)
    assert training.places[1] == "银莺社区党群服务中心"
    assert registers.trainings_of(db_session=db, volunteer=b) == [training]
    assert events(volunteers_events.TRAINING_RECORDED)[0]["data"]["volunteer_ids"] == [a.id, b.id]
    with pytest.raises(Conflict):
        registers.record_training(
            db_session=db, outbox=outbox, center_id=CENTER, data=data, recorded_by="sw-1"
        )


def test_training_naming_an_unknown_volunteer_is_refused(db, outbox, volunteer):
    volunteer("vol-1")
    data = load(
        vc.TrainingCreate,
        {
            "kind": "course",
            "title": "急救培训",
            "occurred_on": "2026-11-20",
            "volunteer_ids": ["vol-1", "vol-404"],
        },
    )
    with pytest.raises(InvalidInput) as err:
        registers.record_training(
            db_session=db, outbox=outbox, center_id=CENTER, data=data, recorded_by="sw-1"
        )
    assert "vol-404" in err.value.fields["volunteer_ids"][0]


def test_volunteer_may_not_act_for_someone_else(db, volunteer):
    volunteer("vol-1")
    volunteer("vol-2")
    me = Principal(sub="vol-1", role="volunteer", centers=(CENTER,))
    own = registers.named_volunteer(db_session=db, center_id=CENTER, principal=me, ref=None)
    assert own.person_id == "vol-1"
    vc.get_volunteer.authorize(me, own)
    for ref in ("vol-2", "vol-404"):  # someone else's, or no one's: not theirs either way
        named = registers.named_volunteer(db_session=db, center_id=CENTER, principal=me, ref=ref)
        with pytest.raises(Forbidden) as err:
            vc.get_volunteer.authorize(me, named)
        assert err.value.code == "NOT_YOUR_RECORD"
