"""The volunteers service's operations: what callers may do over RPC, with its payload and
answer schemas, and the operation table at the end (its events are in ``events``).

The schemas are shared by the service (which validates every call) and the gateway (which
validates before spending an RPC and documents them in OpenAPI). A create payload loads
into its frozen dataclass (``NewShift``...), a partial update into a ``TypedDict`` of the
changes (``ShiftChanges``...), a query into a ``TypedDict`` of its filters and page.

Wherever a payload or a path names a volunteer, a beneficiary or a shift, it may
use the record's id or its natural key in the center: a volunteer's ``person_id``
(the directory id their token carries as ``sub``), a beneficiary's ``file_no``
(档案编号), a shift's ``ref``. Imports and the demo seed rely on that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, TypedDict

from marshmallow import ValidationError, fields, validate, validates_schema

from lianxin.contracts.schema import CODE_RE, BaseSchema, Page, page_of
from lianxin.operations import Operations, Rule
from lianxin.roles import ADMIN, CENTER_STAFF, SOCIAL_WORKERS, Principal

#: Skills a volunteer may have and a shift may require (生活照料, 精神慰藉, 健康维护 ...).
SKILLS = {
    "life_care": "生活照料",
    "emotional_support": "精神慰藉",
    "health": "健康维护",
    "cleaning": "打扫卫生",
    "escort": "陪同就医",
    "activity": "活动协助",
    "children": "青少年活动",
    "first_aid": "急救",
}

#: Who a beneficiary (帮扶对象) is.
BENEFICIARY_CATEGORIES = {
    "elderly_alone": "独居（孤寡）老人",
    "disabled": "残疾人",
    "family_difficulty": "困难家庭",
}
#: The care a beneficiary needs (帮扶内容).
CARE_NEEDS = {
    "life_care": "生活照料",
    "emotional_support": "精神慰藉",
    "health": "健康维护",
}
GENDERS = {"male": "男", "female": "女"}

#: Kinds of service task (班次) a social worker publishes.
SHIFT_KINDS = {
    "visit": "入户探访",
    "cleaning": "打扫卫生",
    "escort": "陪同就医",
    "activity": "活动协助",
    "other": "其他服务",
}
SHIFT_STATES = ("open", "cancelled")
#: The longest shift that may be published.
MAX_SHIFT = timedelta(hours=24)

#: A sign-up's life: confirmed or waitlisted → checked_in → completed; or cancelled / no_show.
SIGNUP_STATES = ("confirmed", "waitlisted", "checked_in", "completed", "no_show", "cancelled")
HOURS_STATES = ("pending", "approved", "rejected", "superseded")
CORRECTION_STATES = ("pending", "approved", "rejected")

#: Training records: courses, exchange visits to other centers (参观交流), supervised practice.
TRAINING_KINDS = {
    "course": "培训课程",
    "exchange_visit": "参观交流",
    "practice": "实践督导",
}

#: Verified-hour milestones that earn a certificate (志愿服务证书).
MILESTONES = (50, 100, 500, 1000)

_REF = validate.Length(min=1, max=64)
_TIME_OF_DAY = r"^([01]\d|2[0-3]):[0-5]\d$"
_TASK = fields.Str(validate=validate.Length(min=1, max=40))


def _skills(**kwargs: Any) -> fields.List:
    return fields.List(
        fields.Str(validate=validate.OneOf(list(SKILLS))),
        validate=validate.Length(max=len(SKILLS)),
        **kwargs,
    )


class Paging(TypedDict):
    """What every list query loads (``Page``)."""

    limit: int
    offset: int


# -- volunteers ------------------------------------------------------------------------------


class AvailabilitySlot(BaseSchema):
    """When a volunteer is usually free: a weekday (1 = Monday) and a time window."""

    weekday = fields.Int(required=True, validate=validate.Range(min=1, max=7))
    start = fields.Str(required=True, validate=validate.Regexp(_TIME_OF_DAY, error="应为 HH:MM"))
    end = fields.Str(required=True, validate=validate.Regexp(_TIME_OF_DAY, error="应为 HH:MM"))

    @validates_schema
    def _window(self, data: dict, **_kwargs: Any) -> None:
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise ValidationError("结束时间应晚于开始时间", "end")


@dataclass(frozen=True)
class NewVolunteer:
    name: str
    skills: list[str]
    person_id: str | None
    party_member: bool
    availability: list[dict[str, Any]]
    note: str


class VolunteerCreate(BaseSchema):
    model = NewVolunteer

    name = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    skills = fields.List(
        fields.Str(validate=validate.OneOf(list(SKILLS))),
        load_default=list,
        validate=validate.Length(max=len(SKILLS)),
    )
    person_id = fields.Str(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=64)
    )
    party_member = fields.Bool(load_default=False)
    availability = fields.List(
        fields.Nested(AvailabilitySlot), load_default=list, validate=validate.Length(max=21)
    )
    note = fields.Str(load_default="", validate=validate.Length(max=500))


class VolunteerChanges(TypedDict, total=False):
    name: str
    skills: list[str]
    party_member: bool
    availability: list[dict[str, Any]]
    note: str
    status: str


class VolunteerUpdate(BaseSchema):
    """Change a volunteer's profile; only the keys given change (``VolunteerChanges``)."""

    name = fields.Str(validate=validate.Length(min=1, max=40))
    skills = _skills()
    party_member = fields.Bool()
    availability = fields.List(fields.Nested(AvailabilitySlot), validate=validate.Length(max=21))
    note = fields.Str(validate=validate.Length(max=500))
    status = fields.Str(validate=validate.OneOf(["active", "inactive"]))


