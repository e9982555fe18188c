"""Errors of the tickets service; each maps to an HTTP status through its kit base class."""

from lianxin.errors import Conflict, Forbidden, InvalidInput, NotFound


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
