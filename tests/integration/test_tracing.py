"""One trace from an HTTP request to the staff notification and the department's webhook, over
the real broker: the gateway's server span (a child of the caller's ``traceparent``) → the
tickets RPC span → the ``ticket.created`` envelope's ``traceparent`` → notify's consumer span
→ the webhook attempt's client span, whose ``traceparent`` header the receiver gets.

The containers run in this process and share its tracer providers: an in-memory exporter
sees every span of every service."""

import io
import json
import logging

import pytest
import requests
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import select

from lianxin import deadletters, tracing
from lianxin.contracts.tickets import events as tk
from lianxin.db import make_engine
from lianxin.logs import JsonFormatter
from lianxin.testing import batch_recorder, free_port, ticket_created, wait_for
from lianxin.tracing import Tracing
from services.notify.testing import WebhookReceiver

pytestmark = pytest.mark.integration

CENTER = "yanminghu"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    processor = tracing.add_exporter(exporter)
    yield exporter
    tracing.remove_processor(processor)


@pytest.fixture
def hooks():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def access_log():
    """The gateway's access lines, formatted as production formats them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("lianxin.access")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def gateway(container_factory, service_config, demo_center, tmp_path):
    from gateway.service import GatewayService
    from services.notify.service import NotifyService
    from services.tickets.service import TicketsService

    port = free_port()
    container_factory(TicketsService, service_config("tickets")).start()
    container_factory(
        NotifyService,
        service_config(
            "notify",
            WEBHOOK_ALLOWED_HOSTS="127.0.0.1",  # the test's own receiver
            QUIET_HOURS="off",
            SANDBOX_DIR=str(tmp_path / "sandbox"),
        ),
    ).start()
    container_factory(
        GatewayService, service_config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    ).start()
    demo_center()
    return f"http://127.0.0.1:{port}/api/v1"


def trace_of(headers_or_event) -> tuple[str, str]:
    """(trace id, parent span id) of a ``traceparent``."""
    _version, trace_id, parent, _flags = headers_or_event["traceparent"].split("-")
    return trace_id, parent


def test_one_trace_runs_from_the_http_request_to_the_notification_and_the_webhook(
    gateway, rpc, token, bus, hooks, spans, access_log
):
    department = rpc(token("department", [CENTER], sub="civil-affairs"))
    department.notify.create_subscription(
        {"url": hooks.url, "types": [str(tk.TICKET_CREATED)], "centers": [CENTER]}
    )
    watched = bus.bind("tickets", str(tk.TICKET_CREATED))

    staff = {"Authorization": f"Bearer {token('staff')}"}
    response = requests.post(
        f"{gateway}/tickets",
        json={
            "category": "sanitation",
            "description": "3号楼门口垃圾两天没人清运",
            "channel": "hotline",
        },
        headers={**staff, "traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    ticket = response.json()

    # The gateway's server span: a child of the caller's, named by the route template.
    server = wait_for(
        lambda: [s for s in spans.get_finished_spans() if s.name == "POST /api/v1/tickets"]
    )[0]
    assert server.kind is SpanKind.SERVER
    assert f"{server.context.trace_id:032x}" == TRACE_ID
    assert f"{server.parent.span_id:016x}" == CALLER_SPAN and server.parent.is_remote
    assert server.attributes["http.response.status_code"] == 201
    assert server.resource.attributes["service.name"] == "gateway"
    # … and the answer names it.
    assert trace_of(response.headers) == (TRACE_ID, f"{server.context.span_id:016x}")

    # The tickets RPC span: a child of the gateway's, in the tickets service's resource.
    rpc_span = wait_for(
        lambda: [s for s in spans.get_finished_spans() if s.name == "tickets.create_tickets"]
    )[0]
    assert rpc_span.context.trace_id == server.context.trace_id
    assert rpc_span.parent.span_id == server.context.span_id
    assert rpc_span.resource.attributes["service.name"] == "tickets"

    # The event's envelope carries the trace (CloudEvents distributed-tracing extension):
    # its parent is the span that wrote it to the outbox.
    envelope = wait_for(lambda: bus.get(watched))
    assert envelope["subject"] == ticket["id"]
    assert trace_of(envelope) == (TRACE_ID, f"{rpc_span.context.span_id:016x}")

    # The staff notification is recorded …
    inbox = wait_for(lambda: rpc(token("staff")).notify.list_notifications(CENTER)["items"])
    assert [n["ref_id"] for n in inbox] == [ticket["id"]]
    # … by notify's consumer span, a child of the envelope's traceparent.
    handler = wait_for(
        lambda: [
            s
            for s in spans.get_finished_spans()
            if s.name == "notify.handle_tickets_ticket_created"
            and s.context.trace_id == server.context.trace_id
        ]
    )[0]
    assert handler.kind is SpanKind.CONSUMER
    assert handler.parent.span_id == rpc_span.context.span_id
    assert handler.resource.attributes["service.name"] == "notify"

    # The department's webhook: its traceparent header names the attempt's client span,
    # in the same trace; the body keeps the event's own traceparent.
    received = wait_for(lambda: hooks.requests)[0]
    trace_id, parent = trace_of(received.headers)
    assert trace_id == TRACE_ID
    attempt = wait_for(lambda: [s for s in spans.get_finished_spans() if s.name == "POST webhook"])[
        0
    ]
    assert attempt.kind is SpanKind.CLIENT and parent == f"{attempt.context.span_id:016x}"
    assert attempt.parent.span_id == rpc_span.context.span_id
    assert attempt.attributes["http.response.status_code"] == 204
    assert trace_of(json.loads(received.body)) == trace_of(envelope)

    # The access line carries the request id and the trace id.
    line = [r for r in access_log() if r["route"] == "/api/v1/tickets" and r["method"] == "POST"][0]
    assert line["trace_id"] == TRACE_ID
    assert line["request_id"] == response.headers["X-Request-Id"]


def test_requests_gathered_into_one_call_keep_their_own_traces_in_their_events(
    gateway, token, bus, spans
):
    """The gateway gathers concurrent intake into one ``create_tickets`` call, whose span can
    be in one trace only (the first request's): each ticket's event still continues the trace
    of the request that reported it, so a trace runs from every POST to its notification."""
    import eventlet

    watched = bus.bind("tickets", str(tk.TICKET_CREATED))
    staff = {"Authorization": f"Bearer {token('staff')}"}
    traces = {n: f"{n + 0xA0:032x}" for n in range(8)}

    def post(n: int) -> tuple[str, str]:
        answer = requests.post(
            f"{gateway}/tickets",
            json={
                "category": "sanitation",
                "description": f"第{n}件：垃圾未清运",
                "channel": "hotline",
            },
            headers={**staff, "traceparent": f"00-{traces[n]}-{n + 1:016x}-01"},
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        return traces[n], answer.json()["id"]

    posted = dict((ticket, trace) for trace, ticket in eventlet.GreenPool(8).imap(post, traces))
    envelopes: list[dict] = []

    def all_eight() -> bool:
        while (envelope := bus.get(watched)) is not None:
            envelopes.append(envelope)
        return len(envelopes) >= 8

    wait_for(all_eight, timeout=30)
    assert {e["subject"]: trace_of(e)[0] for e in envelopes} == posted
    calls = [s for s in spans.get_finished_spans() if s.name == "tickets.create_tickets"]
    assert len(calls) < 8, "the eight requests were not gathered: nothing was tested"


def test_a_request_without_traceparent_starts_a_trace_of_its_own(gateway, token, spans):
    response = requests.get(
        f"{gateway}/tickets", headers={"Authorization": f"Bearer {token('staff')}"}, timeout=30
    )
    assert response.status_code == 200
    trace_id, span_id = trace_of(response.headers)
    server = wait_for(
        lambda: [s for s in spans.get_finished_spans() if s.name == "GET /api/v1/tickets"]
    )[0]
    assert server.parent is None
    assert (f"{server.context.trace_id:032x}", f"{server.context.span_id:016x}") == (
        trace_id,
        span_id,
    )
    listed = wait_for(
        lambda: [s for s in spans.get_finished_spans() if s.name == "tickets.list_tickets"]
    )[0]
    assert listed.parent.span_id == server.context.span_id


#: A batch handler of ticket.created (the kit's test recorder) with the tracing provider.
class Recorder(batch_recorder("trace_recorder", batch=4, retry_delay=0.05)):  # type: ignore[misc]
    tracing = Tracing()


def test_events_continue_their_traces_in_the_handler_and_a_malformed_one_is_handled_untraced(
    container_factory, rabbit_config, sqlite_url, bus, spans
):
    url = sqlite_url("trace_recorder")
    engine = make_engine(url)
    Recorder.metadata.create_all(engine)
    Recorder.calls, Recorder.gate = [], None
    container_factory(
        Recorder, {"AMQP_URI": rabbit_config["AMQP_URI"], "DB_URL": url, "max_workers": 10}
    ).start()

    traced = [
        {**ticket_created(f"traced-{n}"), "traceparent": f"00-{n:032x}-{n:016x}-01"}
        for n in (1, 2, 3)
    ]
    malformed = {**ticket_created("malformed"), "traceparent": "00-not-a-trace-01"}
    for body in (malformed, *traced):
        bus.publish("tickets", tk.TICKET_CREATED, body)

    def effects():
        with engine.connect() as conn:
            return {r.event_id for r in conn.execute(select(Recorder.effects.c.event_id))}

    # Every event is handled, the malformed one too (not dead-lettered) …
    wait_for(lambda: effects() == {b["id"] for b in (malformed, *traced)})
    assert deadletters.peek(rabbit_config["AMQP_URI"]) == []
    handled = [s for s in spans.get_finished_spans() if s.name.endswith("handle_ticket_created")]
    assert sum(s.attributes["messaging.batch.message_count"] for s in handled) == 4
    # … each traced event's context is the parent of its batch's span, or one of its links;
    continued = {s.parent.trace_id for s in handled if s.parent is not None}
    linked = {link.context.trace_id for s in handled for link in s.links}
    assert {1, 2, 3} <= continued | linked
    # … and the malformed traceparent went nowhere: no span names it.
    assert all(s.parent is None or s.parent.trace_id in (1, 2, 3) for s in handled)
    engine.dispose()


def test_spans_are_exported_over_otlp_http_when_an_endpoint_is_configured(
    container_factory, service_config, rpc, token, monkeypatch
):
    """A real OTLP/HTTP request (protobuf) reaches a collector stand-in, naming the service."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from services.tickets.service import TicketsService

    with WebhookReceiver(respond=lambda _r: 200) as collector:
        monkeypatch.setattr(tracing, "_providers", {})
        monkeypatch.setattr(tracing, "_exporting", None)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{collector.port}")
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
        try:
            container_factory(TicketsService, service_config("tickets")).start()
            rpc(token("ops", "*")).tickets.create_center({"id": CENTER, "name": "雁鸣湖镇"})

            def exported():
                names = set()
                for received in collector.requests:
                    assert received.path == "/v1/traces"
                    assert received.headers["content-type"] == "application/x-protobuf"
                    request = ExportTraceServiceRequest.FromString(received.body)
                    for resource_spans in request.resource_spans:
                        service = {
                            a.key: a.value.string_value for a in resource_spans.resource.attributes
                        }["service.name"]
                        for scope in resource_spans.scope_spans:
                            names |= {(service, s.name) for s in scope.spans}
                return ("tickets", "tickets.create_center") in names

            wait_for(exported)
        finally:
            if tracing._exporting is not None:
                tracing._exporting.shutdown()
