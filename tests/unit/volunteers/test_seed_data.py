"""The demo data the seed loads into the volunteers service is valid and adds up to the report."""

from datetime import UTC, datetime

from lianxin import seed
from lianxin.contracts.schema import load
from lianxin.contracts.volunteers import operations as vc

TODAY = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_every_seed_payload_passes_its_contract():
    for volunteer in seed.VOLUNTEERS:
        load(vc.VolunteerCreate, volunteer)
    load(vc.BeneficiaryImport, {"items": seed.BENEFICIARIES})
    load(vc.VisitImport, {"items": seed.service_ledger(TODAY)})
    for training in seed.trainings(TODAY):
        load(vc.TrainingCreate, training)
    for shift in seed.shifts(TODAY):
        load(vc.ShiftCreate, shift)


def test_the_ledger_adds_up_to_500_hours_245_participations_and_122_people():
    ledger = seed.service_ledger(TODAY)
    attendances = [v for visit in ledger for v in visit["volunteers"]]
    assert sum(a["hours"] for a in attendances) == 500
    assert len(attendances) == 245
    assert len({visit["beneficiary_id"] for visit in ledger}) == len(ledger) == 122
    assert all(datetime.fromisoformat(v["visited_at"]) < TODAY for v in ledger)


def test_the_people_of_the_report_are_on_the_register():
    by_name = {b["name"]: b for b in seed.BENEFICIARIES}
    assert (
        by_name["刘敬州"]["birth_year"] == 1944 and by_name["刘敬州"]["category"] == "elderly_alone"
    )
    assert "王素芳" in by_name
    assert len({b["file_no"] for b in seed.BENEFICIARIES}) == len(seed.BENEFICIARIES)
    [exchange] = [t for t in seed.trainings(TODAY) if t["kind"] == "exchange_visit"]
    assert exchange["occurred_on"] == "2025-11-29"  # the last 29 November before the 27th
    assert exchange["places"] == [
        "凤凰台街道党群服务中心",
        "银莺社区党群服务中心",
        "南刘庄社区党群服务中心",
    ]


def test_next_weeks_sign_ups_fit_their_shifts():
    shifts = {s["ref"]: s for s in seed.shifts(TODAY)}
    skills = {v["person_id"]: set(v["skills"]) for v in seed.VOLUNTEERS}
    for ref, person_id in seed.SIGNUPS:
        assert set(shifts[ref]["required_skills"]) <= skills[person_id], (ref, person_id)
    assert shifts["demo-liu-cleaning"]["tasks"][:2] == ["打扫卫生", "整理客厅"]
    assert "赠送绿植" in shifts["demo-liu-cleaning"]["tasks"]
