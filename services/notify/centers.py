"""Centers' names, for the messages (an e-mail's footer): the tickets service owns centers,
and notify asks it through the kit's one cached look-up (:mod:`lianxin.centers`) — the same
that refuses the RPCs of a center tickets doesn't know.

A center tickets can't name now — down, slow, or not knowing the center — is shown by its
id, and asked about again after a short while: a message is never held up or failed for
want of a name."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from lianxin.centers import (
    CenterLookup,
    CenterRegistry,
    CenterRegistryUnavailable,
    Fetch,
    KnownCenters,
)


class CenterNames:
    """Names by center id, from a :class:`~lianxin.centers.CenterRegistry` (a new one kept
    ``ttl`` seconds, ``retry`` when tickets can't be asked, unless one is given)::

    names = CenterNames(ttl=300)
    names.name("yanminghu", fetch=tickets_rpc.get_center)  # "雁鸣湖镇镇区社区党群服务中心"
    """

    def __init__(
        self,
        registry: CenterRegistry | None = None,
        *,
        ttl: float = 300,
        retry: float = 30,
        timeout: float = 3,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.registry = registry or CenterRegistry(
            ttl=ttl, retry=retry, timeout=timeout, clock=clock
        )

    def name(self, center_id: str, fetch: Fetch) -> str:
        try:
            record = self.registry.lookup(center_id, fetch)
        except CenterRegistryUnavailable:  # logged by the registry; the id will do
            record = None
        return center_id if record is None else str(record["name"])

    def reader(self, fetch: Fetch) -> Callable[[str], str]:
        """``name`` as a function of the center id alone (what a directory is handed)."""
        return functools.partial(self.name, fetch=fetch)

    def clear(self) -> None:
        self.registry.clear()


class NamedCenters(CenterLookup):
    """The worker's :class:`~lianxin.centers.CenterLookup`, which also names centers."""

    def reader(self, fetch: Fetch | None = None) -> Callable[[str], str]:
        """Names by center id (asked with ``fetch``, else the look-up's own)."""
        return CenterNames(self.registry).reader(fetch or self.fetch)


class Centers(KnownCenters):
    """notify's :class:`~lianxin.centers.KnownCenters`, injecting :class:`NamedCenters`.
    Config: ``CENTER_NAMES_SECONDS`` (300), how long a known center (and its name) is kept::

    centers = Centers()

    def handle_events(self, events):
        names = self.centers.reader()
    """

    ttl_setting = "CENTER_NAMES_SECONDS"

    def get_dependency(self, worker_ctx: Any) -> NamedCenters:
        return NamedCenters(self.registry, self.fetch(worker_ctx))
