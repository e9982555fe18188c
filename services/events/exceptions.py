"""Errors of the events service; each maps to an HTTP status through its kit base class."""

from lianxin.errors import Conflict, InvalidInput, NotFound


class RoomConflict(Conflict):
    code = "ROOM_EXISTS"
    default_detail = "功能室编码已存在"


class ProgrammeConflict(Conflict):
    code = "PROGRAMME_EXISTS"
    default_detail = "项目编码已存在"


class InvalidRoom(InvalidInput):
    code = "UNKNOWN_ROOM"
    default_detail = "功能室不存在"


class InvalidProgramme(InvalidInput):
    code = "UNKNOWN_PROGRAMME"
    default_detail = "项目不存在"


class RoomNotFound(NotFound):
    code = "ROOM_NOT_FOUND"
    default_detail = "功能室不存在"


class ActivityNotFound(NotFound):
    code = "ACTIVITY_NOT_FOUND"
    default_detail = "活动不存在"


class RegistrationNotFound(NotFound):
    code = "REGISTRATION_NOT_FOUND"
    default_detail = "报名记录不存在"


class BookingNotFound(NotFound):
    code = "BOOKING_NOT_FOUND"
    default_detail = "预约不存在"


class ActivityStateConflict(Conflict):
    """The activity is a draft, cancelled or over for what was asked."""

    code = "ACTIVITY_STATE"
    default_detail = "活动当前状态不允许此操作"


class CapacityConflict(Conflict):
    code = "CAPACITY_TOO_SMALL"
    default_detail = "容量不能少于已占用的名额"


class RegistrationClosed(Conflict):
    code = "REGISTRATION_CLOSED"
    default_detail = "不在报名时间内"


class AlreadyRegistered(Conflict):
    code = "ALREADY_REGISTERED"
    default_detail = "您已报名该活动，请勿重复报名"


class RegistrationStateConflict(Conflict):
    code = "REGISTRATION_STATE"
    default_detail = "报名当前状态不允许此操作"


class CheckInClosed(Conflict):
    code = "CHECK_IN_CLOSED"
    default_detail = "签到时间为活动开始前 1 小时至结束后 1 小时"


class AlreadyCheckedIn(Conflict):
    code = "ALREADY_CHECKED_IN"
    default_detail = "已签到，请勿重复签到"


class RoomUnavailable(Conflict):
    code = "ROOM_UNAVAILABLE"
    default_detail = "该时段功能室已被占用"


class BookingStateConflict(Conflict):
    code = "BOOKING_STATE"
    default_detail = "预约当前状态不允许此操作"
