"""Run services in one process: all five for a laptop, one per container in production.

Each container is supervised: if it dies (an extension or managed thread raised, or it
stopped without being asked), a fresh container of the same class and config replaces it
after a back-off (:func:`backoff`), while the others keep running. SIGTERM or SIGINT stops
every container gracefully — entrypoints stop taking work, in-flight workers finish (the
drain) — within ``SHUTDOWN_GRACE_SECONDS`` (default 20), after which what is left is killed.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import time
from collections.abc import Callable
from typing import Any

import eventlet
import kombu
import kombu.pools
from amqp.exceptions import AccessRefused, NotAllowed
from eventlet.event import Event
from nameko.containers import get_container_cls
from nameko.web.server import WebServer

from lianxin.queues import QueueTypeMismatch
from lianxin.services import config_for, load_class, resolve

log = logging.getLogger(__name__)

#: Back-off before a restart: 1 s, doubling per consecutive crash, at most this.
MAX_BACKOFF_SECONDS = 30.0
#: A container that has run this long without dying starts its back-off afresh.
HEALTHY_AFTER_SECONDS = 60.0
DEFAULT_GRACE_SECONDS = 20.0


class BrokerUnreachable(RuntimeError):
    """RabbitMQ did not answer; the message says how to start one."""


class BrokerRefused(BrokerUnreachable):
    """RabbitMQ answered but refused what a service declares (a classic queue where the
    service declares a quorum one); the one-line message names the queue and the remedy."""


def check_broker(amqp_uri: str, timeout: float = 5) -> None:
    """Fail fast, with a remedy, when RabbitMQ does not answer."""
    try:
        with kombu.Connection(amqp_uri, connect_timeout=timeout) as conn:
            # One try per node of a failover URI (``amqp://a//;amqp://b//``): any one will do.
            conn.ensure_connection(max_retries=max(1, len(conn.alt)), timeout=timeout)
    except Exception as exc:
        raise BrokerUnreachable(
            f"RabbitMQ is not reachable at {safe_uri(amqp_uri)} ({exc}).\n{remedy(exc, amqp_uri)}"
        ) from None


def remedy(exc: BaseException, amqp_uri: str) -> str:
    """What to do about a failed connection: a refused login or an unknown vhost is not a
    broker that is down, and starting one would not help."""
    if isinstance(exc, AccessRefused):
        return "The broker refused the user name or password in AMQP_URI: check them."
    if isinstance(exc, NotAllowed):
        vhost = kombu.Connection(amqp_uri).virtual_host
        return (
            f"The broker has no vhost {vhost!r} for this user: create it "
            f"(`rabbitmqctl add_vhost {vhost}` and `rabbitmqctl set_permissions -p {vhost} "
            "<user> '.*' '.*' '.*'`) or fix AMQP_URI."
        )
    return "Start it with `rabbitmq-server -detached` (or point AMQP_URI at a running broker)."


def safe_uri(uri: str) -> str:
    return kombu.Connection(uri).as_uri()


def backoff(attempt: int, base: float = 1.0, cap: float = MAX_BACKOFF_SECONDS) -> float:
    """Seconds to wait before restart number ``attempt`` (1, 2, 3 …): 1, 2, 4 … ≤ ``cap``."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    return min(cap, base * 2 ** min(attempt - 1, 32))


def next_attempt(attempt: int, ran_for: float, healthy_after: float = HEALTHY_AFTER_SECONDS) -> int:
    """The attempt number of the restart after a crash: the count goes on, unless the
    container had run ``healthy_after`` seconds or more, when it starts again at 1."""
    return 1 if ran_for >= healthy_after else attempt + 1


def grace_seconds(env: dict[str, str] | None = None) -> float:
    """``SHUTDOWN_GRACE_SECONDS`` (default 20): how long a signal's stop may take."""
    raw = (os.environ if env is None else env).get("SHUTDOWN_GRACE_SECONDS", "")
    try:
        return float(raw) if raw.strip() else DEFAULT_GRACE_SECONDS
    except ValueError:
        raise ValueError(
            f"SHUTDOWN_GRACE_SECONDS must be a number of seconds, not {raw!r}"
        ) from None


def build_containers(targets: list[str], overrides: dict[str, Any] | None = None) -> list:
    return [build_container(target, overrides) for target in targets]


def build_container(target: str, overrides: dict[str, Any] | None = None) -> Any:
    config = config_for(target, overrides)
    return get_container_cls(config)(load_class(target), config)


def release(container: Any) -> None:
    """Close what a dead container leaves open: nameko's web server doesn't close its
    listening socket on ``kill()``, and the next one binds with SO_REUSEPORT, so the dead
    socket would go on taking half of the connections."""
    for ext in list(getattr(container, "extensions", ())):
        sock = getattr(ext, "_sock", None) if isinstance(ext, WebServer) else None
        if sock is not None:
            with contextlib.suppress(OSError):  # closed already: nothing left to release
                sock.close()


