"""Errors of the tickets service; each maps to an HTTP status through its kit base class."""

from lianxin.errors import Conflict, InvalidInput, NotFound


class CenterNotFound(NotFound):
    code = "CENTER_NOT_FOUND"
    default_detail = "服务中心不存在"


class CenterConflict(Conflict):
    code = "CENTER_EXISTS"
    default_detail = "服务中心已存在"


class CategoryConflict(Conflict):
    code = "CATEGORY_EXISTS"
    default_detail = "诉求类别已存在"


class InvalidCategory(InvalidInput):
    code = "UNKNOWN_CATEGORY"
    default_detail = "诉求类别不存在"


class TicketNotFound(NotFound):
    code = "TICKET_NOT_FOUND"
    default_detail = "工单不存在"
