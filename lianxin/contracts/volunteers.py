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
