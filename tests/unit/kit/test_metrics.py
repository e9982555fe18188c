"""The kit's metrics: per-center series without ``service``, the port's answer."""

from __future__ import annotations

import gc
import gzip

import requests

from lianxin import metrics
from lianxin.testing import free_port

PER_CENTER = metrics.counter(
    "lianxin_kittest_things_total", "Things, per center", ("center", "kind")
)
PER_SERVICE = metrics.counter("lianxin_kittest_steps_total", "Steps, per service", ("kind",))


def test_per_center_series_leave_the_service_label_to_the_scrape():
    recorded = metrics.ServiceMetrics("kittest")
    recorded.get(PER_CENTER).labels("yanminghu", "a").inc()
    recorded.get(PER_SERVICE).labels("a").inc(2)
    text = metrics.render(recorded).decode()
    assert 'lianxin_kittest_things_total{center="yanminghu",kind="a"} 1.0' in text
    assert 'lianxin_kittest_steps_total{kind="a",service="kittest"} 2.0' in text
    assert "_created" not in text
    assert recorded.sample(PER_CENTER, center="yanminghu", kind="a") == 1
    assert recorded.sample(PER_SERVICE, kind="a") == 2


def test_a_render_pauses_the_garbage_collector_and_turns_it_back_on():
    recorded = metrics.ServiceMetrics("kittest")
    seen = []

    class Probe:
        def collect(self):
            seen.append(gc.isenabled())
            return []

    recorded.registry.register(Probe())
    seen.clear()  # registering reads it once, to describe it
    metrics.render(recorded)
    assert seen == [False] and gc.isenabled()


def test_the_metrics_port_answers_prometheus_in_text_gzipped():
    port = free_port()
    metrics.for_service("kittest-port").get(PER_CENTER).labels("yanminghu", "b").inc()
    metrics.serve("kittest-port", port)
    url = f"http://127.0.0.1:{port}/metrics"
    plain = requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=5)
    assert plain.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert 'lianxin_kittest_things_total{center="yanminghu",kind="b"} 1.0' in plain.text
    # What Prometheus asks for: OpenMetrics first, text as its second choice, gzip.
    accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    zipped = requests.get(
        url, headers={"Accept": accept, "Accept-Encoding": "gzip"}, stream=True, timeout=5
    )
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    body = gzip.decompress(zipped.raw.read(decode_content=False)).decode()
    assert body == plain.text


def test_the_liveness_path_answers_without_rendering_the_registry():
    """What the Kubernetes liveness probe asks (deploy/k8s: ``/livez`` on the metrics port):
    a broken collector, or 500 centers' series, cost it nothing."""
    from prometheus_client import CollectorRegistry

    class Broken:
        def collect(self):
            raise AssertionError("/livez rendered the registry")

    registry = CollectorRegistry()
    registry.register(Broken())
    app = metrics.metrics_app(registry)
    answered = []
    body = app({"PATH_INFO": "/livez"}, lambda status, headers: answered.append(status))
    assert answered == ["200 OK"] and b"".join(body) == b"ok\n"


def test_the_readiness_path_says_whether_the_service_consumes_and_why_not():
    """What the readiness probes ask (deploy/k8s, docker-compose: ``/readyz`` on the metrics
    port): ready only while every consumer of the service consumes from the broker."""
    from prometheus_client import CollectorRegistry

    from lianxin import readiness

    app = metrics.metrics_app(CollectorRegistry(), "kittest-ready")

    def ask() -> tuple[str, bytes]:
        answered: list[str] = []
        body = app({"PATH_INFO": "/readyz"}, lambda status, headers: answered.append(status))
        return answered[0], b"".join(body)

    assert ask() == ("503 Service Unavailable", b"no consumer started\n")
    rpc, events = object(), object()
    readiness.consuming("kittest-ready", rpc)
    readiness.lost("kittest-ready", events, "broker unreachable: [Errno 111] refused")
    assert ask() == ("503 Service Unavailable", b"broker unreachable: [Errno 111] refused\n")
    readiness.consuming("kittest-ready", events)
    assert ask() == ("200 OK", b"ready\n")
    readiness.gone("kittest-ready", events)
    assert ask() == ("200 OK", b"ready\n")  # a stopped consumer no longer counts
    readiness.gone("kittest-ready", rpc)
    assert ask()[0] == "503 Service Unavailable"  # none left: not ready
