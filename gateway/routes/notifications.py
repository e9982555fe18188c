"""Routes of the notify service: inbox, directory, templates, preferences, delivery log,
scheduled messages, department subscriptions — and the AsyncAPI document of the bus."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema
from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from gateway.api import Route, call, route
from gateway.base import GatewayBase
from gateway.http import json_response
from gateway.routes import ADMIN, MEMBERS, STAFF
from lianxin.asyncapi import asyncapi
from lianxin.contracts.notify import operations as nt

#: Who manages department subscriptions: departments (their granted centers), ops, a center's admin.
SUBSCRIBERS = ("department", "ops", "admin")


def across_centers(method: str, path: str, *, summary: str, roles: tuple[str, ...],
                   body: type[Schema] | None = None, **kwargs: Any) -> Callable:
    """A route whose centers come from the token (a department's grant) and the body, not
    ``?center=``."""
    return route(method, path, summary=summary, tag="subscriptions", roles=roles, body=body,
                 across_centers=True, **kwargs)


#: The routes that only forward to an operation (see gateway.api.expose).
ROUTES: list[Route] = []


class NotificationRoutes(GatewayBase):
    # -- inbox -----------------------------------------------------------------------------

    @route("GET", "/api/v1/notifications", summary="站内通知", tag="notifications", roles=MEMBERS,
           query=nt.NotificationQuery, response=nt.NotificationList)
    def list_notifications(self, req) -> Any:
        """The caller's own inbox (and their role's shared inbox), each with their own read state."""
        return call(self.notify_rpc.list_notifications, req.center, req.query)

    @route("GET", "/api/v1/notifications/unread-count", summary="未读通知数", tag="notifications",
           roles=MEMBERS, response=nt.UnreadCount)
    def unread_count(self, req) -> Any:
        return call(self.notify_rpc.unread_count, req.center)

    @route("POST", "/api/v1/notifications/<notification_id>/read", summary="标记通知已读",
           tag="notifications", roles=MEMBERS, response=nt.NotificationRead)
    def mark_notification_read(self, req, notification_id: str) -> Any:
        return call(self.notify_rpc.mark_notification_read, req.center, notification_id)

    @route("POST", "/api/v1/notifications/read-all", summary="全部标记已读", tag="notifications",
           roles=MEMBERS, response=nt.MarkedRead)
    def mark_all_notifications_read(self, req) -> Any:
        return call(self.notify_rpc.mark_all_notifications_read, req.center)

    # -- directory -------------------------------------------------------------------------

    @route("POST", "/api/v1/contacts", summary="登记联系方式（通讯录）", tag="contacts",
           roles=STAFF, body=nt.ContactCreate, response=nt.ContactRead, status=201)
    def upsert_contact(self, req) -> Any:
        return call(self.notify_rpc.upsert_contact, req.center, req.body)

    @route("GET", "/api/v1/contacts", summary="通讯录", tag="contacts", roles=STAFF,
           query=nt.ContactQuery, response=nt.ContactList)
    def list_contacts(self, req) -> Any:
        return call(self.notify_rpc.list_contacts, req.center, req.query)

    @route("GET", "/api/v1/contacts/<person_id>", summary="查看联系方式", tag="contacts",
           roles=MEMBERS, response=nt.ContactRead)
    def get_contact(self, req, person_id: str) -> Any:
        """Staff see anyone's; a resident or volunteer only their own."""
        return call(self.notify_rpc.get_contact, req.center, person_id)

    @route("PATCH", "/api/v1/contacts/<person_id>", summary="修改联系方式", tag="contacts",
           roles=MEMBERS, body=nt.ContactUpdate, response=nt.ContactRead)
    def update_contact(self, req, person_id: str) -> Any:
        return call(self.notify_rpc.update_contact, req.center, person_id, req.body)

    @route("DELETE", "/api/v1/contacts/<person_id>", summary="删除联系人", tag="contacts",
           roles=ADMIN, response=nt.ContactRead)
    def delete_contact(self, req, person_id: str) -> Any:
        return call(self.notify_rpc.delete_contact, req.center, person_id)

    # -- message types and templates -------------------------------------------------------

    @route("GET", "/api/v1/message-types", summary="消息类型", tag="templates", roles=MEMBERS,
           response=nt.MessageTypeRead, many=True)
    def list_message_types(self, req) -> Any:
        return call(self.notify_rpc.list_message_types, req.center)

    @route("GET", "/api/v1/templates", summary="消息模板（含本中心自定义）", tag="templates",
           roles=STAFF, response=nt.TemplateRead, many=True)
    def list_templates(self, req) -> Any:
        return call(self.notify_rpc.list_templates, req.center, req.request.args.get("message_type"))

    @route("PUT", "/api/v1/templates/<message_type>/<channel>", summary="自定义消息模板",
           tag="templates", roles=ADMIN, body=nt.TemplateSave, response=nt.TemplateRead)
    def save_template(self, req, message_type: str, channel: str) -> Any:
        """Jinja2 syntax; rendered against sample data before it is saved (422 with the reason)."""
        return call(self.notify_rpc.save_template, req.center, message_type, channel, req.body)

    @route("DELETE", "/api/v1/templates/<message_type>/<channel>", summary="恢复默认模板",
           tag="templates", roles=ADMIN, response=nt.TemplateRead)
    def delete_template(self, req, message_type: str, channel: str) -> Any:
        return call(self.notify_rpc.delete_template, req.center, message_type, channel)

    @route("POST", "/api/v1/templates/preview", summary="预览消息模板", tag="templates",
           roles=STAFF, body=nt.TemplatePreview, response=nt.RenderedRead)
    def preview_template(self, req) -> Any:
        return call(self.notify_rpc.preview_template, req.center, req.body)

    # -- preferences -----------------------------------------------------------------------

    @route("GET", "/api/v1/preferences", summary="我的通知设置", tag="preferences", roles=MEMBERS,
           response=nt.PreferencesRead)
    def get_preferences(self, req) -> Any:
        return call(self.notify_rpc.get_preferences, req.center)

    @route("PUT", "/api/v1/preferences/quiet-hours", summary="设置免打扰时段", tag="preferences",
           roles=MEMBERS, body=nt.QuietHoursSet, response=nt.QuietHoursRead)
    def set_quiet_hours(self, req) -> Any:
        return call(self.notify_rpc.set_quiet_hours, req.center, req.body)

    @route("PUT", "/api/v1/preferences/<message_type>", summary="设置某类消息的渠道或屏蔽",
           tag="preferences", roles=MEMBERS, body=nt.PreferenceSet, response=nt.PreferenceRead)
    def set_preference(self, req, message_type: str) -> Any:
        """``*`` sets every type at once; critical types can't be muted."""
        return call(self.notify_rpc.set_preference, req.center, message_type, req.body)

    # -- delivery log and scheduled messages -----------------------------------------------

    @route("GET", "/api/v1/deliveries", summary="消息投递记录", tag="notifications", roles=MEMBERS,
           query=nt.DeliveryQuery, response=nt.DeliveryList)
    def list_deliveries(self, req) -> Any:
        """Per person (``person_id``) and per event (``event_id``); residents see their own."""
        return call(self.notify_rpc.list_deliveries, req.center, req.query)

    @route("POST", "/api/v1/scheduled-messages", summary="预约发送消息", tag="notifications",
           roles=MEMBERS, body=nt.ScheduledMessageCreate, response=nt.ScheduledMessageRead,
           status=201)
    def schedule_message(self, req) -> Any:
        return call(self.notify_rpc.schedule_message, req.center, req.body)

    @route("GET", "/api/v1/scheduled-messages", summary="预约消息列表", tag="notifications",
           roles=MEMBERS, query=nt.ScheduledQuery, response=nt.ScheduledList)
    def list_scheduled(self, req) -> Any:
        return call(self.notify_rpc.list_scheduled, req.center, req.query)

    @route("DELETE", "/api/v1/scheduled-messages/<key>", summary="取消预约消息", tag="notifications",
           roles=MEMBERS, response=nt.ScheduledMessageRead)
    def cancel_scheduled(self, req, key: str) -> Any:
        return call(self.notify_rpc.cancel_scheduled, req.center, key)

    # -- department subscriptions ----------------------------------------------------------

    @across_centers("POST", "/api/v1/subscriptions", summary="订阅事件（Webhook）", roles=SUBSCRIBERS,
                    body=nt.SubscriptionCreate, response=nt.SubscriptionCreated, status=201)
    def create_subscription(self, req) -> Any:
        """CloudEvents 1.0 (structured, ``application/cloudevents+json``) signed with Standard
        Webhooks headers. ``centers`` must be granted by the token. The ``secret`` is shown once."""
        return call(self.notify_rpc.create_subscription, req.body)

    @across_centers("GET", "/api/v1/subscriptions", summary="我的事件订阅", roles=SUBSCRIBERS,
                    response=nt.SubscriptionList)
    def list_subscriptions(self, req) -> Any:
        return call(self.notify_rpc.list_subscriptions)

    @across_centers("GET", "/api/v1/subscriptions/<subscription_id>", summary="查看事件订阅",
                    roles=SUBSCRIBERS, response=nt.SubscriptionRead)
    def get_subscription(self, req, subscription_id: str) -> Any:
        return call(self.notify_rpc.get_subscription, subscription_id)

    @across_centers("PATCH", "/api/v1/subscriptions/<subscription_id>", summary="修改事件订阅",
                    roles=SUBSCRIBERS, body=nt.SubscriptionUpdate, response=nt.SubscriptionRead)
    def update_subscription(self, req, subscription_id: str) -> Any:
        """``active: true`` re-enables a subscription disabled by a 410 answer."""
        return call(self.notify_rpc.update_subscription, subscription_id, req.body)

    @across_centers("DELETE", "/api/v1/subscriptions/<subscription_id>", summary="删除事件订阅",
                    roles=SUBSCRIBERS, response=nt.SubscriptionRead)
    def delete_subscription(self, req, subscription_id: str) -> Any:
        return call(self.notify_rpc.delete_subscription, subscription_id)

    @across_centers("POST", "/api/v1/subscriptions/<subscription_id>/rotate-secret",
                    summary="轮换签名密钥", roles=SUBSCRIBERS, response=nt.SecretRotated)
    def rotate_subscription_secret(self, req, subscription_id: str) -> Any:
        """A new secret; for 24 hours deliveries carry a signature with each (space-separated)."""
        return call(self.notify_rpc.rotate_subscription_secret, subscription_id)

    @across_centers("POST", "/api/v1/subscriptions/<subscription_id>/replay", summary="重放事件",
                    roles=SUBSCRIBERS, body=nt.ReplayRequest, response=nt.ReplayRead, status=202)
    def replay_subscription(self, req, subscription_id: str) -> Any:
        return call(self.notify_rpc.replay_subscription, subscription_id, req.body)

    @across_centers("GET", "/api/v1/subscriptions/<subscription_id>/deliveries",
                    summary="Webhook 投递记录", roles=SUBSCRIBERS, query=nt.WebhookDeliveryQuery,
                    response=nt.WebhookDeliveryList)
    def list_subscription_deliveries(self, req, subscription_id: str) -> Any:
        return call(self.notify_rpc.list_subscription_deliveries, subscription_id, req.query)

    # -- the bus, documented ---------------------------------------------------------------

    @http("GET", "/api/v1/asyncapi.json")
    def asyncapi_document(self, request: Request) -> Response:
        """AsyncAPI 3 of every event type on the bus, generated from the contract catalogue."""
        return json_response(asyncapi())