class VolunteerRead(BaseSchema):
    id = fields.Str()
    center_id = fields.Str()
    name = fields.Str()
    skills = fields.List(fields.Str())
    person_id = fields.Str(allow_none=True)
    party_member = fields.Bool()
    status = fields.Str()
    registered_at = fields.AwareDateTime()
    availability = fields.List(fields.Nested(AvailabilitySlot))
    note = fields.Str()
    #: Verified (approved) service hours.
    verified_hours = fields.Float()


class VolunteerFilter(Paging, total=False):
    skill: str | None
    status: str | None


class VolunteerQuery(Page):
    skill = fields.Str(load_default=None, validate=validate.OneOf(list(SKILLS)))
    status = fields.Str(load_default=None, validate=validate.OneOf(["active", "inactive"]))


VolunteerList = page_of(VolunteerRead, "VolunteerList")


class MilestoneRead(BaseSchema):
    milestone_hours = fields.Int()
    reached_at = fields.AwareDateTime()
    total_hours = fields.Float()
    certificate_no = fields.Str()
    #: What anyone checks the certificate by at ``/verify/<code>`` (printed on it).
    verify_code = fields.Str()


class CertificateCheck(BaseSchema):
    """What anyone holding a certificate learns of it by its code: never contact data, the
    name masked (``张*强``)."""

    genuine = fields.Bool()
    code = fields.Str()
    certificate_no = fields.Str()
    volunteer_name = fields.Str()
    milestone_hours = fields.Int()
    #: Verified hours when the milestone was reached (what the certificate says).
    total_hours = fields.Float()
    #: Verified hours today.
    verified_hours_now = fields.Float()
    reached_at = fields.AwareDateTime()
    center_id = fields.Str()
    center_name = fields.Str()


class VolunteerTotals(BaseSchema):
    """A volunteer's record: hours, shifts, attendance and the milestones reached."""

    verified_hours = fields.Float()
    pending_hours = fields.Float()
    #: Approved service records (person-times).
    participations = fields.Int()
    shifts_completed = fields.Int()
    no_shows = fields.Int()
    #: Confirmed places given up less than 24 h before the start.
    late_cancellations = fields.Int()
    #: attended / (attended + no-shows + late cancellations); null with no record yet.
    reliability = fields.Float(allow_none=True)
    milestones = fields.List(fields.Nested(MilestoneRead))
    next_milestone = fields.Int(allow_none=True)


class TrainingBrief(BaseSchema):
    id = fields.Str()
    kind = fields.Str()
    title = fields.Str()
    occurred_on = fields.Date()
    places = fields.List(fields.Str())
    hours = fields.Float()
    programme = fields.Str(allow_none=True)


class VolunteerDetail(VolunteerRead):
    totals = fields.Nested(VolunteerTotals)
    trainings = fields.List(fields.Nested(TrainingBrief))


class CertificateFile(BaseSchema):
    """A certificate as the RPC returns it; the gateway serves the decoded bytes."""

    filename = fields.Str()
    content_type = fields.Str()
    data_base64 = fields.Str()


# -- training records ------------------------------------------------------------------------


@dataclass(frozen=True)
class NewTraining:
    kind: str
    title: str
    occurred_on: date
    places: list[str]
    hours: float
    programme: str | None
    note: str
    volunteer_ids: list[str]
    ref: str | None


class TrainingCreate(BaseSchema):
    """A course or exchange visit (e.g. 益路成长 visiting 凤凰台街道 / 银莺社区 / 南刘庄社区) and
    who took part."""

    model = NewTraining
    kind = fields.Str(required=True, validate=validate.OneOf(list(TRAINING_KINDS)))
    title = fields.Str(required=True, validate=validate.Length(min=2, max=100))
    occurred_on = fields.Date(required=True)
    places = fields.List(
        fields.Str(validate=validate.Length(min=1, max=100)),
        load_default=list,
        validate=validate.Length(max=20),
    )
    hours = fields.Float(load_default=0, validate=validate.Range(min=0, max=200))
    programme = fields.Str(load_default=None, allow_none=True, validate=validate.Regexp(CODE_RE))
    note = fields.Str(load_default="", validate=validate.Length(max=1000))
    volunteer_ids = fields.List(
        fields.Str(validate=_REF), required=True, validate=validate.Length(min=1, max=500)
    )
    #: The client's own key: a second create with the same ref is a conflict.
    ref = fields.Str(load_default=None, allow_none=True, validate=_REF)


class TrainingRead(TrainingBrief):
    center_id = fields.Str()
    note = fields.Str()
    ref = fields.Str(allow_none=True)
    volunteer_ids = fields.List(fields.Str())
    created_at = fields.AwareDateTime()


TrainingList = page_of(TrainingRead, "TrainingList")


# -- beneficiaries ---------------------------------------------------------------------------


class Guardian(BaseSchema):
    """A beneficiary's guardian (监护人); phone numbers live in notify's directory (person_id)."""

    name = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    relation = fields.Str(load_default="", validate=validate.Length(max=20))
    person_id = fields.Str(load_default=None, allow_none=True, validate=_REF)


