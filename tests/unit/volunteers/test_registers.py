"""The volunteer and beneficiary registers, training records, the visit log and the totals."""

from datetime import date, timedelta

import pytest

from lianxin.contracts.schema import load
from lianxin.contracts.volunteers import events as volunteers_events
from lianxin.contracts.volunteers import operations as vc
from lianxin.errors import Conflict, InvalidInput, NotFound
from services.volunteers import domain
from services.volunteers.models import HourEntry

from .conftest import CENTER, NOW


def test_registering_announces_the_volunteer_with_skills_and_person_id(volunteer, events):
    v = volunteer("vol-1", skills=["health", "emotional_support", "health"])
    [event] = events(volunteers_events.VOLUNTEER_REGISTERED)
    assert event["data"] == {"volunteer_id": v.id, "skills": ["emotional_support", "health"],
                             "person_id": "vol-1"}


def test_a_person_is_registered_once_per_center(volunteer):
    volunteer("vol-1")
    with pytest.raises(Conflict):
        volunteer("vol-1")
    assert volunteer("vol-1", center="fenghuangtai").center_id == "fenghuangtai"


def test_availability_windows_must_end_after_they_start():
    with pytest.raises(InvalidInput) as err:
        load(vc.VolunteerCreate(), {"name": "刘慧", "availability": [
            {"weekday": 6, "start": "14:00", "end": "09:00"}]})
    assert err.value.fields == {"availability": {0: {"end": ["结束时间应晚于开始时间"]}}}


def test_profile_update_is_announced_only_when_something_changed(db, outbox, volunteer, events):
    v = volunteer("vol-1", skills=["cleaning"])
    domain.update_volunteer(db_session=db, outbox=outbox, center_id=CENTER, ref="vol-1",
                            data={"skills": ["cleaning"]})
    assert events(volunteers_events.VOLUNTEER_UPDATED) == []
    domain.update_volunteer(db_session=db, outbox=outbox, center_id=CENTER, ref=v.id,
                            data={"skills": ["escort", "cleaning"], "status": "inactive"})
    [event] = events(volunteers_events.VOLUNTEER_UPDATED)
    assert event["data"]["skills"] == ["cleaning", "escort"]
    assert event["data"]["status"] == "inactive"


def test_exchange_visit_goes_into_each_participants_training_record(db, outbox, volunteer, events):
    a, b = volunteer("vol-1"), volunteer("vol-2")
    data = load(vc.TrainingCreate(), {
        "kind": "exchange_visit", "title": "同携手 创未来——志愿者骨干参观交流",
        "occurred_on": "2026-11-29", "programme": "yilu_growth", "hours": 6,
        "places": ["凤凰台街道党群服务中心", "银莺社区党群服务中心", "南刘庄社区党群服务中心"],
        "volunteer_ids": ["vol-1", b.id], "ref": "yilu-2026-11-29"})
    domain.record_training(db_session=db, outbox=outbox, center_id=CENTER, data=data,
                           recorded_by="sw-1")
    [training] = domain.trainings_of(db_session=db, volunteer=a)
    assert training.places[1] == "银莺社区党群服务中心"
    assert domain.trainings_of(db_session=db, volunteer=b) == [training]
    assert events(volunteers_events.TRAINING_RECORDED)[0]["data"]["volunteer_ids"] == [a.id, b.id]
    with pytest.raises(Conflict):
        domain.record_training(db_session=db, outbox=outbox, center_id=CENTER, data=data,
                               recorded_by="sw-1")


def test_training_naming_an_unknown_volunteer_is_refused(db, outbox, volunteer):
    volunteer("vol-1")
    data = load(vc.TrainingCreate(), {"kind": "course", "title": "急救培训",
                                      "occurred_on": "2026-11-20",
                                      "volunteer_ids": ["vol-1", "vol-404"]})
    with pytest.raises(InvalidInput) as err:
        domain.record_training(db_session=db, outbox=outbox, center_id=CENTER, data=data,
                               recorded_by="sw-1")
    assert "vol-404" in err.value.fields["volunteer_ids"][0]


