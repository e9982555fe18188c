"""Department webhooks out, the dispatcher's side: due deliveries claimed a few per
subscription (so a slow endpoint holds back no other), how each POST went recorded —
delivered, retried with backoff, failed, or the subscription disabled by a 410 — and the
clean-up of what no subscription or retention period still wants.

What a department receives leaves the center: the event's free text goes out masked
(:func:`lianxin.privacy.mask_fields`), and only to a URL the guard accepts at that moment
(a name may resolve elsewhere than when the department subscribed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, union_all, update
from sqlalchemy.orm import Session

from lianxin.privacy import mask_fields
from services.notify.channels import UrlRefused, WebhookGuard
from services.notify.models import EventRecord, Subscription, WebhookDelivery
from services.notify.settings import Settings
from services.notify.signing import signing_secrets
from services.notify.subscriptions import STRICT, disable

#: Subscriptions looked at per claim statement (SQLite allows 500 parts in a UNION).
CLAIM_CHUNK = 200


def _due(now: datetime):
    W = WebhookDelivery
    return or_(
        and_(W.state == "pending", W.next_attempt_at <= now),
        and_(W.state == "sending", W.lease_until < now),
    )


def claim_due(
    *,
    db_session: Session,
    now: datetime,
    limit: int,
    lease: timedelta,
    per_subscription: int,
    inflight: dict[str, int],
    guard: WebhookGuard | None = None,
) -> list[dict[str, Any]]:
    """Take due deliveries for sending, at most ``per_subscription`` in flight per subscription,
    so one slow endpoint never holds the others back. Caller commits.

    A delivery whose URL ``guard`` refuses now (checked once per subscription and claim) is
    not sent: it fails at once with the reason, as a refused address does.

    Only subscriptions with a free slot are looked at, each for as many rows as it has slots
    (one indexed ``LIMIT`` per subscription): the backlog of a hanging endpoint costs nothing."""
    W = WebhookDelivery
    room = {}
    for sub_id in db_session.scalars(
        select(Subscription.id).where(Subscription.state == "active").order_by(Subscription.id)
    ):
        free = per_subscription - inflight.get(sub_id, 0)
        if free > 0:
            room[sub_id] = free
    if not room:
        return []
    # Leases run out rarely and for few rows: one look at them all. Due rows: each
    # subscription's own next few, along (subscription, state, next_attempt_at).
    candidates = list(
        db_session.execute(
            select(W.id, W.subscription_id, W.next_attempt_at).where(
                W.state == "sending", W.lease_until < now, W.subscription_id.in_(list(room))
            )
        )
    )
    items = list(room.items())
    for i in range(0, len(items), CLAIM_CHUNK):
        parts = [
            select(W.id, W.subscription_id, W.next_attempt_at)
            .where(W.subscription_id == sub_id, W.state == "pending", W.next_attempt_at <= now)
            .order_by(W.next_attempt_at, W.id)
            .limit(free)
            .subquery()
            for sub_id, free in items[i : i + CLAIM_CHUNK]
        ]
        candidates += db_session.execute(union_all(*[select(*part.c) for part in parts]))
    # A few more than the limit: what another replica has locked is skipped below.
    chosen: list[str] = []
    for row in sorted(candidates, key=lambda r: (r.next_attempt_at or now, r.id)):
        if room[row.subscription_id] > 0 and len(chosen) < limit * 4:
            room[row.subscription_id] -= 1
            chosen.append(row.id)
    if not chosen:
        return []
    # Lock only what is taken: another replica skips these and takes the next candidates.
    rows = db_session.scalars(
        select(W)
        .where(W.id.in_(chosen), _due(now))
        .order_by(W.next_attempt_at, W.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    subs = {
        s.id: s
        for s in db_session.scalars(
            select(Subscription).where(Subscription.id.in_({r.subscription_id for r in rows}))
        )
    }
    bodies = {
        e.event_id: e.body
        for e in db_session.scalars(
            select(EventRecord).where(EventRecord.event_id.in_({r.event_id for r in rows}))
        )
    }
    refused = {s.id: _refusal(guard or STRICT, s.url) for s in subs.values()}
    jobs = []
    for r in rows:
        sub = subs.get(r.subscription_id)
        if sub is None or sub.state != "active" or r.event_id not in bodies:
            r.state, r.last_error, r.next_attempt_at = (
                "cancelled",
                "订阅已停用或事件已过保留期",
                None,
            )
            continue
        if refused[sub.id]:
            r.state, r.attempts, r.next_attempt_at = "failed", r.attempts + 1, None
            r.last_error = f"接收地址被拒绝：{refused[sub.id]}"[:2000]
            continue
        r.state, r.lease_until, r.attempts = "sending", now + lease, r.attempts + 1
        jobs.append(
            {
                "id": r.id,
                "subscription_id": sub.id,
                "url": sub.url,
                "center_id": r.center_id,
                "secrets": signing_secrets(sub, now),
                "body": outgoing(bodies[r.event_id]),
            }
        )
    return jobs


def _refusal(guard: WebhookGuard, url: str) -> str | None:
    try:
        guard.check(url)
    except UrlRefused as exc:
        return exc.reason
    return None


def outgoing(body: dict[str, Any]) -> dict[str, Any]:
    """The envelope as a department receives it: free text of its data masked (also for
    events kept before masking was done where they are made, and for other services')."""
    data = body.get("data")
    if not isinstance(data, dict):
        return body
    return {**body, "data": mask_fields(data)}


@dataclass(frozen=True)
class HookAttempt:
    """How one POST went: the HTTP status (None when there was no answer) or the error."""

    delivery_id: str
    status: int | None
    error: str | None
    at: datetime


def record_attempts(
    *, db_session: Session, attempts: list[HookAttempt], settings: Settings
) -> list[tuple[str, str] | None]:
    """Record delivery attempts, many in one transaction: delivered (2xx), 410 (subscription
    disabled), else retried with backoff until ``webhook_max_attempts``, then failed with the
    reason. Returns (center id, outcome) each, None for a delivery no longer being sent.
    Caller commits."""
    ids = sorted({a.delivery_id for a in attempts})
    rows = {
        r.id: r
        for r in db_session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids))
            .order_by(WebhookDelivery.id)
            .with_for_update()
        )
    }
    out: list[tuple[str, str] | None] = []
    for attempt in attempts:
        row = rows.get(attempt.delivery_id)
        outcome = _apply_attempt(db_session, row, attempt, settings)
        out.append((row.center_id, outcome) if row is not None and outcome is not None else None)
    return out


