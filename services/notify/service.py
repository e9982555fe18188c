"""NotifyService: the directory, telling people what happened, and department subscriptions.

Entrypoints only: check the caller, validate with the contract, call the domain, commit,
dump. Notify receives *every* event type of the catalogue — one idempotent
``@event_handler`` per type, generated below — because departments may subscribe to
any of them; :mod:`services.notify.planner` decides who is told what.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from nameko.timer import timer

from lianxin.auth import Caller
from lianxin.consumer import event_handler
from lianxin.contracts import EventType, load_catalogue
from lianxin.contracts.notify import operations as nt
from lianxin.contracts.schema import load
from lianxin.db import Database
from lianxin.errors import EXPECTED, Forbidden, Unauthenticated
from lianxin.health import HealthCheck
from lianxin.metrics import Metrics
from lianxin.roles import Principal
from lianxin.rpc import rpc
from services.notify import domain, messages, planner, subscriptions
from services.notify.cache import Cache
from services.notify.dispatch import Dispatcher
from services.notify.models import Base

INBOX_ROLES = ("resident", "volunteer", "staff", "admin")
STAFF = ("staff", "admin")
SUBSCRIBERS = ("department", "ops", "admin")
#: Events of one type handled in one transaction at most (see :mod:`lianxin.consumer`: the
#: kit caps it at half of ``max_workers``, the consumer's prefetch; notify runs 20).
EVENT_BATCH = 10

_contact_create, _contact_update, _contact_read = nt.ContactCreate(), nt.ContactUpdate(), nt.ContactRead()
_sub_read, _sub_created = nt.SubscriptionRead(), nt.SubscriptionCreated()


class NotifyService(HealthCheck):
    name = "notify"

    db = Database(Base.metadata)
    caller = Caller()
    metrics = Metrics()
    dispatcher = Dispatcher()
    cache = Cache()

    def _member(self, center_id: str, person_id: str | None = None,
                others: tuple[str, ...] = STAFF) -> Principal:
        """The caller, acting on ``person_id``: themselves, or anyone if their role is in ``others``."""
        principal = self.caller.require(center_id, roles=(*INBOX_ROLES, "ops"))
        if principal.role in others or principal.role == "ops" or person_id in (None, principal.sub):
            return principal
        raise Forbidden("只能查看或修改本人的信息", code="PERSON_FORBIDDEN")

    def _subscriber(self) -> Principal:
        principal = self.caller.principal
        if principal is None:
            raise Unauthenticated()
        if principal.role not in SUBSCRIBERS:
            raise Forbidden(f"角色 {principal.role} 无权管理事件订阅", code="ROLE_FORBIDDEN")
        return principal

    # -- directory -------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def upsert_contact(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Add or replace a person's contact data (staff for anyone; a resident for themselves)."""
        data = load(_contact_create, payload)
        principal = self._member(center_id, data["person_id"], others=("admin", "staff"))
        if principal.role not in ("admin", "staff", "ops") and data["role"] != principal.role:
            raise Forbidden("不能为自己登记其他角色", code="ROLE_FORBIDDEN")
        contact = domain.upsert_contact(db_session=self.db, center_id=center_id, data=data)
        self.db.commit()
        return _contact_read.dump(contact)

    @rpc(expected_exceptions=EXPECTED)
    def update_contact(self, center_id: str, person_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(_contact_update, payload)
        principal = self._member(center_id, person_id)
        if principal.role not in ("admin", "staff", "ops") and ({"role", "party"} & set(data)):
            raise Forbidden("角色和所属单位由工作人员维护", code="ROLE_FORBIDDEN")
        contact = domain.update_contact(db_session=self.db, center_id=center_id, person_id=person_id,
                                        data=data)
        self.db.commit()
        return _contact_read.dump(contact)

    @rpc(expected_exceptions=EXPECTED)
    def get_contact(self, center_id: str, person_id: str) -> dict[str, Any]:
        self._member(center_id, person_id)
        return _contact_read.dump(domain.get_contact(db_session=self.db, center_id=center_id,
                                                     person_id=person_id))

    @rpc(expected_exceptions=EXPECTED)
    def list_contacts(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        self.caller.require(center_id, roles=(*STAFF, "ops"))
        q = load(nt.ContactQuery(), query or {})
        items, total = domain.list_contacts(db_session=self.db, center_id=center_id, query=q)
        return nt.ContactList().dump({"items": items, "total": total, "limit": q["limit"],
                                      "offset": q["offset"]})

    @rpc(expected_exceptions=EXPECTED)
    def delete_contact(self, center_id: str, person_id: str) -> dict[str, Any]:
        self.caller.require(center_id, roles=("admin", "ops"))
        contact = domain.delete_contact(db_session=self.db, center_id=center_id, person_id=person_id)
        self.db.commit()
        return _contact_read.dump(contact)

    # -- inbox -----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def list_notifications(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=INBOX_ROLES)
        q = load(nt.NotificationQuery(), query or {})
        items, total, unread = domain.list_notifications(
            db_session=self.db, center_id=center_id, role=principal.role,
            person_id=principal.sub, query=q)
        return nt.NotificationList().dump({"items": items, "total": total, "unread": unread,
                                           "limit": q["limit"], "offset": q["offset"]})

    @rpc(expected_exceptions=EXPECTED)
    def unread_count(self, center_id: str) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=INBOX_ROLES)
        return {"unread": domain.unread_count(db_session=self.db, center_id=center_id,
                                              role=principal.role, person_id=principal.sub)}

    @rpc(expected_exceptions=EXPECTED)
    def mark_notification_read(self, center_id: str, notification_id: str) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=INBOX_ROLES)
        note = domain.mark_read(db_session=self.db, center_id=center_id, role=principal.role,
                                person_id=principal.sub, notification_id=notification_id)
        self.db.commit()
        return nt.NotificationRead().dump(note)

    @rpc(expected_exceptions=EXPECTED)
    def mark_all_notifications_read(self, center_id: str) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=INBOX_ROLES)
        marked = domain.mark_all_read(db_session=self.db, center_id=center_id, role=principal.role,
                                      person_id=principal.sub)
        self.db.commit()
        return {"marked": marked}

    # -- message types and templates -------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def list_message_types(self, center_id: str) -> list[dict[str, Any]]:
        self.caller.require(center_id, roles=(*INBOX_ROLES, "ops"))
        return nt.MessageTypeRead(many=True).dump([
            {"type": m.code, "name": m.name, "critical": m.critical,
             "default_channels": ["in_app", *m.channels], "variables": m.all_variables()}
            for m in messages.TYPES.values()])

    @rpc(expected_exceptions=EXPECTED)
    def list_templates(self, center_id: str, message_type: str | None = None) -> list[dict[str, Any]]:
        self.caller.require(center_id, roles=(*STAFF, "ops"))
        if message_type:
            domain.require_type(message_type)
        return nt.TemplateRead(many=True).dump(domain.list_templates(
            db_session=self.db, center_id=center_id, message_type=message_type))

    @rpc(expected_exceptions=EXPECTED)
    def save_template(self, center_id: str, message_type: str, channel: str,
                      payload: dict[str, Any]) -> dict[str, Any]:
        """A center's own wording; refused (422, with the reason) unless it renders."""
        principal = self.caller.require(center_id, roles=("admin", "ops"))
        domain.save_template(db_session=self.db, center_id=center_id, message_type=message_type,
                             channel=channel, data=load(nt.TemplateSave(), payload), by=principal.sub)
        self.db.commit()
        return nt.TemplateRead().dump(domain.effective_template(
            db_session=self.db, center_id=center_id, message_type=message_type, channel=channel))

    @rpc(expected_exceptions=EXPECTED)
    def delete_template(self, center_id: str, message_type: str, channel: str) -> dict[str, Any]:
        self.caller.require(center_id, roles=("admin", "ops"))
        result = domain.delete_template(db_session=self.db, center_id=center_id,
                                        message_type=message_type, channel=channel)
        self.db.commit()
        return nt.TemplateRead().dump(result)

    @rpc(expected_exceptions=EXPECTED)
    def preview_template(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=(*STAFF, "ops"))
        return domain.preview_template(db_session=self.db, center_id=center_id,
                                       data=load(nt.TemplatePreview(), payload))

    # -- preferences -----------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def get_preferences(self, center_id: str, person_id: str | None = None) -> dict[str, Any]:
        principal = self._member(center_id, person_id)
        return nt.PreferencesRead().dump(domain.get_preferences(
            db_session=self.db, center_id=center_id, person_id=person_id or principal.sub,
            settings=self.dispatcher.settings))

    @rpc(expected_exceptions=EXPECTED)
    def set_preference(self, center_id: str, message_type: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The caller's own channels / mute for one message type (``*``: all types)."""
        principal = self.caller.require(center_id, roles=INBOX_ROLES)
        pref = domain.set_preference(db_session=self.db, center_id=center_id, person_id=principal.sub,
                                     message_type=message_type, data=load(nt.PreferenceSet(), payload))
        self.db.commit()
        mt = messages.get(message_type)
        return nt.PreferenceRead().dump({"message_type": pref.message_type, "channels": pref.channels,
                                         "muted": pref.muted, "critical": bool(mt and mt.critical)})

    @rpc(expected_exceptions=EXPECTED)
    def set_quiet_hours(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=INBOX_ROLES)
        domain.set_quiet_hours(db_session=self.db, center_id=center_id, person_id=principal.sub,
                               data=load(nt.QuietHoursSet(), payload))
        self.db.commit()
        return nt.QuietHoursRead().dump(domain.get_quiet_hours(
            db_session=self.db, center_id=center_id, person_id=principal.sub,
            settings=self.dispatcher.settings))

    # -- delivery log ----------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def list_deliveries(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """The delivery log, per person and per event (a person may read their own)."""
        q = load(nt.DeliveryQuery(), query or {})
        principal = self._member(center_id, q.get("person_id"))
        if principal.role not in (*STAFF, "ops"):
            q["person_id"] = principal.sub
        items, total = domain.list_deliveries(db_session=self.db, center_id=center_id, query=q)
        return nt.DeliveryList().dump({"items": items, "total": total, "limit": q["limit"],
                                       "offset": q["offset"]})

    # -- scheduled messages ----------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def schedule_message(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Ask for a message at a time (staff for anyone; a person for themselves)."""
        data = load(nt.ScheduledMessageCreate(), payload)
        self._member(center_id, data["person_id"])
        row = domain.schedule_message(db_session=self.db, center_id=center_id, data=data)
        self.db.commit()
        return nt.ScheduledMessageRead().dump(row)

    @rpc(expected_exceptions=EXPECTED)
    def cancel_scheduled(self, center_id: str, key: str) -> dict[str, Any]:
        self.caller.require(center_id, roles=(*INBOX_ROLES, "ops"))
        row = domain.cancel_scheduled(db_session=self.db, center_id=center_id, key=key)
        self._member(center_id, row.person_id)
        self.db.commit()
        return nt.ScheduledMessageRead().dump(row)

    @rpc(expected_exceptions=EXPECTED)
    def list_scheduled(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        q = load(nt.ScheduledQuery(), query or {})
        principal = self._member(center_id, q.get("person_id"))
        if principal.role not in (*STAFF, "ops"):
            q["person_id"] = principal.sub
        items, total = domain.list_scheduled(db_session=self.db, center_id=center_id, query=q)
        return nt.ScheduledList().dump({"items": items, "total": total, "limit": q["limit"],
                                        "offset": q["offset"]})

    # -- department subscriptions ----------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def create_subscription(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A webhook for the caller's centers; the answer is the only time the secret is shown."""
        principal = self._subscriber()
        sub = subscriptions.create_subscription(db_session=self.db, principal=principal,
                                                data=load(nt.SubscriptionCreate(), payload))
        self.db.commit()
        return _sub_created.dump(sub)

    @rpc(expected_exceptions=EXPECTED)
    def list_subscriptions(self) -> dict[str, Any]:
        items = subscriptions.list_subscriptions(db_session=self.db, principal=self._subscriber())
        return nt.SubscriptionList().dump({"items": items, "total": len(items)})

    @rpc(expected_exceptions=EXPECTED)
    def get_subscription(self, subscription_id: str) -> dict[str, Any]:
        return _sub_read.dump(subscriptions.get_subscription(
            db_session=self.db, principal=self._subscriber(), subscription_id=subscription_id))

    @rpc(expected_exceptions=EXPECTED)
    def update_subscription(self, subscription_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        principal = self._subscriber()
        sub = subscriptions.update_subscription(db_session=self.db, principal=principal,
                                                subscription_id=subscription_id,
                                                data=load(nt.SubscriptionUpdate(), payload))
        self.db.commit()
        return _sub_read.dump(sub)

    @rpc(expected_exceptions=EXPECTED)
    def delete_subscription(self, subscription_id: str) -> dict[str, Any]:
        sub = subscriptions.delete_subscription(db_session=self.db, principal=self._subscriber(),
                                                subscription_id=subscription_id)
        self.db.commit()
        return _sub_read.dump(sub)

    @rpc(expected_exceptions=EXPECTED)
    def rotate_subscription_secret(self, subscription_id: str) -> dict[str, Any]:
        sub, until = subscriptions.rotate_secret(db_session=self.db, principal=self._subscriber(),
                                                 subscription_id=subscription_id)
        self.db.commit()
        return nt.SecretRotated().dump({"id": sub.id, "secret": sub.secret,
                                        "previous_valid_until": until})

    @rpc(expected_exceptions=EXPECTED)
    def replay_subscription(self, subscription_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(nt.ReplayRequest(), payload)
        replay_id, count = subscriptions.replay(db_session=self.db, principal=self._subscriber(),
                                                subscription_id=subscription_id,
                                                start=data["start"], end=data["end"])
        self.db.commit()
        return {"replay_id": replay_id, "events": count}

    @rpc(expected_exceptions=EXPECTED)
    def list_subscription_deliveries(self, subscription_id: str,
                                     query: dict[str, Any] | None = None) -> dict[str, Any]:
        q = load(nt.WebhookDeliveryQuery(), query or {})
        items, total = subscriptions.list_deliveries(db_session=self.db, principal=self._subscriber(),
                                                     subscription_id=subscription_id, query=q)
        return nt.WebhookDeliveryList().dump({"items": items, "total": total, "limit": q["limit"],
                                              "offset": q["offset"]})

    # -- timers: never sleep in a worker; claim, hand to a pool, return --------------------

    @timer(interval=0.5)
    def send_due_messages(self) -> None:
        self.dispatcher.dispatch_people()

    @timer(interval=0.5)
    def send_due_webhooks(self) -> None:
        self.dispatcher.dispatch_webhooks()

    @timer(interval=1)
    def send_scheduled(self) -> None:
        """Scheduled messages whose time has come become deliveries (survives restarts)."""
        outcomes = domain.send_due_scheduled(db_session=self.db, now=domain.now_utc(),
                                             settings=self.dispatcher.settings,
                                             directory=domain.Directory(self.db, cache=self.cache))
        self.db.commit()
        self.dispatcher.count(outcomes)

    @timer(interval=15)
    def update_gauges(self) -> None:
        self.dispatcher.update_gauges()

    @timer(interval=15)
    def withdraw_orphaned_webhooks(self) -> None:
        """Deliveries fanned out to a subscription just disabled (by a cached list) are withdrawn."""
        subscriptions.cancel_orphans(db_session=self.db, now=domain.now_utc())
        self.db.commit()

    @timer(interval=3600)
    def purge_event_log(self) -> None:
        days = int(self.dispatcher.container.config.get("EVENT_LOG_RETENTION_DAYS", 90))
        subscriptions.purge_events(db_session=self.db, before=domain.now_utc() - timedelta(days=days))
        self.db.commit()

    # -- events ----------------------------------------------------------------------------

    def handle_event(self, event: dict[str, Any]) -> None:
        """Tell the people it concerns, keep the event for subscriptions, queue its webhooks
        (:meth:`handle_events` for one event)."""
        self.handle_events([event])

    def handle_events(self, events: list[dict[str, Any]]) -> None:
        """What :meth:`handle_event` does, for a batch of events: the same rows, the same
        outcomes counted. The kit commits this with the events' processed marks.

        The hot path: who is told and how (directory, preferences, quiet hours, templates,
        subscriptions) comes from the cache; the wording is rendered once per channel; all
        of it before the first write. Then three INSERTs for the whole batch — the
        deliveries, the events, their webhooks — and the reminders the plans ask for.
        Sending happens later, in the timers."""
        now = domain.now_utc()
        planned = [domain.Planned(e["centerid"], e["id"], e["type"], planner.plan_event(e, now))
                   for e in events]
        bodies = [subscriptions.envelope(e) for e in events]
        active = subscriptions.active_subscriptions(db_session=self.db, cache=self.cache)
        outcomes = domain.apply_plans(db_session=self.db, planned=planned, now=now,
                                      settings=self.dispatcher.settings,
                                      directory=domain.Directory(self.db, cache=self.cache))
        subscriptions.archive_events(db_session=self.db, bodies=bodies, now=now)
        subscriptions.fan_out_events(db_session=self.db, events=bodies, now=now, active=active)
        self.dispatcher.count(outcomes)


def handler_name(etype: EventType) -> str:
    """``handle_tickets_ticket_created`` for ``cn.lianxin.tickets.ticket.created.v1``."""
    _cn, _lianxin, service, noun, verb, version = etype.split(".")
    suffix = "" if version == "v1" else f"_{version}"
    return f"handle_{service}_{noun}_{verb}{suffix}"


def _subscribe_to_every_event_type() -> None:
    """One idempotent ``@event_handler`` per declared event type of the other services, in
    batch mode: events that arrive together are handled and committed together."""
    for etype in load_catalogue().values():
        if etype.service == NotifyService.name:
            continue

        def handle(self, events: list[dict[str, Any]]) -> None:
            self.handle_events(events)

        handle.__name__ = handle.__qualname__ = handler_name(etype)
        handle.__doc__ = f"{etype}: {etype.doc.splitlines()[0]}"
        setattr(NotifyService, handle.__name__,
                event_handler(etype.service, etype, batch=EVENT_BATCH)(handle))


_subscribe_to_every_event_type()
