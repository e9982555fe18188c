"""Which centers exist: the tickets service owns them (``tickets.get_center``); every other
service asks it, through one cache, before it reads or writes a center's data.

A center tickets knows is kept a few minutes (``CENTER_KNOWN_SECONDS``, 300); one it
doesn't know only a few seconds (``CENTER_UNKNOWN_SECONDS``, 5), so a center just created
is usable almost at once. When tickets can't be reached, a center known before stays known
(asked again after ``retry`` seconds); a center never seen is refused with
:class:`CenterRegistryUnavailable` (HTTP 503) rather than trusted on the token's word.

The cache keeps each center's whole record (``CenterRead``): a ``center.created`` event can
put a new center in with :meth:`CenterRegistry.learn`, and ``center.updated`` its new state.
A center whose record says ``disabled`` (停用) is refused by :meth:`CenterScoped.require` for
every write and every public operation (:class:`CenterDisabled`, 409 "该服务中心已停用");
its data stays readable by the staff, departments and ops who may read it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import eventlet
from eventlet.event import Event
from nameko.exceptions import RemoteError
from nameko.extensions import DependencyProvider
from nameko.rpc import ServiceProxy

from lianxin.contracts.tickets.operations import onboard_center
from lianxin.errors import Conflict, InvalidInput, NotFound, Unavailable, from_remote
from lianxin.operations import Operation
from lianxin.queues import ReplyListener

log = logging.getLogger(__name__)

#: A center's record as tickets answers it (``CenterRead``: ``{"id", "name", ...}``).
Record = Mapping[str, Any]
#: ``tickets.get_center``: the record, or an error (``CENTER_NOT_FOUND`` when there is none).
Fetch = Callable[[str], Record]


class CenterNotFound(NotFound):
    code = "CENTER_NOT_FOUND"
    default_detail = "服务中心不存在"


class CenterRegistryUnavailable(Unavailable):
    code = "CENTER_REGISTRY_UNAVAILABLE"
    default_detail = "服务中心名录（工单服务）暂时无法访问，无法确认该服务中心，请稍后再试"


class CenterDisabled(Conflict):
    code = "CENTER_DISABLED"
    default_detail = "该服务中心已停用"


#: Operations that only read, by their name's verb (``verb_noun``; the others write).
READ_PREFIXES = (
    "get_",
    "list_",
    "find_",
    "search_",
    "preview_",
    "week_",
    "unread_",
    "read_",
    "person_by_",
    "check_reachable",
)
READ_SUFFIXES = ("_ics", "_stats")


def writes(op: Operation) -> bool:
    """Whether ``op`` changes something (refused for a disabled center)."""
    return not (op.name.startswith(READ_PREFIXES) or op.name.endswith(READ_SUFFIXES))


def is_disabled(record: Record | None) -> bool:
    """Whether a center's record says it is disabled (a record without status is active)."""
    return record is not None and record.get("status") == "disabled"


def refuse_disabled(record: Record | None, op: Operation) -> None:
    """:class:`CenterDisabled` if the center is disabled and ``op`` writes or is public (a
    resident's page); reads of its staff, departments and ops go on."""
    if is_disabled(record) and (writes(op) or op.public):
        raise CenterDisabled(
            "该服务中心已停用，暂不受理新的操作；已有数据仍可查询",
            extra={"center_id": str(record["id"]) if record else None},
        )


@dataclass(frozen=True)
class _Answer:
    """What is known of one center until ``until``: its record, or None (no such center, or
    ``reachable`` False: tickets could not be asked)."""

    record: Record | None
    until: float
    reachable: bool = True