@dataclass(frozen=True)
class NewBeneficiary:
    name: str
    category: str
    care_needs: list[str]
    address: str
    gender: str | None
    birth_year: int | None
    #: ``Guardian``'s fields.
    guardian: dict[str, Any] | None
    notes: str
    file_no: str | None


class BeneficiaryCreate(BaseSchema):
    model = NewBeneficiary

    name = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    category = fields.Str(required=True, validate=validate.OneOf(list(BENEFICIARY_CATEGORIES)))
    care_needs = fields.List(
        fields.Str(validate=validate.OneOf(list(CARE_NEEDS))),
        required=True,
        validate=validate.Length(min=1, max=len(CARE_NEEDS)),
    )
    address = fields.Str(required=True, validate=validate.Length(min=2, max=200))
    gender = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(list(GENDERS)))
    birth_year = fields.Int(
        load_default=None, allow_none=True, validate=validate.Range(min=1900, max=2100)
    )
    guardian = fields.Nested(Guardian, load_default=None, allow_none=True)
    notes = fields.Str(load_default="", validate=validate.Length(max=2000))
    #: The register's file number (档案编号), unique in the center.
    file_no = fields.Str(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=40)
    )


class BeneficiaryChanges(TypedDict, total=False):
    name: str
    category: str
    care_needs: list[str]
    address: str
    gender: str | None
    birth_year: int | None
    guardian: dict[str, Any] | None
    notes: str
    status: str


class BeneficiaryUpdate(BaseSchema):
    """Change a beneficiary's record; only the keys given change (``BeneficiaryChanges``)."""

    name = fields.Str(validate=validate.Length(min=1, max=40))
    category = fields.Str(validate=validate.OneOf(list(BENEFICIARY_CATEGORIES)))
    care_needs = fields.List(
        fields.Str(validate=validate.OneOf(list(CARE_NEEDS))),
        validate=validate.Length(min=1, max=len(CARE_NEEDS)),
    )
    address = fields.Str(validate=validate.Length(min=2, max=200))
    gender = fields.Str(allow_none=True, validate=validate.OneOf(list(GENDERS)))
    birth_year = fields.Int(allow_none=True, validate=validate.Range(min=1900, max=2100))
    guardian = fields.Nested(Guardian, allow_none=True)
    notes = fields.Str(validate=validate.Length(max=2000))
    status = fields.Str(validate=validate.OneOf(["active", "closed"]))


class BeneficiaryRead(BaseSchema):
    id = fields.Str()
    center_id = fields.Str()
    file_no = fields.Str(allow_none=True)
    name = fields.Str()
    category = fields.Str()
    care_needs = fields.List(fields.Str())
    address = fields.Str()
    gender = fields.Str(allow_none=True)
    birth_year = fields.Int(allow_none=True)
    age = fields.Int(allow_none=True)
    guardian = fields.Nested(Guardian, allow_none=True)
    notes = fields.Str()
    status = fields.Str()
    registered_at = fields.AwareDateTime()
    visits = fields.Int()
    last_visit_at = fields.AwareDateTime(allow_none=True)
    #: The same person in notify's directory, once a staff member confirmed it (null: not
    #: linked; their tickets and registrations are then not in the care file).
    person_id = fields.Str(allow_none=True)
    person_linked_by = fields.Str(allow_none=True)
    person_linked_at = fields.AwareDateTime(allow_none=True)


class BeneficiaryFilter(Paging, total=False):
    category: str | None
    care_need: str | None
    status: str | None
    q: str | None


class BeneficiaryQuery(Page):
    category = fields.Str(load_default=None, validate=validate.OneOf(list(BENEFICIARY_CATEGORIES)))
    care_need = fields.Str(load_default=None, validate=validate.OneOf(list(CARE_NEEDS)))
    status = fields.Str(load_default=None, validate=validate.OneOf(["active", "closed"]))
    #: Part of the name or address.
    q = fields.Str(load_default=None, validate=validate.Length(min=1, max=40))


BeneficiaryList = page_of(BeneficiaryRead, "BeneficiaryList")


class BeneficiaryImport(BaseSchema):
    """A register brought over from paper (台账): every item needs its ``file_no``; items whose
    file number exists already are skipped."""

    items = fields.List(
        fields.Nested(BeneficiaryCreate), required=True, validate=validate.Length(min=1, max=500)
    )

    @validates_schema
    def _file_numbers(self, data: dict, **_kwargs: Any) -> None:
        missing = {
            i: {"file_no": ["导入时必填"]}
            for i, item in enumerate(data.get("items", []))
            if not item.file_no
        }
        if missing:
            raise ValidationError(missing, "items")


class ImportResult(BaseSchema):
    created = fields.Int()
    skipped = fields.Int()


# -- shifts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewShift:
    title: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    place: str
    capacity: int
    required_skills: list[str]
    #: The beneficiary's id or file number.
    beneficiary_id: str | None
    tasks: list[str]
    description: str
    programme: str | None
    ref: str | None


