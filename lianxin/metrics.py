"""Prometheus metrics: one registry per service, served on the service's own port.

:class:`Metrics` is the dependency provider a service declares; it times every
entrypoint (labels ``service``, ``entrypoint``, ``outcome``) and gives the
service a small object to record its domain numbers. Labels never carry ids.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from nameko.extensions import DependencyProvider
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.exposition import generate_latest

from lianxin import logs
from lianxin.errors import LianxinError

log = logging.getLogger(__name__)

_LOCK = threading.RLock()
_REGISTRIES: dict[str, ServiceMetrics] = {}
_SERVED: dict[int, str] = {}

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


_UNITS = ("_seconds", "_bytes", "_ratio", "_size", "_events", "_items", "_rows")


@dataclass(frozen=True)
class Metric:
    """A metric declared once, by name (the Prometheus conventions: ``lianxin_<what>`` with
    ``_total`` on counters and a base unit — ``_seconds``, ``_bytes`` — where it has one).

    Business metrics carry ``center`` first; every metric a service records also carries
    ``service`` (added here, so it is never forgotten). Labels never carry ids. Declare
    them at module level (``services/<name>/metrics.py``): dashboards and alerts in
    ``deploy/`` are checked against these declarations."""

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
    labels (``service`` is filled in)."""

    def __init__(self, service: str, metric: Metric, registry: CollectorRegistry):
        self.service = service
        self.metric = metric
        kinds: dict[str, Any] = {"counter": Counter, "gauge": Gauge, "histogram": Histogram}
        extra = {"buckets": metric.buckets} if metric.buckets else {}
        self.family = kinds[metric.kind](
            metric.name, metric.doc, ["service", *metric.labels], registry=registry, **extra
        )
        if not metric.labels:
            self.family.labels(service)  # shows at 0 from the start

    def labels(self, *values: str) -> Any:
        return self.family.labels(self.service, *values)


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
        return self.registry.get_sample_value(name, {"service": self.service, **labels}) or 0.0


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
    return b"".join(generate_latest(m.registry) for m in registries)


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
    start_http_server(port, addr=addr, registry=for_service(service).registry)


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
