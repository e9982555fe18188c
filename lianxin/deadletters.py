"""The dead-letter queue: messages that could not be processed, with the reason.

A consumer that cannot process a message (it is not JSON, it breaks its
contract, or its handler kept failing) publishes the original body here with
headers naming the reason, the service and queue, and acknowledges the
original — so the message is never lost and never blocks its queue. Ops read
the queue with ``lianxin dead-letters``; a fixed message can be replayed onto
its original exchange.

The broker dead-letters here too: every durable queue the services declare is a quorum
queue with a delivery limit (:mod:`lianxin.queues`), and a message delivered that often
without being acknowledged is moved here by RabbitMQ, at least once. Its reason, queue,
exchange and routing key are read from the broker's ``x-death`` headers into the same
fields the kit writes (the reason as ``broker: delivery_limit``). The queue itself is a
quorum queue without a delivery limit: reading it hands messages back, which counts.
"""

from __future__ import annotations

import json
from typing import Any

import kombu
from amqp.exceptions import PreconditionFailed

from lianxin import queues
from lianxin.clock import now_utc

EXCHANGE = queues.DEAD_LETTER_EXCHANGE
QUEUE = "lianxin.dead-letters"
H = "x-lianxin-"


def _declare(channel) -> None:
    channel.exchange_declare(EXCHANGE, "fanout", durable=True, auto_delete=False)
    try:
        channel.queue_declare(
            QUEUE, durable=True, auto_delete=False, arguments=queues.arguments(dead_letter=False)
        )
    except PreconditionFailed as exc:  # a classic dead-letter queue from before: say so
        raise (queues.mismatch(exc) or exc) from None
    channel.queue_bind(QUEUE, EXCHANGE, routing_key="")


def publish(
    amqp_uri: str,
    *,
    body: bytes,
    content_type: str | None,
    reason: str,
    service: str,
    queue: str,
    exchange: str = "",
    routing_key: str = "",
    event_type: str | None = None,
    event_id: str | None = None,
    center_id: str | None = None,
) -> None:
    """Dead-letter one message, waiting for the broker's confirm."""
    headers = {
        f"{H}reason": reason[:2000],
        f"{H}service": service,
        f"{H}queue": queue,
        f"{H}exchange": exchange,
        f"{H}routing-key": routing_key,
        f"{H}failed-at": now_utc().isoformat(timespec="seconds"),
    }
    for key, value in (("event-type", event_type), ("event-id", event_id), ("center", center_id)):
        if value:
            headers[f"{H}{key}"] = str(value)
    with kombu.Connection(
        amqp_uri, transport_options={"confirm_publish": True}, connect_timeout=5
    ) as conn:
        channel = conn.channel()
        _declare(channel)
        producer = kombu.Producer(channel)
        producer.publish(
            body,
            exchange=EXCHANGE,
            routing_key="",
            content_type=content_type or "application/octet-stream",
            content_encoding="binary",
            headers=headers,
            delivery_mode=2,
            retry=True,
            retry_policy={"max_retries": 3},
        )


def _describe(message) -> dict[str, Any]:
    headers = message.headers or {}
    raw = message.body if isinstance(message.body, bytes) else str(message.body).encode()
    try:
        body: Any = json.loads(raw)
    except ValueError:
        body = raw.decode("utf-8", errors="replace")
    out = {key[len(H) :]: value for key, value in headers.items() if key.startswith(H)}
    if "reason" not in out and headers.get("x-death"):
        out.update(_broker_death(message, headers))
    out["body"] = body
    out["content_type"] = message.content_type
    return out


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _broker_death(message, headers: dict[str, Any]) -> dict[str, Any]:
    """The kit's fields of a message the broker dead-lettered, from its ``x-death`` headers
    (the first death: where the message failed, not a replay's later hops)."""
    deaths = headers.get("x-death") or [{}]
    first = next(
        (
            d
            for d in deaths
            if _text(d.get("queue", "")) == _text(headers.get("x-first-death-queue", ""))
        ),
        deaths[-1],
    )
    queue = _text(headers.get("x-first-death-queue") or first.get("queue", ""))
    keys = first.get("routing-keys") or [""]
    out: dict[str, Any] = {
        "reason": f"broker: {_text(headers.get('x-first-death-reason') or first.get('reason', ''))}",
        "queue": queue,
        "exchange": _text(headers.get("x-first-death-exchange") or first.get("exchange", "")),
        "routing-key": _text(keys[0]),
        "service": _service_of(queue),
    }
    if first.get("count") is not None:
        out["count"] = first["count"]
    if first.get("time") is not None:
        out["failed-at"] = _text(first["time"])
    props = getattr(message, "properties", {}) or {}
    if props.get("type"):
        out["event-type"] = _text(props["type"])
    if props.get("message_id"):
        out["event-id"] = _text(props["message_id"])
    center = headers.get("cloudEvents:centerid")
    if center:
        out["center"] = _text(center)
    return out


def _service_of(queue: str) -> str:
    """The service consuming ``queue``: ``rpc-<service>`` or ``evt-…--<service>.<method>``."""
    if queue.startswith("rpc-"):
        return queue[len("rpc-") :]
    if "--" in queue:
        return queue.rsplit("--", 1)[1].split(".", 1)[0]
    return ""


def peek(amqp_uri: str, limit: int = 100) -> list[dict[str, Any]]:
    """Read up to ``limit`` dead letters without removing them."""
    items: list[dict[str, Any]] = []
    with kombu.Connection(amqp_uri, connect_timeout=5) as conn:
        channel = conn.channel()
        _declare(channel)
        queue = kombu.Queue(QUEUE, channel=channel)
        while len(items) < limit:
            message = queue.get(no_ack=False, accept=None)
            if message is None:
                break
            items.append(_describe(message))
        # Closing the channel with the messages unacknowledged puts them back.
        channel.close()
    return items


def replay(amqp_uri: str, limit: int = 100) -> int:
    """Move up to ``limit`` dead letters back onto their original exchange; returns how many."""
    moved = 0
    with kombu.Connection(
        amqp_uri, transport_options={"confirm_publish": True}, connect_timeout=5
    ) as conn:
        channel = conn.channel()
        _declare(channel)
        queue = kombu.Queue(QUEUE, channel=channel)
        producer = kombu.Producer(channel)
        while moved < limit:
            message = queue.get(no_ack=False, accept=None)
            if message is None:
                break
            described = _describe(message)
            exchange = described.get("exchange")
            if not exchange:
                message.reject(requeue=True)
                break
            producer.publish(
                message.body,
                exchange=exchange,
                routing_key=described.get("routing-key", ""),
                content_type=message.content_type,
                content_encoding="binary",
                delivery_mode=2,
            )
            message.ack()
            moved += 1
    return moved
