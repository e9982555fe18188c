"""Department subscriptions, free of nameko: signed CloudEvents webhooks with a delivery log.

Every event notify receives is kept in ``event_log`` as it travelled (the CloudEvents
envelope). For each active subscription whose centers and type patterns match, one
:class:`WebhookDelivery` row is written in the same transaction; the dispatcher sends
it (:mod:`services.notify.webhooks`), retrying with backoff, and a replay writes new rows
for the events of a time range.

Deliveries are signed as :mod:`services.notify.signing` says (Standard Webhooks).
"""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lianxin.bulk import defer_rows
from lianxin.clock import now_utc
from lianxin.contracts import CATALOGUE
from lianxin.contracts.notify.operations import (
    NewSubscription,
    SubscriptionChanges,
    WebhookDeliveryFilter,
)
from lianxin.errors import InvalidInput
from lianxin.roles import ALL_CENTERS, Principal
from services.notify.cache import SUBSCRIPTIONS, ReadCache, touch
from services.notify.channels import UrlRefused, WebhookGuard
from services.notify.exceptions import SubscriptionForbidden, SubscriptionNotFound
from services.notify.models import (
    EventRecord,
    Subscription,
    WebhookDelivery,
    insert_ignore,
    page,
)
from services.notify.signing import new_secret

#: How long the old secret still signs after a rotation.
ROTATION_GRACE = timedelta(hours=24)


def matches(sub: Subscription | ActiveSubscription, event_type: str, center_id: str) -> bool:
    return center_id in sub.centers and any(fnmatch.fnmatchcase(event_type, p) for p in sub.types)


@dataclass(frozen=True)
class ActiveSubscription:
    """What fan-out needs of an active subscription (kept by the service's cache)."""

    id: str
    types: tuple[str, ...]
    centers: frozenset[str]


def load_active(*, db_session: Session) -> tuple[ActiveSubscription, ...]:
    rows = db_session.execute(
        select(Subscription.id, Subscription.types, Subscription.centers)
        .where(Subscription.state == "active")
        .order_by(Subscription.id)
    )
    return tuple(ActiveSubscription(r.id, tuple(r.types), frozenset(r.centers)) for r in rows)


def active_subscriptions(
    *, db_session: Session, cache: ReadCache | None = None
) -> tuple[ActiveSubscription, ...]:
    """The active subscriptions, through the service's cache when given (loaded on a session
    of its own there, see :mod:`services.notify.cache`)."""
    if cache is None or not cache.enabled:
        return load_active(db_session=db_session)

    def load() -> tuple[ActiveSubscription, ...]:
        with Session(db_session.get_bind()) as fresh:
            return load_active(db_session=fresh)

    return cache.get(SUBSCRIPTIONS, "active", load)


# -- who may manage what ---------------------------------------------------------------------

#: With no guard given: no exceptions (``WEBHOOK_ALLOWED_HOSTS`` empty), the system resolver.
STRICT = WebhookGuard()


def check_url(url: str, guard: WebhookGuard | None) -> None:
    """:class:`InvalidInput` (field ``url``) for a URL notify won't POST to."""
    try:
        (guard or STRICT).check(url)
    except UrlRefused as exc:
        raise InvalidInput(
            f"接收地址不可用：{exc.reason}",
            code="WEBHOOK_URL_REFUSED",
            fields={"url": [exc.reason]},
        ) from None


def check_centers(principal: Principal, centers: list[str]) -> None:
    """A department subscribes only to the centers its token grants."""
    refused = [c for c in centers if not principal.may_act_for(c)]
    if refused:
        raise SubscriptionForbidden(
            f"无权订阅以下服务中心的事件：{', '.join(refused)}",
            fields={"centers": [f"未授权：{', '.join(refused)}"]},
        )


def _visible(principal: Principal) -> list:
    if principal.role == "ops" and ALL_CENTERS in principal.centers:
        return []
    return [Subscription.owner == principal.sub, Subscription.owner_role == principal.role]


def get_subscription(
    *, db_session: Session, principal: Principal, subscription_id: str, lock: bool = False
) -> Subscription:
    stmt = select(Subscription).where(Subscription.id == subscription_id, *_visible(principal))
    sub = db_session.scalar(stmt.with_for_update() if lock else stmt)
    if sub is None or not all(principal.may_act_for(c) for c in sub.centers):
        raise SubscriptionNotFound()
    return sub


def create_subscription(
    *,
    db_session: Session,
    principal: Principal,
    data: NewSubscription,
    now: datetime | None = None,
    guard: WebhookGuard | None = None,
) -> Subscription:
    """A webhook for centers the principal's token grants, to a URL ``guard`` accepts (see
    :class:`~services.notify.channels.WebhookGuard`); the secret is made here."""
    check_centers(principal, data.centers)
    check_url(data.url, guard)
    now = now or now_utc()
    sub = Subscription(
        id=str(uuid.uuid4()),
        owner=principal.sub,
        owner_role=principal.role,
        url=data.url,
        types=list(dict.fromkeys(data.types)),
        centers=list(dict.fromkeys(data.centers)),
        description=data.description or "",
        secret=new_secret(),
        state="active",
        created_at=now,
        updated_at=now,
    )
    db_session.add(sub)
    touch(db_session, SUBSCRIPTIONS)
    return sub


def list_subscriptions(*, db_session: Session, principal: Principal) -> list[Subscription]:
    rows = db_session.scalars(
        select(Subscription)
        .where(*_visible(principal))
        .order_by(Subscription.created_at, Subscription.id)
    ).all()
    return [s for s in rows if all(principal.may_act_for(c) for c in s.centers)]


