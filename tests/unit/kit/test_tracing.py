"""Trace context in the kit: the W3C format, the envelope's tracing extension, the exporter
that is configured only with an endpoint, and the span a worker gets."""

import io
import json
import logging
from types import SimpleNamespace

import pytest
from nameko.rpc import Rpc
from nameko.timer import Timer
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import MetaData, select

from lianxin import tracing
from lianxin.contracts import make_event, parse_event
from lianxin.contracts.volunteers.events import VOLUNTEER_REGISTERED
from lianxin.db import make_engine, make_session_factory
from lianxin.errors import NotFound
from lianxin.logs import JsonFormatter
from lianxin.outbox import OutboxWriter, kit_tables
from lianxin.testing import ticket_created

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
PARENT = f"00-{TRACE_ID}-{SPAN_ID}-01"
DATA = {"volunteer_id": "v-1", "skills": ["life_care"]}


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    processor = tracing.add_exporter(exporter)
    yield exporter
    tracing.remove_processor(processor)


# -- the format --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        PARENT,
        f"00-{TRACE_ID}-{SPAN_ID}-00",  # not sampled: still a parent
    ],
)
def test_a_version_00_traceparent_is_valid_and_parses_back_to_its_ids(value):
    assert tracing.valid_traceparent(value)
    parsed = tracing.parse_traceparent(value)
    assert parsed is not None and parsed.is_remote
    assert (f"{parsed.trace_id:032x}", f"{parsed.span_id:016x}") == (TRACE_ID, SPAN_ID)
    assert tracing.format_traceparent(parsed) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        f"00-{TRACE_ID.upper()}-{SPAN_ID}-01",  # uppercase hex
        f"00-{'0' * 32}-{SPAN_ID}-01",  # an all-zero trace id
        f"00-{TRACE_ID}-{'0' * 16}-01",  # an all-zero parent id
        f"ff-{TRACE_ID}-{SPAN_ID}-01",  # a forbidden version
        f"00-{TRACE_ID[:-1]}-{SPAN_ID}-01",
        f"00-{TRACE_ID}-{SPAN_ID}-01-extra",
        f" {PARENT}",
        None,
        42,
    ],
)
def test_a_malformed_traceparent_is_refused(value):
    assert not tracing.valid_traceparent(value)
    assert tracing.parse_traceparent(value) is None


@pytest.mark.parametrize(
    "value", ["lx=1", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "tenant@vendor=a b", "a=1,,b=2"]
)
def test_a_w3c_tracestate_is_valid(value):
    assert tracing.valid_tracestate(value)


@pytest.mark.parametrize(
    "value",
    ["", "novalue", "Upper=1", "a=1,b", "a=" + "x" * 600, ",".join(f"k{n}=v" for n in range(33))],
)
def test_a_malformed_tracestate_is_refused(value):
    assert not tracing.valid_tracestate(value)


def test_a_carrier_with_a_bad_traceparent_names_no_parent_and_a_bad_tracestate_is_dropped():
    assert tracing.context_from({"traceparent": "garbage", "tracestate": "lx=1"}) is None
    assert tracing.context_from({}) is None and tracing.context_from(None) is None
    kept = tracing.context_from({"traceparent": PARENT, "tracestate": "Not Valid"})
    assert kept is not None
    from opentelemetry import trace

    parent = trace.get_current_span(kept).get_span_context()
    assert f"{parent.trace_id:032x}" == TRACE_ID and not parent.trace_state


# -- the exporter ------------------------------------------------------------------------------


def test_no_exporter_is_configured_without_an_endpoint():
    assert tracing.exporting_processor({}) is None
    assert tracing.exporting_processor({"OTEL_EXPORTER_OTLP_ENDPOINT": " "}) is None


@pytest.mark.parametrize(
    "variable, expected",
    [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector.example:4318/v1/traces"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector.example:4318"),
    ],
)
def test_an_otlp_exporter_is_batched_when_an_endpoint_is_set(monkeypatch, variable, expected):
    monkeypatch.setenv(variable, "http://collector.example:4318")
    processor = tracing.exporting_processor()
    try:
        assert isinstance(processor, BatchSpanProcessor)
        exporter = processor._batch_processor._exporter
        assert isinstance(exporter, OTLPSpanExporter)
        assert exporter._endpoint == expected
    finally:
        processor.shutdown()  # nothing was queued: nothing is sent


