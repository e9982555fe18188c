"""Errors of the events service."""

from lianxin.errors import Conflict, InvalidInput


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
