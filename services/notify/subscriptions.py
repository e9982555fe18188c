"""Department subscriptions, free of nameko: signed CloudEvents webhooks with a delivery log.

Every event notify receives is kept in ``event_log`` as it travelled (the CloudEvents
envelope). For each active subscription whose centers and type patterns match, one
:class:`WebhookDelivery` row is written in the same transaction; the dispatcher sends
it, retrying with backoff, and a replay writes new rows for the events of a time range.

Signatures follow Standard Webhooks: ``webhook-signature`` is ``v1,`` + base64 of
HMAC-SHA256, keyed with the base64-decoded part of the ``whsec_`` secret, over
``{webhook-id}.{webhook-timestamp}.{body}``; during a secret rotation both secrets
sign, space-separated.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, union_all, update
from sqlalchemy.orm import Session

from lianxin.contracts import CATALOGUE
from lianxin.roles import ALL_CENTERS, Principal
from services.notify.cache import SUBSCRIPTIONS, ReadCache, touch
from services.notify.domain import Settings, insert_ignore, now_utc
from services.notify.exceptions import SubscriptionForbidden, SubscriptionNotFound
from services.notify.models import EventRecord, Subscription, WebhookDelivery

SECRET_PREFIX = "whsec_"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
#: Subscriptions looked at per claim statement (SQLite allows 500 parts in a UNION).
CLAIM_CHUNK = 200
#: How long the old secret still signs after a rotation.
ROTATION_GRACE = timedelta(hours=24)


def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret_list: list[str], msg_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header: one ``v1,<base64>`` per valid secret, space-separated."""
    content = f"{msg_id}.{timestamp}.{body}".encode()
    return " ".join("v1," + base64.b64encode(hmac.new(_key(s), content, hashlib.sha256).digest()).decode()
                    for s in secret_list)


def signing_secrets(sub: Subscription, now: datetime) -> list[str]:
    """The current secret, and the previous one while its rotation grace lasts."""
    out = [sub.secret]
    if sub.previous_secret and sub.previous_secret_until and sub.previous_secret_until > now:
        out.append(sub.previous_secret)
    return out


def matches(sub: Subscription | ActiveSubscription, event_type: str, center_id: str) -> bool:
    return center_id in sub.centers and any(fnmatch.fnmatchcase(event_type, p) for p in sub.types)


@dataclass(frozen=True)
class ActiveSubscription:
    """What fan-out needs of an active subscription (kept by the service's cache)."""

    id: str
    types: tuple[str, ...]
    centers: frozenset[str]


def load_active(*, db_session: Session) -> tuple[ActiveSubscription, ...]:
    rows = db_session.execute(select(Subscription.id, Subscription.types, Subscription.centers)
                              .where(Subscription.state == "active").order_by(Subscription.id))
    return tuple(ActiveSubscription(r.id, tuple(r.types), frozenset(r.centers)) for r in rows)


def active_subscriptions(*, db_session: Session,
                         cache: ReadCache | None = None) -> tuple[ActiveSubscription, ...]:
    """The active subscriptions, through the service's cache when given (loaded on a session
    of its own there, see :mod:`services.notify.cache`)."""
    if cache is None or not cache.enabled:
        return load_active(db_session=db_session)

    def load() -> tuple[ActiveSubscription, ...]:
        with Session(db_session.get_bind()) as fresh:
            return load_active(db_session=fresh)

    return cache.get(SUBSCRIPTIONS, "active", load)


# -- who may manage what ---------------------------------------------------------------------

def check_centers(principal: Principal, centers: list[str]) -> None:
    """A department subscribes only to the centers its token grants."""
    refused = [c for c in centers if not principal.may_act_for(c)]
    if refused:
        raise SubscriptionForbidden(f"无权订阅以下服务中心的事件：{', '.join(refused)}",
                                    fields={"centers": [f"未授权：{', '.join(refused)}"]})


def _visible(principal: Principal) -> list:
    if principal.role == "ops" and ALL_CENTERS in principal.centers:
        return []
    return [Subscription.owner == principal.sub, Subscription.owner_role == principal.role]


def get_subscription(*, db_session: Session, principal: Principal, subscription_id: str,
                     lock: bool = False) -> Subscription:
    stmt = select(Subscription).where(Subscription.id == subscription_id, *_visible(principal))
    sub = db_session.scalar(stmt.with_for_update() if lock else stmt)
    if sub is None or not all(principal.may_act_for(c) for c in sub.centers):
        raise SubscriptionNotFound()
    return sub


