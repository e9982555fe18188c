"""Prometheus metrics: one registry per service, served on the service's own port.

:class:`Metrics` is the dependency provider a service declares; it times every
entrypoint (labels ``service``, ``entrypoint``, ``outcome``) and gives the
service a small object to record its domain numbers. Labels never carry ids.
"""

from __future__ import annotations

import gc
import gzip
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary
from wsgiref.simple_server import WSGIRequestHandler, make_server

from nameko.extensions import DependencyProvider
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import (
    CONTENT_TYPE_PLAIN_0_0_4,
    ThreadingWSGIServer,
    generate_latest,
    gzip_accepted,
)
from prometheus_client.registry import Collector

from lianxin import logs, readiness
from lianxin.errors import LianxinError

log = logging.getLogger(__name__)

# No ``*_created`` series: nothing here queries them, and per center they would double a
# counter's lines (at 500 centers, the difference between ~0.8 MB and ~1.6 MB of /metrics;
# bench/metrics_cardinality.py). Process-wide, like the client's own switch.
disable_created_metrics()

_LOCK = threading.RLock()
_REGISTRIES: dict[str, ServiceMetrics] = {}
_SERVED: dict[int, str] = {}

#: Ten buckets (each costs one series per entrypoint: tickets has ~75): 2.5 ms to 10 s, the
#: slow alert's 2 s between 1 and 2.5.
LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 10)


_UNITS = ("_seconds", "_bytes", "_ratio", "_size", "_events", "_items", "_rows")


@dataclass(frozen=True)
class Metric:
    """A metric declared once, by name (the Prometheus conventions: ``lianxin_<what>`` with
    ``_total`` on counters and a base unit — ``_seconds``, ``_bytes`` — where it has one).

    Business metrics carry ``center`` first; their name names the service
    (``lianxin_tickets_…``) and the scrape adds the ``service`` label (the job's name, see
    deploy/prometheus/prometheus.yml). Every other metric a service records carries
    ``service`` in the exposition (added here, so it is never forgotten). Why the
    difference: at 500 centers, the per-center series are ~95 % of a service's /metrics,
    and ``service="tickets",`` on each of them the difference between ~1.2 MB and the
    budget of 1 MB (bench/metrics_cardinality.py). Labels never carry ids. Declare them at
    module level (``services/<name>/metrics.py``): dashboards and alerts in ``deploy/``
    are checked against these declarations."""

    kind: str
    name: str
    doc: str
    labels: tuple[str, ...] = ("center",)
    buckets: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not self.name.startswith("lianxin_"):
            raise ValueError(f"metric {self.name}: names start with lianxin_")
        if (self.kind == "counter") != self.name.endswith("_total"):
            raise ValueError(f"metric {self.name}: counters, and only counters, end in _total")
        if self.kind == "histogram" and not self.name.endswith(_UNITS):
            raise ValueError(
                f"metric {self.name}: a histogram names its unit ({', '.join(_UNITS)})"
            )
        if "service" in self.labels:
            raise ValueError(f"metric {self.name}: the service label is added for you")
        if self.name in DECLARED and DECLARED[self.name] != self:
            raise ValueError(f"metric {self.name} declared twice, differently")
        DECLARED[self.name] = self

    @property
    def exposed(self) -> str:
        """The family name a scrape shows (counters without ``_total``, as the client does)."""
        return self.name.removesuffix("_total") if self.kind == "counter" else self.name

    @property
    def per_center(self) -> bool:
        """A business metric: ``center`` first, its ``service`` label added by the scrape."""
        return self.labels[:1] == ("center",)

    @property
    def exposed_labels(self) -> tuple[str, ...]:
        """The label names of its samples in the exposition (``le`` aside)."""
        return self.labels if self.per_center else ("service", *self.labels)

    @property
    def series(self) -> tuple[str, ...]:
        """The sample names a scrape shows: a histogram's ``_bucket``, ``_sum``, ``_count``."""
        if self.kind == "histogram":
            return tuple(self.name + s for s in ("_bucket", "_sum", "_count"))
        return (self.name,)


#: Every declared metric, by name.
DECLARED: dict[str, Metric] = {}


def counter(name: str, doc: str, labels: tuple[str, ...] = ("center",)) -> Metric:
    return Metric("counter", name, doc, labels)


def gauge(name: str, doc: str, labels: tuple[str, ...] = ("center",)) -> Metric:
    return Metric("gauge", name, doc, labels)


def histogram(
    name: str,
    doc: str,
    labels: tuple[str, ...] = ("center",),
    buckets: tuple[float, ...] = LATENCY_BUCKETS,
) -> Metric:
    return Metric("histogram", name, doc, labels, buckets)


