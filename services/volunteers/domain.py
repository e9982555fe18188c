"""The rules of volunteering, free of nameko: plain functions over a session.

Concurrency: on PostgreSQL a sign-up locks the shift row, then the volunteer row
(``SELECT ... FOR UPDATE``), so capacity and "never two overlapping shifts" hold
under concurrent requests; anything else that locks both takes them in that
order. Approving hours locks only the volunteer row (their verified total and
milestones). SQLite serialises writers anyway.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lianxin.contracts.volunteers import events as volunteers_events
from lianxin.contracts.volunteers import operations as vc
from lianxin.errors import InvalidInput
from lianxin.outbox import OutboxWriter
from lianxin.roles import Principal
from services.volunteers.exceptions import (
    AlreadySignedUp,
    BeneficiaryConflict,
    BeneficiaryNotFound,
    CapacityConflict,
    CertificateNotFound,
    CorrectionConflict,
    CorrectionNotFound,
    HourEntryNotFound,
    HoursAlreadyDecided,
    InvalidAttendance,
    InvalidShift,
    NotRegistered,
    NotYours,
    OverlappingShift,
    ShiftClosed,
    ShiftConflict,
    ShiftNotFound,
    SignupNotFound,
    SkillsMissing,
    TrainingConflict,
    UnknownVolunteers,
    VisitConflict,
    VolunteerConflict,
    VolunteerInactive,
    VolunteerNotFound,
)
from services.volunteers.models import (
    HOLDING,
    Beneficiary,
    Correction,
    HourEntry,
    Milestone,
    Shift,
    Signup,
    Training,
    TrainingAttendee,
    Visit,
    VisitVolunteer,
    Volunteer,
    minutes_to_hours,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: Volunteers may check in from this long before a shift starts.
CHECK_IN_EARLY = timedelta(hours=1)
#: A confirmed place given up closer than this to the start is a late cancellation.
LATE_CANCEL = timedelta(hours=24)
#: Sign-up states that took a place on the shift.
TAKEN = ("confirmed", "checked_in", "completed", "no_show")
#: What a shift kind does for a beneficiary (the visit log's care types).
KIND_CARE = {"visit": ["emotional_support"], "cleaning": ["life_care"], "escort": ["health"]}
STAFF_ROLES = ("staff", "admin")


def now_utc() -> datetime:
    return datetime.now(UTC)


def _id() -> str:
    return str(uuid.uuid4())


def _local(moment: datetime) -> str:
    """A time as people read it: Asia/Shanghai, to the minute."""
    return moment.astimezone(SHANGHAI).strftime("%m月%d日 %H:%M")


def _by_id_or_key(db_session: Session, model: type, center_id: str, ref: str, key: Any,
                  *, lock: bool = False) -> Any:
    """The center's record whose id or natural key is ``ref``."""
    stmt = select(model).where(model.center_id == center_id, or_(model.id == ref, key == ref))
    if lock:
        stmt = stmt.with_for_update(of=model).execution_options(populate_existing=True)
    return db_session.scalars(stmt.limit(1)).first()


def _conflict_on_flush(db_session: Session, error: Exception) -> None:
    """Flush; a unique index that refuses the row becomes ``error`` (never a 500)."""
    try:
        db_session.flush()
    except IntegrityError:
        db_session.rollback()
        raise error from None


# -- volunteers ------------------------------------------------------------------------------

def register_volunteer(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                       data: dict[str, Any], now: datetime | None = None) -> Volunteer:
    """Put a person on the center's register and announce it."""
    person_id = data.get("person_id")
    if person_id and db_session.scalar(select(Volunteer.id).where(
            Volunteer.center_id == center_id, Volunteer.person_id == person_id)):
        raise VolunteerConflict(fields={"person_id": ["该人员已登记"]})
    volunteer = Volunteer(
        id=_id(), center_id=center_id, person_id=person_id, name=data["name"],
        skills=sorted(set(data["skills"])), party_member=data["party_member"], status="active",
        availability=data.get("availability") or [], note=data.get("note") or "",
        verified_minutes=0, registered_at=now or now_utc(),
    )
    db_session.add(volunteer)
    _conflict_on_flush(db_session, VolunteerConflict(fields={"person_id": ["该人员已登记"]}))
    outbox.add(volunteers_events.VOLUNTEER_REGISTERED, center_id=center_id, subject=volunteer.id,
               data={"volunteer_id": volunteer.id, "skills": volunteer.skills,
                     "person_id": volunteer.person_id})
    return volunteer


def get_volunteer(*, db_session: Session, center_id: str, ref: str,
                  lock: bool = False) -> Volunteer:
    """A center's volunteer by id or person id, or :class:`VolunteerNotFound`."""
    volunteer = _by_id_or_key(db_session, Volunteer, center_id, ref, Volunteer.person_id,
                              lock=lock)
    if volunteer is None:
        raise VolunteerNotFound()
    return volunteer


def acting_volunteer(*, db_session: Session, center_id: str, principal: Principal) -> Volunteer:
    """The volunteer a ``volunteer`` token belongs to (its ``sub`` is the person id)."""
    volunteer = db_session.scalars(select(Volunteer).where(
        Volunteer.center_id == center_id, Volunteer.person_id == principal.sub)).first()
    if volunteer is None:
        raise NotRegistered()
    return volunteer


def volunteer_in_request(*, db_session: Session, center_id: str, principal: Principal,
                         ref: str | None) -> Volunteer:
    """Who a request acts for: a volunteer acts for themselves only; staff name the volunteer."""
    if principal.role == "volunteer":
        own = acting_volunteer(db_session=db_session, center_id=center_id, principal=principal)
        if ref not in (None, "me", own.id, own.person_id):
            raise NotYours()
        return own
    if ref is None or ref == "me":
        raise InvalidInput("请指定志愿者", fields={"volunteer_id": ["必填项"]})
    return get_volunteer(db_session=db_session, center_id=center_id, ref=ref)


def update_volunteer(*, db_session: Session, outbox: OutboxWriter, center_id: str, ref: str,
                     data: dict[str, Any], now: datetime | None = None) -> Volunteer:
    """Change a volunteer's profile; announce it when something changed."""
    volunteer = get_volunteer(db_session=db_session, center_id=center_id, ref=ref)
    if "skills" in data:
        data = {**data, "skills": sorted(set(data["skills"]))}
    changed = {k: v for k, v in data.items() if getattr(volunteer, k) != v}
    if not changed:
        return volunteer
    for key, value in changed.items():
        setattr(volunteer, key, value)
    volunteer.updated_at = now or now_utc()
    outbox.add(volunteers_events.VOLUNTEER_UPDATED, center_id=center_id, subject=volunteer.id, data={
        "volunteer_id": volunteer.id, "person_id": volunteer.person_id,
        "skills": volunteer.skills, "status": volunteer.status})
    return volunteer


def list_volunteers(*, db_session: Session, center_id: str,
                    query: dict[str, Any]) -> tuple[list[Volunteer], int]:
    """A center's volunteers, earliest registered first; optionally those with one skill."""
    where = [Volunteer.center_id == center_id]
    if query.get("status"):
        where.append(Volunteer.status == query["status"])
    rows = select(Volunteer).where(*where).order_by(Volunteer.registered_at, Volunteer.id)
    if query.get("skill"):
        # Skills are a short JSON list; filter in Python to stay portable across SQLite/PostgreSQL.
        matching = [v for v in db_session.scalars(rows) if query["skill"] in (v.skills or [])]
        return matching[query["offset"]:query["offset"] + query["limit"]], len(matching)
    total = db_session.scalar(select(func.count()).select_from(Volunteer).where(*where)) or 0
    items = db_session.scalars(rows.limit(query["limit"]).offset(query["offset"])).all()
    return list(items), total


