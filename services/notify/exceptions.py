"""Errors of the notify service."""

from lianxin.errors import NotFound


class NotificationNotFound(NotFound):
    code = "NOTIFICATION_NOT_FOUND"
    default_detail = "通知不存在"


class ContactNotFound(NotFound):
    code = "CONTACT_NOT_FOUND"
    default_detail = "联系人不存在"