def create_subscription(*, db_session: Session, principal: Principal, data: dict[str, Any],
                        now: datetime | None = None) -> Subscription:
    check_centers(principal, data["centers"])
    now = now or now_utc()
    sub = Subscription(id=str(uuid.uuid4()), owner=principal.sub, owner_role=principal.role,
                       url=data["url"], types=list(dict.fromkeys(data["types"])),
                       centers=list(dict.fromkeys(data["centers"])),
                       description=data.get("description") or "", secret=new_secret(),
                       state="active", created_at=now, updated_at=now)
    db_session.add(sub)
    touch(db_session, SUBSCRIPTIONS)
    return sub


def list_subscriptions(*, db_session: Session, principal: Principal) -> list[Subscription]:
    rows = db_session.scalars(select(Subscription).where(*_visible(principal))
                              .order_by(Subscription.created_at, Subscription.id)).all()
    return [s for s in rows if all(principal.may_act_for(c) for c in s.centers)]


def update_subscription(*, db_session: Session, principal: Principal, subscription_id: str,
                        data: dict[str, Any]) -> Subscription:
    sub = get_subscription(db_session=db_session, principal=principal,
                           subscription_id=subscription_id, lock=True)
    if "centers" in data:
        check_centers(principal, data["centers"])
        sub.centers = list(dict.fromkeys(data["centers"]))
    if "types" in data:
        sub.types = list(dict.fromkeys(data["types"]))
    for key in ("url", "description"):
        if key in data:
            setattr(sub, key, data[key])
    if "active" in data:
        if data["active"]:
            sub.state, sub.disabled_reason = "active", None
        else:
            disable(db_session=db_session, sub=sub, reason="订阅方停用")
    sub.updated_at = now_utc()
    touch(db_session, SUBSCRIPTIONS)
    return sub


def delete_subscription(*, db_session: Session, principal: Principal, subscription_id: str) -> Subscription:
    sub = get_subscription(db_session=db_session, principal=principal,
                           subscription_id=subscription_id, lock=True)
    _cancel_pending(db_session, sub.id)
    db_session.delete(sub)
    touch(db_session, SUBSCRIPTIONS)
    return sub


def rotate_secret(*, db_session: Session, principal: Principal, subscription_id: str,
                  grace: timedelta = ROTATION_GRACE) -> tuple[Subscription, datetime]:
    """A new secret; the old one keeps signing (a second signature) for ``grace``."""
    sub = get_subscription(db_session=db_session, principal=principal,
                           subscription_id=subscription_id, lock=True)
    now = now_utc()
    until = now + grace
    sub.previous_secret, sub.previous_secret_until = sub.secret, until
    sub.secret, sub.updated_at = new_secret(), now
    return sub, until


def disable(*, db_session: Session, sub: Subscription, reason: str) -> None:
    sub.state, sub.disabled_reason, sub.updated_at = "disabled", reason[:300], now_utc()
    _cancel_pending(db_session, sub.id)
    touch(db_session, SUBSCRIPTIONS)


def _cancel_pending(db_session: Session, subscription_id: str) -> None:
    db_session.execute(update(WebhookDelivery).where(
        WebhookDelivery.subscription_id == subscription_id,
        WebhookDelivery.state.in_(("pending", "sending"))).values(
        state="cancelled", last_error="订阅已停用", next_attempt_at=None))


# -- events in, deliveries out ---------------------------------------------------------------

def envelope(event: dict[str, Any]) -> dict[str, Any]:
    """The event as it travelled: the envelope with ``data`` dumped back by its contract."""
    etype = CATALOGUE[event["type"]]
    return {**event, "data": etype.codec.dump(event["data"])}


