"""What the tickets service's entrypoints get injected beyond the kit's providers."""

from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider

from services.tickets.routing import RoutingCache


class Routing(DependencyProvider):
    """The container's :class:`RoutingCache` (config ``ROUTING_TTL_SECONDS``): one per
    replica, shared by its workers, emptied by the routing-changed broadcast."""

    def setup(self) -> None:
        ttl = float(self.container.config.get("ROUTING_TTL_SECONDS") or 30)
        self.cache = RoutingCache(ttl=ttl)

    def get_dependency(self, worker_ctx: Any) -> RoutingCache:
        return self.cache
