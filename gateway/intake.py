"""Ticket intake, gathered: concurrent intake requests leave for the tickets service together.

Intake is the gateway's hot path, and one RPC per ticket spends most of its cost on the
round trip itself (publish, confirm, reply — in the gateway, the broker and the service),
not on the ticket. :class:`Batcher` gathers without waiting ("smart batching"): the first
request goes at once; requests arriving while ``in_flight`` calls are out wait for one to
return and leave together in the next call (at most ``max_batch``). An idle gateway sends
each ticket alone, as before; a busy one sends fewer, fuller calls, and the tickets service
stores each call in one transaction.

No helper green thread: the request that finds a free slot leads — it sends the batch
through its own worker's RPC proxy and hands every member its answer; when it is done it
wakes the oldest waiting request to lead the next batch. Each item carries its own
caller's token, which the tickets service checks as it would for a single call.

    receipt = self.intake.create(center_id, payload)   # in a route handler

Every request carries a key of the gateway's own (``request_key``). When the wait for its
answer ends (``INTAKE_TIMEOUT_SECONDS`` + ``INTAKE_GRACE_SECONDS``) the outcome is settled by
that key (``tickets.settle_intake``) instead of guessed: 201 with the ticket if it was stored,
else 503 with Retry-After — and the request is then abandoned, so a copy still on its way
stores nothing and the client's retry makes no duplicate. Only if settling can't be asked
either does the 504 stand.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

import eventlet
from eventlet.event import Event
from eventlet.queue import Empty, LightQueue
from kombu.exceptions import OperationalError
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider

from gateway.api import RpcTimeout, call
from lianxin import metrics as kit_metrics
from lianxin import tracing
from lianxin.auth import CONTEXT_KEY
from lianxin.contracts.tickets import operations as tk
from lianxin.errors import Unavailable, from_dict

log = logging.getLogger(__name__)

_LEAD = object()


class _Slot:
    """One waiting request: its item, and where its answer (or its turn to lead) arrives."""

    __slots__ = ("item", "inbox", "sent", "woken")

    def __init__(self, item: Any):
        self.item = item
        self.inbox: LightQueue = LightQueue()
        self.sent = False  # taken into a batch
        self.woken = False  # told to lead, not yet acted on it


class Batcher:
    """Gathers concurrent :meth:`submit` calls into calls of ``send(items) -> answers``."""

    def __init__(
        self,
        max_batch: int = 100,
        in_flight: int = 1,
        timeout: float = 10.0,
        grace: float = 5.0,
        on_batch: Callable[[int], None] | None = None,
    ):
        self.max_batch = max_batch
        self.free = in_flight
        self.timeout = timeout  # of one call (the sender's deadline)
        self.grace = grace  # how much longer a member waits for an answer before giving up
        self.on_batch = on_batch
        self.waiting: deque[_Slot] = deque()

    def submit(self, item: Any, send: Callable[[list[Any]], list[Any]]) -> Any:
        """``item``'s answer from ``send``; ``send``'s exception if the whole call failed."""
        slot = _Slot(item)
        self.waiting.append(slot)
        while True:
            # No green switch between the test and the decrement: a slot can't be taken twice.
            if not slot.sent and self.free > 0:
                self.free -= 1
                self._lead(send)  # gives the slot back
            try:
                kind, value = slot.inbox.get(timeout=self.timeout + self.grace)
            except Empty:
                raise RpcTimeout() from None
            if kind is _LEAD:
                slot.woken = False
                if slot.sent:  # someone else's batch took it meanwhile: pass the turn on
                    self._wake_next()
                continue
            if kind == "error":
                raise value
            return value

    def _lead(self, send: Callable[[list[Any]], list[Any]]) -> None:
        """Send a batch of what waits, give the slot back, then hand out the answers.

        The slot is given back (and the next leader woken) *before* the answers: the next
        batch leaves while this one's members write their responses, so the tickets
        service is not left idle meanwhile."""
        batch: list[_Slot] = []
        try:
            while self.waiting and len(batch) < self.max_batch:
                slot = self.waiting.popleft()
                slot.sent = True
                batch.append(slot)
            if self.on_batch is not None:
                self.on_batch(len(batch))
            answers = send([s.item for s in batch])
            if len(answers) != len(batch):
                raise RuntimeError(f"{len(answers)} answers to a batch of {len(batch)}")
        except BaseException as exc:  # every member gets the call's failure (even a kill)
            self._release()
            for slot in batch:
                slot.inbox.put(("error", exc))
            if not isinstance(exc, Exception):
                raise
            return
        self._release()
        for slot, answer in zip(batch, answers, strict=True):
            slot.inbox.put(("ok", answer))
        eventlet.sleep(0)  # the woken next leader sends before this one writes its response

    def _release(self) -> None:
        self.free += 1
        self._wake_next()

    def _wake_next(self) -> None:
        """Tell the oldest waiting request not yet told that a slot is free."""
        if self.free <= 0:
            return
        for slot in self.waiting:
            if not slot.woken:
                slot.woken = True
                slot.inbox.put((_LEAD, None))
                return


class IntakeClient:
    """What a route handler sees as ``self.intake``."""

    def __init__(self, provider: Intake, worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx

    def create(
        self,
        center_id: str,
        payload: dict[str, Any],
        tickets_rpc: Any,
        intake_key: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """A new ticket's receipt and whether it is a repeat (the same submission already
        taken in: the first ticket's receipt, nothing stored); the tickets service's refusal
        is raised as a kit error.

        The same submission while the first is still on its way waits for the first's
        answer here (the tickets service catches repeats that come later)."""
        inflight = self._provider.inflight
        first = inflight.get(intake_key) if intake_key else None
        if first is not None:
            answer = first.wait()
            if answer is not None and "ticket" in answer:
                return answer["ticket"], True
        request_key = uuid.uuid4().hex
        item = {
            "center_id": center_id,
            "payload": payload,
            "intake_key": intake_key,
            "request_key": request_key,
            "authorization": self._worker_ctx.data.get(CONTEXT_KEY),
            # This request's own trace: the batch's call carries only the first one's.
            **tracing.current_headers(),
        }
        timeout = self._provider.batcher.timeout

        def send(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return call(tickets_rpc.create_tickets, items, timeout=timeout)

        done = Event()
        if intake_key:
            inflight[intake_key] = done
        answer = None
        try:
            try:
                answer = self._provider.batcher.submit(item, send)
            except RpcTimeout:
                answer = self._settle(center_id, request_key, tickets_rpc)
        finally:
            if intake_key and inflight.get(intake_key) is done:
                del inflight[intake_key]
            done.send(answer)
        if "error" in answer:
            raise from_dict(answer["error"])
        return answer["ticket"], bool(answer.get("repeat"))

    def _settle(self, center_id: str, request_key: str, tickets_rpc: Any) -> dict[str, Any]:
        """The answer to a request whose call timed out, settled by its key: its ticket if it
        was stored; else it is abandoned (a copy still on its way stores nothing) and the
        client told to try again (503, Retry-After) — a retry can't make a duplicate. If
        even that can't be asked, the outcome is unknown: the timeout stands (504)."""
        metrics = self._provider.metrics
        metrics.get(TIMEOUTS).labels().inc()
        try:
            settled = call(
                tickets_rpc.settle_intake,
                center_id,
                request_key,
                timeout=self._provider.settle_timeout,
            )
        except (RpcTimeout, OperationalError, ConnectionError, UnknownService) as exc:
            metrics.get(SETTLED).labels("unknown").inc()
            log.warning("intake %s timed out and could not be settled (%s)", request_key, exc)
            raise RpcTimeout() from None
        if settled.get("ticket"):
            metrics.get(SETTLED).labels("stored").inc()
            return {"ticket": settled["ticket"]}
        metrics.get(SETTLED).labels("abandoned").inc()
        raise IntakeNotTaken(extra={"retry_after": RETRY_AFTER_SECONDS})