def stop_accepting(container: Any) -> None:
    """Let a container's web server take no new connection and end each open one after its
    current response (no keep-alive): nameko stops its web server only after the workers are
    done, and clients on kept-alive connections would keep the workers busy all grace long."""
    for ext in list(getattr(container, "extensions", ())):
        if not isinstance(ext, WebServer) or ext._sock is None:
            continue
        ext._is_accepting = False
        if ext._serv is not None:
            ext._serv.keepalive = False
        if ext._gt is not None:
            ext._gt.kill()  # the accept loop, before its socket goes (nameko's stop() order)
        ext._sock.close()


def freeze_heap() -> None:
    """Leave what the start made — the code, the schemas, the word segmenter's dictionary,
    the models — out of every later garbage collection (``gc.freeze``): it lives as long as
    the process, and a full collection walked all of it, 120 ms in a tickets process, in the
    middle of whichever request was running (a p99 and a max). Start garbage is collected
    first, so none of it is kept for ever."""
    gc.collect()
    gc.freeze()


def forget_idle_connections() -> None:
    """Close the idle connections kombu's global pools hold. nameko takes the connections
    its extensions declare exchanges on at setup from them (without a retry); after the
    broker went away the idle ones are dead, and a fresh container would fail on one. A
    collected connection connects again when it is next used; those in use are left alone."""
    for pool in list(kombu.pools.connections.values()):
        for conn in list(pool._resource.queue):
            if isinstance(conn, kombu.Connection):
                with contextlib.suppress(Exception):  # it is dead already: nothing to close
                    conn.collect()


class Supervisor:
    """Keeps one service running: restarts its container when it dies, until ``stopping``."""

    def __init__(self, container: Any, stopping: Event, sleep: Callable[[float], Any]):
        self.container = container
        self.name = container.service_name
        self.stopping = stopping
        self.sleep = sleep
        self.restarts = 0

    def watch(self) -> None:
        attempt = 0
        while True:
            began = time.monotonic()
            reason = self._wait()
            if self.stopping.ready():
                return
            release(self.container)
            attempt = next_attempt(attempt, time.monotonic() - began)
            delay = backoff(attempt)
            log.error(
                "service %s crashed: %s; restarting in %g s (attempt %d)",
                self.name,
                reason,
                delay,
                attempt,
            )
            self.sleep(delay)
            if self.stopping.ready():
                return
            forget_idle_connections()
            self.container = self._fresh()
            try:
                self.container.start()
            except Exception as exc:  # a failed start is a crash like any other
                log.error("service %s did not start: %s", self.name, exc, exc_info=True)
                self.container.kill()
                continue
            self.restarts += 1
            log.info("restarted %s", self.name)

    def _wait(self) -> str:
        try:
            self.container.wait()
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return "stopped unexpectedly"

    def _fresh(self) -> Any:
        old = self.container
        return type(old)(old.service_cls, old.config)


def run(
    targets: list[str],
    overrides: dict[str, Any] | None = None,
    on_started: Callable[[list], None] | None = None,
    grace: float | None = None,
) -> None:
    """Start the containers, call ``on_started``, keep them running (restarting a dead
    one) until SIGTERM or SIGINT, then stop them all within ``grace`` seconds."""
    grace = grace_seconds() if grace is None else grace
    containers = build_containers([resolve(t) for t in targets], overrides)
    check_broker(containers[0].config["AMQP_URI"])
    for n, container in enumerate(containers):
        try:
            container.start()
        except QueueTypeMismatch as exc:
            for started in containers[: n + 1]:
                with contextlib.suppress(Exception):  # stopping what started, on the way out
                    started.kill()
            raise BrokerRefused(f"{container.service_name}: {exc}") from None
        log.info("started %s", container.service_name)
    freeze_heap()

    stopping = Event()

    def shutdown(signum, _frame):
        if stopping.ready():
            log.info("signal %s: already stopping", signum)
            return
        log.info("signal %s: stopping (grace %g s)", signum, grace)
        stopping.send(signum)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)

    if on_started is not None:
        eventlet.spawn(on_started, containers)

    def sleep(seconds: float) -> None:
        with eventlet.Timeout(seconds, False):
            stopping.wait()

    supervisors = [Supervisor(c, stopping, sleep) for c in containers]
    for supervisor in supervisors:
        eventlet.spawn(supervisor.watch)
    stopping.wait()
    stop_all([s.container for s in supervisors], grace)


def stop_all(containers: list, grace: float) -> None:
    """Stop the containers last-started first (the gateway stops taking requests while the
    services behind it still answer its in-flight ones); kill what is left after ``grace``."""
    began = time.monotonic()
    pending = list(reversed(containers))
    for container in pending:
        stop_accepting(container)
    with eventlet.Timeout(grace, False):
        while pending:
            container = pending[0]
            try:
                container.stop()
            except Exception as exc:
                log.warning("stopping %s: %s", container.service_name, exc)
                container.kill()
            pending.pop(0)
            log.info("stopped %s", container.service_name)
    for container in pending:
        log.warning("%s did not stop within %g s: killing it", container.service_name, grace)
        try:
            container.kill()
        except Exception as exc:
            log.warning("killing %s: %s", container.service_name, exc)
    log.info("stopped in %.1f s", time.monotonic() - began)