def volunteer_totals(*, db_session: Session, volunteer: Volunteer) -> dict[str, Any]:
    """Hours, shifts, attendance, reliability and milestones of one volunteer."""
    entries = dict(db_session.execute(
        select(HourEntry.status, func.coalesce(func.sum(HourEntry.minutes), 0))
        .where(HourEntry.volunteer_id == volunteer.id,
               HourEntry.status.in_(("approved", "pending")))
        .group_by(HourEntry.status)).all())
    participations = db_session.scalar(select(func.count()).select_from(HourEntry).where(
        HourEntry.volunteer_id == volunteer.id, HourEntry.status == "approved")) or 0
    states = dict(db_session.execute(
        select(Signup.status, func.count()).where(Signup.volunteer_id == volunteer.id)
        .group_by(Signup.status)).all())
    late = db_session.scalar(select(func.count()).select_from(Signup).where(
        Signup.volunteer_id == volunteer.id, Signup.late_cancel.is_(True))) or 0
    completed, no_shows = states.get("completed", 0), states.get("no_show", 0)
    record = completed + no_shows + late
    milestones = list(db_session.scalars(select(Milestone).where(
        Milestone.volunteer_id == volunteer.id).order_by(Milestone.milestone_hours)))
    reached = {m.milestone_hours for m in milestones}
    upcoming = [m for m in vc.MILESTONES if m not in reached]
    return {
        "verified_hours": minutes_to_hours(entries.get("approved", 0)),
        "pending_hours": minutes_to_hours(entries.get("pending", 0)),
        "participations": participations,
        "shifts_completed": completed,
        "no_shows": no_shows,
        "late_cancellations": late,
        "reliability": round(completed / record, 3) if record else None,
        "milestones": milestones,
        "next_milestone": upcoming[0] if upcoming else None,
    }


def trainings_of(*, db_session: Session, volunteer: Volunteer) -> list[Training]:
    """A volunteer's training records, latest first."""
    return list(db_session.scalars(
        select(Training).join(TrainingAttendee, TrainingAttendee.training_id == Training.id)
        .where(TrainingAttendee.volunteer_id == volunteer.id)
        .order_by(Training.occurred_on.desc(), Training.id)))


def resolve_volunteers(*, db_session: Session, center_id: str, refs: Iterable[str],
                       field: str = "volunteer_ids") -> list[Volunteer]:
    """Volunteers by id or person id, in the order given; any unknown one is an error."""
    refs = list(refs)
    found = list(db_session.scalars(select(Volunteer).where(
        Volunteer.center_id == center_id,
        or_(Volunteer.id.in_(refs), Volunteer.person_id.in_(refs)))))
    by_ref = {v.id: v for v in found} | {v.person_id: v for v in found if v.person_id}
    unknown = [r for r in refs if r not in by_ref]
    if unknown:
        raise UnknownVolunteers(fields={field: [f"不在本中心名册中：{', '.join(unknown)}"]})
    return [by_ref[r] for r in refs]


# -- training records ------------------------------------------------------------------------

def record_training(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                    data: dict[str, Any], recorded_by: str,
                    now: datetime | None = None) -> Training:
    """Record a course or exchange visit and the volunteers who took part."""
    if data.get("ref") and db_session.scalar(select(Training.id).where(
            Training.center_id == center_id, Training.ref == data["ref"])):
        raise TrainingConflict(fields={"ref": ["该培训记录已存在"]})
    people = resolve_volunteers(db_session=db_session, center_id=center_id,
                                refs=dict.fromkeys(data["volunteer_ids"]))
    training = Training(
        id=_id(), center_id=center_id, ref=data.get("ref"), kind=data["kind"],
        title=data["title"], occurred_on=data["occurred_on"], places=data["places"],
        hours=data["hours"], programme=data.get("programme"), note=data["note"],
        recorded_by=recorded_by, created_at=now or now_utc(),
        attendees=[TrainingAttendee(volunteer_id=v.id, center_id=center_id) for v in people],
    )
    db_session.add(training)
    _conflict_on_flush(db_session, TrainingConflict(fields={"ref": ["该培训记录已存在"]}))
    outbox.add(volunteers_events.TRAINING_RECORDED, center_id=center_id, subject=training.id, data={
        "training_id": training.id, "kind": training.kind, "title": training.title,
        "occurred_on": training.occurred_on, "volunteer_ids": training.volunteer_ids})
    return training


def list_trainings(*, db_session: Session, center_id: str,
                   query: dict[str, Any]) -> tuple[list[Training], int]:
    """A center's training records, latest first."""
    where = [Training.center_id == center_id]
    total = db_session.scalar(select(func.count()).select_from(Training).where(*where)) or 0
    items = db_session.scalars(select(Training).where(*where)
                               .order_by(Training.occurred_on.desc(), Training.id)
                               .limit(query["limit"]).offset(query["offset"])).all()
    return list(items), total


# -- beneficiaries ---------------------------------------------------------------------------

def _age(beneficiary: Beneficiary, today: date) -> int | None:
    return None if beneficiary.birth_year is None else today.year - beneficiary.birth_year


def _with_visit_facts(db_session: Session, items: list[Beneficiary]) -> list[Beneficiary]:
    """Fill each beneficiary's age, visit count and last visit (one query for the page)."""
    today = now_utc().astimezone(SHANGHAI).date()
    facts = {}
    if items:
        facts = {row[0]: row[1:] for row in db_session.execute(
            select(Visit.beneficiary_id, func.count(), func.max(Visit.visited_at))
            .where(Visit.beneficiary_id.in_([b.id for b in items]))
            .group_by(Visit.beneficiary_id))}
    for b in items:
        count, last = facts.get(b.id, (0, None))
        if last is not None and last.tzinfo is None:  # an aggregate bypasses the column type
            last = last.replace(tzinfo=UTC)
        b.age, b.visits, b.last_visit_at = _age(b, today), count, last
    return items


def register_beneficiary(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                         data: dict[str, Any], now: datetime | None = None) -> Beneficiary:
    """Add a person to the beneficiary register."""
    if data.get("file_no") and db_session.scalar(select(Beneficiary.id).where(
            Beneficiary.center_id == center_id, Beneficiary.file_no == data["file_no"])):
        raise BeneficiaryConflict(fields={"file_no": ["该档案编号已被使用"]})
    beneficiary = Beneficiary(
        id=_id(), center_id=center_id, file_no=data.get("file_no"), name=data["name"],
        category=data["category"], care_needs=list(dict.fromkeys(data["care_needs"])),
        address=data["address"], gender=data.get("gender"), birth_year=data.get("birth_year"),
        guardian=data.get("guardian"), notes=data.get("notes") or "", status="active",
        registered_at=now or now_utc(),
    )
    db_session.add(beneficiary)
    _conflict_on_flush(db_session, BeneficiaryConflict(fields={"file_no": ["该档案编号已被使用"]}))
    outbox.add(volunteers_events.BENEFICIARY_REGISTERED, center_id=center_id, subject=beneficiary.id, data={
        "beneficiary_id": beneficiary.id, "category": beneficiary.category,
        "care_needs": beneficiary.care_needs})
    return _with_visit_facts(db_session, [beneficiary])[0]


def import_beneficiaries(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                         items: list[dict[str, Any]], now: datetime | None = None) -> dict[str, int]:
    """Bring a paper register over; file numbers already on the register are skipped."""
    wanted = [item["file_no"] for item in items]
    existing = set(db_session.scalars(select(Beneficiary.file_no).where(
        Beneficiary.center_id == center_id, Beneficiary.file_no.in_(wanted))))
    created = 0
    for item in items:
        if item["file_no"] in existing:
            continue
        register_beneficiary(db_session=db_session, outbox=outbox, center_id=center_id,
                             data=item, now=now)
        existing.add(item["file_no"])
        created += 1
    return {"created": created, "skipped": len(items) - created}