def _apply_attempt(
    db_session: Session, row: WebhookDelivery | None, attempt: HookAttempt, settings: Settings
) -> str | None:
    if row is None or row.state != "sending":
        return None
    status, now = attempt.status, attempt.at
    row.last_status, row.lease_until = status, None
    if status is not None and 200 <= status < 300:
        row.state, row.delivered_at, row.last_error, row.next_attempt_at = (
            "delivered",
            now,
            None,
            None,
        )
        return "delivered"
    reason = attempt.error or f"HTTP {status}"
    if status == 410:
        row.state, row.last_error, row.next_attempt_at = (
            "failed",
            "HTTP 410 Gone：订阅方已注销该地址，订阅已停用",
            None,
        )
        sub = db_session.get(Subscription, row.subscription_id, with_for_update=True)
        if sub is not None:
            disable(db_session=db_session, sub=sub, reason="接收地址返回 410 Gone，订阅已自动停用")
        return "gone"
    if row.attempts >= settings.webhook_max_attempts:
        row.state, row.last_error, row.next_attempt_at = "failed", reason[:2000], None
        return "failed"
    row.state, row.last_error = "pending", reason[:2000]
    row.next_attempt_at = now + settings.webhook_backoff(row.attempts)
    return "retried"


def record_attempt(
    *,
    db_session: Session,
    delivery_id: str,
    status: int | None,
    error: str | None,
    now: datetime,
    settings: Settings,
) -> str | None:
    """Record one delivery attempt (see :func:`record_attempts`); returns the outcome."""
    [done] = record_attempts(
        db_session=db_session,
        settings=settings,
        attempts=[HookAttempt(delivery_id, status, error, now)],
    )
    return done[1] if done is not None else None


def cancel_orphans(*, db_session: Session, now: datetime) -> int:
    """Withdraw waiting deliveries of subscriptions no longer active — ones fanned out while
    a cache (this replica's, or another's) still listed the subscription. Caller commits."""
    W = WebhookDelivery
    active = select(Subscription.id).where(Subscription.state == "active")
    result: Any = db_session.execute(
        update(W)
        .where(
            or_(W.state == "pending", and_(W.state == "sending", W.lease_until < now)),
            W.subscription_id.not_in(active),
        )
        .values(state="cancelled", last_error="订阅已停用", next_attempt_at=None, lease_until=None)
    )
    return int(result.rowcount or 0)


def purge_events(*, db_session: Session, before: datetime) -> int:
    """Forget kept events (and their finished deliveries) older than the retention period."""
    old = select(EventRecord.event_id).where(EventRecord.received_at < before)
    # Core semantics: no ORM session to keep in step with what is deleted.
    plain = {"synchronize_session": False}
    db_session.execute(
        delete(WebhookDelivery)
        .where(
            WebhookDelivery.event_id.in_(old),
            WebhookDelivery.state.in_(("delivered", "failed", "cancelled")),
        )
        .execution_options(**plain)
    )
    result: Any = db_session.execute(
        delete(EventRecord).where(EventRecord.received_at < before).execution_options(**plain)
    )
    return int(result.rowcount or 0)