def test_beneficiary_event_carries_no_personal_details(beneficiary, events):
    b = beneficiary(guardian={"name": "刘建国", "relation": "儿子"})
    [event] = events(volunteers_events.BENEFICIARY_REGISTERED)
    assert event["data"] == {"beneficiary_id": b.id, "category": "elderly_alone",
                             "care_needs": ["life_care"]}
    assert b.age == 82 and b.guardian["relation"] == "儿子"


def test_beneficiaries_are_filtered_by_care_need_and_name(db, beneficiary):
    beneficiary("刘敬州")
    beneficiary("王素芳", care_needs=["emotional_support", "health"])
    items, total = domain.list_beneficiaries(db_session=db, center_id=CENTER, query={
        "care_need": "health", "limit": 10, "offset": 0})
    assert [b.name for b in items] == ["王素芳"] and total == 1
    items, _ = domain.list_beneficiaries(db_session=db, center_id=CENTER, query={
        "q": "敬州", "limit": 10, "offset": 0})
    assert [b.name for b in items] == ["刘敬州"]


def test_import_skips_file_numbers_already_on_the_register(db, outbox, beneficiary):
    beneficiary("刘敬州", file_no="YM-001")
    items = [load(vc.BeneficiaryCreate(), {"name": n, "category": "disabled",
                                           "care_needs": ["life_care"], "address": "东村社区",
                                           "file_no": f}) for n, f in
             (("刘敬州", "YM-001"), ("张书芬", "YM-002"), ("张书芬", "YM-002"))]
    assert domain.import_beneficiaries(db_session=db, outbox=outbox, center_id=CENTER,
                                       items=items) == {"created": 1, "skipped": 2}


def test_import_requires_file_numbers():
    with pytest.raises(InvalidInput) as err:
        load(vc.BeneficiaryImport(), {"items": [{"name": "王素芳", "category": "elderly_alone",
                                                 "care_needs": ["life_care"], "address": "东村"}]})
    assert err.value.fields == {"items": {0: {"file_no": ["导入时必填"]}}}


def test_recorded_visit_approves_each_volunteers_hours(db, outbox, volunteer, beneficiary, events):
    v1, v2 = volunteer("vol-1"), volunteer("vol-2")
    b = beneficiary(file_no="YM-001")
    visit = domain.record_visit(db_session=db, outbox=outbox, center_id=CENTER,
                                beneficiary_ref="YM-001", by="sw-1", now=NOW, data=load(
                                    vc.VisitCreate(), {
                                        "visited_at": (NOW - timedelta(days=1)).isoformat(),
                                        "volunteers": [{"volunteer_id": "vol-1", "hours": 2},
                                                       {"volunteer_id": "vol-2", "hours": 1.5}],
                                        "tasks": ["打扫卫生", "整理客厅", "赠送绿植"],
                                        "care_types": ["life_care"], "notes": "老人精神很好"}))
    db.commit()
    assert [p.hours for p in visit.participants] == [2, 1.5]
    assert {e.status for e in db.query(HourEntry)} == {"approved"}
    assert (v1.verified_hours, v2.verified_hours) == (2, 1.5)
    assert events(volunteers_events.VISIT_RECORDED)[0]["data"]["beneficiary_id"] == b.id
    assert len(events(volunteers_events.HOURS_APPROVED)) == 2
    log, total = domain.list_visits(db_session=db, center_id=CENTER, beneficiary_ref=b.id,
                                    query={"limit": 10, "offset": 0})
    assert total == 1 and log[0].notes == "老人精神很好"


