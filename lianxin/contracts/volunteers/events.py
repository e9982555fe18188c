"""The events the volunteers service publishes: the catalogue a department reads.

Each type says what it carries, when it is sent and when it is *not*. Names, addresses,
guardians and contact data never leave the service: events carry ids (a volunteer's
``person_id`` is their id in notify's directory).
"""

from __future__ import annotations

from marshmallow import fields, validate

from lianxin.contracts import event_type
from lianxin.contracts.schema import CODE_RE, BaseSchema
from lianxin.contracts.volunteers.operations import (
    BENEFICIARY_CATEGORIES,
    CARE_NEEDS,
    TRAINING_KINDS,
)

# -- the registers ---------------------------------------------------------------------------


class VolunteerRegisteredData(BaseSchema):
    volunteer_id = fields.Str(required=True)
    skills = fields.List(fields.Str(validate=validate.Regexp(CODE_RE)), required=True)
    #: The volunteer's person id in notify's directory (added: absent in older events).
    person_id = fields.Str(allow_none=True)


VOLUNTEER_REGISTERED = event_type(
    "cn.lianxin.volunteers.volunteer.registered.v1",
    VolunteerRegisteredData,
    """A person joined the center's volunteer register.

    Sent once, when the volunteer is stored. Carries the volunteer id and
    skills; name and contact data stay with the services that own them. Not sent
    when the person is on the center's register already (refused as a conflict).
    """,
)


class VolunteerUpdatedData(BaseSchema):
    volunteer_id = fields.Str(required=True)
    person_id = fields.Str(required=True, allow_none=True)
    skills = fields.List(fields.Str(validate=validate.Regexp(CODE_RE)), required=True)
    status = fields.Str(required=True, validate=validate.OneOf(["active", "inactive"]))


VOLUNTEER_UPDATED = event_type(
    "cn.lianxin.volunteers.volunteer.updated.v1",
    VolunteerUpdatedData,
    """A volunteer's profile changed (skills, availability, status ...). Carries the skills and
    status after the change. Not sent when nothing changed, nor when only the volunteer's
    verified hours grew (that is hours.approved).""",
)


# -- shifts, sign-ups, attendance: the events notify and departments rely on -----------------