class CenterRegistry:
    """What tickets knows of centers, asked once per center and kept::

    registry = CenterRegistry(ttl=300, unknown_ttl=5)
    registry.require("yanminghu", fetch=tickets_rpc.get_center)  # {"id": "yanminghu", ...}
    registry.require("newtown", fetch=tickets_rpc.get_center)  # CenterNotFound

    Workers asking about the same center at once share one question.
    """

    def __init__(
        self,
        ttl: float = 300,
        unknown_ttl: float = 5,
        retry: float = 5,
        timeout: float = 3,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.ttl, self.unknown_ttl, self.retry = ttl, unknown_ttl, retry
        self.timeout, self.clock = timeout, clock
        self._answers: dict[str, _Answer] = {}
        self._asking: dict[str, Event] = {}

    def lookup(self, center_id: str, fetch: Fetch) -> Record | None:
        """The center's record; None if tickets doesn't know it; :class:`CenterRegistryUnavailable`
        if tickets can't be asked and never named it."""
        answer = self._answers.get(center_id)
        if answer is None or answer.until <= self.clock():
            answer = self._ask(center_id, fetch, answer)
        if not answer.reachable and answer.record is None:
            raise CenterRegistryUnavailable()
        return answer.record

    def require(self, center_id: str, fetch: Fetch) -> Record:
        """The center's record, or :class:`CenterNotFound` (or :class:`CenterRegistryUnavailable`)."""
        record = self.lookup(center_id, fetch)
        if record is None:
            raise CenterNotFound()
        return record

    def learn(self, record: Record) -> None:
        """Keep a center's record as known (a ``center.created`` event carries it)."""
        self._answers[str(record["id"])] = _Answer(record, self.clock() + self.ttl)

    def forget(self, center_id: str) -> None:
        """Ask tickets again the next time the center is named."""
        self._answers.pop(center_id, None)

    def clear(self) -> None:
        self._answers.clear()

    def _ask(self, center_id: str, fetch: Fetch, before: _Answer | None) -> _Answer:
        asking = self._asking.get(center_id)
        if asking is not None:  # another worker is asking already: its answer will do
            answer: _Answer = asking.wait()
            return answer
        asking = self._asking[center_id] = Event()
        try:
            answer = self._fetch(center_id, fetch, before)
            self._answers[center_id] = answer
        finally:
            del self._asking[center_id]
            asking.send(self._answers.get(center_id) or _Answer(None, 0, reachable=False))
        return answer

    def _fetch(self, center_id: str, fetch: Fetch, before: _Answer | None) -> _Answer:
        try:
            with eventlet.Timeout(self.timeout):
                record = fetch(center_id)
        except (Exception, eventlet.Timeout) as exc:
            if _is_not_found(exc):
                return _Answer(None, self.clock() + self.unknown_ttl)
            known = before.record if before is not None else None
            log.warning(
                "center %s: tickets can't be asked (%s); %s",
                center_id,
                exc,
                "still known from before" if known is not None else "refused for now",
            )
            return _Answer(known, self.clock() + self.retry, reachable=False)
        return _Answer(record, self.clock() + self.ttl)


def _is_not_found(exc: BaseException) -> bool:
    """Whether ``exc`` is tickets saying there is no such center (not failing to answer)."""
    if isinstance(exc, RemoteError):
        exc = from_remote(exc) or exc
    return isinstance(exc, NotFound)


class CenterLookup:
    """A worker's view of the :class:`CenterRegistry`, asking through its own RPC proxy."""

    def __init__(self, registry: CenterRegistry, fetch: Fetch):
        self.registry, self.fetch = registry, fetch

    def require(self, center_id: str) -> Record:
        """The center's record if tickets knows it, else :class:`CenterNotFound`."""
        return self.registry.require(center_id, self.fetch)

    def lookup(self, center_id: str) -> Record | None:
        """The center's record, None if tickets doesn't know it."""
        return self.registry.lookup(center_id, self.fetch)

    def require_each(self, center_ids: Iterable[str], field: str = "centers") -> None:
        """Each of ``center_ids`` (a payload's ``field``) known, else :class:`InvalidInput`
        naming those that aren't."""
        unknown = [c for c in dict.fromkeys(center_ids) if self.lookup(c) is None]
        if unknown:
            names = "、".join(unknown)
            raise InvalidInput(
                f"服务中心不存在：{names}",
                code="UNKNOWN_CENTER",
                fields={field: [f"服务中心不存在：{names}"]},
            )


class KnownCenters(DependencyProvider):
    """Injects :class:`CenterLookup`: the centers tickets knows, cached for the whole container.
    Config: ``CENTER_KNOWN_SECONDS`` (300), ``CENTER_UNKNOWN_SECONDS`` (5), and
    ``CENTER_LOOKUP_SECONDS`` (3), how long tickets is waited for::

    class EventsService(CenterScoped):
        caller = Caller()
        centers = KnownCenters()

        @rpc
        def add_room(self, center_id, payload):
            self.require(center_id, ops.add_room)  # the caller's right, then the center
    """

    #: The setting of how long a known center is kept.
    ttl_setting = "CENTER_KNOWN_SECONDS"

    # What nameko's RpcProxy is made of (a provider can't hold another provider): the kit's
    # reply listener, the same one the RpcProxy of the service uses (a transient queue).
    rpc_reply_listener = ReplyListener()

    def setup(self) -> None:
        config = self.container.config
        self.registry = CenterRegistry(
            ttl=float(config.get(self.ttl_setting, 300)),
            unknown_ttl=float(config.get("CENTER_UNKNOWN_SECONDS", 5)),
            timeout=float(config.get("CENTER_LOOKUP_SECONDS", 3)),
        )

    def stop(self) -> None:
        self.registry.clear()

    def fetch(self, worker_ctx: Any) -> Fetch:
        """``get_center`` of tickets, asked in the worker's context (made only when asked)."""
        return partial(_get_center, self.rpc_reply_listener, worker_ctx)

    def get_dependency(self, worker_ctx: Any) -> CenterLookup:
        return CenterLookup(self.registry, self.fetch(worker_ctx))


def _get_center(reply_listener: ReplyListener, worker_ctx: Any, center_id: str) -> Record:
    answer: Record = ServiceProxy(worker_ctx, "tickets", reply_listener).get_center(center_id)
    return answer


class CenterScoped:
    """Mixin of a service whose center-scoped entrypoints act only for centers tickets knows:
    ``self.require(center_id, op)`` checks the caller (``caller``), then the center
    (``centers``, a :class:`KnownCenters`) — the center only for a caller who may name it, so
    a refused caller learns nothing of which centers exist::

    class VolunteersService(CenterScoped, HealthCheck):
        caller = Caller()
        centers = KnownCenters()
    """

    caller: Any
    centers: Any

    # The answer is a Principal, typed Any as ``caller.require``'s reads to mypy (the injected
    # checker isn't the provider class): Principal would flag callers passing its
    # ``sub: str | None`` where a str is wanted.
    def require(self, center_id: str, op: Operation) -> Any:
        """The principal, if it may call ``op`` for ``center_id`` and tickets knows the center."""
        principal = self.caller.require(center_id, op)
        refuse_disabled(self.centers.require(center_id), op)
        return principal

    def onboarding(self, template_id: str, center_id: str) -> Any:
        """The principal, if it may onboard ``center_id`` (the tickets operation
        ``onboard_center``, which orchestrates the copy): tickets knows the template and not
        yet the center (asked afresh)."""
        principal = self.undoing(center_id)
        self.centers.require(template_id)
        return principal

    def undoing(self, center_id: str) -> Any:
        """The principal, if it may copy into or undo a failed onboarding of ``center_id``:
        one tickets does not know (asked afresh), so a center in use is never touched."""
        principal = self.caller.require(center_id, onboard_center)
        self.centers.registry.forget(center_id)
        known = self.centers.lookup(center_id)
        self.centers.registry.forget(center_id)  # "unknown" is about to change: keep nothing
        if known is not None:
            raise Conflict("该服务中心已开通，不能撤销", code="CENTER_EXISTS")
        return principal

    def learn_center(self, event: Mapping[str, Any]) -> None:
        """A ``center.created`` or ``center.updated`` event: keep the center's new record
        (this replica; the others ask tickets when their record of it expires)."""
        data = {k: v for k, v in event["data"].items() if k not in ("actor_id", "change")}
        self.centers.registry.learn(data)