# The kit's own: every service has them.
ENTRYPOINT_CALLS = counter(
    "lianxin_entrypoint_calls_total", "Entrypoint calls by outcome", ("entrypoint", "outcome")
)
ENTRYPOINT_LATENCY = histogram(
    "lianxin_entrypoint_latency_seconds", "Entrypoint latency", ("entrypoint",)
)
OUTBOX_BACKLOG = gauge("lianxin_outbox_backlog", "Outbox rows not yet published", ())
OUTBOX_AGE = gauge(
    "lianxin_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", ()
)
OUTBOX_PUBLISHED = counter("lianxin_outbox_published_total", "Events published by the relay", ())
EVENTS_DEDUPLICATED = counter(
    "lianxin_consumer_deduplicated_total",
    "Redelivered events ignored by idempotent handlers",
    ("event_type",),
)
DEAD_LETTERS = counter("lianxin_dead_letters_total", "Messages dead-lettered", ("event_type",))


class Recorder:
    """One declared metric in a service's registry: ``labels(...)`` takes the declared
    labels (``service`` is filled in where the exposition carries it)."""

    def __init__(self, service: str, metric: Metric, registry: CollectorRegistry):
        self.service = service
        self.metric = metric
        kinds: dict[str, Any] = {"counter": Counter, "gauge": Gauge, "histogram": Histogram}
        extra = {"buckets": metric.buckets} if metric.buckets else {}
        self.family = kinds[metric.kind](
            metric.name, metric.doc, list(metric.exposed_labels), registry=registry, **extra
        )
        self.prefix = () if metric.per_center else (service,)
        if not metric.labels:
            self.family.labels(service)  # shows at 0 from the start

    def labels(self, *values: str) -> Any:
        return self.family.labels(*self.prefix, *values)


class ServiceMetrics:
    """Every metric a service exposes, in the service's own registry."""

    def __init__(self, service: str):
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self._recorders: dict[str, Recorder] = {}
        self.calls = self.get(ENTRYPOINT_CALLS)
        self.latency = self.get(ENTRYPOINT_LATENCY)
        self.outbox_backlog = self.get(OUTBOX_BACKLOG)
        self.outbox_age = self.get(OUTBOX_AGE)
        self.outbox_published = self.get(OUTBOX_PUBLISHED)
        self.deduplicated = self.get(EVENTS_DEDUPLICATED)
        self.dead_letters = self.get(DEAD_LETTERS)

    def get(self, metric: Metric) -> Recorder:
        """The recorder of ``metric`` (registered on first use, reused after)."""
        with _LOCK:
            found = self._recorders.get(metric.name)
            if found is None:
                found = self._recorders[metric.name] = Recorder(self.service, metric, self.registry)
            return found

    def sample(self, metric: Metric, suffix: str = "", **labels: str) -> float:
        """The current value of one sample (tests, benchmarks): ``suffix`` is ``_count``,
        ``_sum``... for a histogram."""
        name = metric.exposed + ("_total" if metric.kind == "counter" else "") + suffix
        if not metric.per_center:
            labels = {"service": self.service, **labels}
        return self.registry.get_sample_value(name, labels) or 0.0


class Paused(Collector):
    """A registry as a scrape reads it: the cyclic garbage collector paused meanwhile.

    Rendering 10,000 series (a service at 500 centers) makes some 100,000 short-lived
    objects, enough to start full collections of a service's whole heap in the middle:
    they doubled the p99 of a render (bench/metrics_cardinality.py: 155 ms → 92 ms for
    tickets). Nothing else runs meanwhile (the render never yields to another green
    thread), and the paused collector catches up once it is back on."""

    def __init__(self, registry: Any):
        self.registry = registry  # a CollectorRegistry, or the restricted one it makes

    def collect(self) -> Any:
        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            yield from self.registry.collect()
        finally:
            if paused:
                gc.enable()

    def restricted_registry(self, names: Any) -> Any:
        """``/metrics?name[]=…`` (the HTTP server's filter)."""
        return Paused(self.registry.restricted_registry(names))


