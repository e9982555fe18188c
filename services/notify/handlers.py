"""Notify's event entrypoints: one idempotent ``@event_handler`` per event type of the
catalogue that the other services publish, each written out, in batch mode.

Notify receives *every* type because departments may subscribe to any of them; what an
event does is :func:`services.notify.receiving.receive_events` (who is told what is
:mod:`services.notify.planner`'s to decide). A handler's method name makes its queue's name
(``evt-<service>-<type>--notify.<method>``): renaming one would leave its queue behind.
``tests/unit/notify/test_service.py`` checks that every type has its handler.
"""

from __future__ import annotations

from typing import Any

from lianxin.clock import now_utc
from lianxin.consumer import event_handler
from lianxin.contracts.events import events as ev
from lianxin.contracts.reports import events as rp
from lianxin.contracts.tickets import events as tk
from lianxin.contracts.volunteers import events as vo
from services.notify import receiving
from services.notify.plans import Event

#: Events of one type handled in one transaction at most (see :mod:`lianxin.consumer`: the
#: kit caps it at half of ``max_workers``, the consumer's prefetch; notify runs 64). The
#: tickets relay publishes a gathered intake call's events together (15 a call at full
#: load): batches of up to 10 took two or three transactions for them, 32 takes one or two.
EVENT_BATCH = 32


