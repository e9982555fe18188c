"""Whether a service is ready: every one of its queue consumers is consuming from the broker.

The kit's :class:`lianxin.queues.QueueConsumer` (the RPC queue's, the event handlers', the
RPC reply listener's) reports here when it starts consuming, loses its connection, fails to
reconnect, or stops. A service is *ready* while it has at least one consumer and all of them
consume: it then takes RPCs and events, and (the gateway) gets its replies. This is what the
readiness probes ask (``/readyz`` on a service's metrics port, ``/readyz`` on the gateway's
HTTP port): a replica cut off from the broker, or still starting, or stopping on SIGTERM,
leaves its Service until it consumes again — the process is not restarted for it (liveness
is ``/livez``).

It is the consumers' own state, not a fresh connection opened by a probe: with a failover
``AMQP_URI`` a replica connected to the second node is ready although the first is down,
and one whose consumer has not reconnected yet is not, although the broker answers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

_LOCK = threading.Lock()
#: service → consumer id → ``None`` while it consumes, else why not.
_STATE: dict[str, dict[int, str | None]] = {}


@dataclass(frozen=True)
class Readiness:
    """A service's readiness: ``ready``, and what keeps it from being so."""

    ready: bool
    reasons: tuple[str, ...]


def consuming(service: str, consumer: object) -> None:
    """``consumer`` of ``service`` consumes from the broker (after a start or a reconnect)."""
    with _LOCK:
        _STATE.setdefault(service, {})[id(consumer)] = None


def lost(service: str, consumer: object, reason: str) -> None:
    """``consumer`` of ``service`` does not consume (a lost connection, a refused one)."""
    with _LOCK:
        _STATE.setdefault(service, {})[id(consumer)] = reason or "not consuming"


def gone(service: str, consumer: object) -> None:
    """``consumer`` of ``service`` stopped for good (its container stopped or died)."""
    with _LOCK:
        _STATE.get(service, {}).pop(id(consumer), None)


def of(service: str) -> Readiness:
    """The readiness of ``service`` in this process."""
    with _LOCK:
        consumers = dict(_STATE.get(service, {}))
    if not consumers:
        return Readiness(False, ("no consumer started",))
    reasons = tuple(sorted({r for r in consumers.values() if r is not None}))
    return Readiness(not reasons, reasons)
