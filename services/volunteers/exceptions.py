"""Errors of the volunteers service; each maps to an HTTP status through its kit base class.

A volunteer acting on someone else's record is refused by the operation's rules
(``OWN_RECORD``, ``OWN_SIGNUP`` in the contract), not by an error of its own here."""

from lianxin.errors import Conflict, Forbidden, InvalidInput, NotFound


class VolunteerConflict(Conflict):
    code = "VOLUNTEER_EXISTS"
    default_detail = "该人员已登记为志愿者"


class VolunteerNotFound(NotFound):
    code = "VOLUNTEER_NOT_FOUND"
    default_detail = "志愿者不存在"


class NotRegistered(Forbidden):
    code = "VOLUNTEER_NOT_REGISTERED"
    default_detail = "您尚未登记为本中心的志愿者"


class VolunteerInactive(Conflict):
    code = "VOLUNTEER_INACTIVE"
    default_detail = "该志愿者已停用，不能报名"


class UnknownVolunteers(InvalidInput):
    code = "UNKNOWN_VOLUNTEERS"
    default_detail = "有志愿者不在本中心的名册中"


class TrainingConflict(Conflict):
    code = "TRAINING_EXISTS"
    default_detail = "该培训记录已存在"


class BeneficiaryNotFound(NotFound):
    code = "BENEFICIARY_NOT_FOUND"
    default_detail = "帮扶对象不存在"


class BeneficiaryConflict(Conflict):
    code = "BENEFICIARY_EXISTS"
    default_detail = "该档案编号已被使用"


class ShiftNotFound(NotFound):
    code = "SHIFT_NOT_FOUND"
    default_detail = "班次不存在"


class ShiftConflict(Conflict):
    code = "SHIFT_EXISTS"
    default_detail = "该班次已存在"


class InvalidShift(InvalidInput):
    code = "INVALID_SHIFT"
    default_detail = "班次信息有误"


class ShiftClosed(Conflict):
    """The shift was cancelled, has started, or has ended."""

    code = "SHIFT_CLOSED"
    default_detail = "班次已取消或已开始，不能办理"


class CapacityConflict(Conflict):
    code = "CAPACITY_BELOW_CONFIRMED"
    default_detail = "名额不能少于已确认的人数"


class SignupNotFound(NotFound):
    code = "SIGNUP_NOT_FOUND"
    default_detail = "报名记录不存在"


class AlreadySignedUp(Conflict):
    code = "ALREADY_SIGNED_UP"
    default_detail = "已报名该班次"


class OverlappingShift(Conflict):
    code = "OVERLAPPING_SHIFT"
    default_detail = "与已报名的班次时间重叠"


class SkillsMissing(Conflict):
    code = "SKILLS_MISSING"
    default_detail = "缺少该班次所需的技能"


class InvalidAttendance(Conflict):
    """Check-in / check-out / no-show that the sign-up's state does not allow."""

    code = "INVALID_ATTENDANCE"
    default_detail = "当前状态不能办理签到或签退"


class HourEntryNotFound(NotFound):
    code = "HOURS_NOT_FOUND"
    default_detail = "时长记录不存在"


class HoursAlreadyDecided(Conflict):
    code = "HOURS_ALREADY_DECIDED"
    default_detail = "该时长已审核"


class CorrectionNotFound(NotFound):
    code = "CORRECTION_NOT_FOUND"
    default_detail = "补录申请不存在"


class CorrectionConflict(Conflict):
    code = "CORRECTION_CONFLICT"
    default_detail = "该报名已有待审核的补录申请"


class VisitConflict(Conflict):
    code = "VISIT_EXISTS"
    default_detail = "该服务记录已存在"


class CertificateNotFound(NotFound):
    code = "CERTIFICATE_NOT_FOUND"
    default_detail = "尚未获得该证书"
