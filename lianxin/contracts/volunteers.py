"""The volunteers service's contract: RPC payloads and events."""

from __future__ import annotations

from marshmallow import fields, validate

from lianxin.contracts import event_type
from lianxin.contracts.schema import CODE_RE, BaseSchema, Page

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


class VolunteerCreate(BaseSchema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    skills = fields.List(fields.Str(validate=validate.OneOf(list(SKILLS))), load_default=list,
                         validate=validate.Length(max=len(SKILLS)))
    person_id = fields.Str(load_default=None, allow_none=True,
                           validate=validate.Length(min=1, max=64))
    party_member = fields.Bool(load_default=False)


class VolunteerRead(BaseSchema):
    id = fields.Str()
    center_id = fields.Str()
    name = fields.Str()
    skills = fields.List(fields.Str())
    person_id = fields.Str(allow_none=True)
    party_member = fields.Bool()
    status = fields.Str()
    registered_at = fields.AwareDateTime()


class VolunteerQuery(Page):
    skill = fields.Str(load_default=None, validate=validate.OneOf(list(SKILLS)))


class VolunteerList(BaseSchema):
    items = fields.List(fields.Nested(VolunteerRead))
    total = fields.Int()
    limit = fields.Int()
    offset = fields.Int()


class VolunteerRegisteredData(BaseSchema):
    volunteer_id = fields.Str(required=True)
    skills = fields.List(fields.Str(validate=validate.Regexp(CODE_RE)), required=True)


VOLUNTEER_REGISTERED = event_type(
    "cn.lianxin.volunteers.volunteer.registered.v1", VolunteerRegisteredData,
    """A person joined the center's volunteer register.

    Sent once, when the volunteer is stored. Carries the volunteer id and
    skills; name and contact data stay with the services that own them.
    """,
)


# -- shifts, sign-ups, attendance: the events notify and departments rely on -----------------
# (RPC payload schemas for these live above them as the volunteers service grows.)

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


class MilestoneReachedData(BaseSchema):
    volunteer_id = fields.Str(required=True)
    person_id = fields.Str(required=True, allow_none=True)
    milestone_hours = fields.Int(required=True)
    total_hours = fields.Float(required=True)


SHIFT_PUBLISHED = event_type(
    "cn.lianxin.volunteers.shift.published.v1", ShiftPublishedData,
    """A service task (visit a beneficiary, clean a home, accompany to a clinic, staff an
    activity) was published and volunteers may sign up.""")
SIGNUP_CONFIRMED = event_type(
    "cn.lianxin.volunteers.signup.confirmed.v1", _SignupFact,
    """A volunteer holds a place on a shift (signed up within capacity). Notify confirms it and
    schedules the reminders (the day before, and on the day).""")
SIGNUP_WAITLISTED = event_type(
    "cn.lianxin.volunteers.signup.waitlisted.v1", _SignupFact,
    """A sign-up arrived with the shift full: the volunteer is on its waitlist.""")
SIGNUP_PROMOTED = event_type(
    "cn.lianxin.volunteers.signup.promoted.v1", _SignupFact,
    """A place freed up and a waitlisted volunteer now holds it (sent instead of confirmed).""")
SIGNUP_CANCELLED = event_type(
    "cn.lianxin.volunteers.signup.cancelled.v1", SignupCancelledData,
    """A volunteer's sign-up (confirmed or waitlisted) was cancelled; reminders are withdrawn.""")
CHECKED_IN = event_type(
    "cn.lianxin.volunteers.attendance.checked_in.v1", _SignupFact,
    """A volunteer checked in to a shift (by themselves or a social worker).""")
CHECKED_OUT = event_type(
    "cn.lianxin.volunteers.attendance.checked_out.v1", CheckedOutData,
    """A volunteer checked out; ``hours`` are computed, pending approval.""")
NO_SHOW = event_type(
    "cn.lianxin.volunteers.attendance.no_show.v1", _SignupFact,
    """A confirmed volunteer did not come to the shift.""")
HOURS_APPROVED = event_type(
    "cn.lianxin.volunteers.hours.approved.v1", HoursApprovedData,
    """A social worker approved service hours (from attendance or a correction request);
    they now count in the verified totals.""")
MILESTONE_REACHED = event_type(
    "cn.lianxin.volunteers.milestone.reached.v1", MilestoneReachedData,
    """A volunteer's verified hours crossed a milestone (e.g. 50 / 100 / 500 h); a certificate
    is available.""")