class ShiftCreate(BaseSchema):
    """A service task with a time window (at most 24 h), a place, places and required skills."""

    model = NewShift
    title = fields.Str(required=True, validate=validate.Length(min=2, max=100))
    kind = fields.Str(required=True, validate=validate.OneOf(list(SHIFT_KINDS)))
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    place = fields.Str(required=True, validate=validate.Length(min=2, max=200))
    capacity = fields.Int(required=True, validate=validate.Range(min=1, max=500))
    required_skills = _skills(load_default=list)
    beneficiary_id = fields.Str(load_default=None, allow_none=True, validate=_REF)
    tasks = fields.List(_TASK, load_default=list, validate=validate.Length(max=20))
    description = fields.Str(load_default="", validate=validate.Length(max=2000))
    programme = fields.Str(load_default=None, allow_none=True, validate=validate.Regexp(CODE_RE))
    ref = fields.Str(load_default=None, allow_none=True, validate=_REF)

    @validates_schema(skip_on_field_errors=False)
    def _window(self, data: dict, **_kwargs: Any) -> None:
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts is None or ends is None:
            return
        if ends <= starts:
            raise ValidationError("结束时间应晚于开始时间", "ends_at")
        if ends - starts > MAX_SHIFT:
            raise ValidationError("班次不能超过 24 小时", "ends_at")


class ShiftChanges(TypedDict, total=False):
    capacity: int
    description: str
    tasks: list[str]


class ShiftUpdate(BaseSchema):
    """What may change on a published shift: more or fewer places, the description, the tasks
    (``ShiftChanges``). Times and place stay (reminders were sent with them): cancel and
    publish anew instead."""

    capacity = fields.Int(validate=validate.Range(min=1, max=500))
    description = fields.Str(validate=validate.Length(max=2000))
    tasks = fields.List(_TASK, validate=validate.Length(max=20))


class ShiftCancel(BaseSchema):
    reason = fields.Str(required=True, validate=validate.Length(min=2, max=200))


class ShiftRead(BaseSchema):
    id = fields.Str()
    center_id = fields.Str()
    ref = fields.Str(allow_none=True)
    title = fields.Str()
    kind = fields.Str()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    place = fields.Str()
    capacity = fields.Int()
    required_skills = fields.List(fields.Str())
    beneficiary_id = fields.Str(allow_none=True)
    tasks = fields.List(fields.Str())
    description = fields.Str()
    programme = fields.Str(allow_none=True)
    status = fields.Str()
    cancel_reason = fields.Str(allow_none=True)
    confirmed = fields.Int()
    waitlisted = fields.Int()
    created_at = fields.AwareDateTime()


class ShiftFilter(Paging, total=False):
    starts_from: datetime | None
    starts_before: datetime | None
    kind: str | None
    status: str | None
    beneficiary_id: str | None
    available: bool


class ShiftQuery(Page):
    starts_from = fields.AwareDateTime(load_default=None)
    starts_before = fields.AwareDateTime(load_default=None)
    kind = fields.Str(load_default=None, validate=validate.OneOf(list(SHIFT_KINDS)))
    status = fields.Str(load_default=None, validate=validate.OneOf(SHIFT_STATES))
    beneficiary_id = fields.Str(load_default=None, validate=_REF)
    #: Only shifts with a free place.
    available = fields.Bool(load_default=False)


ShiftList = page_of(ShiftRead, "ShiftList")


# -- sign-ups and attendance -----------------------------------------------------------------


class SignupCreate(BaseSchema):
    """A volunteer signs up themselves (``{}``); staff name the volunteer."""

    volunteer_id = fields.Str(load_default=None, allow_none=True, validate=_REF)


class SignupCancel(BaseSchema):
    reason = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=200))


class AttendanceMark(BaseSchema):
    """Check-in or check-out: volunteers mark themselves, now; staff name the volunteer and may
    give the time it happened (``at``)."""

    volunteer_id = fields.Str(load_default=None, allow_none=True, validate=_REF)
    at = fields.AwareDateTime(load_default=None, allow_none=True)


class NoShowMark(BaseSchema):
    volunteer_id = fields.Str(required=True, validate=_REF)


class SignupRead(BaseSchema):
    id = fields.Str()
    center_id = fields.Str()
    shift_id = fields.Str()
    shift_title = fields.Str(attribute="shift.title")
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    place = fields.Str(attribute="shift.place")
    volunteer_id = fields.Str()
    volunteer_name = fields.Str(attribute="volunteer.name")
    status = fields.Str()
    #: 1 for the next in line; null unless waitlisted.
    waitlist_position = fields.Int(allow_none=True)
    promoted = fields.Bool()
    queued_at = fields.AwareDateTime()
    confirmed_at = fields.AwareDateTime(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    cancel_reason = fields.Str(allow_none=True)
    checked_in_at = fields.AwareDateTime(allow_none=True)
    checked_out_at = fields.AwareDateTime(allow_none=True)
    hours = fields.Float(allow_none=True)
    hours_status = fields.Str(allow_none=True)


class SignupFilter(Paging, total=False):
    status: str | None


class SignupQuery(Page):
    status = fields.Str(load_default=None, validate=validate.OneOf(SIGNUP_STATES))


SignupList = page_of(SignupRead, "SignupList")


# -- the hours ledger ------------------------------------------------------------------------


class HourEntryRead(BaseSchema):
    id = fields.Str()
    center_id = fields.Str()
    volunteer_id = fields.Str()
    volunteer_name = fields.Str(attribute="volunteer.name")
    source = fields.Str()
    shift_id = fields.Str(allow_none=True)
    signup_id = fields.Str(allow_none=True)
    visit_id = fields.Str(allow_none=True)
    correction_id = fields.Str(allow_none=True)
    served_at = fields.AwareDateTime()
    hours = fields.Float()
    status = fields.Str()
    decided_by = fields.Str(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    note = fields.Str(allow_none=True)
    created_at = fields.AwareDateTime()


class HourFilter(Paging, total=False):
    status: str | None
    volunteer_id: str | None
    shift_id: str | None


class HourQuery(Page):
    status = fields.Str(load_default=None, validate=validate.OneOf(HOURS_STATES))
    volunteer_id = fields.Str(load_default=None, validate=_REF)
    shift_id = fields.Str(load_default=None, validate=_REF)


HourList = page_of(HourEntryRead, "HourList")


class HoursDecision(BaseSchema):
    note = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=200))