def render(metrics: ServiceMetrics) -> bytes:
    """The Prometheus text of one service's registry, as its metrics port serves it."""
    return generate_latest(Paused(metrics.registry))


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged."""


def metrics_app(
    registry: CollectorRegistry, service: str | None = None
) -> Callable[..., Iterable[bytes]]:
    """The WSGI app of a metrics port (``/livez`` answers at once, for the liveness probe;
    ``/readyz`` whether ``service``'s consumers consume, for the readiness probe, see
    :mod:`lianxin.readiness`): the Prometheus text format, rendered with
    :class:`Paused`, gzipped at level 1 when asked. Not the client's own app, which answers
    Prometheus in OpenMetrics (its first choice; the text format is its second) and gzips at
    level 9: at 500 centers a tickets scrape took 130 ms of CPU that way, 85 ms this way
    (the OpenMetrics writer is the slower; the text format carries all we export), for
    51 KB instead of 38 on the wire."""
    paused = Paused(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/livez":
            # The liveness probe: this process serves; nothing rendered (a scrape of a
            # service at 500 centers costs ~80 ms of CPU, a probe every 15 s needn't).
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n"]
        if environ.get("PATH_INFO") == "/readyz":
            state = readiness.of(service or "")
            start_response(
                "200 OK" if state.ready else "503 Service Unavailable",
                [("Content-Type", "text/plain; charset=utf-8")],
            )
            return [
                ("ready\n" if state.ready else "".join(f"{r}\n" for r in state.reasons)).encode()
            ]
        output = generate_latest(paused)
        headers = [("Content-Type", CONTENT_TYPE_PLAIN_0_0_4)]  # Prometheus 2 and 3 read it
        if gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING") or ""):
            output = gzip.compress(output, compresslevel=1)
            headers.append(("Content-Encoding", "gzip"))
        start_response("200 OK", headers)
        return [output]

    return app


def for_service(service: str) -> ServiceMetrics:
    """The metrics of ``service`` in this process (created on first use)."""
    with _LOCK:
        if service not in _REGISTRIES:
            _REGISTRIES[service] = ServiceMetrics(service)
        return _REGISTRIES[service]


def exposition() -> bytes:
    """Prometheus text of every service registry in this process (the gateway's /metrics)."""
    with _LOCK:
        registries = list(_REGISTRIES.values())
    return b"".join(render(m) for m in registries)


def serve(service: str, port: int, addr: str = "127.0.0.1") -> None:
    """Serve ``service``'s registry on ``addr:port`` once per process (0 disables)."""
    if not port:
        return
    with _LOCK:
        if port in _SERVED:
            if _SERVED[port] != service:
                log.warning(
                    "metrics port %s already serves %s; %s not served", port, _SERVED[port], service
                )
            return
        _SERVED[port] = service
    family, *_, address = socket.getaddrinfo(addr, port, type=socket.SOCK_STREAM)[0]

    class Server(ThreadingWSGIServer):
        address_family = family  # an IPv6 bind address works too

    app = metrics_app(for_service(service).registry, service)
    server = make_server(str(address[0]), port, app, Server, _Quiet)
    threading.Thread(target=server.serve_forever, name=f"metrics-{service}", daemon=True).start()


class Metrics(DependencyProvider):
    """Counts and times every entrypoint of the service; injects :class:`ServiceMetrics`.

    Config: ``METRICS_PORT`` (0 = don't serve), ``METRICS_BIND``::

        class TicketsService:
            metrics = Metrics()
            ...
            self.metrics.get(OPEN_TICKETS).labels(center_id, state).inc()
    """

    def __init__(self) -> None:
        self.started: WeakKeyDictionary = WeakKeyDictionary()

    def setup(self) -> None:
        self.metrics = for_service(self.container.service_name)

    def start(self) -> None:
        port = int(self.container.config.get("METRICS_PORT") or 0)
        addr = self.container.config.get("METRICS_BIND") or "127.0.0.1"
        try:
            serve(self.container.service_name, port, addr)
        except OSError as exc:
            log.error(
                "cannot serve metrics of %s on %s:%s: %s",
                self.container.service_name,
                addr,
                port,
                exc,
            )

    def get_dependency(self, worker_ctx: Any) -> ServiceMetrics:
        return self.metrics

    def worker_setup(self, worker_ctx: Any) -> None:
        self.started[worker_ctx] = time.perf_counter()
        logs.current.call_id = worker_ctx.call_id
        logs.current.event_id = worker_ctx.data.get("event_id")
        logs.current.request_id = worker_ctx.data.get("request_id")
        logs.current.service = self.metrics.service

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        began = self.started.pop(worker_ctx, None)
        name = worker_ctx.entrypoint.method_name
        if exc_info is None:
            outcome = "ok"
        elif isinstance(exc_info[1], LianxinError):
            outcome = "rejected"
        else:
            outcome = "error"
        self.metrics.calls.labels(name, outcome).inc()
        if began is not None:
            self.metrics.latency.labels(name).observe(time.perf_counter() - began)
