"""Request tracing: OpenTelemetry spans and W3C trace context, set up once per process.

One trace follows a ticket the whole way:

* the gateway's **server span** per HTTP request (``POST /api/v1/tickets``: method and route
  template, never the path), its parent the caller's ``traceparent`` header if it sent one;
  the answer carries the span's own ``traceparent``;
* a **span per RPC** in the service: nameko hands the worker's context data to the callee
  as message headers (``nameko.traceparent``), and :class:`Tracing` puts its span's
  ``traceparent`` there before the worker runs;
* the events a worker writes to its outbox carry the worker's span as the CloudEvents
  distributed-tracing extension: ``traceparent`` (and ``tracestate``) attributes of the
  envelope (:func:`lianxin.contracts.make_event`);
* a **consumer span** per handler worker (:mod:`lianxin.consumer`): its parent is the
  envelope's ``traceparent``; a batch's span continues the *first* event's trace and links
  to every event's context (a batch of one — an idle system — is a plain child);
* a **client span per webhook attempt** (notify's department webhooks), a child of the
  delivered event's trace, sent as the request's ``traceparent`` header.

Timers make no span of their own (a trace every half second says nothing); what one does
for an event (a webhook delivery) joins that event's trace.

Spans are always made, so ids propagate and log lines carry ``trace_id``
(:mod:`lianxin.logs`). They are exported over OTLP/HTTP (a ``BatchSpanProcessor``) only when
``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set; the SDK
reads the other ``OTEL_*`` variables itself (exporter headers and timeout,
``OTEL_TRACES_SAMPLER`` — default parent-based, always on — and ``OTEL_BSP_*``). When
nothing takes spans (no endpoint, no test exporter) they are id-only (:func:`start_span`):
the SDK's recorded span costs ~0.1 ms of CPU, to be dropped at its end.
``OTEL_SDK_DISABLED=true`` turns tracing off (no spans, nothing passed on).

Each service gets a ``TracerProvider`` of its own, its name the resource's ``service.name``,
also when several run in one process (``lianxin run``, tests); they share the exporter.
Tests watch every span with :func:`add_exporter` (an ``InMemorySpanExporter``). Every
service class declares the provider::

    class TicketsService:
        tracing = Tracing()
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from weakref import WeakKeyDictionary

from nameko.extensions import DependencyProvider
from nameko.timer import Timer
from nameko.web.handlers import HttpRequestHandler
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import (
    Link,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)

from lianxin.errors import LianxinError

#: The W3C trace-context fields: HTTP headers, nameko context keys and envelope attributes.
TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
#: Either one turns the OTLP exporter on (the traces one wins, as the SDK reads them).
ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
#: Links a batch's span carries at most (a batch is capped at half the prefetch anyway).
MAX_LINKS = 128

#: ``version-traceid-parentid-flags`` as this version (00) writes it: lowercase hex, the ids
#: not all zeros. An envelope's ``traceparent`` must match it.
TRACEPARENT_PATTERN = r"^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$"
_TRACEPARENT = re.compile(TRACEPARENT_PATTERN)
#: One ``key=value`` member of a ``tracestate`` (W3C Trace Context, section 3.3.1).
_TRACESTATE_MEMBER = re.compile(
    r"^(?:[a-z][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})"
    r"=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$"
)
TRACESTATE_MAX = 512


# -- the format ------------------------------------------------------------------------------


def valid_traceparent(value: Any) -> bool:
    """Whether ``value`` is a version-00 ``traceparent`` (``00-<32 hex>-<16 hex>-<2 hex>``)."""
    return isinstance(value, str) and _TRACEPARENT.match(value) is not None


def valid_tracestate(value: Any) -> bool:
    """Whether ``value`` is a ``tracestate``: 1–32 ``key=value`` members, 512 characters at most."""
    if not isinstance(value, str) or len(value) > TRACESTATE_MAX:
        return False
    members = [m.strip(" \t") for m in value.split(",")]
    members = [m for m in members if m]  # empty members are allowed and ignored
    return 0 < len(members) <= 32 and all(_TRACESTATE_MEMBER.match(m) for m in members)


def format_traceparent(span_context: SpanContext) -> str:
    """The ``traceparent`` naming ``span_context`` as the parent."""
    return (
        f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-"
        f"{int(span_context.trace_flags):02x}"
    )


def parse_traceparent(value: Any, tracestate: str | None = None) -> SpanContext | None:
    """The remote span a ``traceparent`` names (with ``tracestate``'s members, if valid),
    or ``None`` if it is not a valid one."""
    if not valid_traceparent(value):
        return None
    state = None
    if tracestate is not None and valid_tracestate(tracestate):
        state = TraceState.from_header([tracestate])
    return SpanContext(
        int(value[3:35], 16),
        int(value[36:52], 16),
        is_remote=True,
        trace_flags=TraceFlags(int(value[53:55], 16)),
        trace_state=state,
    )


def headers_of(span_context: SpanContext) -> dict[str, str]:
    """``traceparent`` (and ``tracestate``, if any) naming ``span_context`` as the parent."""
    if not span_context.is_valid:
        return {}
    out = {TRACEPARENT: format_traceparent(span_context)}
    if span_context.trace_state:
        out[TRACESTATE] = span_context.trace_state.to_header()
    return out


def current_headers() -> dict[str, str]:
    """The trace context of the current span (empty outside any): what travels onward."""
    return headers_of(trace.get_current_span().get_span_context())


def current_trace_id() -> str | None:
    """The current trace's id (32 hex digits), or ``None`` outside any span."""
    span_context = trace.get_current_span().get_span_context()
    return f"{span_context.trace_id:032x}" if span_context.is_valid else None


def context_from(carrier: Mapping[str, Any] | None) -> Context | None:
    """The parent context a carrier (headers, context data, an envelope) names; ``None``
    when it names none or a malformed one (W3C: a bad ``traceparent`` starts a new trace;
    a bad ``tracestate`` alone is dropped)."""
    if not carrier:
        return None
    parent = carrier.get(TRACEPARENT)
    if not isinstance(parent, str) or not parent:
        return None
    remote = parse_traceparent(parent.strip(), carrier.get(TRACESTATE))
    return None if remote is None else trace.set_span_in_context(trace.NonRecordingSpan(remote))


# -- the providers -------------------------------------------------------------------------

_lock = threading.Lock()
_providers: dict[str, TracerProvider] = {}
_processors: list[SpanProcessor] = []
_exporting: SpanProcessor | None = None


def endpoint_configured(environ: Mapping[str, str] | None = None) -> bool:
    """Whether an OTLP endpoint is configured (so spans are exported)."""
    env = os.environ if environ is None else environ
    return any((env.get(name) or "").strip() for name in ENDPOINT_VARS)


def exporting_processor(environ: Mapping[str, str] | None = None) -> SpanProcessor | None:
    """A ``BatchSpanProcessor`` feeding an OTLP/HTTP exporter when an endpoint is configured
    (the exporter reads the endpoint, headers and timeout from the environment); else ``None``."""
    if not endpoint_configured(environ):
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return BatchSpanProcessor(OTLPSpanExporter())


def resource_of(service: str) -> Resource:
    """``service.name`` = the service (``OTEL_RESOURCE_ATTRIBUTES`` may add more)."""
    return Resource.create({"service.name": service, "service.namespace": "lianxin"})


def provider_for(service: str) -> TracerProvider:
    """The process's provider of ``service``, made once; the exporter is the process's one."""
    global _exporting
    with _lock:
        provider = _providers.get(service)
        if provider is not None:
            return provider
        provider = _providers[service] = TracerProvider(resource=resource_of(service))
        if _exporting is None:
            _exporting = exporting_processor()
        if _exporting is not None:
            provider.add_span_processor(_exporting)
        for processor in _processors:
            provider.add_span_processor(processor)
        return provider


def tracer(service: str) -> trace.Tracer:
    """The tracer spans of ``service`` are made with."""
    return provider_for(service).get_tracer("lianxin")


def add_exporter(exporter: SpanExporter) -> SpanProcessor:
    """Send every span of every service in this process to ``exporter`` as it ends (tests:
    an ``InMemorySpanExporter``); undone with :func:`remove_processor`."""
    processor = SimpleSpanProcessor(exporter)
    with _lock:
        _processors.append(processor)
        providers = list(_providers.values())
    for provider in providers:
        provider.add_span_processor(processor)
    return processor


def remove_processor(processor: SpanProcessor) -> None:
    """Stop sending spans to what :func:`add_exporter` attached."""
    with _lock:
        if processor in _processors:
            _processors.remove(processor)
        providers = list(_providers.values())
    for provider in providers:
        multi = provider._active_span_processor
        with multi._lock:
            multi._span_processors = tuple(p for p in multi._span_processors if p is not processor)


@contextmanager
def span_from(
    service: str,
    name: str,
    carrier: Mapping[str, Any] | None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: dict[str, Any] | None = None,
) -> Iterator[Span]:
    """A span of ``service`` continuing the trace ``carrier`` names (an envelope, headers),
    current while the block runs (an exception ends it as an error). For work outside a
    worker: a webhook attempt in notify's send pool, say::

        with tracing.span_from("notify", "POST webhook", event, kind=SpanKind.CLIENT):
            headers.update(tracing.current_headers())
    """
    span = start_span(service, name, context_from(carrier), kind=kind, attributes=attributes)
    with trace.use_span(
        span, end_on_exit=True, record_exception=True, set_status_on_exception=True
    ):
        yield span


def disabled(environ: Mapping[str, str] | None = None) -> bool:
    """``OTEL_SDK_DISABLED=true``: no spans at all, no trace context passed on (A/B runs)."""
    env = os.environ if environ is None else environ
    return (env.get("OTEL_SDK_DISABLED") or "").strip().lower() == "true"


def recording() -> bool:
    """Whether anything takes spans in this process (the OTLP exporter, a test's exporter)."""
    return _exporting is not None or bool(_processors)


def start_span(
    service: str,
    name: str,
    parent: Context | None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    links: list[Link] | None = None,
    attributes: dict[str, Any] | None = None,
) -> Span:
    """A span of ``service``, not yet current. When nothing takes spans (no endpoint), an
    id-only span: the parent's trace (or a new one, sampled) and a new span id, so ids still
    propagate and log lines carry them, for a few microseconds instead of the ~0.1 ms of
    the SDK's recorded span that would be dropped at its end."""
    if not recording():
        return _id_only(parent)
    return tracer(service).start_span(
        name, context=parent, kind=kind, links=links, attributes=attributes
    )


_IDS = RandomIdGenerator()


def _id_only(parent: Context | None) -> Span:
    above = trace.get_current_span(parent).get_span_context() if parent is not None else None
    if above is not None and above.is_valid:
        trace_id, flags, state = above.trace_id, above.trace_flags, above.trace_state
    else:
        trace_id, flags, state = _IDS.generate_trace_id(), TraceFlags(TraceFlags.SAMPLED), None
    return trace.NonRecordingSpan(
        SpanContext(
            trace_id, _IDS.generate_span_id(), is_remote=False, trace_flags=flags, trace_state=state
        )
    )


# -- spans of nameko workers ---------------------------------------------------------------


def _links(carriers: Iterable[Mapping[str, Any]]) -> list[Link]:
    links = []
    for carrier in carriers:
        parent = context_from(carrier)
        if parent is not None:
            links.append(Link(trace.get_current_span(parent).get_span_context()))
            if len(links) >= MAX_LINKS:
                break
    return links


class Tracing(DependencyProvider):
    """A span per worker of the service (HTTP request, RPC, event handler; not timers), the
    current span while the worker runs, and its ``traceparent`` in the worker's context
    data, which nameko sends on with every RPC and event the worker makes.

    An entrypoint that handles messages carrying their own trace context (the kit's
    ``@event_handler``: envelopes) says which with ``traced_messages(worker_ctx)``: the
    span continues the first's trace and, for several, links to each. Injects nothing
    (``self.tracing`` is ``None``): the span is the current one (:func:`current_headers`).
    """

    def __init__(self) -> None:
        self.spans: WeakKeyDictionary = WeakKeyDictionary()

    def setup(self) -> None:
        self.service = self.container.service_name
        self.enabled = not disabled()
        provider_for(self.service)

    def get_dependency(self, worker_ctx: Any) -> None:
        return None

    def worker_setup(self, worker_ctx: Any) -> None:
        entrypoint = worker_ctx.entrypoint
        if not self.enabled or isinstance(entrypoint, Timer):
            return
        method = entrypoint.method_name
        links: list[Link] = []
        attributes: dict[str, Any] = {}
        messages = getattr(entrypoint, "traced_messages", None)
        if isinstance(entrypoint, HttpRequestHandler):
            request = worker_ctx.args[0] if worker_ctx.args else None
            headers = request.headers if request is not None else {}
            parent = context_from({k: headers.get(k) for k in (TRACEPARENT, TRACESTATE)})
            name, kind = f"{entrypoint.method} {entrypoint.url}", SpanKind.SERVER
            attributes = {"http.request.method": entrypoint.method, "http.route": entrypoint.url}
        elif messages is not None:
            envelopes = list(messages(worker_ctx))
            parent = context_from(envelopes[0]) if envelopes else None
            if len(envelopes) > 1:
                links = _links(envelopes)
            name, kind = f"{self.service}.{method}", SpanKind.CONSUMER
            attributes = {
                "messaging.system": "rabbitmq",
                "messaging.operation.type": "process",
                "messaging.batch.message_count": len(envelopes),
            }
            if envelopes:
                attributes["cloudevents.event_type"] = envelopes[0].get("type", "")
            if len(envelopes) == 1:
                attributes["cloudevents.event_id"] = envelopes[0].get("id", "")
        else:
            parent = context_from(worker_ctx.data)
            name, kind = f"{self.service}.{method}", SpanKind.SERVER
            attributes = {"rpc.system": "nameko", "rpc.service": self.service, "rpc.method": method}
        span = start_span(self.service, name, parent, kind=kind, links=links, attributes=attributes)
        token = otel_context.attach(trace.set_span_in_context(span))
        self.spans[worker_ctx] = (span, token)
        # What the worker's calls carry on (nameko drops a None, so drop a stale state too).
        worker_ctx.data.pop(TRACESTATE, None)
        worker_ctx.data.update(headers_of(span.get_span_context()))

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        found = self.spans.pop(worker_ctx, None)
        if found is None:
            return
        span, token = found
        try:
            self._finish(span, worker_ctx, result, exc_info)
        finally:
            span.end()
            otel_context.detach(token)

    def _finish(self, span: Span, worker_ctx: Any, result: Any, exc_info: Any) -> None:
        status = getattr(result, "status_code", None)
        if isinstance(status, int):
            span.set_attribute("http.response.status_code", status)
            request_id = worker_ctx.data.get("request_id")
            if request_id:
                span.set_attribute("lianxin.request_id", request_id)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            # The answer tells the caller its trace. The HTTP entrypoint hands the response
            # to the server's green thread before this runs, but that thread only runs once
            # this one yields, which nothing here does: the header goes out with it.
            headers = getattr(result, "headers", None)
            if headers is not None:
                headers[TRACEPARENT] = format_traceparent(span.get_span_context())
        if exc_info is not None:
            error = exc_info[1]
            if not isinstance(error, LianxinError):  # a refusal is an answer, not a fault
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
