"""Errors of the notify service."""

from lianxin.errors import Conflict, Forbidden, InvalidInput, NotFound


class NotificationNotFound(NotFound):
    code = "NOTIFICATION_NOT_FOUND"
    default_detail = "通知不存在"


class ContactNotFound(NotFound):
    code = "CONTACT_NOT_FOUND"
    default_detail = "联系人不存在"


class MessageTypeNotFound(NotFound):
    code = "MESSAGE_TYPE_NOT_FOUND"
    default_detail = "没有这种消息类型"


class TemplateNotFound(NotFound):
    code = "TEMPLATE_NOT_FOUND"
    default_detail = "该服务中心没有自定义此模板"


class InvalidTemplate(InvalidInput):
    code = "INVALID_TEMPLATE"
    default_detail = "模板无法渲染"


class ScheduledMessageNotFound(NotFound):
    code = "SCHEDULED_MESSAGE_NOT_FOUND"
    default_detail = "定时消息不存在"


class SubscriptionNotFound(NotFound):
    code = "SUBSCRIPTION_NOT_FOUND"
    default_detail = "订阅不存在"


class SubscriptionForbidden(Forbidden):
    code = "SUBSCRIPTION_CENTER_FORBIDDEN"
    default_detail = "无权订阅该服务中心的事件"


class ScheduledConflict(Conflict):
    code = "SCHEDULED_MESSAGE_CONFLICT"
    default_detail = "定时消息已发送，不能取消"


class UnknownAlertedPerson(InvalidInput):
    code = "ALERTED_PERSON_UNKNOWN"
    default_detail = "告警兜底人员须先登记在通讯录中"
