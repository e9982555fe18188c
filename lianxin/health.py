"""The ``health`` RPC every service answers (the gateway's ``/healthz`` asks each one)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from lianxin.rpc import rpc


class HealthCheck:
    """Mixin: ``health()`` answers when the service can reach its database::

    class TicketsService(HealthCheck):
        name = "tickets"
        db = Database(Base.metadata)
    """

    @rpc
    def health(self) -> dict[str, Any]:
        self.db.execute(text("SELECT 1"))  # type: ignore[attr-defined]
        return {"service": self.name, "database": "ok"}  # type: ignore[attr-defined]
