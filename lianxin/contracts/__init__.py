"""The event contract: CloudEvents 1.0 envelopes and the catalogue of every event type.

Every event on the bus is a CloudEvents 1.0 JSON envelope, and the envelope *is*
the message body::

    {"specversion": "1.0", "id": "<uuid>", "source": "/centers/yanminghu/tickets",
     "type": "cn.lianxin.tickets.ticket.created.v1", "time": "2026-11-27T08:00:00Z",
     "subject": "<ticket id>", "centerid": "yanminghu",
     "datacontenttype": "application/json", "data": {...}}

The types live in one module per publishing service (``lianxin.contracts.tickets``
...), each declared with :func:`event_type`: a constant that *is* the type
string (so it can be passed to nameko's ``@event_handler``), the marshmallow
schema of its ``data`` and a docstring saying when it is sent — and when it is
not. :data:`CATALOGUE` maps every declared type to its declaration; departments
read it (and the AsyncAPI document generated from it) to know what to expect.

Events carry ids, never contact data.

An event written while a request is traced carries the writer's trace context as the
CloudEvents distributed-tracing extension: top-level ``traceparent`` (and ``tracestate``)
attributes in the W3C Trace Context format (:mod:`lianxin.tracing`). They are optional;
:func:`make_event` refuses malformed ones, and :func:`parse_event` *drops* a malformed one
it receives (the event is still handled, in a trace of its own): a tracing fault never
costs a resident's notification.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from lianxin.clock import now_utc, rfc3339
from lianxin.tracing import (
    TRACEPARENT,
    TRACEPARENT_PATTERN,
    TRACESTATE,
    valid_traceparent,
    valid_tracestate,
)

SPECVERSION = "1.0"
TYPE_PATTERN = re.compile(
    r"^cn\.lianxin\.(?P<service>[a-z_]+)\.(?P<noun>[a-z_]+)\.(?P<verb>[a-z_]+)\.v(?P<version>\d+)$"
)
CENTER_ID = re.compile(r"^[a-z][a-z0-9-]{1,39}$")

log = logging.getLogger(__name__)


class EventType(str):
    """An event type string that also carries its data schema and documentation."""

    schema: type[Schema]
    doc: str
    service: str
    #: A reusable instance of ``schema``.
    codec: Schema

    def __new__(cls, value: str, schema: type[Schema], doc: str) -> EventType:
        match = TYPE_PATTERN.match(value)
        if not match:
            raise ValueError(f"event type {value!r} is not cn.lianxin.<service>.<noun>.<verb>.v<N>")
        obj = super().__new__(cls, value)
        obj.schema = schema
        obj.codec = schema()
        obj.doc = doc.strip()
        obj.service = match["service"]
        return obj


#: Every declared event type, by type string.
CATALOGUE: dict[str, EventType] = {}


def event_type(value: str, schema: type[Schema], doc: str) -> EventType:
    """Declare an event type in the catalogue (once)."""
    if value in CATALOGUE:
        raise ValueError(f"event type {value} declared twice")
    declared = CATALOGUE[value] = EventType(value, schema, doc)
    return declared


def load_catalogue() -> dict[str, EventType]:
    """Import every contract module so :data:`CATALOGUE` is complete."""
    from lianxin.contracts.events import events  # noqa: F401
    from lianxin.contracts.reports import events as _reports  # noqa: F401
    from lianxin.contracts.tickets import events as _tickets  # noqa: F401
    from lianxin.contracts.volunteers import events as _volunteers  # noqa: F401

    return CATALOGUE


class InvalidEvent(Exception):
    """A message that is not a valid event of its declared type. Never retried."""


def _check_tracestate(value: str) -> None:
    """A validator raises: marshmallow no longer fails a value its validator returns False for."""
    if not valid_tracestate(value):
        raise ValidationError("不是 W3C tracestate")


class EnvelopeSchema(Schema):
    """The CloudEvents 1.0 attributes Lianxin uses."""

    class Meta:
        unknown = EXCLUDE

    specversion = fields.Str(required=True, validate=validate.Equal(SPECVERSION))
    id = fields.UUID(required=True)
    source = fields.Str(required=True, validate=validate.Regexp(r"^/centers/[a-z0-9-]+/[a-z_]+$"))
    type = fields.Str(required=True, validate=validate.Regexp(TYPE_PATTERN))
    time = fields.AwareDateTime(required=True, format="iso")
    subject = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    centerid = fields.Str(required=True, validate=validate.Regexp(CENTER_ID))
    datacontenttype = fields.Str(
        load_default="application/json", validate=validate.Equal("application/json")
    )
    data = fields.Dict(required=True)
    #: CloudEvents distributed-tracing extension (W3C Trace Context), both optional.
    traceparent = fields.Str(validate=validate.Regexp(TRACEPARENT_PATTERN))
    tracestate = fields.Str(validate=_check_tracestate)


_ENVELOPE = EnvelopeSchema()


def make_event(
    etype: EventType,
    *,
    center_id: str,
    subject: str,
    data: dict[str, Any],
    event_id: str | None = None,
    time: datetime | None = None,
    traceparent: str | None = None,
    tracestate: str | None = None,
) -> dict[str, Any]:
    """Build a validated envelope; raises ``ValueError`` if the data breaks the contract.

    ``traceparent`` / ``tracestate``: the trace the event continues (the writer's span;
    :class:`lianxin.outbox.OutboxWriter` passes the current one)."""
    schema = etype.codec
    try:
        dumped = schema.dump(data)
    except (AttributeError, TypeError, ValueError) as exc:
        raise ValueError(f"{etype} data breaks its contract: {exc}") from None
    unknown = set(data) - set(dumped)
    errors = schema.validate(dumped)
    if errors or unknown:
        raise ValueError(f"{etype} data breaks its contract: {errors or sorted(unknown)}")
    body = {
        "specversion": SPECVERSION,
        "id": event_id or str(uuid.uuid4()),
        "source": f"/centers/{center_id}/{etype.service}",
        "type": str(etype),
        "time": rfc3339(time or now_utc()),
        "subject": str(subject),
        "centerid": center_id,
        "datacontenttype": "application/json",
        "data": dumped,
    }
    if traceparent is not None:
        if not valid_traceparent(traceparent):
            raise ValueError(f"traceparent {traceparent!r} is not W3C trace context")
        body[TRACEPARENT] = traceparent
        if tracestate:
            if not valid_tracestate(tracestate):
                raise ValueError(f"tracestate {tracestate!r} is not W3C trace context")
            body[TRACESTATE] = tracestate
    return body


def parse_event(body: Any, expected: str | None = None) -> dict[str, Any]:
    """Validate a received envelope and its data; raise :class:`InvalidEvent` with the reason.

    Returns the envelope with ``data`` loaded by the type's schema; other
    attributes stay as the strings that were sent. A malformed ``traceparent`` is dropped
    (with its ``tracestate``), a malformed ``tracestate`` alone too: see the module doc.
    """
    if not isinstance(body, dict):
        raise InvalidEvent(f"body is {type(body).__name__}, not a JSON object")
    body = without_bad_trace_context(body)
    try:
        _ENVELOPE.load(body)
    except ValidationError as exc:
        raise InvalidEvent(f"envelope: {exc.messages}") from None
    etype = CATALOGUE.get(body["type"])
    if etype is None:
        raise InvalidEvent(f"type {body['type']} is in no contract")
    if expected is not None and body["type"] != expected:
        raise InvalidEvent(f"type {body['type']} arrived where {expected} was expected")
    if not body["source"].startswith(f"/centers/{body['centerid']}/"):
        raise InvalidEvent("source does not name the event's centerid")
    try:
        data = etype.codec.load(body["data"])
    except ValidationError as exc:
        raise InvalidEvent(f"data: {exc.messages}") from None
    return {**body, "data": data}


def without_bad_trace_context(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without a malformed ``traceparent`` / ``tracestate`` (W3C Trace Context: a
    bad parent starts a new trace, a bad state is dropped); ``body`` itself if both are fine."""
    parent, state = body.get(TRACEPARENT), body.get(TRACESTATE)
    drop = set()
    if TRACEPARENT in body and not valid_traceparent(parent):
        drop = {TRACEPARENT, TRACESTATE}
    elif TRACESTATE in body and (TRACEPARENT not in body or not valid_tracestate(state)):
        drop = {TRACESTATE}
    if not drop & set(body):
        return body
    log.warning(
        "event %s: dropped malformed trace context %s",
        body.get("id"),
        {k: str(body[k])[:80] for k in sorted(drop & set(body))},
    )
    return {k: v for k, v in body.items() if k not in drop}