def get_beneficiary(*, db_session: Session, center_id: str, ref: str) -> Beneficiary:
    """A center's beneficiary by id or file number, or :class:`BeneficiaryNotFound`."""
    beneficiary = _by_id_or_key(db_session, Beneficiary, center_id, ref, Beneficiary.file_no)
    if beneficiary is None:
        raise BeneficiaryNotFound()
    return _with_visit_facts(db_session, [beneficiary])[0]


def update_beneficiary(*, db_session: Session, center_id: str, ref: str, data: dict[str, Any],
                       now: datetime | None = None) -> Beneficiary:
    """Change a beneficiary's record (no event: the details never leave the service)."""
    beneficiary = get_beneficiary(db_session=db_session, center_id=center_id, ref=ref)
    for key, value in data.items():
        setattr(beneficiary, key, value)
    beneficiary.updated_at = now or now_utc()
    return beneficiary


def list_beneficiaries(*, db_session: Session, center_id: str,
                       query: dict[str, Any]) -> tuple[list[Beneficiary], int]:
    """A center's beneficiaries by name, filtered by category, status, name or address."""
    where = [Beneficiary.center_id == center_id]
    for key in ("category", "status"):
        if query.get(key):
            where.append(getattr(Beneficiary, key) == query[key])
    if query.get("q"):
        pattern = f"%{query['q']}%"
        where.append(or_(Beneficiary.name.like(pattern), Beneficiary.address.like(pattern)))
    rows = select(Beneficiary).where(*where).order_by(Beneficiary.registered_at, Beneficiary.id)
    if query.get("care_need"):
        matching = [b for b in db_session.scalars(rows) if query["care_need"] in b.care_needs]
        page = matching[query["offset"]:query["offset"] + query["limit"]]
        return _with_visit_facts(db_session, page), len(matching)
    total = db_session.scalar(select(func.count()).select_from(Beneficiary).where(*where)) or 0
    items = list(db_session.scalars(rows.limit(query["limit"]).offset(query["offset"])))
    return _with_visit_facts(db_session, items), total


# -- shifts ----------------------------------------------------------------------------------

def _with_counts(db_session: Session, shifts: list[Shift]) -> list[Shift]:
    """Fill each shift's confirmed and waitlisted counts (one query for the page)."""
    counts: dict[tuple[str, str], int] = {}
    if shifts:
        counts = {(s, st): n for s, st, n in db_session.execute(
            select(Signup.shift_id, Signup.status, func.count())
            .where(Signup.shift_id.in_([s.id for s in shifts]))
            .group_by(Signup.shift_id, Signup.status))}
    for shift in shifts:
        shift.confirmed = sum(counts.get((shift.id, st), 0) for st in TAKEN)
        shift.waitlisted = counts.get((shift.id, "waitlisted"), 0)
    return shifts


def _signup_fact(signup: Signup, **extra: Any) -> dict[str, Any]:
    """What every sign-up event carries (and a reminder needs)."""
    shift = signup.shift
    return {"shift_id": shift.id, "volunteer_id": signup.volunteer_id,
            "person_id": signup.volunteer.person_id, "shift_title": shift.title,
            "starts_at": shift.starts_at, "ends_at": shift.ends_at, "place": shift.place,
            "signup_id": signup.id, **extra}


def publish_shift(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                  data: dict[str, Any], created_by: str, now: datetime | None = None) -> Shift:
    """Publish a service task volunteers may sign up for."""
    now = now or now_utc()
    if data["ends_at"] <= now:
        raise InvalidShift("班次已结束，不能发布", fields={"ends_at": ["结束时间已过"]})
    if data.get("ref") and db_session.scalar(select(Shift.id).where(
            Shift.center_id == center_id, Shift.ref == data["ref"])):
        raise ShiftConflict(fields={"ref": ["该班次已存在"]})
    beneficiary_id = None
    if data.get("beneficiary_id"):
        beneficiary = _by_id_or_key(db_session, Beneficiary, center_id, data["beneficiary_id"],
                                    Beneficiary.file_no)
        if beneficiary is None:
            raise InvalidShift(fields={"beneficiary_id": ["帮扶对象不存在"]})
        beneficiary_id = beneficiary.id
    shift = Shift(
        id=_id(), center_id=center_id, ref=data.get("ref"), title=data["title"],
        kind=data["kind"], description=data["description"], place=data["place"],
        starts_at=data["starts_at"], ends_at=data["ends_at"], capacity=data["capacity"],
        required_skills=sorted(set(data["required_skills"])), tasks=data["tasks"],
        beneficiary_id=beneficiary_id, programme=data.get("programme"), status="open",
        created_by=created_by, created_at=now,
    )
    db_session.add(shift)
    _conflict_on_flush(db_session, ShiftConflict(fields={"ref": ["该班次已存在"]}))
    outbox.add(volunteers_events.SHIFT_PUBLISHED, center_id=center_id, subject=shift.id, data={
        "shift_id": shift.id, "title": shift.title, "kind": shift.kind,
        "starts_at": shift.starts_at, "ends_at": shift.ends_at, "place": shift.place,
        "capacity": shift.capacity, "required_skills": shift.required_skills,
        "beneficiary_id": shift.beneficiary_id})
    return _with_counts(db_session, [shift])[0]


def get_shift(*, db_session: Session, center_id: str, ref: str, lock: bool = False) -> Shift:
    """A center's shift by id or ref, or :class:`ShiftNotFound` (also another center's)."""
    shift = _by_id_or_key(db_session, Shift, center_id, ref, Shift.ref, lock=lock)
    if shift is None:
        raise ShiftNotFound()
    return shift


def shift_with_counts(*, db_session: Session, center_id: str, ref: str) -> Shift:
    return _with_counts(db_session, [get_shift(db_session=db_session, center_id=center_id,
                                               ref=ref)])[0]


def list_shifts(*, db_session: Session, center_id: str,
                query: dict[str, Any]) -> tuple[list[Shift], int]:
    """A center's shifts by start time, filtered by period, kind, status, beneficiary."""
    where = [Shift.center_id == center_id]
    if query.get("starts_from"):
        where.append(Shift.starts_at >= query["starts_from"])
    if query.get("starts_before"):
        where.append(Shift.starts_at < query["starts_before"])
    for key in ("kind", "status"):
        if query.get(key):
            where.append(getattr(Shift, key) == query[key])
    if query.get("beneficiary_id"):
        beneficiary = _by_id_or_key(db_session, Beneficiary, center_id, query["beneficiary_id"],
                                    Beneficiary.file_no)
        where.append(Shift.beneficiary_id == (beneficiary.id if beneficiary else None))
    if query.get("available"):
        taken = (select(func.count()).select_from(Signup)
                 .where(Signup.shift_id == Shift.id, Signup.status.in_(TAKEN))
                 .scalar_subquery())
        where += [Shift.status == "open", taken < Shift.capacity]
    total = db_session.scalar(select(func.count()).select_from(Shift).where(*where)) or 0
    items = list(db_session.scalars(select(Shift).where(*where)
                                    .order_by(Shift.starts_at, Shift.id)
                                    .limit(query["limit"]).offset(query["offset"])))
    return _with_counts(db_session, items), total


def _taken(db_session: Session, shift: Shift) -> int:
    return db_session.scalar(select(func.count()).select_from(Signup).where(
        Signup.shift_id == shift.id, Signup.status.in_(TAKEN))) or 0


def _promote(db_session: Session, outbox: OutboxWriter, shift: Shift, now: datetime) -> list[Signup]:
    """Give free places to the waitlist in the order people joined it (shift row locked)."""
    if shift.status != "open" or now >= shift.starts_at:
        return []
    free = shift.capacity - _taken(db_session, shift)
    if free <= 0:
        return []
    promoted = list(db_session.scalars(
        select(Signup).where(Signup.shift_id == shift.id, Signup.status == "waitlisted")
        .order_by(Signup.queued_at, Signup.id).limit(free)))
    for signup in promoted:
        signup.status, signup.promoted, signup.confirmed_at = "confirmed", True, now
        outbox.add(volunteers_events.SIGNUP_PROMOTED, center_id=shift.center_id, subject=signup.id,
                   data=_signup_fact(signup))
    return promoted