def archive_event(*, db_session: Session, event: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Keep the event (once) for subscriptions and replays; returns its envelope."""
    body = envelope(event)
    archive_events(db_session=db_session, bodies=[body], now=now)
    return body


def archive_events(*, db_session: Session, bodies: list[dict[str, Any]], now: datetime) -> int:
    """Keep events (each once), given as their envelopes, in one INSERT; returns how many are new."""
    return insert_ignore(db_session, EventRecord, [{
        "event_id": body["id"], "center_id": body["centerid"], "type": body["type"],
        "time": datetime.fromisoformat(body["time"].replace("Z", "+00:00")), "body": body,
        "received_at": now} for body in bodies], ["event_id"])


def fan_out(*, db_session: Session, event: dict[str, Any], now: datetime, replay_id: str = "",
            only: Subscription | None = None,
            active: tuple[ActiveSubscription, ...] | None = None) -> int:
    """One delivery per matching active subscription (idempotent); returns how many are new.
    ``active``: the active subscriptions, when the caller has them (from the cache)."""
    subs: Any = [only] if only is not None else (
        active if active is not None else load_active(db_session=db_session))
    return fan_out_events(db_session=db_session, events=[event], now=now, replay_id=replay_id,
                          active=subs)


def fan_out_events(*, db_session: Session, events: list[dict[str, Any]], now: datetime,
                   active: Sequence[ActiveSubscription | Subscription], replay_id: str = "") -> int:
    """:func:`fan_out` for several events to the subscriptions ``active``, in one INSERT."""
    rows = [{"id": "msg_" + uuid.uuid4().hex, "subscription_id": s.id, "center_id": event["centerid"],
             "event_id": event["id"], "event_type": event["type"], "replay_id": replay_id,
             "state": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
             "lease_until": None, "last_status": None, "last_error": None, "delivered_at": None}
            for event in events for s in active if matches(s, event["type"], event["centerid"])]
    return insert_ignore(db_session, WebhookDelivery, rows, ["subscription_id", "event_id", "replay_id"])


def replay(*, db_session: Session, principal: Principal, subscription_id: str,
           start: datetime, end: datetime) -> tuple[str, int]:
    """Deliver again every kept event of the subscription's types and centers in [start, end)."""
    sub = get_subscription(db_session=db_session, principal=principal, subscription_id=subscription_id)
    replay_id = str(uuid.uuid4())
    now = now_utc()
    count = 0
    records = db_session.scalars(select(EventRecord).where(
        EventRecord.center_id.in_(sub.centers), EventRecord.time >= start, EventRecord.time < end)
        .order_by(EventRecord.time, EventRecord.event_id)).all()
    for record in records:
        count += fan_out(db_session=db_session, event=record.body, now=now, replay_id=replay_id,
                         only=sub)
    return replay_id, count


def list_deliveries(*, db_session: Session, principal: Principal, subscription_id: str,
                    query: dict[str, Any]) -> tuple[list[WebhookDelivery], int]:
    """A subscription's delivery log, newest first."""
    get_subscription(db_session=db_session, principal=principal, subscription_id=subscription_id)
    where = [WebhookDelivery.subscription_id == subscription_id]
    if query.get("state"):
        where.append(WebhookDelivery.state == query["state"])
    if query.get("event_id"):
        where.append(WebhookDelivery.event_id == query["event_id"])
    total = db_session.scalar(select(func.count()).select_from(WebhookDelivery).where(*where)) or 0
    items = db_session.scalars(select(WebhookDelivery).where(*where)
                               .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
                               .limit(query["limit"]).offset(query["offset"])).all()
    return list(items), total


# -- the dispatcher's side -------------------------------------------------------------------

def _due(now: datetime):
    W = WebhookDelivery
    return or_(and_(W.state == "pending", W.next_attempt_at <= now),
               and_(W.state == "sending", W.lease_until < now))


def claim_due(*, db_session: Session, now: datetime, limit: int, lease: timedelta,
              per_subscription: int, inflight: dict[str, int]) -> list[dict[str, Any]]:
    """Take due deliveries for sending, at most ``per_subscription`` in flight per subscription,
    so one slow endpoint never holds the others back. Caller commits.

    Only subscriptions with a free slot are looked at, each for as many rows as it has slots
    (one indexed ``LIMIT`` per subscription): the backlog of a hanging endpoint costs nothing."""
    W = WebhookDelivery
    room = {}
    for sub_id in db_session.scalars(select(Subscription.id).where(Subscription.state == "active")
                                     .order_by(Subscription.id)):
        free = per_subscription - inflight.get(sub_id, 0)
        if free > 0:
            room[sub_id] = free
    if not room:
        return []
    # Leases run out rarely and for few rows: one look at them all. Due rows: each
    # subscription's own next few, along (subscription, state, next_attempt_at).
    candidates = list(db_session.execute(
        select(W.id, W.subscription_id, W.next_attempt_at)
        .where(W.state == "sending", W.lease_until < now, W.subscription_id.in_(list(room)))))
    items = list(room.items())
    for i in range(0, len(items), CLAIM_CHUNK):
        parts = [select(W.id, W.subscription_id, W.next_attempt_at)
                 .where(W.subscription_id == sub_id, W.state == "pending", W.next_attempt_at <= now)
                 .order_by(W.next_attempt_at, W.id).limit(free).subquery()
                 for sub_id, free in items[i:i + CLAIM_CHUNK]]
        candidates += db_session.execute(union_all(*[select(*part.c) for part in parts]))
    # A few more than the limit: what another replica has locked is skipped below.
    chosen = []
    for row in sorted(candidates, key=lambda r: (r.next_attempt_at or now, r.id)):
        if room[row.subscription_id] > 0 and len(chosen) < limit * 4:
            room[row.subscription_id] -= 1
            chosen.append(row.id)
    if not chosen:
        return []
    # Lock only what is taken: another replica skips these and takes the next candidates.
    rows = db_session.scalars(select(W).where(W.id.in_(chosen), _due(now))
                              .order_by(W.next_attempt_at, W.id).limit(limit)
                              .with_for_update(skip_locked=True)).all()
    subs = {s.id: s for s in db_session.scalars(select(Subscription).where(
        Subscription.id.in_({r.subscription_id for r in rows})))}
    bodies = {e.event_id: e.body for e in db_session.scalars(select(EventRecord).where(
        EventRecord.event_id.in_({r.event_id for r in rows})))}
    jobs = []
    for r in rows:
        sub = subs.get(r.subscription_id)
        if sub is None or sub.state != "active" or r.event_id not in bodies:
            r.state, r.last_error, r.next_attempt_at = "cancelled", "订阅已停用或事件已过保留期", None
            continue
        r.state, r.lease_until, r.attempts = "sending", now + lease, r.attempts + 1
        jobs.append({"id": r.id, "subscription_id": sub.id, "url": sub.url, "center_id": r.center_id,
                     "secrets": signing_secrets(sub, now), "body": bodies[r.event_id]})
    return jobs


@dataclass(frozen=True)
class HookAttempt:
    """How one POST went: the HTTP status (None when there was no answer) or the error."""

    delivery_id: str
    status: int | None
    error: str | None
    at: datetime


def record_attempts(*, db_session: Session, attempts: list[HookAttempt],
                    settings: Settings) -> list[tuple[str, str] | None]:
    """Record delivery attempts, many in one transaction: delivered (2xx), 410 (subscription
    disabled), else retried with backoff until ``webhook_max_attempts``, then failed with the
    reason. Returns (center id, outcome) each, None for a delivery no longer being sent.
    Caller commits."""
    ids = sorted({a.delivery_id for a in attempts})
    rows = {r.id: r for r in db_session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.id.in_(ids)).order_by(WebhookDelivery.id)
        .with_for_update())}
    out: list[tuple[str, str] | None] = []
    for attempt in attempts:
        row = rows.get(attempt.delivery_id)
        outcome = _apply_attempt(db_session, row, attempt, settings)
        out.append((row.center_id, outcome) if row is not None and outcome is not None else None)
    return out


