"""Routes of the notify service: inbox, directory (and who can be reached), the center's
alerting chain, templates, preferences, delivery log, scheduled messages, department
subscriptions — and the AsyncAPI document of the bus."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from gateway.api import ApiRequest, Route, call, expose, route
from gateway.base import GatewayBase
from gateway.http import json_response
from lianxin.asyncapi import asyncapi
from lianxin.contracts.notify import operations as ops
from lianxin.web import http

#: The routes that only forward to an operation (see gateway.api.expose).
ROUTES: list[Route] = [
    # inbox
    expose("GET", "/api/v1/notifications", ops.list_notifications, tag="notifications"),
    expose("GET", "/api/v1/notifications/unread-count", ops.unread_count, tag="notifications"),
    expose(
        "POST",
        "/api/v1/notifications/<notification_id>/read",
        ops.mark_notification_read,
        tag="notifications",
    ),
    expose(
        "POST",
        "/api/v1/notifications/read-all",
        ops.mark_all_notifications_read,
        tag="notifications",
    ),
    # directory
    expose("POST", "/api/v1/contacts", ops.upsert_contact, tag="contacts", status=201),
    expose("GET", "/api/v1/contacts", ops.list_contacts, tag="contacts"),
    expose("GET", "/api/v1/contacts/<person_id>", ops.get_contact, tag="contacts"),
    expose("PATCH", "/api/v1/contacts/<person_id>", ops.update_contact, tag="contacts"),
    expose("DELETE", "/api/v1/contacts/<person_id>", ops.delete_contact, tag="contacts"),
    expose("GET", "/api/v1/contacts/<person_id>/reachability", ops.check_reachable, tag="contacts"),
    # the center's alerting chain
    expose("GET", "/api/v1/alerting", ops.get_alerting, tag="alerting"),
    expose("PUT", "/api/v1/alerting", ops.update_alerting, tag="alerting"),
    # message types and templates
    expose("GET", "/api/v1/message-types", ops.list_message_types, tag="templates"),
    expose("PUT", "/api/v1/templates/<message_type>/<channel>", ops.save_template, tag="templates"),
    expose(
        "DELETE", "/api/v1/templates/<message_type>/<channel>", ops.delete_template, tag="templates"
    ),
    expose("POST", "/api/v1/templates/preview", ops.preview_template, tag="templates"),
    # preferences
    expose("GET", "/api/v1/preferences", ops.get_preferences, tag="preferences"),
    expose("PUT", "/api/v1/preferences/quiet-hours", ops.set_quiet_hours, tag="preferences"),
    expose("PUT", "/api/v1/preferences/<message_type>", ops.set_preference, tag="preferences"),
    # delivery log and scheduled messages
    expose("GET", "/api/v1/deliveries", ops.list_deliveries, tag="notifications"),
    expose(
        "POST", "/api/v1/scheduled-messages", ops.schedule_message, tag="notifications", status=201
    ),
    expose("GET", "/api/v1/scheduled-messages", ops.list_scheduled, tag="notifications"),
    expose("DELETE", "/api/v1/scheduled-messages/<key>", ops.cancel_scheduled, tag="notifications"),
    # department subscriptions: the centers are the token's grant, not ?center=
    expose(
        "POST",
        "/api/v1/subscriptions",
        ops.create_subscription,
        tag="subscriptions",
        status=201,
        across_centers=True,
    ),
    expose(
        "GET",
        "/api/v1/subscriptions",
        ops.list_subscriptions,
        tag="subscriptions",
        across_centers=True,
    ),
    expose(
        "GET",
        "/api/v1/subscriptions/<subscription_id>",
        ops.get_subscription,
        tag="subscriptions",
        across_centers=True,
    ),
    expose(
        "PATCH",
        "/api/v1/subscriptions/<subscription_id>",
        ops.update_subscription,
        tag="subscriptions",
        across_centers=True,
    ),
    expose(
        "DELETE",
        "/api/v1/subscriptions/<subscription_id>",
        ops.delete_subscription,
        tag="subscriptions",
        across_centers=True,
    ),
    expose(
        "POST",
        "/api/v1/subscriptions/<subscription_id>/rotate-secret",
        ops.rotate_subscription_secret,
        tag="subscriptions",
        across_centers=True,
    ),
    expose(
        "POST",
        "/api/v1/subscriptions/<subscription_id>/replay",
        ops.replay_subscription,
        tag="subscriptions",
        status=202,
        across_centers=True,
    ),
    expose(
        "GET",
        "/api/v1/subscriptions/<subscription_id>/deliveries",
        ops.list_subscription_deliveries,
        tag="subscriptions",
        across_centers=True,
    ),
]


class NotificationRoutes(GatewayBase):
    @route("GET", "/api/v1/templates", op=ops.list_templates, tag="templates")
    def list_templates(self, req: ApiRequest) -> Any:
        # Not exposed: ?message_type= is passed as a plain argument, never validated here.
        return call(
            self.notify_rpc.list_templates, req.center, req.request.args.get("message_type")
        )

    @http("GET", "/api/v1/asyncapi.json")
    def asyncapi_document(self, request: Request) -> Response:
        """AsyncAPI 3 of every event type on the bus, generated from the contract catalogue."""
        return json_response(asyncapi())
