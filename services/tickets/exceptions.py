"""Errors of the tickets service; each maps to an HTTP status through its kit base class."""

from lianxin.errors import Conflict, Forbidden, InvalidInput, LianxinError, NotFound


class CenterNotFound(NotFound):
    code = "CENTER_NOT_FOUND"
    default_detail = "服务中心不存在"


class CenterConflict(Conflict):
    code = "CENTER_EXISTS"
    default_detail = "服务中心已存在"


class CategoryNotFound(NotFound):
    code = "CATEGORY_NOT_FOUND"
    default_detail = "诉求类别不存在"


class CategoryConflict(Conflict):
    code = "CATEGORY_EXISTS"
    default_detail = "诉求类别已存在"


class InvalidCategory(InvalidInput):
    code = "UNKNOWN_CATEGORY"
    default_detail = "诉求类别不存在"


class TicketNotFound(NotFound):
    code = "TICKET_NOT_FOUND"
    default_detail = "工单不存在"


class InvalidTransition(Conflict):
    """An action the ticket's state does not allow (or one already done)."""

    code = "INVALID_TRANSITION"
    default_detail = "当前状态下不能执行此操作"


class SupporterConflict(Conflict):
    """The same resident (or phone) joining a ticket again, or its own reporter."""

    code = "ALREADY_SUPPORTED"
    default_detail = "您已经反映过这个问题，办理进展会通知您"


class PhotoNotPublic(NotFound):
    """A photo no ticket of the center holds, or of a center that doesn't show photos."""

    code = "PHOTO_NOT_FOUND"
    default_detail = "照片不存在或未公开"


class DirectoryUnavailable(LianxinError):
    """notify did not answer whether a person can be reached (a roster entry waits)."""

    code = "DIRECTORY_UNAVAILABLE"
    default_detail = "通讯录服务暂时不可用，无法核对值班人员的联系方式，请稍后再试"


class ReopenWindowClosed(Conflict):
    code = "REOPEN_WINDOW_CLOSED"
    default_detail = "办结已超过 15 天，不能再重新打开，请重新反映诉求"


class MeetingNotFound(NotFound):
    code = "MEETING_NOT_FOUND"
    default_detail = "该月没有联席会议"


class AgendaItemNotFound(NotFound):
    code = "AGENDA_ITEM_NOT_FOUND"
    default_detail = "议题不存在"


class AgendaItemDecided(Conflict):
    code = "AGENDA_ITEM_DECIDED"
    default_detail = "该议题已有决定"


class InvalidApiKey(Forbidden):
    code = "INVALID_API_KEY"
    default_detail = "API 密钥无效"


class Unstorable(InvalidInput):
    """A report whose contract took it but the database refused to store a value of (a
    column narrower than the contract): nothing of it is stored, the caller told (422)."""

    default_detail = "诉求中有无法保存的内容（如过长的文字），请修改后重新提交"