def update_subscription(
    *,
    db_session: Session,
    principal: Principal,
    subscription_id: str,
    data: SubscriptionChanges,
    guard: WebhookGuard | None = None,
) -> Subscription:
    """Change a subscription; ``active`` disables it (withdrawing what waits) or re-enables it.
    A new URL is checked as at :func:`create_subscription`."""
    if "url" in data:
        check_url(data["url"], guard)
    sub = get_subscription(
        db_session=db_session, principal=principal, subscription_id=subscription_id, lock=True
    )
    if "centers" in data:
        check_centers(principal, data["centers"])
        sub.centers = list(dict.fromkeys(data["centers"]))
    if "types" in data:
        sub.types = list(dict.fromkeys(data["types"]))
    if "url" in data:
        sub.url = data["url"]
    if "description" in data:
        sub.description = data["description"]
    if "active" in data:
        if data["active"]:
            sub.state, sub.disabled_reason = "active", None
        else:
            disable(db_session=db_session, sub=sub, reason="订阅方停用")
    sub.updated_at = now_utc()
    touch(db_session, SUBSCRIPTIONS)
    return sub


def delete_subscription(
    *, db_session: Session, principal: Principal, subscription_id: str
) -> Subscription:
    sub = get_subscription(
        db_session=db_session, principal=principal, subscription_id=subscription_id, lock=True
    )
    _cancel_pending(db_session, sub.id)
    db_session.delete(sub)
    touch(db_session, SUBSCRIPTIONS)
    return sub


def rotate_secret(
    *,
    db_session: Session,
    principal: Principal,
    subscription_id: str,
    grace: timedelta = ROTATION_GRACE,
) -> tuple[Subscription, datetime]:
    """A new secret; the old one keeps signing (a second signature) for ``grace``."""
    sub = get_subscription(
        db_session=db_session, principal=principal, subscription_id=subscription_id, lock=True
    )
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
    db_session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.state.in_(("pending", "sending")),
        )
        .values(state="cancelled", last_error="订阅已停用", next_attempt_at=None)
    )


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


def archive_events(*, db_session: Session, bodies: list[dict[str, Any]], now: datetime) -> None:
    """Keep events (each once), given as their envelopes, in one INSERT — deferred, so that
    it goes with the batch's processed marks (``lianxin.bulk.defer_rows``)."""
    defer_rows(
        db_session,
        EventRecord,
        [
            {
                "event_id": body["id"],
                "center_id": body["centerid"],
                "type": body["type"],
                "time": datetime.fromisoformat(body["time"].replace("Z", "+00:00")),
                "body": body,
                "received_at": now,
            }
            for body in bodies
        ],
        on_conflict=["event_id"],
    )


def fan_out(
    *,
    db_session: Session,
    event: dict[str, Any],
    now: datetime,
    replay_id: str = "",
    only: Subscription | None = None,
    active: tuple[ActiveSubscription, ...] | None = None,
) -> int:
    """One delivery per matching active subscription (idempotent); returns how many are new.
    ``active``: the active subscriptions, when the caller has them (from the cache)."""
    subs: Any = (
        [only]
        if only is not None
        else (active if active is not None else load_active(db_session=db_session))
    )
    return fan_out_events(
        db_session=db_session, events=[event], now=now, replay_id=replay_id, active=subs
    )


def fan_out_events(
    *,
    db_session: Session,
    events: list[dict[str, Any]],
    now: datetime,
    active: Sequence[ActiveSubscription | Subscription],
    replay_id: str = "",
) -> int:
    """:func:`fan_out` for several events to the subscriptions ``active``, in one INSERT."""
    rows = [
        {
            "id": "msg_" + uuid.uuid4().hex,
            "subscription_id": s.id,
            "center_id": event["centerid"],
            "event_id": event["id"],
            "event_type": event["type"],
            "replay_id": replay_id,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "lease_until": None,
            "last_status": None,
            "last_error": None,
            "delivered_at": None,
        }
        for event in events
        for s in active
        if matches(s, event["type"], event["centerid"])
    ]
    return insert_ignore(
        db_session, WebhookDelivery, rows, ["subscription_id", "event_id", "replay_id"]
    )


def replay(
    *,
    db_session: Session,
    principal: Principal,
    subscription_id: str,
    start: datetime,
    end: datetime,
) -> tuple[str, int]:
    """Deliver again every kept event of the subscription's types and centers in [start, end)."""
    sub = get_subscription(
        db_session=db_session, principal=principal, subscription_id=subscription_id
    )
    replay_id = str(uuid.uuid4())
    now = now_utc()
    count = 0
    records = db_session.scalars(
        select(EventRecord)
        .where(
            EventRecord.center_id.in_(sub.centers),
            EventRecord.time >= start,
            EventRecord.time < end,
        )
        .order_by(EventRecord.time, EventRecord.event_id)
    ).all()
    for record in records:
        count += fan_out(
            db_session=db_session, event=record.body, now=now, replay_id=replay_id, only=sub
        )
    return replay_id, count


def list_deliveries(
    *, db_session: Session, principal: Principal, subscription_id: str, query: WebhookDeliveryFilter
) -> tuple[list[WebhookDelivery], int]:
    """A subscription's delivery log, newest first."""
    get_subscription(db_session=db_session, principal=principal, subscription_id=subscription_id)
    where = [WebhookDelivery.subscription_id == subscription_id]
    if query.get("state"):
        where.append(WebhookDelivery.state == query["state"])
    if query.get("event_id"):
        where.append(WebhookDelivery.event_id == query["event_id"])
    return page(
        db_session,
        WebhookDelivery,
        where,
        (WebhookDelivery.created_at.desc(), WebhookDelivery.id),
        query["limit"],
        query["offset"],
    )
