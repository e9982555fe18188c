"""Centers' names, for the messages (an e-mail's footer): the tickets service owns centers,
so notify asks it (``get_center``) and keeps each name a few minutes.

A center tickets can't name now — down, slow, or not knowing the center — is shown by its
id, and asked about again after a short while: a message is never held up or failed for
want of a name."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider

log = logging.getLogger(__name__)

#: ``get_center(center_id)`` of the tickets service (answers ``{"id", "name", ...}``).
Fetch = Callable[[str], dict[str, Any]]


class CenterNames:
    """Names by center id, each kept ``ttl`` seconds (an id shown instead, ``retry``)::

    names = CenterNames(ttl=300)
    names.name("yanminghu", fetch=tickets_rpc.get_center)  # "雁鸣湖镇镇区社区党群服务中心"
    """

    def __init__(
        self,
        ttl: float = 300,
        retry: float = 30,
        timeout: float = 3,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.ttl, self.retry, self.timeout, self.clock = ttl, retry, timeout, clock
        self._names: dict[str, tuple[float, str]] = {}

    def name(self, center_id: str, fetch: Fetch) -> str:
        kept = self._names.get(center_id)
        if kept is not None and kept[0] > self.clock():
            return kept[1]
        try:
            with eventlet.Timeout(self.timeout):
                name, keep = str(fetch(center_id)["name"]), self.ttl
        except (Exception, eventlet.Timeout) as exc:  # whatever it is, the id will do
            log.warning("center %s: no name from tickets (%s), its id is shown", center_id, exc)
            name, keep = center_id, self.retry
        self._names[center_id] = (self.clock() + keep, name)
        return name

    def reader(self, fetch: Fetch) -> Callable[[str], str]:
        """``name`` as a function of the center id alone (what a directory is handed)."""
        return functools.partial(self.name, fetch=fetch)

    def clear(self) -> None:
        self._names.clear()


class Centers(DependencyProvider):
    """The service's :class:`CenterNames`. Config: ``CENTER_NAMES_SECONDS`` (300)::

    centers = Centers()
    tickets_rpc = RpcProxy("tickets")

    def handle_events(self, events):
        names = self.centers.reader(self.tickets_rpc.get_center)
    """

    def setup(self) -> None:
        ttl = float(self.container.config.get("CENTER_NAMES_SECONDS", 300))
        self.names = CenterNames(ttl=ttl)

    def stop(self) -> None:
        self.names.clear()

    def get_dependency(self, worker_ctx) -> CenterNames:
        return self.names