def test_every_service_has_a_provider_of_its_own_named_after_it(monkeypatch):
    monkeypatch.setattr(tracing, "_providers", {})
    monkeypatch.setattr(tracing, "_exporting", None)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    tickets = tracing.provider_for("tickets")
    assert tracing.provider_for("tickets") is tickets
    assert tickets.resource.attributes["service.name"] == "tickets"
    assert tracing.provider_for("notify").resource.attributes["service.name"] == "notify"
    # No endpoint: spans are made (ids propagate) but no processor exports them.
    assert not any(
        isinstance(p, BatchSpanProcessor) for p in tickets._active_span_processor._span_processors
    )
    with tracing.tracer("tickets").start_as_current_span("work") as span:
        assert span.get_span_context().is_valid


def test_the_process_exports_through_one_shared_processor_when_an_endpoint_is_set(monkeypatch):
    monkeypatch.setattr(tracing, "_providers", {})
    monkeypatch.setattr(tracing, "_exporting", None)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector.example:4318")
    try:
        found = [
            [
                p
                for p in tracing.provider_for(s)._active_span_processor._span_processors
                if isinstance(p, BatchSpanProcessor)
            ]
            for s in ("tickets", "notify")
        ]
        assert len(found[0]) == 1 and found[0] == found[1]
    finally:
        if tracing._exporting is not None:
            tracing._exporting.shutdown()


# -- the envelope ------------------------------------------------------------------------------


def test_an_event_carries_the_trace_it_was_written_in_as_cloudevents_attributes():
    event = make_event(
        VOLUNTEER_REGISTERED,
        center_id="yanminghu",
        subject="v-1",
        data=DATA,
        traceparent=PARENT,
        tracestate="lx=1",
    )
    assert (event["traceparent"], event["tracestate"]) == (PARENT, "lx=1")
    received = parse_event(json.loads(json.dumps(event)))
    assert (received["traceparent"], received["tracestate"]) == (PARENT, "lx=1")
    plain = make_event(VOLUNTEER_REGISTERED, center_id="yanminghu", subject="v-1", data=DATA)
    assert "traceparent" not in plain and "tracestate" not in plain


def test_an_event_is_never_written_with_malformed_trace_context():
    with pytest.raises(ValueError, match="traceparent"):
        make_event(
            VOLUNTEER_REGISTERED, center_id="yanminghu", subject="v-1", data=DATA, traceparent="x"
        )
    with pytest.raises(ValueError, match="tracestate"):
        make_event(
            VOLUNTEER_REGISTERED,
            center_id="yanminghu",
            subject="v-1",
            data=DATA,
            traceparent=PARENT,
            tracestate="BAD",
        )


def test_a_received_event_with_malformed_trace_context_is_handled_without_it(caplog):
    """Ignored, not dead-lettered: a tracing fault must not cost a notification."""
    event = {**ticket_created(), "traceparent": "not-a-traceparent", "tracestate": "lx=1"}
    received = parse_event(event)
    assert "traceparent" not in received and "tracestate" not in received
    assert received["data"]["category"] == "sanitation"
    assert "dropped malformed trace context" in caplog.text

    state_only = parse_event({**ticket_created(), "traceparent": PARENT, "tracestate": "BAD"})
    assert state_only["traceparent"] == PARENT and "tracestate" not in state_only
    orphan = parse_event({**ticket_created(), "tracestate": "lx=1"})
    assert "tracestate" not in orphan


@pytest.fixture
def outbox(sqlite_url):
    metadata = MetaData()
    table, _ = kit_tables(metadata)
    engine = make_engine(sqlite_url("outbox"))
    metadata.create_all(engine)
    with make_session_factory(engine)() as session:
        yield OutboxWriter(session, table), session, table
    engine.dispose()


def test_the_outbox_writes_the_current_span_into_each_event(outbox):
    writer, session, table = outbox
    with tracing.tracer("volunteers").start_as_current_span("register") as span:
        one = writer.add(VOLUNTEER_REGISTERED, center_id="yanminghu", subject="v-1", data=DATA)
        many = writer.add_many(
            [
                (VOLUNTEER_REGISTERED, "yanminghu", f"v-{n}", {**DATA, "volunteer_id": f"v-{n}"})
                for n in (2, 3)
            ]
        )
    untraced = writer.add(VOLUNTEER_REGISTERED, center_id="yanminghu", subject="v-4", data=DATA)
    session.commit()
    expected = tracing.format_traceparent(span.get_span_context())
    assert [b["traceparent"] for b in (one, *many)] == [expected] * 3
    assert "traceparent" not in untraced
    stored = {r.event_id: r.body for r in session.execute(select(table))}
    assert stored[one["id"]]["traceparent"] == expected