def test_a_visit_in_the_future_is_refused(db, outbox, volunteer, beneficiary):
    volunteer("vol-1")
    b = beneficiary()
    with pytest.raises(InvalidInput) as err:
        domain.record_visit(db_session=db, outbox=outbox, center_id=CENTER, beneficiary_ref=b.id,
                            by="sw-1", now=NOW, data=load(vc.VisitCreate(), {
                                "visited_at": (NOW + timedelta(days=1)).isoformat(),
                                "volunteers": [{"volunteer_id": "vol-1", "hours": 2}]}))
    assert "visited_at" in err.value.fields


def test_check_outs_on_a_beneficiarys_shift_fill_one_visit(db, outbox, volunteer, beneficiary,
                                                           shift, sign_up, attend, events):
    b = beneficiary()
    s = shift(beneficiary_id=b.id, tasks=["打扫卫生", "整理客厅"])
    v1, v2 = volunteer("vol-1"), volunteer("vol-2")
    for v in (v1, v2):
        sign_up(s, v)
        attend(s, v, s.starts_at, s.ends_at)
    [visit], _ = domain.list_visits(db_session=db, center_id=CENTER, beneficiary_ref=b.id,
                                    query={"limit": 10, "offset": 0})
    assert visit.shift_id == s.id and visit.tasks == ["打扫卫生", "整理客厅"]
    assert [p.volunteer_id for p in visit.participants] == [v1.id, v2.id]
    assert visit.care_types == ["life_care"] and len(events(volunteers_events.VISIT_RECORDED)) == 1


def test_center_totals_count_hours_participations_and_people_served(
        db, outbox, volunteer, beneficiary, shift, sign_up, attend):
    volunteer("vol-1")
    volunteer("vol-2")
    a, b = beneficiary("刘敬州"), beneficiary("王素芳")
    for who, day in ((a, 3), (a, 2), (b, 1)):
        domain.record_visit(db_session=db, outbox=outbox, center_id=CENTER, beneficiary_ref=who.id,
                            by="sw-1", now=NOW, data=load(vc.VisitCreate(), {
                                "visited_at": (NOW - timedelta(days=day)).isoformat(),
                                "volunteers": [{"volunteer_id": "vol-1", "hours": 2},
                                               {"volunteer_id": "vol-2", "hours": 0.5}]}))
    s = shift()
    pending = volunteer("vol-3")
    sign_up(s, pending)
    attend(s, pending, s.starts_at, s.ends_at)
    db.commit()
    stats = domain.center_stats(db_session=db, center_id=CENTER)
    assert (stats["verified_hours"], stats["participations"]) == (7.5, 6)
    assert (stats["beneficiaries_served"], stats["service_person_times"]) == (2, 3)
    assert (stats["volunteers_active"], stats["pending_hours"], stats["shifts_held"]) == (2, 2, 1)
    local_today = NOW.astimezone(domain.SHANGHAI).date()
    recent = domain.center_stats(db_session=db, center_id=CENTER,
                                 date_from=local_today - timedelta(days=1), date_to=local_today)
    assert (recent["verified_hours"], recent["beneficiaries_served"]) == (2.5, 1)
    assert domain.center_stats(db_session=db, center_id="fenghuangtai")["participations"] == 0


def test_period_bounds_follow_the_shanghai_calendar():
    start, end = domain.period_bounds(date(2026, 12, 1), date(2026, 12, 1))
    assert start.isoformat() == "2026-11-30T16:00:00+00:00"
    assert end.isoformat() == "2026-12-01T16:00:00+00:00"


def test_a_certificate_before_the_milestone_is_not_found(db, volunteer):
    v = volunteer("vol-1")
    with pytest.raises(NotFound) as err:
        domain.get_milestone(db_session=db, volunteer=v, milestone_hours=50)
    assert "尚未达到 50 小时" in err.value.detail
    with pytest.raises(NotFound) as err:
        domain.get_milestone(db_session=db, volunteer=v, milestone_hours=42)
    assert "milestone" in err.value.fields