def update_shift(*, db_session: Session, outbox: OutboxWriter, center_id: str, ref: str,
                 data: dict[str, Any], now: datetime | None = None) -> tuple[Shift, list[Signup]]:
    """Change a shift's places, description or tasks; more places promote the waitlist."""
    now = now or now_utc()
    shift = get_shift(db_session=db_session, center_id=center_id, ref=ref, lock=True)
    if shift.status != "open":
        raise ShiftClosed("班次已取消，不能修改")
    if "capacity" in data:
        taken = _taken(db_session, shift)
        if data["capacity"] < taken:
            raise CapacityConflict(f"已有 {taken} 人确认，名额不能少于 {taken}",
                                   fields={"capacity": [f"不能少于已确认的 {taken} 人"]})
    for key, value in data.items():
        setattr(shift, key, value)
    db_session.flush()
    promoted = _promote(db_session, outbox, shift, now)
    return _with_counts(db_session, [shift])[0], promoted


def cancel_shift(*, db_session: Session, outbox: OutboxWriter, center_id: str, ref: str,
                 reason: str, by: str, now: datetime | None = None) -> Shift:
    """Call a shift off before it starts; every sign-up on it is cancelled and announced."""
    now = now or now_utc()
    shift = get_shift(db_session=db_session, center_id=center_id, ref=ref, lock=True)
    if shift.status != "open":
        raise ShiftClosed("班次已取消")
    if now >= shift.starts_at:
        raise ShiftClosed("班次已开始，不能取消")
    shift.status, shift.cancel_reason = "cancelled", reason
    live = db_session.scalars(select(Signup).where(
        Signup.shift_id == shift.id, Signup.status.in_(("confirmed", "waitlisted"))))
    for signup in live:
        _cancel(signup, reason=f"班次取消：{reason}", by=by, now=now, late=False)
        outbox.add(volunteers_events.SIGNUP_CANCELLED, center_id=center_id, subject=signup.id,
                   data=_signup_fact(signup, reason=signup.cancel_reason))
    outbox.add(volunteers_events.SHIFT_CANCELLED, center_id=center_id, subject=shift.id, data={
        "shift_id": shift.id, "title": shift.title, "starts_at": shift.starts_at,
        "reason": reason})
    db_session.flush()
    return _with_counts(db_session, [shift])[0]


# -- sign-ups --------------------------------------------------------------------------------

def _waitlist_position(db_session: Session, signup: Signup) -> int | None:
    if signup.status != "waitlisted":
        return None
    ahead = db_session.scalar(select(func.count()).select_from(Signup).where(
        Signup.shift_id == signup.shift_id, Signup.status == "waitlisted",
        or_(Signup.queued_at < signup.queued_at,
            and_(Signup.queued_at == signup.queued_at, Signup.id < signup.id)))) or 0
    return ahead + 1


def with_position(db_session: Session, signup: Signup) -> Signup:
    signup.waitlist_position = _waitlist_position(db_session, signup)
    return signup


def sign_up(*, db_session: Session, outbox: OutboxWriter, center_id: str, shift_ref: str,
            volunteer: Volunteer, now: datetime | None = None) -> Signup:
    """Take a place on a shift, or join its waitlist when it is full.

    Refused: a cancelled or started shift, an inactive volunteer, missing skills, a second
    sign-up to the same shift, and any overlap with a shift the volunteer holds or waits for.
    """
    now = now or now_utc()
    shift = get_shift(db_session=db_session, center_id=center_id, ref=shift_ref, lock=True)
    if shift.status != "open":
        raise ShiftClosed("班次已取消，不能报名")
    if now >= shift.starts_at:
        raise ShiftClosed("班次已开始，不能报名")
    volunteer = get_volunteer(db_session=db_session, center_id=center_id, ref=volunteer.id,
                              lock=True)
    if volunteer.status != "active":
        raise VolunteerInactive()
    missing = [s for s in shift.required_skills if s not in volunteer.skills]
    if missing:
        names = "、".join(vc.SKILLS.get(s, s) for s in missing)
        raise SkillsMissing(f"缺少该班次所需的技能：{names}", extra={"missing": missing})
    held = db_session.scalars(select(Signup).where(
        Signup.volunteer_id == volunteer.id, Signup.status.in_(HOLDING),
        Signup.starts_at < shift.ends_at, Signup.ends_at > shift.starts_at)).all()
    for other in held:
        if other.shift_id == shift.id:
            raise AlreadySignedUp(extra={"signup_id": other.id, "status": other.status})
    if held:
        other = held[0]
        state = "候补" if other.status == "waitlisted" else "已报名"
        raise OverlappingShift(
            f"与{state}的班次「{other.shift.title}」（{_local(other.starts_at)}–"
            f"{_local(other.ends_at)[-5:]}）时间重叠", extra={"signup_id": other.id})
    status = "confirmed" if _taken(db_session, shift) < shift.capacity else "waitlisted"
    # The line's order is the order of arrival: strictly increasing per shift (row locked).
    last = db_session.scalar(select(func.max(Signup.queued_at)).where(Signup.shift_id == shift.id))
    if last is not None and last.tzinfo is None:  # an aggregate bypasses the column type
        last = last.replace(tzinfo=UTC)
    queued_at = max(now, last + timedelta(microseconds=1)) if last is not None else now
    signup = Signup(
        id=_id(), center_id=center_id, shift_id=shift.id, volunteer_id=volunteer.id,
        status=status, starts_at=shift.starts_at, ends_at=shift.ends_at, queued_at=queued_at,
        confirmed_at=now if status == "confirmed" else None, promoted=False, late_cancel=False,
    )
    signup.shift, signup.volunteer = shift, volunteer
    db_session.add(signup)
    _conflict_on_flush(db_session, AlreadySignedUp())
    etype = volunteers_events.SIGNUP_CONFIRMED if status == "confirmed" else volunteers_events.SIGNUP_WAITLISTED
    outbox.add(etype, center_id=center_id, subject=signup.id, data=_signup_fact(signup))
    return with_position(db_session, signup)


def get_signup(*, db_session: Session, center_id: str, signup_id: str) -> Signup:
    signup = db_session.get(Signup, signup_id)
    if signup is None or signup.center_id != center_id:
        raise SignupNotFound()
    return signup


def _cancel(signup: Signup, *, reason: str | None, by: str, now: datetime, late: bool) -> None:
    signup.status, signup.cancelled_at = "cancelled", now
    signup.cancel_reason, signup.cancelled_by, signup.late_cancel = reason, by, late


def cancel_signup(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                  signup_id: str, principal: Principal, reason: str | None,
                  now: datetime | None = None) -> tuple[Signup, list[Signup]]:
    """Give up a place (or a place in line); a freed place goes to the waitlist at once.
    Returns the cancelled sign-up and those promoted in its place.

    A volunteer cancels only their own sign-up and only before the shift starts; a
    confirmed place given up less than 24 h before the start is a late cancellation.
    """
    now = now or now_utc()
    signup = get_signup(db_session=db_session, center_id=center_id, signup_id=signup_id)
    is_volunteer = principal.role == "volunteer"
    if is_volunteer:
        own = acting_volunteer(db_session=db_session, center_id=center_id, principal=principal)
        if signup.volunteer_id != own.id:
            raise NotYours()
    shift = get_shift(db_session=db_session, center_id=center_id, ref=signup.shift_id, lock=True)
    db_session.refresh(signup)
    if signup.status not in ("confirmed", "waitlisted"):
        raise InvalidAttendance(f"报名状态为「{_STATUS_NAMES[signup.status]}」，不能取消",
                                code="SIGNUP_NOT_CANCELLABLE")
    if now >= shift.starts_at:
        raise ShiftClosed("班次已开始，不能取消报名")
    was_confirmed = signup.status == "confirmed"
    late = is_volunteer and was_confirmed and shift.starts_at - now < LATE_CANCEL
    _cancel(signup, reason=reason, by=principal.sub, now=now, late=late)
    outbox.add(volunteers_events.SIGNUP_CANCELLED, center_id=center_id, subject=signup.id,
               data=_signup_fact(signup, reason=reason))
    db_session.flush()
    promoted = _promote(db_session, outbox, shift, now) if was_confirmed else []
    return signup, promoted