# -- a worker's span ---------------------------------------------------------------------------


def provider_for(service="tickets"):
    provider = tracing.Tracing()
    provider.container = SimpleNamespace(service_name=service)
    provider.setup()
    return provider


class Worker:
    """What the provider reads of nameko's WorkerContext (weakly referenceable, as it is)."""

    def __init__(self, entrypoint, data, args):
        self.entrypoint, self.data, self.args = entrypoint, data, args


def worker(entrypoint, data=None, args=()):
    return Worker(entrypoint, dict(data or {}), args)


def rpc_entrypoint(method="get_ticket"):
    entrypoint = Rpc()
    entrypoint.method_name = method
    return entrypoint


def test_an_rpc_worker_continues_its_callers_trace_and_passes_its_own_span_on(spans):
    provider = provider_for()
    ctx = worker(rpc_entrypoint(), {"traceparent": PARENT, "request_id": "r-1"})
    provider.worker_setup(ctx)
    own = tracing.current_headers()["traceparent"]
    assert ctx.data["traceparent"] == own != PARENT  # what its own calls carry on
    assert own.split("-")[1] == TRACE_ID
    provider.worker_result(ctx, result={"id": "t-1"})
    assert tracing.current_headers() == {}  # detached when the worker ends
    (span,) = spans.get_finished_spans()
    assert span.name == "tickets.get_ticket" and span.kind is SpanKind.SERVER
    assert f"{span.parent.span_id:016x}" == SPAN_ID
    assert span.status.status_code is StatusCode.UNSET


def test_without_an_exporter_a_worker_still_continues_the_trace_and_passes_ids_on(monkeypatch):
    monkeypatch.setattr(tracing, "_processors", [])
    monkeypatch.setattr(tracing, "_exporting", None)
    provider = provider_for()
    ctx = worker(rpc_entrypoint(), {"traceparent": PARENT})
    provider.worker_setup(ctx)
    assert tracing.current_trace_id() == TRACE_ID
    _version, trace_id, span_id, flags = ctx.data["traceparent"].split("-")
    assert (trace_id, flags) == (TRACE_ID, "01") and span_id != SPAN_ID
    provider.worker_result(ctx)
    root = worker(rpc_entrypoint())  # no caller's trace: a new one, sampled
    provider.worker_setup(root)
    assert root.data["traceparent"].split("-")[1] not in (TRACE_ID, "0" * 32)
    provider.worker_result(root)
    assert tracing.current_trace_id() is None


def test_a_refusal_is_not_a_fault_but_a_crash_is(spans):
    provider = provider_for()
    for error in (NotFound("没有这个工单"), RuntimeError("disk full")):
        ctx = worker(rpc_entrypoint())
        provider.worker_setup(ctx)
        provider.worker_result(ctx, exc_info=(type(error), error, None))
    refused, crashed = spans.get_finished_spans()
    assert refused.status.status_code is StatusCode.UNSET and refused.parent is None
    assert crashed.status.status_code is StatusCode.ERROR
    assert crashed.events[0].name == "exception"


def test_a_batch_of_events_continues_the_first_ones_trace_and_links_to_every_one(spans):
    events = [{**ticket_created(), "traceparent": f"00-{n:032x}-{n:016x}-01"} for n in (1, 2, 3)]
    entrypoint = SimpleNamespace(
        method_name="handle_ticket_created", traced_messages=lambda ctx: ctx.args[0]
    )
    provider = provider_for("notify")
    ctx = worker(entrypoint, args=(events,))
    provider.worker_setup(ctx)
    provider.worker_result(ctx)
    (span,) = spans.get_finished_spans()
    assert span.kind is SpanKind.CONSUMER and span.parent.trace_id == 1
    assert [link.context.trace_id for link in span.links] == [1, 2, 3]
    assert span.attributes["messaging.batch.message_count"] == 3


def test_timers_make_no_span(spans):
    timer = Timer(interval=1)
    timer.method_name = "tick"
    provider = provider_for()
    ctx = worker(timer)
    provider.worker_setup(ctx)
    provider.worker_result(ctx)
    assert spans.get_finished_spans() == () and "traceparent" not in ctx.data


def test_a_log_line_carries_the_trace_id_of_its_span():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("lianxin.test_tracing")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with tracing.tracer("tickets").start_as_current_span("work") as span:
            logger.warning("inside")
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert "trace_id" not in outside
