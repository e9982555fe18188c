"""What an event does when notify receives it: the people it concerns are told (its plan's
deliveries and reminders), and it is kept and forwarded to the subscriptions it matches.

Everything is read and rendered before the first write — who is told and how comes from
the :class:`~services.notify.directory.Directory` (cached by the service) — then one INSERT
per table for a whole batch: the deliveries, the events, their webhooks (and the tickets
resolved at the desk, :mod:`~services.notify.desk`, when the batch tells of any); then the
reminders.
Sending happens later, in the dispatcher's timers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.notify import desk, planner, plans, subscriptions
from services.notify.cache import ReadCache
from services.notify.deliveries import Outcome, delivery_rows, record_deliveries
from services.notify.directory import Directory
from services.notify.schedule import apply_reminders
from services.notify.settings import Settings


@dataclass(frozen=True)
class Planned:
    """What one event asks for (:func:`planner.plan_event`), with the event it came from."""

    center_id: str
    source_id: str
    event_type: str | None
    plan: plans.Plan


def apply_plan(
    *,
    db_session: Session,
    center_id: str,
    source_id: str,
    event_type: str | None,
    plan: plans.Plan,
    now: datetime,
    settings: Settings,
    directory: Directory | None = None,
) -> list[Outcome]:
    """Record a plan: its deliveries (one INSERT for all of them), and the reminders it
    schedules, moves or withdraws. Everything is read and rendered before the first write,
    so the transaction holds its locks only for the writes."""
    return apply_plans(
        db_session=db_session,
        planned=[Planned(center_id, source_id, event_type, plan)],
        now=now,
        settings=settings,
        directory=directory,
    )


def apply_plans(
    *,
    db_session: Session,
    planned: Sequence[Planned],
    now: datetime,
    settings: Settings,
    directory: Directory | None = None,
) -> list[Outcome]:
    """Record the plans of several events as :func:`apply_plan` records one: the same rows,
    the deliveries of all of them in one INSERT, then their reminders in order."""
    directory = directory or Directory(db_session)
    rows: list[dict[str, Any]] = []
    outcomes: list[Outcome] = []
    for p in planned:
        for message in p.plan.messages:
            more_rows, more_outcomes = delivery_rows(
                center_id=p.center_id,
                source_id=p.source_id,
                event_type=p.event_type,
                message=message,
                now=now,
                settings=settings,
                directory=directory,
            )
            rows += more_rows
            outcomes += more_outcomes
    recorded = record_deliveries(db_session=db_session, rows=rows, outcomes=outcomes)
    for p in planned:
        apply_reminders(db_session=db_session, center_id=p.center_id, plan=p.plan, now=now)
    return recorded


def receive_events(
    *,
    db_session: Session,
    events: Sequence[plans.Event],
    now: datetime,
    settings: Settings,
    cache: ReadCache | None = None,
    center_names: Callable[[str], str] | None = None,
) -> list[Outcome]:
    """Handle validated events (one, or a batch that arrived together): tell the people they
    concern, keep them for subscriptions' replays, queue their webhooks. Returns the
    deliveries' outcomes (for the metrics); the caller commits. ``center_names`` names a
    center in the messages (its id without it)."""
    planning, desk_changes = desk.for_planning(db_session=db_session, events=events)
    planned = [
        Planned(e["centerid"], e["id"], e["type"], planner.plan_event(e, now)) for e in planning
    ]
    bodies = [subscriptions.envelope(e) for e in events]
    active = subscriptions.active_subscriptions(db_session=db_session, cache=cache)
    outcomes = apply_plans(
        db_session=db_session,
        planned=planned,
        now=now,
        settings=settings,
        directory=Directory(db_session, cache=cache, center_names=center_names),
    )
    desk.remember(db_session=db_session, changes=desk_changes, now=now)
    subscriptions.archive_events(db_session=db_session, bodies=bodies, now=now)
    subscriptions.fan_out_events(db_session=db_session, events=bodies, now=now, active=active)
    return outcomes