_STATUS_NAMES = {"confirmed": "已确认", "waitlisted": "候补", "checked_in": "已签到",
                 "completed": "已完成", "no_show": "缺席", "cancelled": "已取消"}


def list_signups(*, db_session: Session, center_id: str, query: dict[str, Any],
                 shift: Shift | None = None,
                 volunteer: Volunteer | None = None) -> tuple[list[Signup], int]:
    """Sign-ups of a shift (in line order) or of a volunteer (latest shift first)."""
    where = [Signup.center_id == center_id]
    if shift is not None:
        where.append(Signup.shift_id == shift.id)
        order = (Signup.queued_at, Signup.id)
    else:
        order = (Signup.starts_at.desc(), Signup.id)
    if volunteer is not None:
        where.append(Signup.volunteer_id == volunteer.id)
    if query.get("status"):
        where.append(Signup.status == query["status"])
    total = db_session.scalar(select(func.count()).select_from(Signup).where(*where)) or 0
    items = list(db_session.scalars(select(Signup).where(*where).order_by(*order)
                                    .limit(query["limit"]).offset(query["offset"])))
    for signup in items:
        with_position(db_session, signup)
    return items, total


def _live_signup(db_session: Session, shift: Shift, volunteer: Volunteer) -> Signup:
    signup = db_session.scalars(select(Signup).where(
        Signup.shift_id == shift.id, Signup.volunteer_id == volunteer.id,
        Signup.status != "cancelled").execution_options(populate_existing=True)).first()
    if signup is None:
        raise SignupNotFound("该志愿者未报名此班次")
    return signup


# -- attendance ------------------------------------------------------------------------------

def _moment(at: datetime | None, now: datetime, principal: Principal) -> datetime:
    """When an attendance mark happened: now, or (staff only) a time already past."""
    if at is None:
        return now
    if principal.role not in STAFF_ROLES:
        raise InvalidInput("只有社工可以补记时间", fields={"at": ["志愿者签到签退以当前时间为准"]})
    if at > now + timedelta(minutes=1):
        raise InvalidInput(fields={"at": ["不能晚于当前时间"]})
    return at


