"""Sending what is due, without ever putting a worker to sleep.

The service's timers call :class:`Dispatcher` every half second: it *claims* due rows
(``pending`` with ``next_attempt_at`` past, or ``sending`` whose lease ran out because a
sender died) with ``FOR UPDATE SKIP LOCKED``, commits, and hands each to a bounded green
pool — one pool for people's messages, another for department webhooks — then returns.
Each send has a hard deadline; its outcome (sent, retried later with backoff, failed with
the reason) is written with those of the sends that finish meanwhile — one transaction, by
one green thread — and a claim of more work follows. Department deliveries are taken at
most ``WEBHOOK_PER_SUBSCRIPTION`` at a time per subscription, so a slow or failing
endpoint holds a few slots at most and never delays the other subscribers.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import eventlet
import requests
from nameko.extensions import DependencyProvider
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import func, select

from lianxin import metrics as kit_metrics
from lianxin import tracing
from lianxin.clock import now_utc
from lianxin.logs import mask_phone
from lianxin.outbox import find_database
from services.notify import channels as channel_mod
from services.notify import deliveries, signing, webhooks
from services.notify.channels import DeliveryError, Outgoing
from services.notify.deliveries import Outcome
from services.notify.directory import ADDRESS
from services.notify.metrics import (
    BACKLOG,
    DELIVERIES,
    DELIVERY_STEPS,
    FINAL_OUTCOMES,
    SEND_SECONDS,
    WEBHOOK_CHANNEL,
)
from services.notify.models import Contact, Delivery, WebhookDelivery
from services.notify.settings import Settings

log = logging.getLogger(__name__)
#: Senders finishing within this many seconds share one claim of more work.
REFILL_DELAY = 0.02
#: … and one transaction recording how their sends went.
RECORD_DELAY = 0.02
ADDRESS_NAMES = {"sms": "手机号", "wechat": "微信 openid", "email": "邮箱", "webhook": "接收地址"}


class Dispatcher(DependencyProvider):
    """Claims due deliveries and sends them from bounded green pools (see the module doc).

    Config: ``DISPATCH_POOL`` (people's messages in flight, default 20), ``WEBHOOK_POOL``
    (department deliveries in flight, 20), ``WEBHOOK_PER_SUBSCRIPTION`` (2),
    ``SEND_CONNECT_TIMEOUT`` / ``SEND_READ_TIMEOUT`` (3 s / 5 s), and the channels' own
    settings (``channels.from_config``)::

        @timer("NOTIFY_SEND_MESSAGES_SECONDS", default=0.5)
        def send_due(self):
            self.dispatcher.dispatch_people()
    """

    def setup(self) -> None:
        config = self.container.config
        self.db = find_database(self.container)
        self.settings = Settings.from_config(config)
        self.channels = channel_mod.from_config(config)
        self.timeout = (
            float(config.get("SEND_CONNECT_TIMEOUT", 3)),
            float(config.get("SEND_READ_TIMEOUT", 5)),
        )
        self.deadline = sum(self.timeout) + 1
        self.lease = timedelta(seconds=self.deadline * 2 + 30)
        self.people = eventlet.GreenPool(int(config.get("DISPATCH_POOL", 20)))
        self.hooks = eventlet.GreenPool(int(config.get("WEBHOOK_POOL", 20)))
        self.per_subscription = int(config.get("WEBHOOK_PER_SUBSCRIPTION", 2))
        self.inflight: Counter[str] = Counter()
        self.http = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=50, pool_maxsize=self.hooks.size)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)
        metrics = kit_metrics.for_service(self.container.service_name)
        self.deliveries = metrics.get(DELIVERIES)
        self.steps = metrics.get(DELIVERY_STEPS)
        self.send_seconds = metrics.get(SEND_SECONDS)
        self.backlog = metrics.get(BACKLOG)
        self._running = False
        # One claimer per kind at a time: a tick, or a sender that just finished and refills.
        self._claiming = {"people": False, "hooks": False}
        self._refilling = {"people": False, "hooks": False}
        # Finished sends waiting to be recorded, by kind.
        self._done: dict[str, list[Any]] = {"people": [], "hooks": []}
        self._recording = {"people": False, "hooks": False}

    def start(self) -> None:
        self._running = True

    def stop(self) -> None:
        self._running = False
        with eventlet.Timeout(self.deadline + 1, False):
            self.people.waitall()
            self.hooks.waitall()
        for kind in ("people", "hooks"):  # what finished is recorded before the database goes
            if self._done[kind]:
                self._record(kind)

    def kill(self) -> None:
        self._running = False

    def get_dependency(self, worker_ctx) -> Dispatcher:
        return self

    def count(self, outcomes: list[Outcome]) -> None:
        for o in outcomes:
            self.count_one(o.center_id, o.channel, o.outcome)

    def count_one(self, center_id: str, channel: str, outcome: str) -> None:
        """An ended delivery per center; a step on the way (queued, retried …) per service."""
        if outcome in FINAL_OUTCOMES:
            self.deliveries.labels(center_id, channel, outcome).inc()
        else:
            self.steps.labels(channel, outcome).inc()

    # -- people --------------------------------------------------------------------------

    def _exclusive(self, kind: str, claim) -> int:
        if not self._running or self._claiming[kind]:
            return 0
        self._claiming[kind] = True
        try:
            return claim()
        finally:
            self._claiming[kind] = False

    def _refill(self, kind: str, dispatch) -> None:
        """A sender finished: claim more soon instead of waiting for the next tick — one claim
        for all the senders of ``kind`` that finish within ``REFILL_DELAY``, not one each."""

        def run() -> None:
            self._refilling[kind] = False
            try:
                dispatch()
            except Exception as exc:
                log.warning("refilling the send pool failed: %s", exc)

        if self._running and not self._refilling[kind]:
            self._refilling[kind] = True
            eventlet.spawn_after(REFILL_DELAY, run)

    def dispatch_people(self) -> int:
        """Claim as many due deliveries as the pool has room for and start sending them."""
        return self._exclusive("people", self._claim_people)

    def _claim_people(self) -> int:
        free = self.people.free()
        if free <= 0:
            return 0
        now = now_utc()
        with self.db.scope() as session:
            rows = deliveries.claim_due(db_session=session, now=now, limit=free, lease=self.lease)
            jobs = self._jobs(session, rows)
        for job in jobs:
            self.people.spawn_n(self._send, job)
        return len(jobs)

    def _jobs(self, session, rows: list[Delivery]) -> list[dict[str, Any]]:
        wanted = {(r.center_id, r.person_id) for r in rows if r.person_id}
        contacts = {}
        if wanted:
            centers = {c for c, _ in wanted}
            people = {p for _, p in wanted}
            for c in session.scalars(
                select(Contact).where(Contact.center_id.in_(centers), Contact.person_id.in_(people))
            ):
                contacts[(c.center_id, c.person_id)] = c
        jobs = []
        for r in rows:
            contact = contacts.get((r.center_id, r.person_id))
            address = getattr(contact, ADDRESS.get(r.channel, ""), None) if contact else None
            job: dict[str, Any] = {"id": r.id, "channel": r.channel, "error": None, "message": None}
            if r.channel not in self.channels:
                job["error"] = f"渠道 {r.channel} 不可用"
            elif not address or contact is None:
                job["error"] = f"通讯录中没有该联系人的{ADDRESS_NAMES.get(r.channel, '地址')}"
            else:
                job["message"] = Outgoing(
                    delivery_id=r.id,
                    center_id=r.center_id,
                    channel=r.channel,
                    message_type=r.message_type,
                    title=r.title,
                    body=r.body,
                    address=address,
                    recipient_name=contact.name,
                    critical=r.critical,
                )
            jobs.append(job)
        return jobs

    def _send(self, job: dict[str, Any]) -> None:
        error, permanent = job["error"], True
        if error is None:
            began = time.perf_counter()
            try:
                with eventlet.Timeout(self.deadline):
                    self.channels[job["channel"]].send(job["message"])
            except DeliveryError as exc:
                error, permanent = exc.reason, exc.permanent
            except eventlet.Timeout:
                error, permanent = f"发送超时（{self.deadline:.0f} 秒）", False
            except Exception as exc:
                log.exception("channel %s failed on delivery %s", job["channel"], job["id"])
                error, permanent = f"{type(exc).__name__}: {exc}", False
            self.send_seconds.labels(job["channel"]).observe(time.perf_counter() - began)
        if error is not None:
            log.warning(
                "delivery %s on %s failed: %s", job["id"], job["channel"], mask_phone(error)
            )
        self._finished("people", deliveries.Attempt(job["id"], error, permanent, now_utc()))

    # -- department webhooks -------------------------------------------------------------

    def dispatch_webhooks(self) -> int:
        """Claim due department deliveries (a few per subscription) and start posting them."""
        return self._exclusive("hooks", self._claim_webhooks)

    def _claim_webhooks(self) -> int:
        free = self.hooks.free()
        if free <= 0:
            return 0
        now = now_utc()
        with self.db.scope() as session:
            jobs = webhooks.claim_due(
                db_session=session,
                now=now,
                limit=free,
                lease=self.lease,
                per_subscription=self.per_subscription,
                inflight={k: v for k, v in self.inflight.items() if v},
                guard=self.settings.webhook_guard,
            )
        for job in jobs:
            self.inflight[job["subscription_id"]] += 1
            self.hooks.spawn_n(self._post, job)
        return len(jobs)

    def _post(self, job: dict[str, Any]) -> None:
        try:
            status, error = self.post_signed(job)
        except Exception as exc:
            log.exception("webhook delivery %s failed", job["id"])
            status, error = None, f"{type(exc).__name__}: {exc}"
        finally:
            self.inflight[job["subscription_id"]] -= 1
        self._finished("hooks", webhooks.HookAttempt(job["id"], status, error, now_utc()))

    # -- recording what was sent -----------------------------------------------------------

    def _finished(self, kind: str, attempt: deliveries.Attempt | webhooks.HookAttempt) -> None:
        """A send is over: its outcome is written with the others that finish meanwhile, in
        one transaction, by one green thread (not one transaction per message)."""
        self._done[kind].append(attempt)
        if not self._recording[kind]:
            self._recording[kind] = True
            eventlet.spawn_after(RECORD_DELAY, self._record, kind)

    def _record(self, kind: str) -> None:
        try:
            while self._done[kind]:
                batch, self._done[kind] = self._done[kind], []
                try:
                    with self.db.scope() as session:
                        outcomes: list[Any]
                        if kind == "people":
                            outcomes = deliveries.record_attempts(
                                db_session=session, attempts=batch, settings=self.settings
                            )
                        else:
                            outcomes = webhooks.record_attempts(
                                db_session=session, attempts=batch, settings=self.settings
                            )
                except Exception as exc:
                    log.error("could not record %d %s send(s): %s", len(batch), kind, exc)
                    outcomes = []
                for done in outcomes:
                    if isinstance(done, Outcome):
                        self.count([done])
                    elif done is not None:
                        center, outcome = done
                        self.count_one(center, WEBHOOK_CHANNEL, outcome)
        finally:
            self._recording[kind] = False
        self._refill(kind, self.dispatch_people if kind == "people" else self.dispatch_webhooks)

    def post_signed(self, job: dict[str, Any]) -> tuple[int | None, str | None]:
        """POST one CloudEvent in structured mode with Standard Webhooks headers, in a client
        span of the event's trace (its envelope's ``traceparent``) that the request's own
        ``traceparent`` header names: one span per attempt."""
        event = job["body"]
        with tracing.span_from(
            self.container.service_name,
            "POST webhook",
            event,
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": "POST",
                "server.address": urlsplit(job["url"]).hostname or "",
                "lianxin.webhook.id": job["id"],
                "cloudevents.event_id": event.get("id", ""),
                "cloudevents.event_type": event.get("type", ""),
            },
        ) as span:
            status, error = self._post_signed(job, tracing.current_headers())
            if status is not None:
                span.set_attribute("http.response.status_code", status)
            if error is not None or status is None or status >= 400:
                span.set_status(StatusCode.ERROR, error or f"HTTP {status}")
            return status, error

    def _post_signed(
        self, job: dict[str, Any], trace: dict[str, str]
    ) -> tuple[int | None, str | None]:
        body = json.dumps(job["body"], ensure_ascii=False, separators=(",", ":"))
        timestamp = int(time.time())
        headers = {
            "Content-Type": signing.CONTENT_TYPE,
            "User-Agent": channel_mod.USER_AGENT,
            "webhook-id": job["id"],
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signing.sign(job["secrets"], job["id"], timestamp, body),
            **trace,
        }
        began = time.perf_counter()
        try:
            with eventlet.Timeout(self.deadline):
                response = self.http.post(
                    job["url"],
                    data=body.encode("utf-8"),
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
                response.close()
                return response.status_code, None
        except eventlet.Timeout:
            return None, f"超时：接收方 {self.deadline:.0f} 秒内未应答"
        except requests.RequestException as exc:
            return None, f"网络错误：{type(exc).__name__}"
        finally:
            self.send_seconds.labels(WEBHOOK_CHANNEL).observe(time.perf_counter() - began)

    # -- gauges --------------------------------------------------------------------------

    def update_gauges(self) -> None:
        with self.db.scope() as session:
            waiting = dict(
                session.execute(
                    select(Delivery.channel, func.count())
                    .where(Delivery.state.in_(("pending", "sending")))
                    .group_by(Delivery.channel)
                ).all()
            )
            hooks = (
                session.scalar(
                    select(func.count())
                    .select_from(WebhookDelivery)
                    .where(WebhookDelivery.state.in_(("pending", "sending")))
                )
                or 0
            )
        for channel in ("sms", "wechat", "email", "webhook"):
            self.backlog.labels(channel).set(waiting.get(channel, 0))
        self.backlog.labels(WEBHOOK_CHANNEL).set(hooks)