class HoursReject(BaseSchema):
    note = fields.Str(required=True, validate=validate.Length(min=2, max=200))


@dataclass(frozen=True)
class NewCorrection:
    signup_id: str
    checked_in_at: datetime
    checked_out_at: datetime
    reason: str


class CorrectionCreate(BaseSchema):
    """Ask a social worker to correct a sign-up's check-in / check-out (forgot to check out,
    phone out of battery, marked absent by mistake)."""

    model = NewCorrection
    signup_id = fields.Str(required=True, validate=_REF)
    checked_in_at = fields.AwareDateTime(required=True)
    checked_out_at = fields.AwareDateTime(required=True)
    reason = fields.Str(required=True, validate=validate.Length(min=2, max=500))

    @validates_schema(skip_on_field_errors=False)
    def _window(self, data: dict, **_kwargs: Any) -> None:
        started, ended = data.get("checked_in_at"), data.get("checked_out_at")
        if started is None or ended is None:
            return
        if ended <= started:
            raise ValidationError("签退时间应晚于签到时间", "checked_out_at")
        if ended - started > MAX_SHIFT:
            raise ValidationError("一次服务不能超过 24 小时", "checked_out_at")


class CorrectionRead(BaseSchema):
    id = fields.Str()
    center_id = fields.Str()
    signup_id = fields.Str()
    shift_id = fields.Str(attribute="signup.shift_id")
    volunteer_id = fields.Str()
    checked_in_at = fields.AwareDateTime()
    checked_out_at = fields.AwareDateTime()
    hours = fields.Float()
    reason = fields.Str()
    status = fields.Str()
    requested_by = fields.Str()
    created_at = fields.AwareDateTime()
    decided_by = fields.Str(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    decision_note = fields.Str(allow_none=True)


class CorrectionFilter(Paging, total=False):
    status: str | None
    volunteer_id: str | None


class CorrectionQuery(Page):
    status = fields.Str(load_default=None, validate=validate.OneOf(CORRECTION_STATES))
    volunteer_id = fields.Str(load_default=None, validate=_REF)


CorrectionList = page_of(CorrectionRead, "CorrectionList")


# -- the visit log ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ServedHours:
    """One volunteer's hours on a visit."""

    volunteer_id: str
    hours: float


class VisitVolunteer(BaseSchema):
    model = ServedHours

    volunteer_id = fields.Str(required=True, validate=_REF)
    hours = fields.Float(required=True, validate=validate.Range(min=0.1, max=24))


@dataclass(frozen=True)
class NewVisit:
    visited_at: datetime
    volunteers: list[ServedHours]
    tasks: list[str]
    care_types: list[str]
    notes: str
    ref: str | None


@dataclass(frozen=True)
class ImportedVisit(NewVisit):
    """A visit of a paper ledger: it names its beneficiary (id or file number)."""

    beneficiary_id: str


class VisitCreate(BaseSchema):
    """A visit to a beneficiary recorded by a social worker: who came, when, what was done.

    Each volunteer's hours are approved by the recording social worker (they count at once)."""

    model: ClassVar[type | None] = NewVisit
    visited_at = fields.AwareDateTime(required=True)
    volunteers = fields.List(
        fields.Nested(VisitVolunteer), required=True, validate=validate.Length(min=1, max=50)
    )
    tasks = fields.List(_TASK, load_default=list, validate=validate.Length(max=20))
    care_types = fields.List(
        fields.Str(validate=validate.OneOf(list(CARE_NEEDS))),
        load_default=list,
        validate=validate.Length(max=len(CARE_NEEDS)),
    )
    notes = fields.Str(load_default="", validate=validate.Length(max=2000))
    ref = fields.Str(load_default=None, allow_none=True, validate=_REF)

    @validates_schema
    def _distinct(self, data: dict, **_kwargs: Any) -> None:
        ids = [v.volunteer_id for v in data.get("volunteers", [])]
        if len(ids) != len(set(ids)):
            raise ValidationError("同一志愿者不能重复登记", "volunteers")


class VisitImportItem(VisitCreate):
    model = ImportedVisit

    beneficiary_id = fields.Str(required=True, validate=_REF)


class VisitImport(BaseSchema):
    """A service ledger brought over from paper (服务台账): every item needs its ``ref``; items
    whose ref exists already are skipped."""

    items = fields.List(
        fields.Nested(VisitImportItem), required=True, validate=validate.Length(min=1, max=500)
    )

    @validates_schema
    def _refs(self, data: dict, **_kwargs: Any) -> None:
        missing = {
            i: {"ref": ["导入时必填"]}
            for i, item in enumerate(data.get("items", []))
            if not item.ref
        }
        if missing:
            raise ValidationError(missing, "items")


class VisitParticipant(BaseSchema):
    volunteer_id = fields.Str()
    volunteer_name = fields.Str(attribute="volunteer.name")
    hours = fields.Float()


class VisitRead(BaseSchema):
    id = fields.Str()
    center_id = fields.Str()
    beneficiary_id = fields.Str()
    shift_id = fields.Str(allow_none=True)
    visited_at = fields.AwareDateTime()
    volunteers = fields.List(fields.Nested(VisitParticipant), attribute="participants")
    tasks = fields.List(fields.Str())
    care_types = fields.List(fields.Str())
    notes = fields.Str()
    recorded_by = fields.Str()
    ref = fields.Str(allow_none=True)
    created_at = fields.AwareDateTime()


VisitList = page_of(VisitRead, "VisitList")


# -- the care file (帮扶档案) ------------------------------------------------------------------


class PersonLink(BaseSchema):
    """Link a beneficiary to the directory's person (a suggestion of ``person_by_phone``),
    only once a staff member confirmed it by phone (``confirmed``); ``person_id`` null
    unlinks."""

    person_id = fields.Str(required=True, allow_none=True, validate=_REF)
    confirmed = fields.Bool(required=True)

    @validates_schema
    def _confirmed(self, data: dict, **_kwargs: Any) -> None:
        if data.get("person_id") and not data.get("confirmed"):
            raise ValidationError("须先电话核实是同一人，再关联", "confirmed")


class CareFileRecord(BaseSchema):
    """The volunteers service's part of a care file (its opening is logged)."""

    beneficiary = fields.Nested(BeneficiaryRead)
    visits = fields.List(fields.Nested(VisitRead))
    visits_total = fields.Int()
    next_visit = fields.Nested(ShiftRead, allow_none=True)
    opened_at = fields.AwareDateTime()


class CareFileAccessRead(BaseSchema):
    id = fields.Int()
    beneficiary_id = fields.Str()
    beneficiary_name = fields.Str()
    file_no = fields.Str(allow_none=True)
    #: Who opened it (a person id) and as what (role, duty).
    reader_id = fields.Str(allow_none=True)
    reader_role = fields.Str()
    reader_duty = fields.Str(allow_none=True)
    opened_at = fields.AwareDateTime()


class CareFileAccessQuery(Page):
    #: One file's openings (id or file number).
    beneficiary_id = fields.Str(load_default=None, validate=_REF)


CareFileAccessList = page_of(CareFileAccessRead, "CareFileAccessList")


# -- totals ----------------------------------------------------------------------------------


class StatsQuery(BaseSchema):
    """A period in the center's calendar (Asia/Shanghai), both days included; open ends allowed."""

    date_from = fields.Date(load_default=None, data_key="from")
    date_to = fields.Date(load_default=None, data_key="to")

    @validates_schema
    def _order(self, data: dict, **_kwargs: Any) -> None:
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise ValidationError("结束日期不能早于开始日期", "to")


class CenterStats(BaseSchema):
    date_from = fields.Date(allow_none=True, data_key="from")
    date_to = fields.Date(allow_none=True, data_key="to")
    #: Approved service hours (累计志愿服务时长).
    verified_hours = fields.Float()
    #: Approved service records, one per volunteer per service (参与服务人次).
    participations = fields.Int()
    #: Distinct beneficiaries visited (服务对象人数).
    beneficiaries_served = fields.Int()
    #: Visits to beneficiaries (服务人次).
    service_person_times = fields.Int()
    volunteers_active = fields.Int()
    shifts_held = fields.Int()
    no_shows = fields.Int()
    pending_hours = fields.Float()


# -- who may do what -------------------------------------------------------------------------

#: Social workers act for anyone; a ``volunteer`` token (``sub`` = the person id) only for
#: themselves.
NOT_YOURS = "志愿者只能办理本人的报名与签到"


def _own_record(principal: Principal, volunteer: Any) -> bool:
    return principal.role != "volunteer" or (
        volunteer is not None and volunteer.person_id == principal.id
    )


def _own_signup(principal: Principal, signup: Any) -> bool:
    return principal.role != "volunteer" or signup.volunteer.person_id == principal.id


#: A volunteer sees and acts on only their own record: profile, sign-ups, attendance, hours
#: and certificates (judged on the volunteer named, once found; none found is not theirs).
OWN_RECORD = Rule("own_record", _own_record, NOT_YOURS, code="NOT_YOUR_RECORD", on_target=True)
#: A volunteer cancels, or asks to correct, only their own sign-up.
OWN_SIGNUP = Rule("own_signup", _own_signup, NOT_YOURS, code="NOT_YOUR_RECORD", on_target=True)

OPERATIONS = Operations("volunteers")

# -- volunteers
register_volunteer = OPERATIONS.add(
    "register_volunteer",
    roles=CENTER_STAFF,
    summary="登记志愿者",
    body=VolunteerCreate,
    response=VolunteerRead,
)
list_volunteers = OPERATIONS.add(
    "list_volunteers",
    roles=CENTER_STAFF,
    summary="志愿者名册",
    query=VolunteerQuery,
    response=VolunteerList,
)
get_volunteer = OPERATIONS.add(
    "get_volunteer",
    roles=("volunteer", *CENTER_STAFF),
    summary="志愿者档案",
    response=VolunteerDetail,
    rules=(OWN_RECORD,),
    etag=VolunteerRead,
    description="Profile, hours, shifts, reliability, milestones and training records.",
)
update_volunteer = OPERATIONS.add(
    "update_volunteer",
    roles=CENTER_STAFF,
    summary="修改志愿者档案",
    body=VolunteerUpdate,
    response=VolunteerRead,
    if_match=True,
)
list_volunteer_signups = OPERATIONS.add(
    "list_volunteer_signups",
    roles=("volunteer", *CENTER_STAFF),
    summary="志愿者的班次",
    query=SignupQuery,
    response=SignupList,
    rules=(OWN_RECORD,),
    description="A volunteer's shifts, latest first.",
)
list_volunteer_hours = OPERATIONS.add(
    "list_volunteer_hours",
    roles=("volunteer", *CENTER_STAFF),
    summary="志愿者服务时长明细",
    query=HourQuery,
    response=HourList,
    rules=(OWN_RECORD,),
    description="A volunteer's hours ledger.",
)
list_certificates = OPERATIONS.add(
    "list_certificates",
    roles=("volunteer", *CENTER_STAFF),
    summary="志愿服务证书",
    response=MilestoneRead,
    many=True,
    rules=(OWN_RECORD,),
)
get_certificate = OPERATIONS.add(
    "get_certificate",
    roles=("volunteer", *CENTER_STAFF),
    summary="下载志愿服务证书（PDF）",
    rules=(OWN_RECORD,),
    timeout=20,
    # The RPC answers a ``CertificateFile``; the gateway serves its bytes (no JSON answer).
    description="The certificate of a milestone reached (50 / 100 / 500 / 1000 h) as a PDF.",
)
verify_certificate = OPERATIONS.add(
    "verify_certificate",
    roles=None,
    summary="查验志愿服务证书真伪（免登录，凭证书验证码）",
    response=CertificateCheck,
    description="A code no certificate carries is 404 (not genuine), a mistyped one 422; "
    "guesses are rate-limited per client.",
)

# -- training records
record_training = OPERATIONS.add(
    "record_training",
    roles=CENTER_STAFF,
    summary="登记培训与参观交流",
    body=TrainingCreate,
    response=TrainingRead,
)
list_trainings = OPERATIONS.add(
    "list_trainings", roles=CENTER_STAFF, summary="培训记录", query=Page, response=TrainingList
)

# -- beneficiaries: their files are the social workers' (a party's handler sees none)
register_beneficiary = OPERATIONS.add(
    "register_beneficiary",
    roles=SOCIAL_WORKERS,
    summary="登记帮扶对象",
    body=BeneficiaryCreate,
    response=BeneficiaryRead,
)
import_beneficiaries = OPERATIONS.add(
    "import_beneficiaries",
    roles=SOCIAL_WORKERS,
    summary="导入帮扶对象名册",
    body=BeneficiaryImport,
    response=ImportResult,
    timeout=60,
    description="Items whose file number is on the register already are skipped.",
)
list_beneficiaries = OPERATIONS.add(
    "list_beneficiaries",
    roles=SOCIAL_WORKERS,
    summary="帮扶对象名册",
    query=BeneficiaryQuery,
    response=BeneficiaryList,
)
get_beneficiary = OPERATIONS.add(
    "get_beneficiary", roles=SOCIAL_WORKERS, summary="帮扶对象档案", response=BeneficiaryRead
)
update_beneficiary = OPERATIONS.add(
    "update_beneficiary",
    roles=SOCIAL_WORKERS,
    summary="修改帮扶对象档案",
    body=BeneficiaryUpdate,
    response=BeneficiaryRead,
)

# -- the visit log
record_visit = OPERATIONS.add(
    "record_visit",
    roles=SOCIAL_WORKERS,
    summary="登记探访记录",
    body=VisitCreate,
    response=VisitRead,
    description="Who came, when, what was done; each volunteer's hours are approved with it.",
)
import_visits = OPERATIONS.add(
    "import_visits",
    roles=SOCIAL_WORKERS,
    summary="导入服务台账",
    body=VisitImport,
    response=ImportResult,
    timeout=60,
    description="Items whose ref is in the visit log already are skipped.",
)
list_visits = OPERATIONS.add(
    "list_visits", roles=SOCIAL_WORKERS, summary="探访记录", query=Page, response=VisitList
)

# -- the care file: social workers and admins; every opening logged, the log the admin's
read_care_file = OPERATIONS.add(
    "read_care_file",
    roles=SOCIAL_WORKERS,
    summary="打开帮扶档案（记录、探访、下次探访；每次打开均留痕）",
    response=CareFileRecord,
    description="The reports service joins it with the person's tickets and registrations: "
    "GET /api/v1/beneficiaries/{id}/care-file.",
)
link_beneficiary_person = OPERATIONS.add(
    "link_beneficiary_person",
    roles=SOCIAL_WORKERS,
    summary="关联帮扶对象与目录中的居民（电话核实后）",
    body=PersonLink,
    response=BeneficiaryRead,
)
list_care_file_access = OPERATIONS.add(
    "list_care_file_access",
    roles=ADMIN,
    summary="帮扶档案查阅记录（谁、何时打开）",
    query=CareFileAccessQuery,
    response=CareFileAccessList,
)

# -- shifts and sign-ups
publish_shift = OPERATIONS.add(
    "publish_shift",
    roles=SOCIAL_WORKERS,
    summary="发布服务班次",
    body=ShiftCreate,
    response=ShiftRead,
)
list_shifts = OPERATIONS.add(
    "list_shifts",
    roles=("volunteer", *CENTER_STAFF),
    summary="服务班次",
    query=ShiftQuery,
    response=ShiftList,
)
get_shift = OPERATIONS.add(
    "get_shift", roles=("volunteer", *CENTER_STAFF), summary="班次详情", response=ShiftRead
)
update_shift = OPERATIONS.add(
    "update_shift",
    roles=SOCIAL_WORKERS,
    summary="调整班次名额与说明",
    body=ShiftUpdate,
    response=ShiftRead,
    description="More places promote the waitlist at once.",
    if_match=True,
)
cancel_shift = OPERATIONS.add(
    "cancel_shift", roles=SOCIAL_WORKERS, summary="取消班次", body=ShiftCancel, response=ShiftRead
)
list_shift_signups = OPERATIONS.add(
    "list_shift_signups",
    roles=("volunteer", *CENTER_STAFF),
    summary="班次报名名单",
    query=SignupQuery,
    response=SignupList,
    description="Staff see everyone in line order; a volunteer sees only their own sign-up.",
)
sign_up = OPERATIONS.add(
    "sign_up",
    roles=("volunteer", *SOCIAL_WORKERS),
    summary="报名班次",
    body=SignupCreate,
    response=SignupRead,
    rules=(OWN_RECORD,),
    description="A place if one is free (``confirmed``), else the waitlist (``waitlisted``).",
)
cancel_signup = OPERATIONS.add(
    "cancel_signup",
    roles=("volunteer", *SOCIAL_WORKERS),
    summary="取消报名",
    body=SignupCancel,
    response=SignupRead,
    rules=(OWN_SIGNUP,),
    description="A freed place goes to the first on the waitlist.",
)

# -- attendance
check_in = OPERATIONS.add(
    "check_in",
    roles=("volunteer", *SOCIAL_WORKERS),
    summary="签到",
    body=AttendanceMark,
    response=SignupRead,
    rules=(OWN_RECORD,),
)
check_out = OPERATIONS.add(
    "check_out",
    roles=("volunteer", *SOCIAL_WORKERS),
    summary="签退",
    body=AttendanceMark,
    response=SignupRead,
    rules=(OWN_RECORD,),
    description="Hours are counted and wait for a social worker's approval.",
)
mark_no_show = OPERATIONS.add(
    "mark_no_show", roles=SOCIAL_WORKERS, summary="登记缺席", body=NoShowMark, response=SignupRead
)

# -- the hours ledger and corrections
list_hours = OPERATIONS.add(
    "list_hours",
    roles=SOCIAL_WORKERS,
    summary="服务时长台账",
    query=HourQuery,
    response=HourList,
    description="``?status=pending`` is the approval queue.",
)
approve_hours = OPERATIONS.add(
    "approve_hours",
    roles=SOCIAL_WORKERS,
    summary="审核通过服务时长",
    body=HoursDecision,
    response=HourEntryRead,
)
approve_shift_hours = OPERATIONS.add(
    "approve_shift_hours",
    roles=SOCIAL_WORKERS,
    summary="审核通过班次全部时长",
    response=HourEntryRead,
    many=True,
    description="Approve every pending entry of a shift.",
)
reject_hours = OPERATIONS.add(
    "reject_hours",
    roles=SOCIAL_WORKERS,
    summary="驳回服务时长",
    body=HoursReject,
    response=HourEntryRead,
)
request_correction = OPERATIONS.add(
    "request_correction",
    roles=("volunteer", *SOCIAL_WORKERS),
    summary="申请补录签到签退",
    body=CorrectionCreate,
    response=CorrectionRead,
    rules=(OWN_SIGNUP,),
)
list_corrections = OPERATIONS.add(
    "list_corrections",
    roles=("volunteer", *SOCIAL_WORKERS),
    summary="补录申请",
    query=CorrectionQuery,
    response=CorrectionList,
    description="Staff see every request (``?status=pending``: the queue); a volunteer their own.",
)
approve_correction = OPERATIONS.add(
    "approve_correction",
    roles=SOCIAL_WORKERS,
    summary="批准补录",
    body=HoursDecision,
    response=CorrectionRead,
)
reject_correction = OPERATIONS.add(
    "reject_correction",
    roles=SOCIAL_WORKERS,
    summary="驳回补录",
    body=HoursReject,
    response=CorrectionRead,
)

# -- totals: also read by departments and ops (with ``?center=``)
center_stats = OPERATIONS.add(
    "center_stats",
    roles=("department", "ops", *CENTER_STAFF),
    summary="志愿服务统计（时长、人次、服务对象）",
    query=StatsQuery,
    response=CenterStats,
    description="Verified hours, participations (person-times) and beneficiaries served in a "
    "period (``from`` / ``to``, dates in Asia/Shanghai, both included).",
)


class CountyCenterStats(BaseSchema):
    """One center's volunteer figures in the county view (those of :data:`center_stats`)."""

    center_id = fields.Str()
    verified_hours = fields.Float()
    participations = fields.Int()
    beneficiaries_served = fields.Int()


county_center_stats = OPERATIONS.add(
    "county_center_stats",
    roles=("department", "ops"),
    internal=True,
    summary="多中心志愿服务统计（县级汇总，报表服务调用）",
    query=StatsQuery,
    response=CountyCenterStats,
    many=True,
    description="``county_center_stats(center_ids, query)``: each center's verified hours, "
    "participations and beneficiaries served, counted at once; only centers the caller's "
    "token grants.",
)