def counted_minutes(shift: Shift, checked_in_at: datetime, checked_out_at: datetime) -> int:
    """Service minutes: the part of [check-in, check-out] inside the shift's window."""
    start, end = max(checked_in_at, shift.starts_at), min(checked_out_at, shift.ends_at)
    return max(0, int((end - start).total_seconds() // 60))


def check_in(*, db_session: Session, outbox: OutboxWriter, center_id: str, shift_ref: str,
             volunteer: Volunteer, principal: Principal, at: datetime | None = None,
             now: datetime | None = None) -> Signup:
    """Check a confirmed volunteer in, from an hour before the start until the end."""
    now = now or now_utc()
    moment = _moment(at, now, principal)
    shift = get_shift(db_session=db_session, center_id=center_id, ref=shift_ref, lock=True)
    if shift.status != "open":
        raise ShiftClosed("班次已取消")
    signup = _live_signup(db_session, shift, volunteer)
    if signup.status != "confirmed":
        raise InvalidAttendance(f"报名状态为「{_STATUS_NAMES[signup.status]}」，不能签到",
                                code="CANNOT_CHECK_IN")
    if not shift.starts_at - CHECK_IN_EARLY <= moment <= shift.ends_at:
        raise InvalidAttendance(
            f"签到时间为 {_local(shift.starts_at - CHECK_IN_EARLY)} 至 {_local(shift.ends_at)}",
            code="OUTSIDE_CHECK_IN_WINDOW")
    signup.status, signup.checked_in_at, signup.checked_in_by = "checked_in", moment, principal.sub
    outbox.add(volunteers_events.CHECKED_IN, center_id=center_id, subject=signup.id, data=_signup_fact(signup))
    return signup


def check_out(*, db_session: Session, outbox: OutboxWriter, center_id: str, shift_ref: str,
              volunteer: Volunteer, principal: Principal, at: datetime | None = None,
              now: datetime | None = None) -> Signup:
    """Check a volunteer out: hours are counted and wait for a social worker's approval."""
    now = now or now_utc()
    moment = _moment(at, now, principal)
    shift = get_shift(db_session=db_session, center_id=center_id, ref=shift_ref, lock=True)
    signup = _live_signup(db_session, shift, volunteer)
    if signup.status != "checked_in":
        detail = ("尚未签到，不能签退" if signup.status == "confirmed"
                  else f"报名状态为「{_STATUS_NAMES[signup.status]}」，不能签退")
        raise InvalidAttendance(detail, code="NOT_CHECKED_IN")
    if moment < signup.checked_in_at:
        raise InvalidInput("签退时间早于签到时间",
                           fields={"at": [f"不能早于签到时间 {_local(signup.checked_in_at)}"]})
    if moment <= shift.starts_at:
        raise InvalidAttendance(f"班次 {_local(shift.starts_at)} 开始，开始后才能签退",
                                code="SHIFT_NOT_STARTED")
    _finish(db_session, outbox, shift, signup, moment, principal.sub, now)
    return signup


def _finish(db_session: Session, outbox: OutboxWriter, shift: Shift, signup: Signup,
            moment: datetime, by: str, now: datetime) -> None:
    """Check out: count the minutes, put them in the ledger pending approval, log the visit."""
    minutes = counted_minutes(shift, signup.checked_in_at, moment)
    signup.status, signup.checked_out_at, signup.checked_out_by = "completed", moment, by
    signup.minutes = minutes
    signup.hours_status = "pending" if minutes else None
    if minutes:
        db_session.add(HourEntry(
            id=_id(), center_id=shift.center_id, volunteer_id=signup.volunteer_id,
            source="attendance", shift_id=shift.id, signup_id=signup.id,
            served_at=shift.starts_at, minutes=minutes, status="pending", created_at=now))
    outbox.add(volunteers_events.CHECKED_OUT, center_id=shift.center_id, subject=signup.id, data=_signup_fact(
        signup, checked_in_at=signup.checked_in_at, checked_out_at=moment,
        hours=minutes_to_hours(minutes)))
    if shift.beneficiary_id and minutes:
        _log_shift_visit(db_session, outbox, shift, signup, by, now)


def _log_shift_visit(db_session: Session, outbox: OutboxWriter, shift: Shift, signup: Signup,
                     by: str, now: datetime) -> Visit:
    """The beneficiary's visit log gets the shift's visit; each check-out joins it."""
    visit = db_session.scalars(select(Visit).where(Visit.shift_id == shift.id)).first()
    if visit is None:
        visit = Visit(id=_id(), center_id=shift.center_id, beneficiary_id=shift.beneficiary_id,
                      shift_id=shift.id, visited_at=shift.starts_at, tasks=list(shift.tasks),
                      care_types=KIND_CARE.get(shift.kind, []), notes=shift.description,
                      recorded_by=by, created_at=now, participants=[])
        db_session.add(visit)
        visit.participants.append(VisitVolunteer(
            volunteer_id=signup.volunteer_id, center_id=shift.center_id, position=0,
            minutes=signup.minutes))
        db_session.flush()
        outbox.add(volunteers_events.VISIT_RECORDED, center_id=shift.center_id, subject=visit.id, data={
            "visit_id": visit.id, "beneficiary_id": visit.beneficiary_id, "shift_id": shift.id,
            "visited_at": visit.visited_at, "volunteer_ids": [signup.volunteer_id],
            "care_types": visit.care_types})
        return visit
    existing = {p.volunteer_id: p for p in visit.participants}
    if signup.volunteer_id in existing:
        existing[signup.volunteer_id].minutes = signup.minutes
    else:
        visit.participants.append(VisitVolunteer(
            volunteer_id=signup.volunteer_id, center_id=shift.center_id,
            position=len(visit.participants), minutes=signup.minutes))
    return visit


def mark_no_show(*, db_session: Session, outbox: OutboxWriter, center_id: str, shift_ref: str,
                 volunteer: Volunteer, now: datetime | None = None) -> Signup:
    """Record that a confirmed volunteer did not come (once the shift has started)."""
    now = now or now_utc()
    shift = get_shift(db_session=db_session, center_id=center_id, ref=shift_ref, lock=True)
    signup = _live_signup(db_session, shift, volunteer)
    if signup.status != "confirmed":
        raise InvalidAttendance(f"报名状态为「{_STATUS_NAMES[signup.status]}」，不能记为缺席",
                                code="CANNOT_MARK_NO_SHOW")
    if now < shift.starts_at:
        raise InvalidAttendance("班次尚未开始，不能记为缺席", code="CANNOT_MARK_NO_SHOW")
    signup.status = "no_show"
    outbox.add(volunteers_events.NO_SHOW, center_id=center_id, subject=signup.id, data=_signup_fact(signup))
    return signup


#: Who checks out a volunteer who forgot to, once the shift is long over.
SYSTEM = "system"


def sweep_finished_shifts(*, db_session: Session, outbox: OutboxWriter, grace: timedelta,
                          now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Every center, once a shift ended more than ``grace`` ago: confirmed volunteers who never
    checked in are no-shows; those who checked in but not out are checked out at the shift's
    end, their hours pending a social worker's approval as usual. Returns how many of each."""
    now = now or now_utc()
    due = db_session.scalars(
        select(Signup).join(Shift, Shift.id == Signup.shift_id)
        .where(Signup.status.in_(("confirmed", "checked_in")), Signup.ends_at <= now - grace,
               Shift.status == "open")
        .order_by(Signup.ends_at).limit(limit)
        .with_for_update(of=Signup, skip_locked=True)).all()
    counts = {"no_shows": 0, "checked_out": 0}
    for signup in due:
        if signup.status == "confirmed":
            signup.status = "no_show"
            outbox.add(volunteers_events.NO_SHOW, center_id=signup.center_id, subject=signup.id,
                       data=_signup_fact(signup))
            counts["no_shows"] += 1
        else:
            _finish(db_session, outbox, signup.shift, signup, signup.shift.ends_at, SYSTEM, now)
            counts["checked_out"] += 1
    return counts


# -- hours -----------------------------------------------------------------------------------

def _credit(db_session: Session, outbox: OutboxWriter, volunteer: Volunteer, minutes: int,
            now: datetime) -> list[Milestone]:
    """Add verified minutes to a (locked) volunteer; record and announce milestones crossed."""
    volunteer.verified_minutes = (volunteer.verified_minutes or 0) + minutes
    reached = set(db_session.scalars(select(Milestone.milestone_hours).where(
        Milestone.volunteer_id == volunteer.id)))
    new = []
    for hours in vc.MILESTONES:
        if hours in reached or volunteer.verified_minutes < hours * 60:
            continue
        local = now.astimezone(SHANGHAI)
        milestone = Milestone(
            volunteer_id=volunteer.id, milestone_hours=hours, center_id=volunteer.center_id,
            reached_at=now, total_minutes=volunteer.verified_minutes,
            certificate_no=f"LX{local:%Y%m%d}-{hours:04d}-{volunteer.id[:8].upper()}")
        db_session.add(milestone)
        new.append(milestone)
        outbox.add(volunteers_events.MILESTONE_REACHED, center_id=volunteer.center_id, subject=volunteer.id,
                   data={"volunteer_id": volunteer.id, "person_id": volunteer.person_id,
                         "milestone_hours": hours,
                         "total_hours": minutes_to_hours(volunteer.verified_minutes)})
    return new


def _approve_entry(db_session: Session, outbox: OutboxWriter, entry: HourEntry,
                   volunteer: Volunteer, by: str, note: str | None, now: datetime) -> None:
    entry.status, entry.decided_by, entry.decided_at, entry.note = "approved", by, now, note
    _credit(db_session, outbox, volunteer, entry.minutes, now)
    outbox.add(volunteers_events.HOURS_APPROVED, center_id=entry.center_id, subject=entry.id, data={
        "volunteer_id": volunteer.id, "person_id": volunteer.person_id,
        "shift_id": entry.shift_id, "hours": entry.hours, "approver_id": by,
        "entry_id": entry.id, "source": entry.source, "correction_id": entry.correction_id,
        "total_hours": volunteer.verified_hours})


def get_entry(*, db_session: Session, center_id: str, entry_id: str) -> HourEntry:
    entry = db_session.get(HourEntry, entry_id)
    if entry is None or entry.center_id != center_id:
        raise HourEntryNotFound()
    return entry


def approve_hours(*, db_session: Session, outbox: OutboxWriter, center_id: str, entry_id: str,
                  by: str, note: str | None = None, now: datetime | None = None) -> HourEntry:
    """A social worker verifies pending hours: they count from now on."""
    now = now or now_utc()
    entry = get_entry(db_session=db_session, center_id=center_id, entry_id=entry_id)
    volunteer = get_volunteer(db_session=db_session, center_id=center_id,
                              ref=entry.volunteer_id, lock=True)
    db_session.refresh(entry)
    if entry.status != "pending":
        raise HoursAlreadyDecided(f"该时长已{_DECIDED[entry.status]}")
    _approve_entry(db_session, outbox, entry, volunteer, by, note, now)
    if entry.signup_id:
        db_session.get(Signup, entry.signup_id).hours_status = "approved"
    return entry


_DECIDED = {"approved": "审核通过", "rejected": "驳回", "superseded": "被补录替代",
            "pending": "待审核"}


def approve_shift_hours(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                        shift_ref: str, by: str, now: datetime | None = None) -> list[HourEntry]:
    """Approve every pending entry of a shift at once."""
    shift = get_shift(db_session=db_session, center_id=center_id, ref=shift_ref)
    pending = list(db_session.scalars(select(HourEntry.id).where(
        HourEntry.shift_id == shift.id, HourEntry.status == "pending")
        .order_by(HourEntry.volunteer_id)))
    return [approve_hours(db_session=db_session, outbox=outbox, center_id=center_id,
                          entry_id=entry_id, by=by, now=now) for entry_id in pending]


def reject_hours(*, db_session: Session, outbox: OutboxWriter, center_id: str, entry_id: str,
                 by: str, note: str, now: datetime | None = None) -> HourEntry:
    """A social worker refuses pending hours, saying why."""
    now = now or now_utc()
    entry = get_entry(db_session=db_session, center_id=center_id, entry_id=entry_id)
    get_volunteer(db_session=db_session, center_id=center_id, ref=entry.volunteer_id, lock=True)
    db_session.refresh(entry)
    if entry.status != "pending":
        raise HoursAlreadyDecided(f"该时长已{_DECIDED[entry.status]}")
    entry.status, entry.decided_by, entry.decided_at, entry.note = "rejected", by, now, note
    if entry.signup_id:
        db_session.get(Signup, entry.signup_id).hours_status = "rejected"
    outbox.add(volunteers_events.HOURS_REJECTED, center_id=center_id, subject=entry.id, data={
        "entry_id": entry.id, "volunteer_id": entry.volunteer_id,
        "person_id": entry.volunteer.person_id, "shift_id": entry.shift_id,
        "hours": entry.hours, "approver_id": by, "reason": note})
    return entry


def list_hours(*, db_session: Session, center_id: str, query: dict[str, Any],
               volunteer: Volunteer | None = None) -> tuple[list[HourEntry], int]:
    """The ledger, latest service first; by state, volunteer or shift."""
    where = [HourEntry.center_id == center_id]
    if query.get("status"):
        where.append(HourEntry.status == query["status"])
    if volunteer is None and query.get("volunteer_id"):
        volunteer = get_volunteer(db_session=db_session, center_id=center_id,
                                  ref=query["volunteer_id"])
    if volunteer is not None:
        where.append(HourEntry.volunteer_id == volunteer.id)
    if query.get("shift_id"):
        shift = get_shift(db_session=db_session, center_id=center_id, ref=query["shift_id"])
        where.append(HourEntry.shift_id == shift.id)
    total = db_session.scalar(select(func.count()).select_from(HourEntry).where(*where)) or 0
    items = list(db_session.scalars(select(HourEntry).where(*where)
                                    .order_by(HourEntry.served_at.desc(), HourEntry.id)
                                    .limit(query["limit"]).offset(query["offset"])))
    return items, total


# -- corrections -----------------------------------------------------------------------------

def request_correction(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                       data: dict[str, Any], principal: Principal,
                       now: datetime | None = None) -> Correction:
    """Ask for a sign-up's check-in / check-out to be corrected (after the shift started)."""
    now = now or now_utc()
    signup = get_signup(db_session=db_session, center_id=center_id, signup_id=data["signup_id"])
    if principal.role == "volunteer":
        own = acting_volunteer(db_session=db_session, center_id=center_id, principal=principal)
        if signup.volunteer_id != own.id:
            raise NotYours()
    if signup.status in ("waitlisted", "cancelled"):
        raise InvalidAttendance(f"报名状态为「{_STATUS_NAMES[signup.status]}」，不能申请补录",
                                code="CANNOT_CORRECT")
    shift = signup.shift
    if now < shift.starts_at:
        raise InvalidAttendance("班次尚未开始，不能申请补录", code="CANNOT_CORRECT")
    if data["checked_out_at"] > now + timedelta(minutes=1):
        raise InvalidInput(fields={"checked_out_at": ["不能晚于当前时间"]})
    minutes = counted_minutes(shift, data["checked_in_at"], data["checked_out_at"])
    if not minutes:
        raise InvalidInput("补录时间与班次时间不重叠",
                           fields={"checked_in_at": [f"班次时间为 {_local(shift.starts_at)}–"
                                                     f"{_local(shift.ends_at)[-5:]}"]})
    if db_session.scalar(select(Correction.id).where(
            Correction.signup_id == signup.id, Correction.status == "pending")):
        raise CorrectionConflict()
    correction = Correction(
        id=_id(), center_id=center_id, signup_id=signup.id, volunteer_id=signup.volunteer_id,
        checked_in_at=data["checked_in_at"], checked_out_at=data["checked_out_at"],
        minutes=minutes, reason=data["reason"], status="pending", requested_by=principal.sub,
        created_at=now)
    correction.signup = signup
    db_session.add(correction)
    _conflict_on_flush(db_session, CorrectionConflict())
    outbox.add(volunteers_events.CORRECTION_REQUESTED, center_id=center_id, subject=correction.id,
               data=_correction_fact(correction))
    return correction


def _correction_fact(correction: Correction, **extra: Any) -> dict[str, Any]:
    signup = correction.signup
    return {"correction_id": correction.id, "signup_id": signup.id, "shift_id": signup.shift_id,
            "volunteer_id": signup.volunteer_id, "person_id": signup.volunteer.person_id,
            "hours": correction.hours, **extra}


def get_correction(*, db_session: Session, center_id: str, correction_id: str) -> Correction:
    correction = db_session.get(Correction, correction_id)
    if correction is None or correction.center_id != center_id:
        raise CorrectionNotFound()
    return correction


def _pending_correction(db_session: Session, center_id: str, correction_id: str
                        ) -> tuple[Correction, Volunteer]:
    correction = get_correction(db_session=db_session, center_id=center_id,
                                correction_id=correction_id)
    volunteer = get_volunteer(db_session=db_session, center_id=center_id,
                              ref=correction.volunteer_id, lock=True)
    db_session.refresh(correction)
    if correction.status != "pending":
        raise CorrectionConflict(f"该申请已{_DECIDED[correction.status]}",
                                 code="CORRECTION_DECIDED")
    return correction, volunteer


def approve_correction(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                       correction_id: str, by: str, note: str | None = None,
                       now: datetime | None = None) -> Correction:
    """Apply a correction: the sign-up's times change and its hours are approved anew,
    replacing whatever entry it had (pending or approved)."""
    now = now or now_utc()
    correction, volunteer = _pending_correction(db_session, center_id, correction_id)
    signup = correction.signup
    for previous in db_session.scalars(select(HourEntry).where(
            HourEntry.signup_id == signup.id, HourEntry.status.in_(("pending", "approved")))):
        if previous.status == "approved":
            volunteer.verified_minutes -= previous.minutes
        previous.status, previous.decided_by, previous.decided_at = "superseded", by, now
    signup.status = "completed"
    signup.checked_in_at, signup.checked_out_at = correction.checked_in_at, correction.checked_out_at
    signup.minutes, signup.hours_status = correction.minutes, "approved"
    correction.status, correction.decided_by, correction.decided_at = "approved", by, now
    correction.decision_note = note
    entry = HourEntry(
        id=_id(), center_id=center_id, volunteer_id=volunteer.id, source="correction",
        shift_id=signup.shift_id, signup_id=signup.id, correction_id=correction.id,
        served_at=signup.starts_at, minutes=correction.minutes, status="pending", created_at=now)
    db_session.add(entry)
    db_session.flush()
    _approve_entry(db_session, outbox, entry, volunteer, by, note, now)
    if signup.shift.beneficiary_id:
        _log_shift_visit(db_session, outbox, signup.shift, signup, by, now)
    return correction


def reject_correction(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                      correction_id: str, by: str, note: str,
                      now: datetime | None = None) -> Correction:
    """Refuse a correction, saying why; the sign-up stays as it was."""
    now = now or now_utc()
    correction, _volunteer = _pending_correction(db_session, center_id, correction_id)
    correction.status, correction.decided_by, correction.decided_at = "rejected", by, now
    correction.decision_note = note
    outbox.add(volunteers_events.CORRECTION_REJECTED, center_id=center_id, subject=correction.id,
               data=_correction_fact(correction, approver_id=by, reason=note))
    return correction


def list_corrections(*, db_session: Session, center_id: str, query: dict[str, Any],
                     volunteer: Volunteer | None = None) -> tuple[list[Correction], int]:
    """Correction requests, oldest first (the social worker's queue)."""
    where = [Correction.center_id == center_id]
    if query.get("status"):
        where.append(Correction.status == query["status"])
    if volunteer is None and query.get("volunteer_id"):
        volunteer = get_volunteer(db_session=db_session, center_id=center_id,
                                  ref=query["volunteer_id"])
    if volunteer is not None:
        where.append(Correction.volunteer_id == volunteer.id)
    total = db_session.scalar(select(func.count()).select_from(Correction).where(*where)) or 0
    items = list(db_session.scalars(select(Correction).where(*where)
                                    .order_by(Correction.created_at, Correction.id)
                                    .limit(query["limit"]).offset(query["offset"])))
    return items, total


# -- the visit log ---------------------------------------------------------------------------

def record_visit(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                 beneficiary_ref: str, data: dict[str, Any], by: str,
                 now: datetime | None = None) -> Visit:
    """Log a visit to a beneficiary; the recording social worker approves each volunteer's
    hours with it."""
    now = now or now_utc()
    if data["visited_at"] > now + timedelta(minutes=1):
        raise InvalidInput(fields={"visited_at": ["不能晚于当前时间"]})
    beneficiary = _by_id_or_key(db_session, Beneficiary, center_id, beneficiary_ref,
                                Beneficiary.file_no)
    if beneficiary is None:
        raise BeneficiaryNotFound()
    if data.get("ref") and db_session.scalar(select(Visit.id).where(
            Visit.center_id == center_id, Visit.ref == data["ref"])):
        raise VisitConflict(fields={"ref": ["该服务记录已存在"]})
    refs = [v["volunteer_id"] for v in data["volunteers"]]
    people = resolve_volunteers(db_session=db_session, center_id=center_id, refs=refs,
                                field="volunteers")
    if len({p.id for p in people}) != len(people):
        raise InvalidInput(fields={"volunteers": ["同一志愿者不能重复登记"]})
    minutes = [round(v["hours"] * 60) for v in data["volunteers"]]
    visit = Visit(
        id=_id(), center_id=center_id, ref=data.get("ref"), beneficiary_id=beneficiary.id,
        visited_at=data["visited_at"], tasks=data["tasks"],
        care_types=data["care_types"] or [], notes=data["notes"], recorded_by=by,
        created_at=now,
        participants=[VisitVolunteer(volunteer_id=p.id, center_id=center_id, position=i,
                                     minutes=m) for i, (p, m) in enumerate(zip(people, minutes, strict=True))],
    )
    db_session.add(visit)
    _conflict_on_flush(db_session, VisitConflict(fields={"ref": ["该服务记录已存在"]}))
    outbox.add(volunteers_events.VISIT_RECORDED, center_id=center_id, subject=visit.id, data={
        "visit_id": visit.id, "beneficiary_id": beneficiary.id, "shift_id": None,
        "visited_at": visit.visited_at, "volunteer_ids": [p.id for p in people],
        "care_types": visit.care_types})
    # Lock volunteers in id order: two visits naming the same people never deadlock.
    for person, mins in sorted(zip(people, minutes, strict=True), key=lambda pm: pm[0].id):
        volunteer = get_volunteer(db_session=db_session, center_id=center_id, ref=person.id,
                                  lock=True)
        entry = HourEntry(
            id=_id(), center_id=center_id, volunteer_id=volunteer.id, source="visit",
            visit_id=visit.id, served_at=visit.visited_at, minutes=mins, status="pending",
            created_at=now)
        db_session.add(entry)
        _approve_entry(db_session, outbox, entry, volunteer, by, None, now)
    return visit


def import_visits(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                  items: list[dict[str, Any]], by: str,
                  now: datetime | None = None) -> dict[str, int]:
    """Bring a paper service ledger over; refs already in the log are skipped."""
    existing = set(db_session.scalars(select(Visit.ref).where(
        Visit.center_id == center_id, Visit.ref.in_([i["ref"] for i in items]))))
    created = 0
    for index, item in enumerate(items):
        if item["ref"] in existing:
            continue
        data = {k: v for k, v in item.items() if k != "beneficiary_id"}
        try:
            record_visit(db_session=db_session, outbox=outbox, center_id=center_id,
                         beneficiary_ref=item["beneficiary_id"], data=data, by=by, now=now)
        except BeneficiaryNotFound:
            raise InvalidInput(fields={"items": {index: {"beneficiary_id": ["帮扶对象不存在"]}}}) from None
        except InvalidInput as exc:
            raise InvalidInput(exc.detail, fields={"items": {index: exc.fields}}) from None
        existing.add(item["ref"])
        created += 1
    return {"created": created, "skipped": len(items) - created}


def list_visits(*, db_session: Session, center_id: str, beneficiary_ref: str,
                query: dict[str, Any]) -> tuple[list[Visit], int]:
    """A beneficiary's visit log, latest first."""
    beneficiary = get_beneficiary(db_session=db_session, center_id=center_id, ref=beneficiary_ref)
    where = [Visit.center_id == center_id, Visit.beneficiary_id == beneficiary.id]
    total = db_session.scalar(select(func.count()).select_from(Visit).where(*where)) or 0
    items = list(db_session.scalars(select(Visit).where(*where)
                                    .order_by(Visit.visited_at.desc(), Visit.id)
                                    .limit(query["limit"]).offset(query["offset"])))
    return items, total


# -- totals ----------------------------------------------------------------------------------

def period_bounds(date_from: date | None, date_to: date | None
                  ) -> tuple[datetime | None, datetime | None]:
    """Local calendar days (both included) as a half-open UTC interval."""
    start = (datetime.combine(date_from, time(0), SHANGHAI).astimezone(UTC)
             if date_from else None)
    end = (datetime.combine(date_to + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)
           if date_to else None)
    return start, end


def _within(column: Any, start: datetime | None, end: datetime | None) -> list[Any]:
    where = []
    if start is not None:
        where.append(column >= start)
    if end is not None:
        where.append(column < end)
    return where


def center_stats(*, db_session: Session, center_id: str, date_from: date | None = None,
                 date_to: date | None = None) -> dict[str, Any]:
    """A center's totals for a period: verified hours, participations (person-times),
    beneficiaries served, visits, active volunteers, shifts held, no-shows, pending hours."""
    start, end = period_bounds(date_from, date_to)
    in_period = _within(HourEntry.served_at, start, end)
    minutes, participations, volunteers = db_session.execute(
        select(func.coalesce(func.sum(HourEntry.minutes), 0), func.count(),
               func.count(func.distinct(HourEntry.volunteer_id)))
        .where(HourEntry.center_id == center_id, HourEntry.status == "approved", *in_period)
    ).one()
    pending = db_session.scalar(
        select(func.coalesce(func.sum(HourEntry.minutes), 0))
        .where(HourEntry.center_id == center_id, HourEntry.status == "pending", *in_period)) or 0
    visits, served = db_session.execute(
        select(func.count(), func.count(func.distinct(Visit.beneficiary_id)))
        .where(Visit.center_id == center_id, *_within(Visit.visited_at, start, end))).one()
    signups_in_period = [Signup.center_id == center_id, *_within(Signup.starts_at, start, end)]
    shifts_held = db_session.scalar(
        select(func.count(func.distinct(Signup.shift_id)))
        .where(*signups_in_period, Signup.status == "completed")) or 0
    no_shows = db_session.scalar(select(func.count()).select_from(Signup).where(
        *signups_in_period, Signup.status == "no_show")) or 0
    return {
        "date_from": date_from, "date_to": date_to,
        "verified_hours": minutes_to_hours(minutes), "participations": participations,
        "beneficiaries_served": served, "service_person_times": visits,
        "volunteers_active": volunteers, "shifts_held": shifts_held, "no_shows": no_shows,
        "pending_hours": minutes_to_hours(pending),
    }


# -- certificates ----------------------------------------------------------------------------

def get_milestone(*, db_session: Session, volunteer: Volunteer, milestone_hours: int) -> Milestone:
    """The milestone a certificate is for, or :class:`CertificateNotFound`."""
    milestone = db_session.get(Milestone, (volunteer.id, milestone_hours))
    if milestone is None:
        if milestone_hours not in vc.MILESTONES:
            raise CertificateNotFound(
                f"证书档次为 {' / '.join(map(str, vc.MILESTONES))} 小时",
                fields={"milestone": [f"应为以下之一：{', '.join(map(str, vc.MILESTONES))}"]})
        raise CertificateNotFound(
            f"累计志愿服务时长 {volunteer.verified_hours:g} 小时，尚未达到 {milestone_hours} 小时")
    return milestone
