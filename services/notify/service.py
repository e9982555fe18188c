"""NotifyService: the directory, telling people what happened, and department subscriptions.

Entrypoints only: check the caller against the operation, load with the contract, call the
domain, commit, dump. The event handlers are in :mod:`services.notify.handlers`; the
timers below hand sending to the :class:`~services.notify.dispatch.Dispatcher`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from nameko.rpc import RpcProxy

from lianxin.auth import Caller
from lianxin.centers import CenterScoped
from lianxin.clock import now_utc
from lianxin.concurrency import if_match_guard
from lianxin.contracts.notify import operations as ops
from lianxin.contracts.schema import dump, dump_page, load
from lianxin.db import Database
from lianxin.health import HealthCheck
from lianxin.housekeeping import Housekeeping
from lianxin.metrics import Metrics
from lianxin.operations import Operation
from lianxin.roles import Principal
from lianxin.rpc import rpc
from lianxin.timer import timer
from lianxin.tracing import Tracing
from services.notify import (
    alerting,
    copying,
    deliveries,
    directory,
    inbox,
    messages,
    preferences,
    schedule,
    sign_in,
    subscriptions,
    templates,
    webhooks,
)
from services.notify.cache import Cache
from services.notify.centers import Centers
from services.notify.dispatch import Dispatcher
from services.notify.handlers import EventHandlers
from services.notify.models import Base


class NotifyService(EventHandlers, CenterScoped, HealthCheck):
    name = "notify"

    db: Any = Database(Base.metadata)
    housekeeping = Housekeeping()
    caller: Any = Caller()
    metrics: Any = Metrics()
    tracing = Tracing()
    dispatcher: Any = Dispatcher()
    cache: Any = Cache()
    centers: Any = Centers()
    tickets_rpc: Any = RpcProxy("tickets")

    # -- onboarding a center (tickets orchestrates it) ---------------------------------------

    @rpc
    def copy_center(
        self, template_id: str, center_id: str, admin: dict[str, Any]
    ) -> dict[str, int]:
        """A new center's message templates (the template's own wordings) and its first
        admin's directory entry (part of the tickets operation ``onboard_center``)."""
        self.onboarding(template_id, center_id)
        contact = load(ops.ContactCreate, {**admin, "role": "admin"})
        copied = copying.copy_center(
            db_session=self.db, template_id=template_id, center_id=center_id, admin=contact
        )
        self.db.commit()
        return copied

    @rpc
    def drop_center_copy(self, center_id: str) -> dict[str, int]:
        """Undo :meth:`copy_center` of an onboarding that failed later on."""
        self.undoing(center_id)
        dropped = copying.drop_copy(db_session=self.db, center_id=center_id)
        self.db.commit()
        return dropped

    # -- directory -------------------------------------------------------------------------

    @rpc
    def person_by_phone(self, center_id: str, phone: str, role: str) -> dict[str, Any] | None:
        """For accounts: the directory's person of ``role`` with that phone (None: nobody)."""
        found = sign_in.person_by_phone(
            db_session=self.db, center_id=center_id, phone=phone, role=role
        )
        return dump(ops.PersonFound, found) if found else None

    @rpc
    def send_sign_in_code(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """For accounts: a sign-in code by SMS, sent before the answer."""
        data = load(ops.SignInCode, payload)
        sign_in.send_code(channels=self.dispatcher.channels, center_id=center_id, **data)
        return {"sent": True}

    @rpc
    def remember_reporter(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """For the gateway's intake: a reporter's contact, kept under their person id."""
        contact = sign_in.remember_reporter(
            db_session=self.db, center_id=center_id, data=load(ops.ReporterIn, payload)
        )
        self.db.commit()
        return dump(ops.ContactRead, contact)

    @rpc
    def upsert_contact(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Add or replace a person's contact data."""
        self.require(center_id, ops.upsert_contact)
        contact = directory.upsert_contact(
            db_session=self.db, center_id=center_id, data=load(ops.ContactCreate, payload)
        )
        self.db.commit()
        return dump(ops.ContactRead, contact)

    @rpc
    def update_contact(
        self, center_id: str, person_id: str, payload: dict[str, Any], if_match: str | None = None
    ) -> dict[str, Any]:
        """Change a person's contact data (staff for anyone; a person their own, but not
        their role or party)."""
        data = load(ops.ContactUpdate, payload)
        principal = self.require(center_id, ops.update_contact)
        ops.update_contact.authorize(principal, ops.Concerning(person_id, frozenset(data)))
        contact = directory.update_contact(
            db_session=self.db,
            center_id=center_id,
            person_id=person_id,
            data=data,
            guard=if_match_guard(if_match, lambda row: dump(ops.ContactRead, row)),
        )
        self.db.commit()
        return dump(ops.ContactRead, contact)

    @rpc
    def get_contact(self, center_id: str, person_id: str) -> dict[str, Any]:
        principal = self.require(center_id, ops.get_contact)
        ops.get_contact.authorize(principal, ops.Concerning(person_id))
        return dump(
            ops.ContactRead,
            directory.get_contact(db_session=self.db, center_id=center_id, person_id=person_id),
        )

    @rpc
    def list_contacts(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        self.require(center_id, ops.list_contacts)
        q = load(ops.ContactQuery, query or {})
        items, total = directory.list_contacts(db_session=self.db, center_id=center_id, query=q)
        return dump_page(ops.ContactList, items, total, q)

    @rpc
    def delete_contact(self, center_id: str, person_id: str) -> dict[str, Any]:
        self.require(center_id, ops.delete_contact)
        contact = directory.delete_contact(
            db_session=self.db, center_id=center_id, person_id=person_id
        )
        self.db.commit()
        return dump(ops.ContactRead, contact)

    @rpc
    def check_reachable(self, center_id: str, person_id: str) -> dict[str, Any]:
        """Whether a person can be reached beyond the inbox (who the roster may name)."""
        self.require(center_id, ops.check_reachable)
        return dump(
            ops.ReachabilityRead,
            directory.check_reachable(db_session=self.db, center_id=center_id, person_id=person_id),
        )

    # -- the center's alerting chain -------------------------------------------------------

    @rpc
    def get_alerting(self, center_id: str) -> dict[str, Any]:
        self.require(center_id, ops.get_alerting)
        return dump(
            ops.AlertingRead, alerting.get_alerting(db_session=self.db, center_id=center_id)
        )

    @rpc
    def update_alerting(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Who is alerted when nobody on duty can be reached, and at the third level."""
        principal = self.require(center_id, ops.update_alerting)
        alerting.update_alerting(
            db_session=self.db,
            center_id=center_id,
            data=load(ops.AlertingSave, payload),
            by=principal.sub,
        )
        self.db.commit()
        return dump(
            ops.AlertingRead, alerting.get_alerting(db_session=self.db, center_id=center_id)
        )

    # -- inbox -----------------------------------------------------------------------------

    @rpc
    def list_notifications(
        self, center_id: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.list_notifications)
        q = load(ops.NotificationQuery, query or {})
        items, total, unread = inbox.list_notifications(
            db_session=self.db,
            center_id=center_id,
            role=ops.inbox_role(principal),
            person_id=principal.sub,
            query=q,
        )
        return dump(
            ops.NotificationList,
            {
                "items": items,
                "total": total,
                "unread": unread,
                "limit": q["limit"],
                "offset": q["offset"],
            },
        )

    @rpc
    def unread_count(self, center_id: str) -> dict[str, Any]:
        principal = self.require(center_id, ops.unread_count)
        return {
            "unread": inbox.unread_count(
                db_session=self.db,
                center_id=center_id,
                role=ops.inbox_role(principal),
                person_id=principal.sub,
            )
        }

    @rpc
    def mark_notification_read(self, center_id: str, notification_id: str) -> dict[str, Any]:
        principal = self.require(center_id, ops.mark_notification_read)
        note = inbox.mark_read(
            db_session=self.db,
            center_id=center_id,
            role=ops.inbox_role(principal),
            person_id=principal.sub,
            notification_id=notification_id,
        )
        self.db.commit()
        return dump(ops.NotificationRead, note)

    @rpc
    def mark_all_notifications_read(self, center_id: str) -> dict[str, Any]:
        principal = self.require(center_id, ops.mark_all_notifications_read)
        marked = inbox.mark_all_read(
            db_session=self.db,
            center_id=center_id,
            role=ops.inbox_role(principal),
            person_id=principal.sub,
        )
        self.db.commit()
        return {"marked": marked}

    # -- message types and templates -------------------------------------------------------

    @rpc
    def list_message_types(self, center_id: str) -> list[dict[str, Any]]:
        self.require(center_id, ops.list_message_types)
        return dump(
            ops.MessageTypeRead,
            [
                {
                    "type": m.code,
                    "name": m.name,
                    "critical": m.critical,
                    "default_channels": ["in_app", *m.channels],
                    "variables": m.all_variables(),
                }
                for m in messages.TYPES.values()
            ],
            many=True,
        )

    @rpc
    def list_templates(
        self, center_id: str, message_type: str | None = None
    ) -> list[dict[str, Any]]:
        self.require(center_id, ops.list_templates)
        if message_type:
            templates.require_type(message_type)
        return dump(
            ops.TemplateRead,
            templates.list_templates(
                db_session=self.db, center_id=center_id, message_type=message_type
            ),
            many=True,
        )

    @rpc
    def save_template(
        self, center_id: str, message_type: str, channel: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """A center's own wording; refused (422, with the reason) unless it renders."""
        principal = self.require(center_id, ops.save_template)
        templates.save_template(
            db_session=self.db,
            center_id=center_id,
            message_type=message_type,
            channel=channel,
            data=load(ops.TemplateSave, payload),
            by=principal.sub,
        )
        self.db.commit()
        return dump(
            ops.TemplateRead,
            templates.effective_template(
                db_session=self.db, center_id=center_id, message_type=message_type, channel=channel
            ),
        )

    @rpc
    def delete_template(self, center_id: str, message_type: str, channel: str) -> dict[str, Any]:
        self.require(center_id, ops.delete_template)
        result = templates.delete_template(
            db_session=self.db, center_id=center_id, message_type=message_type, channel=channel
        )
        self.db.commit()
        return dump(ops.TemplateRead, result)

    @rpc
    def preview_template(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.require(center_id, ops.preview_template)
        return templates.preview_template(
            db_session=self.db, center_id=center_id, data=load(ops.TemplatePreview, payload)
        )

    # -- preferences -----------------------------------------------------------------------

    @rpc
    def get_preferences(self, center_id: str, person_id: str | None = None) -> dict[str, Any]:
        """A person's settings (the caller's own, unless staff name someone)."""
        principal = self.require(center_id, ops.get_preferences)
        ops.get_preferences.authorize(principal, ops.Concerning(person_id))
        return dump(
            ops.PreferencesRead,
            preferences.get_preferences(
                db_session=self.db,
                center_id=center_id,
                person_id=person_id or principal.sub,
                settings=self.dispatcher.settings,
            ),
        )

    @rpc
    def set_preference(
        self, center_id: str, message_type: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """The caller's own channels / mute for one message type (``*``: all types)."""
        principal = self.require(center_id, ops.set_preference)
        pref = preferences.set_preference(
            db_session=self.db,
            center_id=center_id,
            person_id=principal.sub,
            message_type=message_type,
            data=load(ops.PreferenceSet, payload),
        )
        self.db.commit()
        mt = messages.get(message_type)
        return dump(
            ops.PreferenceRead,
            {
                "message_type": pref.message_type,
                "channels": pref.channels,
                "muted": pref.muted,
                "critical": bool(mt and mt.critical),
            },
        )

    @rpc
    def set_quiet_hours(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        principal = self.require(center_id, ops.set_quiet_hours)
        preferences.set_quiet_hours(
            db_session=self.db,
            center_id=center_id,
            person_id=principal.sub,
            data=load(ops.QuietHoursSet, payload),
        )
        self.db.commit()
        return dump(
            ops.QuietHoursRead,
            preferences.get_quiet_hours(
                db_session=self.db,
                center_id=center_id,
                person_id=principal.sub,
                settings=self.dispatcher.settings,
            ),
        )

    # -- delivery log ----------------------------------------------------------------------

    @rpc
    def list_deliveries(
        self, center_id: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The delivery log, per person and per event (a person may read their own)."""
        q = load(ops.DeliveryQuery, query or {})
        principal = self.require(center_id, ops.list_deliveries)
        ops.list_deliveries.authorize(principal, ops.Concerning(q.get("person_id")))
        if not ops.sees_anyone(principal):
            q["person_id"] = principal.sub
        items, total = deliveries.list_deliveries(db_session=self.db, center_id=center_id, query=q)
        return dump_page(ops.DeliveryList, items, total, q)

    # -- scheduled messages ----------------------------------------------------------------

    @rpc
    def schedule_message(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Ask for a message at a time (staff for anyone; a person for themselves)."""
        data = load(ops.ScheduledMessageCreate, payload)
        principal = self.require(center_id, ops.schedule_message)
        ops.schedule_message.authorize(principal, data)
        row = schedule.schedule_message(db_session=self.db, center_id=center_id, data=data)
        self.db.commit()
        return dump(ops.ScheduledMessageRead, row)

    @rpc
    def cancel_scheduled(self, center_id: str, key: str) -> dict[str, Any]:
        principal = self.require(center_id, ops.cancel_scheduled)
        row = schedule.cancel_scheduled(db_session=self.db, center_id=center_id, key=key)
        ops.cancel_scheduled.authorize(principal, row)  # refused: rolled back, never committed
        self.db.commit()
        return dump(ops.ScheduledMessageRead, row)

    @rpc
    def list_scheduled(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        q = load(ops.ScheduledQuery, query or {})
        principal = self.require(center_id, ops.list_scheduled)
        ops.list_scheduled.authorize(principal, ops.Concerning(q.get("person_id")))
        if not ops.sees_anyone(principal):
            q["person_id"] = principal.sub
        items, total = schedule.list_scheduled(db_session=self.db, center_id=center_id, query=q)
        return dump_page(ops.ScheduledList, items, total, q)

    # -- department subscriptions (across the centers the token grants) --------------------

    def _subscriber(self, op: Operation, centers: Iterable[str]) -> Principal:
        """The caller of ``op``, if the centers a subscription names that the caller's grant
        allows are ones tickets knows (the grant refuses the others)."""
        principal = self.caller.require_across(op)
        self.centers.require_each(c for c in centers if principal.may_act_for(c))
        return principal

    @rpc
    def create_subscription(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A webhook for the caller's centers; the answer is the only time the secret is shown."""
        data = load(ops.SubscriptionCreate, payload)
        principal = self._subscriber(ops.create_subscription, data.centers)
        sub = subscriptions.create_subscription(
            db_session=self.db,
            principal=principal,
            data=data,
            guard=self.dispatcher.settings.webhook_guard,
        )
        self.db.commit()
        return dump(ops.SubscriptionCreated, sub)

    @rpc
    def list_subscriptions(self) -> dict[str, Any]:
        principal = self.caller.require_across(ops.list_subscriptions)
        items = subscriptions.list_subscriptions(db_session=self.db, principal=principal)
        return dump(ops.SubscriptionList, {"items": items, "total": len(items)})

    @rpc
    def get_subscription(self, subscription_id: str) -> dict[str, Any]:
        principal = self.caller.require_across(ops.get_subscription)
        return dump(
            ops.SubscriptionRead,
            subscriptions.get_subscription(
                db_session=self.db, principal=principal, subscription_id=subscription_id
            ),
        )

    @rpc
    def update_subscription(self, subscription_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(ops.SubscriptionUpdate, payload)
        principal = self._subscriber(ops.update_subscription, data.get("centers", ()))
        sub = subscriptions.update_subscription(
            db_session=self.db,
            principal=principal,
            subscription_id=subscription_id,
            data=data,
            guard=self.dispatcher.settings.webhook_guard,
        )
        self.db.commit()
        return dump(ops.SubscriptionRead, sub)

    @rpc
    def delete_subscription(self, subscription_id: str) -> dict[str, Any]:
        principal = self.caller.require_across(ops.delete_subscription)
        sub = subscriptions.delete_subscription(
            db_session=self.db, principal=principal, subscription_id=subscription_id
        )
        self.db.commit()
        return dump(ops.SubscriptionRead, sub)

    @rpc
    def rotate_subscription_secret(self, subscription_id: str) -> dict[str, Any]:
        principal = self.caller.require_across(ops.rotate_subscription_secret)
        sub, until = subscriptions.rotate_secret(
            db_session=self.db, principal=principal, subscription_id=subscription_id
        )
        self.db.commit()
        return dump(
            ops.SecretRotated, {"id": sub.id, "secret": sub.secret, "previous_valid_until": until}
        )

    @rpc
    def replay_subscription(self, subscription_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        window = load(ops.ReplayRequest, payload)
        principal = self.caller.require_across(ops.replay_subscription)
        replay_id, count = subscriptions.replay(
            db_session=self.db,
            principal=principal,
            subscription_id=subscription_id,
            start=window.start,
            end=window.end,
        )
        self.db.commit()
        return {"replay_id": replay_id, "events": count}

    @rpc
    def list_subscription_deliveries(
        self, subscription_id: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        q = load(ops.WebhookDeliveryQuery, query or {})
        principal = self.caller.require_across(ops.list_subscription_deliveries)
        items, total = subscriptions.list_deliveries(
            db_session=self.db, principal=principal, subscription_id=subscription_id, query=q
        )
        return dump_page(ops.WebhookDeliveryList, items, total, q)

    # -- timers: never sleep in a worker; claim, hand to a pool, return --------------------

    @timer("NOTIFY_SEND_MESSAGES_SECONDS", default=0.5)
    def send_due_messages(self) -> None:
        self.dispatcher.dispatch_people()

    @timer("NOTIFY_SEND_WEBHOOKS_SECONDS", default=0.5)
    def send_due_webhooks(self) -> None:
        self.dispatcher.dispatch_webhooks()

    @timer("NOTIFY_SEND_SCHEDULED_SECONDS", default=1)
    def send_scheduled(self) -> None:
        """Scheduled messages whose time has come become deliveries (survives restarts)."""
        outcomes = schedule.send_due_scheduled(
            db_session=self.db,
            now=now_utc(),
            settings=self.dispatcher.settings,
            directory=directory.Directory(
                self.db,
                cache=self.cache,
                center_names=self.centers.reader(self.tickets_rpc.get_center),
            ),
        )
        self.db.commit()
        self.dispatcher.count(outcomes)

    @timer("NOTIFY_GAUGES_SECONDS", default=15)
    def update_gauges(self) -> None:
        self.dispatcher.update_gauges()

    @timer("NOTIFY_ORPHANS_SECONDS", default=15)
    def withdraw_orphaned_webhooks(self) -> None:
        """Deliveries fanned out to a subscription just disabled (by a cached list) are withdrawn."""
        webhooks.cancel_orphans(db_session=self.db, now=now_utc())
        self.db.commit()

    @timer("NOTIFY_PURGE_SECONDS", default=3600)
    def purge_event_log(self) -> None:
        days = int(self.dispatcher.container.config.get("EVENT_LOG_RETENTION_DAYS", 90))
        webhooks.purge_events(db_session=self.db, before=now_utc() - timedelta(days=days))
        self.db.commit()