class _SignupFact(BaseSchema):
    """Which volunteer, which shift, and what a reminder needs to say."""

    shift_id = fields.Str(required=True)
    volunteer_id = fields.Str(required=True)
    #: The volunteer's person id in notify's directory (None if not in the directory).
    person_id = fields.Str(required=True, allow_none=True)
    shift_title = fields.Str(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    place = fields.Str(required=True)
    #: The sign-up (added: absent in older events).
    signup_id = fields.Str(allow_none=True)


class ShiftPublishedData(BaseSchema):
    shift_id = fields.Str(required=True)
    title = fields.Str(required=True)
    kind = fields.Str(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    place = fields.Str(required=True)
    capacity = fields.Int(required=True)
    required_skills = fields.List(fields.Str(), required=True)
    beneficiary_id = fields.Str(required=True, allow_none=True)


class ShiftCancelledData(BaseSchema):
    shift_id = fields.Str(required=True)
    title = fields.Str(required=True)
    starts_at = fields.AwareDateTime(required=True)
    reason = fields.Str(required=True)


class SignupCancelledData(_SignupFact):
    reason = fields.Str(required=True, allow_none=True)


class CheckedOutData(_SignupFact):
    checked_in_at = fields.AwareDateTime(required=True)
    checked_out_at = fields.AwareDateTime(required=True)
    hours = fields.Float(required=True)


class HoursApprovedData(BaseSchema):
    volunteer_id = fields.Str(required=True)
    person_id = fields.Str(required=True, allow_none=True)
    shift_id = fields.Str(required=True, allow_none=True)
    hours = fields.Float(required=True)
    approver_id = fields.Str(required=True)
    #: Added (absent in older events): the ledger entry, where it came from, the correction it
    #: settles if any, and the volunteer's verified hours after this approval.
    entry_id = fields.Str(allow_none=True)
    source = fields.Str(
        allow_none=True, validate=validate.OneOf(["attendance", "correction", "visit"])
    )
    correction_id = fields.Str(allow_none=True)
    total_hours = fields.Float(allow_none=True)


class HoursRejectedData(BaseSchema):
    entry_id = fields.Str(required=True)
    volunteer_id = fields.Str(required=True)
    person_id = fields.Str(required=True, allow_none=True)
    shift_id = fields.Str(required=True, allow_none=True)
    hours = fields.Float(required=True)
    approver_id = fields.Str(required=True)
    reason = fields.Str(required=True)


class CorrectionRequestedData(BaseSchema):
    correction_id = fields.Str(required=True)
    signup_id = fields.Str(required=True)
    shift_id = fields.Str(required=True)
    volunteer_id = fields.Str(required=True)
    person_id = fields.Str(required=True, allow_none=True)
    hours = fields.Float(required=True)


class CorrectionRejectedData(CorrectionRequestedData):
    approver_id = fields.Str(required=True)
    reason = fields.Str(required=True)


class MilestoneReachedData(BaseSchema):
    volunteer_id = fields.Str(required=True)
    person_id = fields.Str(required=True, allow_none=True)
    milestone_hours = fields.Int(required=True)
    total_hours = fields.Float(required=True)


class TrainingRecordedData(BaseSchema):
    training_id = fields.Str(required=True)
    kind = fields.Str(required=True, validate=validate.OneOf(list(TRAINING_KINDS)))
    title = fields.Str(required=True)
    occurred_on = fields.Date(required=True)
    volunteer_ids = fields.List(fields.Str(), required=True)


class BeneficiaryRegisteredData(BaseSchema):
    beneficiary_id = fields.Str(required=True)
    category = fields.Str(required=True, validate=validate.OneOf(list(BENEFICIARY_CATEGORIES)))
    care_needs = fields.List(fields.Str(validate=validate.OneOf(list(CARE_NEEDS))), required=True)


class VisitRecordedData(BaseSchema):
    visit_id = fields.Str(required=True)
    beneficiary_id = fields.Str(required=True)
    shift_id = fields.Str(required=True, allow_none=True)
    visited_at = fields.AwareDateTime(required=True)
    volunteer_ids = fields.List(fields.Str(), required=True)
    care_types = fields.List(fields.Str(), required=True)


SHIFT_PUBLISHED = event_type(
    "cn.lianxin.volunteers.shift.published.v1",
    ShiftPublishedData,
    """A service task (visit a beneficiary, clean a home, accompany to a clinic, staff an
    activity) was published and volunteers may sign up. Not sent for a shift refused (already
    over, a ref in use, an unknown beneficiary), nor when a published shift's places,
    description or tasks change later.""",
)
SHIFT_CANCELLED = event_type(
    "cn.lianxin.volunteers.shift.cancelled.v1",
    ShiftCancelledData,
    """A social worker called a shift off before it started. Each sign-up it held is announced
    as signup.cancelled too (so reminders are withdrawn per volunteer). Not sent for a shift
    that has started (it can no longer be cancelled) or was cancelled already.""",
)
SIGNUP_CONFIRMED = event_type(
    "cn.lianxin.volunteers.signup.confirmed.v1",
    _SignupFact,
    """A volunteer holds a place on a shift (signed up within capacity). Notify confirms it and
    schedules the reminders (the day before, and on the day). Not sent when the shift was full
    (signup.waitlisted instead), nor for a volunteer given a place from the waitlist
    (signup.promoted instead).""",
)
SIGNUP_WAITLISTED = event_type(
    "cn.lianxin.volunteers.signup.waitlisted.v1",
    _SignupFact,
    """A sign-up arrived with the shift full: the volunteer is on its waitlist. Not sent when a
    place was free (signup.confirmed), nor for a sign-up refused (shift cancelled or started,
    skills missing, an overlapping shift, signed up already).""",
)
SIGNUP_PROMOTED = event_type(
    "cn.lianxin.volunteers.signup.promoted.v1",
    _SignupFact,
    """A place freed up (a confirmed volunteer cancelled, or the shift got more places) and a
    waitlisted volunteer now holds it (sent instead of confirmed). Not sent once the shift has
    started or for a cancelled shift: its waitlist then stays as it is.""",
)
SIGNUP_CANCELLED = event_type(
    "cn.lianxin.volunteers.signup.cancelled.v1",
    SignupCancelledData,
    """A volunteer's sign-up (confirmed or waitlisted) was cancelled, by the volunteer, a social
    worker, or the shift's cancellation; reminders are withdrawn. Not sent once the shift has
    started (cancelling is refused then), nor for a sign-up checked in, completed or missed.""",
)
CHECKED_IN = event_type(
    "cn.lianxin.volunteers.attendance.checked_in.v1",
    _SignupFact,
    """A volunteer checked in to a shift (by themselves or a social worker). Not sent for a
    sign-up that holds no place (waitlisted, cancelled) or outside the check-in window (from
    an hour before the start until the end).""",
)
CHECKED_OUT = event_type(
    "cn.lianxin.volunteers.attendance.checked_out.v1",
    CheckedOutData,
    """A volunteer checked out; ``hours`` are computed, pending approval. Also sent when the
    shift sweep checks out, at the shift's end, a volunteer who forgot to. Not sent without a
    check-in or before the shift starts (both refused).""",
)
NO_SHOW = event_type(
    "cn.lianxin.volunteers.attendance.no_show.v1",
    _SignupFact,
    """A confirmed volunteer did not come to the shift: marked by a social worker once it
    started, or by the shift sweep once it ended more than ``NO_SHOW_GRACE_MINUTES`` ago. Not
    sent for a volunteer who checked in (the sweep checks them out instead), nor on a
    cancelled shift.""",
)
HOURS_APPROVED = event_type(
    "cn.lianxin.volunteers.hours.approved.v1",
    HoursApprovedData,
    """A social worker approved service hours (from attendance, a correction request, or a
    visit they recorded: one per volunteer); they now count in the verified totals. Not sent
    for hours rejected or decided already, nor for a check-out that counted no minutes (no
    hours to approve).""",
)
HOURS_REJECTED = event_type(
    "cn.lianxin.volunteers.hours.rejected.v1",
    HoursRejectedData,
    """A social worker refused hours pending approval, with the reason; they do not count. Not
    sent for hours decided already, nor when a correction request is refused
    (correction.rejected).""",
)
CORRECTION_REQUESTED = event_type(
    "cn.lianxin.volunteers.correction.requested.v1",
    CorrectionRequestedData,
    """A volunteer (or a social worker for them) asked for a sign-up's check-in / check-out to
    be corrected; a social worker decides. Approval is announced as hours.approved (with
    ``correction_id``). Not sent while another request for the sign-up is pending, before the
    shift starts, or for a sign-up waitlisted or cancelled (all refused).""",
)
CORRECTION_REJECTED = event_type(
    "cn.lianxin.volunteers.correction.rejected.v1",
    CorrectionRejectedData,
    """A social worker refused a correction request, with the reason. Not sent when it is
    approved (hours.approved with ``correction_id``), nor for a request decided already.""",
)
MILESTONE_REACHED = event_type(
    "cn.lianxin.volunteers.milestone.reached.v1",
    MilestoneReachedData,
    """A volunteer's verified hours crossed a milestone (e.g. 50 / 100 / 500 h); a certificate
    is available. Sent once per milestone: not sent again when a correction takes the hours
    below it and back over.""",
)
TRAINING_RECORDED = event_type(
    "cn.lianxin.volunteers.training.recorded.v1",
    TrainingRecordedData,
    """A training (course, exchange visit, supervised practice) and who took part were added to
    the volunteers' training records. Not sent for a ref recorded already, nor when it names
    someone not on the center's register (both refused).""",
)
BENEFICIARY_REGISTERED = event_type(
    "cn.lianxin.volunteers.beneficiary.registered.v1",
    BeneficiaryRegisteredData,
    """A person was added to the beneficiary register (帮扶对象), one by one or by an import.
    Carries only the id, the category and the care needs: names, addresses and guardians never
    leave the service. Not sent for imported items whose file number is on the register
    already (skipped), nor when a record changes (changes are never announced).""",
)
VISIT_RECORDED = event_type(
    "cn.lianxin.volunteers.visit.recorded.v1",
    VisitRecordedData,
    """A visit to a beneficiary went into the visit log: recorded by a social worker (or an
    import), or by the first check-out of a shift for that beneficiary. Not sent by later
    check-outs (they join the same visit), by a check-out that counted no minutes, nor for
    imported items whose ref is in the log already.""",
)