#: Seconds a client told "not taken in" (503) is asked to wait before trying again.
RETRY_AFTER_SECONDS = 5


class IntakeNotTaken(Unavailable):
    """The tickets service did not answer in time and the request was settled as not taken
    in: nothing is stored, and a retry is safe."""

    code = "INTAKE_NOT_TAKEN"
    default_detail = "系统繁忙，本次诉求未能受理（未保存），请稍后重新提交"


TIMEOUTS = kit_metrics.counter(
    "lianxin_gateway_intake_timeouts_total",
    "Intake requests whose call to the tickets service timed out",
    (),
)
SETTLED = kit_metrics.counter(
    "lianxin_gateway_intake_settled_total",
    "Timed-out intake requests settled, by outcome (stored, abandoned, unknown)",
    ("outcome",),
)

BATCH_SIZE = kit_metrics.histogram(
    "lianxin_gateway_intake_batch_size",
    "Tickets per gathered intake call",
    (),
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)


class Intake(DependencyProvider):
    """The gateway's intake batcher (config ``INTAKE_BATCH_MAX``, ``INTAKE_IN_FLIGHT``)."""

    def setup(self) -> None:
        config = self.container.config
        self.inflight: dict[str, Event] = {}
        self.metrics = kit_metrics.for_service(self.container.service_name)
        histogram = self.metrics.get(BATCH_SIZE).labels()
        # The tickets service refuses a call of more than tk.INTAKE_BATCH_MAX items.
        self.batcher = Batcher(
            max_batch=min(int(config.get("INTAKE_BATCH_MAX", 100)), tk.INTAKE_BATCH_MAX),
            in_flight=int(config.get("INTAKE_IN_FLIGHT", 1)),
            timeout=float(config.get("INTAKE_TIMEOUT_SECONDS", 10)),
            grace=float(config.get("INTAKE_GRACE_SECONDS", 5)),
            on_batch=histogram.observe,
        )
        # Settling asks one indexed row: it gets a wait of its own, shorter than intake's.
        self.settle_timeout = float(config.get("INTAKE_SETTLE_SECONDS", 5))

    def get_dependency(self, worker_ctx) -> IntakeClient:
        return IntakeClient(self, worker_ctx)
