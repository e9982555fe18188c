"""Prometheus metrics: one registry per service, served on the service's own port.

:class:`Metrics` is the dependency provider a service declares; it times every
entrypoint (labels ``service``, ``entrypoint``, ``outcome``) and gives the
service a small object to record its domain numbers. Labels never carry ids.
"""

from __future__ import annotations

import logging
import threading
import time
from weakref import WeakKeyDictionary

from nameko.extensions import DependencyProvider
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.exposition import generate_latest

from lianxin import logs
from lianxin.errors import LianxinError

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_REGISTRIES: dict[str, ServiceMetrics] = {}
_SERVED: dict[int, str] = {}

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class ServiceMetrics:
    """Every metric a service exposes, in the service's own registry."""

    def __init__(self, service: str):
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.calls = Counter("lianxin_entrypoint_calls", "Entrypoint calls by outcome",
                             ["service", "entrypoint", "outcome"], registry=r)
        self.latency = Histogram("lianxin_entrypoint_latency_seconds", "Entrypoint latency",
                                 ["service", "entrypoint"], buckets=LATENCY_BUCKETS, registry=r)
        self.outbox_backlog = Gauge("lianxin_outbox_backlog", "Outbox rows not yet published",
                                    ["service"], registry=r)
        self.outbox_age = Gauge("lianxin_outbox_oldest_age_seconds",
                                "Age of the oldest unpublished outbox row", ["service"], registry=r)
        self.outbox_published = Counter("lianxin_outbox_published", "Events published by the relay",
                                        ["service"], registry=r)
        self.deduplicated = Counter("lianxin_events_deduplicated",
                                    "Redelivered events ignored by idempotent handlers",
                                    ["service", "event_type"], registry=r)
        self.dead_letters = Counter("lianxin_dead_letters", "Messages dead-lettered",
                                    ["service", "event_type"], registry=r)
        self.domain: dict[str, Counter | Gauge | Histogram] = {}

    def counter(self, name: str, doc: str, labels: list[str]) -> Counter:
        """A domain counter (created once, reused after)."""
        return self._domain(name, lambda: Counter(name, doc, labels, registry=self.registry))

    def gauge(self, name: str, doc: str, labels: list[str]) -> Gauge:
        return self._domain(name, lambda: Gauge(name, doc, labels, registry=self.registry))

    def histogram(self, name: str, doc: str, labels: list[str], buckets=LATENCY_BUCKETS) -> Histogram:  # noqa: ANN001
        return self._domain(
            name, lambda: Histogram(name, doc, labels, buckets=buckets, registry=self.registry))

    def _domain(self, name, make):  # noqa: ANN001, ANN202
        with _LOCK:
            if name not in self.domain:
                self.domain[name] = make()
            return self.domain[name]


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
                log.warning("metrics port %s already serves %s; %s not served", port,
                            _SERVED[port], service)
            return
        _SERVED[port] = service
    start_http_server(port, addr=addr, registry=for_service(service).registry)


class Metrics(DependencyProvider):
    """Counts and times every entrypoint of the service; injects :class:`ServiceMetrics`.

    Config: ``METRICS_PORT`` (0 = don't serve), ``METRICS_BIND``::

        class TicketsService:
            metrics = Metrics()
            ...
            self.metrics.gauge("lianxin_tickets_open", "...", ["center"]).labels(center).inc()
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
            log.error("cannot serve metrics of %s on %s:%s: %s", self.container.service_name,
                      addr, port, exc)

    def get_dependency(self, worker_ctx) -> ServiceMetrics:  # noqa: ANN001
        return self.metrics

    def worker_setup(self, worker_ctx) -> None:  # noqa: ANN001
        self.started[worker_ctx] = time.perf_counter()
        logs.current.call_id = worker_ctx.call_id
        logs.current.event_id = worker_ctx.data.get("event_id")
        logs.current.service = self.metrics.service

    def worker_result(self, worker_ctx, result=None, exc_info=None) -> None:  # noqa: ANN001
        began = self.started.pop(worker_ctx, None)
        name = worker_ctx.entrypoint.method_name
        if exc_info is None:
            outcome = "ok"
        elif isinstance(exc_info[1], LianxinError):
            outcome = "rejected"
        else:
            outcome = "error"
        self.metrics.calls.labels(self.metrics.service, name, outcome).inc()
        if began is not None:
            self.metrics.latency.labels(self.metrics.service, name).observe(
                time.perf_counter() - began)
