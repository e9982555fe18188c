"""What every route of the gateway may use, declared once: the route classes inherit it, so
a reader (and mypy) sees ``self.tickets_rpc`` and ``self.auth`` where a route uses them."""

from __future__ import annotations

from typing import Any

from nameko.rpc import RpcProxy

from gateway.dependencies import Auth, Authenticator, RequestContext, Settings, Throttle
from gateway.intake import Intake, IntakeClient
from gateway.photos import PhotoDesk, Photos
from lianxin.metrics import Metrics


class GatewayBase:
    name = "gateway"

    # nameko replaces each provider by what it provides on the worker's instance: the
    # annotations say what a route gets.
    auth: Authenticator = Auth()
    throttle: Throttle = Throttle()
    #: Context data passed on with every RPC (the request id).
    context: dict[str, Any] = RequestContext()
    intake: IntakeClient = Intake()
    #: Report photos: the store, processing off the hub, the checks intake makes.
    photos: PhotoDesk = Photos()
    metrics: Any = Metrics()
    settings: dict[str, Any] = Settings()
    accounts_rpc: Any = RpcProxy("accounts")
    tickets_rpc: Any = RpcProxy("tickets")
    volunteers_rpc: Any = RpcProxy("volunteers")
    events_rpc: Any = RpcProxy("events")
    notify_rpc: Any = RpcProxy("notify")

    #: The largest JSON body a route reads.
    max_body = 64 * 1024
