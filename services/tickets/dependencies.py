"""What the tickets service's entrypoints get injected beyond the kit's providers."""

from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider

from services.tickets.routing import RoutingCache
from services.tickets.suggest import DEFAULT_RADIUS_M
from services.tickets.suggestions import SuggestionCache, warm_up


class Routing(DependencyProvider):
    """The container's :class:`RoutingCache` (config ``ROUTING_TTL_SECONDS``): one per
    replica, shared by its workers, emptied by the routing-changed broadcast."""

    def setup(self) -> None:
        ttl = float(self.container.config.get("ROUTING_TTL_SECONDS") or 30)
        self.cache = RoutingCache(ttl=ttl)

    def get_dependency(self, worker_ctx: Any) -> RoutingCache:
        return self.cache


class Suggestions(DependencyProvider):
    """The container's :class:`SuggestionCache` (config ``SUGGESTION_TTL_SECONDS``, default
    600; ``REPEAT_RADIUS_M``, default 100): each center's category model, one per replica,
    shared by its workers, emptied of a center by the routing-changed broadcast (its
    categories changed). The word segmenter's dictionary is loaded here, at start."""

    def setup(self) -> None:
        config = self.container.config
        self.cache = SuggestionCache(
            ttl=float(config.get("SUGGESTION_TTL_SECONDS") or 600),
            radius_m=float(config.get("REPEAT_RADIUS_M") or DEFAULT_RADIUS_M),
        )
        warm_up()

    def get_dependency(self, worker_ctx: Any) -> SuggestionCache:
        return self.cache