class EventHandlers:
    """The event side of :class:`~services.notify.service.NotifyService` (its dependencies
    are the service's: ``db``, ``cache``, ``dispatcher``, ``centers``, ``tickets_rpc``). The
    kit commits each batch with its events' processed marks."""

    db: Any
    cache: Any
    dispatcher: Any
    centers: Any
    tickets_rpc: Any
    #: :meth:`lianxin.centers.CenterScoped.learn_center`.
    learn_center: Any

    def handle_event(self, event: Event) -> None:
        """:meth:`handle_events` for one event."""
        self.handle_events([event])

    def handle_events(self, events: list[Event]) -> None:
        """Tell the people the events concern, keep them for subscriptions, queue their
        webhooks; count the deliveries' outcomes."""
        outcomes = receiving.receive_events(
            db_session=self.db,
            events=events,
            now=now_utc(),
            settings=self.dispatcher.settings,
            cache=self.cache,
            center_names=self.centers.reader(self.tickets_rpc.get_center),
        )
        self.dispatcher.count(outcomes)

    def handle_center_events(self, events: list[Event]) -> None:
        """center.created / center.updated: learn each center's record, then as any event."""
        for event in events:
            self.learn_center(event)
        self.handle_events(events)

    # -- events ----------------------------------------------------------------------

    @event_handler("events", ev.ACTIVITY_PUBLISHED, batch=EVENT_BATCH)
    def handle_events_activity_published(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("events", ev.ACTIVITY_CHANGED, batch=EVENT_BATCH)
    def handle_events_activity_changed(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("events", ev.ACTIVITY_CANCELLED, batch=EVENT_BATCH)
    def handle_events_activity_cancelled(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("events", ev.REGISTRATION_CONFIRMED, batch=EVENT_BATCH)
    def handle_events_registration_confirmed(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("events", ev.REGISTRATION_WAITLISTED, batch=EVENT_BATCH)
    def handle_events_registration_waitlisted(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("events", ev.REGISTRATION_PROMOTED, batch=EVENT_BATCH)
    def handle_events_registration_promoted(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("events", ev.REGISTRATION_CANCELLED, batch=EVENT_BATCH)
    def handle_events_registration_cancelled(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("events", ev.REGISTRATION_PENDING, batch=EVENT_BATCH)
    def handle_events_registration_pending(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("events", ev.REGISTRATION_REJECTED, batch=EVENT_BATCH)
    def handle_events_registration_rejected(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("events", ev.CHECKED_IN, batch=EVENT_BATCH)
    def handle_events_registration_checked_in(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("events", ev.ATTENDANCE_RECORDED, batch=EVENT_BATCH)
    def handle_events_attendance_recorded(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("events", ev.ROOM_BOOKED, batch=EVENT_BATCH)
    def handle_events_room_booked(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("events", ev.ROOM_REQUESTED, batch=EVENT_BATCH)
    def handle_events_room_requested(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("events", ev.ROOM_REJECTED, batch=EVENT_BATCH)
    def handle_events_room_rejected(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("events", ev.ROOM_RELEASED, batch=EVENT_BATCH)
    def handle_events_room_released(self, events: list[Event]) -> None:
        self.handle_events(events)

    # -- tickets ---------------------------------------------------------------------

    @event_handler("tickets", tk.TICKET_CREATED, batch=EVENT_BATCH)
    def handle_tickets_ticket_created(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("tickets", tk.TICKET_ACKNOWLEDGED, batch=EVENT_BATCH)
    def handle_tickets_ticket_acknowledged(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("tickets", tk.TICKET_ASSIGNED, batch=EVENT_BATCH)
    def handle_tickets_ticket_assigned(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("tickets", tk.TICKET_RETURNED, batch=EVENT_BATCH)
    def handle_tickets_ticket_returned(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("tickets", tk.TICKET_MERGED, batch=EVENT_BATCH)
    def handle_tickets_ticket_merged(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("tickets", tk.TICKET_ESCALATED, batch=EVENT_BATCH)
    def handle_tickets_ticket_escalated(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("tickets", tk.TICKET_RESOLVED, batch=EVENT_BATCH)
    def handle_tickets_ticket_resolved(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("tickets", tk.TICKET_CLOSED, batch=EVENT_BATCH)
    def handle_tickets_ticket_closed(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("tickets", tk.TICKET_REOPENED, batch=EVENT_BATCH)
    def handle_tickets_ticket_reopened(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("tickets", tk.TICKET_RATED, batch=EVENT_BATCH)
    def handle_tickets_ticket_rated(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("tickets", tk.TICKET_SLA_BREACHED, batch=EVENT_BATCH)
    def handle_tickets_ticket_sla_breached(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("tickets", tk.TICKET_SUPPORTED, batch=EVENT_BATCH)
    def handle_tickets_ticket_supported(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("tickets", tk.TICKET_URGED, batch=EVENT_BATCH)
    def handle_tickets_ticket_urged(self, events: list[Event]) -> None:
        self.handle_events(events)

    # A center's record: kept in the center registry (this replica), and passed on to the
    # departments subscribed, as any event is. Its templates and its first admin's entry
    # were copied during onboarding (``copy_center``), before this was sent.
    @event_handler("tickets", tk.CENTER_CREATED, batch=EVENT_BATCH)
    def handle_tickets_center_created(self, events: list[Event]) -> None:
        self.handle_center_events(events)

    @event_handler("tickets", tk.CENTER_UPDATED, batch=EVENT_BATCH)
    def handle_tickets_center_updated(self, events: list[Event]) -> None:
        self.handle_center_events(events)

    # -- volunteers ------------------------------------------------------------------

    @event_handler("volunteers", vo.VOLUNTEER_REGISTERED, batch=EVENT_BATCH)
    def handle_volunteers_volunteer_registered(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("volunteers", vo.VOLUNTEER_UPDATED, batch=EVENT_BATCH)
    def handle_volunteers_volunteer_updated(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("volunteers", vo.SHIFT_PUBLISHED, batch=EVENT_BATCH)
    def handle_volunteers_shift_published(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("volunteers", vo.SHIFT_CANCELLED, batch=EVENT_BATCH)
    def handle_volunteers_shift_cancelled(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("volunteers", vo.SIGNUP_CONFIRMED, batch=EVENT_BATCH)
    def handle_volunteers_signup_confirmed(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("volunteers", vo.SIGNUP_WAITLISTED, batch=EVENT_BATCH)
    def handle_volunteers_signup_waitlisted(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("volunteers", vo.SIGNUP_PROMOTED, batch=EVENT_BATCH)
    def handle_volunteers_signup_promoted(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("volunteers", vo.SIGNUP_CANCELLED, batch=EVENT_BATCH)
    def handle_volunteers_signup_cancelled(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("volunteers", vo.CHECKED_IN, batch=EVENT_BATCH)
    def handle_volunteers_attendance_checked_in(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("volunteers", vo.CHECKED_OUT, batch=EVENT_BATCH)
    def handle_volunteers_attendance_checked_out(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("volunteers", vo.NO_SHOW, batch=EVENT_BATCH)
    def handle_volunteers_attendance_no_show(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("volunteers", vo.HOURS_APPROVED, batch=EVENT_BATCH)
    def handle_volunteers_hours_approved(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("volunteers", vo.HOURS_REJECTED, batch=EVENT_BATCH)
    def handle_volunteers_hours_rejected(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("volunteers", vo.CORRECTION_REQUESTED, batch=EVENT_BATCH)
    def handle_volunteers_correction_requested(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("volunteers", vo.CORRECTION_REJECTED, batch=EVENT_BATCH)
    def handle_volunteers_correction_rejected(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("volunteers", vo.MILESTONE_REACHED, batch=EVENT_BATCH)
    def handle_volunteers_milestone_reached(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("volunteers", vo.TRAINING_RECORDED, batch=EVENT_BATCH)
    def handle_volunteers_training_recorded(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("volunteers", vo.BENEFICIARY_REGISTERED, batch=EVENT_BATCH)
    def handle_volunteers_beneficiary_registered(self, events: list[Event]) -> None:
        self.handle_events(events)

    @event_handler("volunteers", vo.VISIT_RECORDED, batch=EVENT_BATCH)
    def handle_volunteers_visit_recorded(self, events: list[Event]) -> None:
        self.handle_events(events)

    # -- reports ---------------------------------------------------------------------

    @event_handler("reports", rp.REPORT_PUBLISHED, batch=EVENT_BATCH)
    def handle_reports_report_published(self, events: list[Event]) -> None:
        self.handle_events(events)