def _apply_attempt(db_session: Session, row: WebhookDelivery | None, attempt: HookAttempt,
                   settings: Settings) -> str | None:
    if row is None or row.state != "sending":
        return None
    status, now = attempt.status, attempt.at
    row.last_status, row.lease_until = status, None
    if status is not None and 200 <= status < 300:
        row.state, row.delivered_at, row.last_error, row.next_attempt_at = "delivered", now, None, None
        return "delivered"
    reason = attempt.error or f"HTTP {status}"
    if status == 410:
        row.state, row.last_error, row.next_attempt_at = "failed", "HTTP 410 Gone：订阅方已注销该地址，订阅已停用", None
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


def record_attempt(*, db_session: Session, delivery_id: str, status: int | None, error: str | None,
                   now: datetime, settings: Settings) -> str | None:
    """Record one delivery attempt (see :func:`record_attempts`); returns the outcome."""
    [done] = record_attempts(db_session=db_session, settings=settings,
                             attempts=[HookAttempt(delivery_id, status, error, now)])
    return done[1] if done is not None else None


def cancel_orphans(*, db_session: Session, now: datetime) -> int:
    """Withdraw waiting deliveries of subscriptions no longer active — ones fanned out while
    a cache (this replica's, or another's) still listed the subscription. Caller commits."""
    W = WebhookDelivery
    active = select(Subscription.id).where(Subscription.state == "active")
    return db_session.execute(update(W).where(
        or_(W.state == "pending", and_(W.state == "sending", W.lease_until < now)),
        W.subscription_id.not_in(active)).values(
        state="cancelled", last_error="订阅已停用", next_attempt_at=None, lease_until=None)).rowcount or 0


def purge_events(*, db_session: Session, before: datetime) -> int:
    """Forget kept events (and their finished deliveries) older than the retention period."""
    old = select(EventRecord.event_id).where(EventRecord.received_at < before)
    db_session.execute(WebhookDelivery.__table__.delete().where(
        WebhookDelivery.event_id.in_(old), WebhookDelivery.state.in_(("delivered", "failed", "cancelled"))))
    return db_session.execute(EventRecord.__table__.delete().where(EventRecord.received_at < before)).rowcount or 0
