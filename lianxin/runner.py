"""Run services in one process: all five for a laptop, one per container in production."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from typing import Any

import eventlet
import kombu
from nameko.containers import get_container_cls

from lianxin.services import config_for, load_class, resolve

log = logging.getLogger(__name__)


class BrokerUnreachable(RuntimeError):
    """RabbitMQ did not answer; the message says how to start one."""


def check_broker(amqp_uri: str, timeout: float = 5) -> None:
    """Fail fast, with a remedy, when RabbitMQ does not answer."""
    try:
        with kombu.Connection(amqp_uri, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:
        raise BrokerUnreachable(
            f"RabbitMQ is not reachable at {safe_uri(amqp_uri)} ({exc}).\n"
            "Start it with `rabbitmq-server -detached` (or point AMQP_URI at a running broker)."
        ) from None


def safe_uri(uri: str) -> str:
    return kombu.Connection(uri).as_uri()


def build_containers(targets: list[str], overrides: dict[str, Any] | None = None) -> list:
    containers = []
    for target in targets:
        cls = load_class(target)
        config = config_for(target, overrides)
        containers.append(get_container_cls(config)(cls, config))
    return containers


def run(
    targets: list[str],
    overrides: dict[str, Any] | None = None,
    on_started: Callable[[list], None] | None = None,
) -> None:
    """Start the containers, call ``on_started``, and wait until a signal or a crash."""
    containers = build_containers([resolve(t) for t in targets], overrides)
    check_broker(containers[0].config["AMQP_URI"])
    for container in containers:
        container.start()
        log.info("started %s", container.service_name)

    stopping = eventlet.event.Event()

    def shutdown(signum, _frame):
        log.info("signal %s: stopping", signum)
        if not stopping.ready():
            stopping.send(None)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)

    if on_started is not None:
        eventlet.spawn(on_started, containers)

    def watch(container):
        try:
            container.wait()
        except Exception as exc:
            log.error("service %s crashed: %s", container.service_name, exc)
        if not stopping.ready():
            stopping.send(container.service_name)

    for container in containers:
        eventlet.spawn(watch, container)
    crashed = stopping.wait()
    for container in reversed(containers):
        try:
            container.stop()
        except Exception as exc:
            log.warning("stopping %s: %s", container.service_name, exc)
            container.kill()
    if crashed:
        raise SystemExit(f"service {crashed} stopped unexpectedly")
