"""The events routes of the gateway: every one installed once, none shadowed, and declared in
the OpenAPI document."""

from gateway import api
from gateway.api import openapi
from gateway.routes import activities
from gateway.service import GatewayService
from lianxin.contracts.events import operations as ev


def events_routes() -> list[api.Route]:
    return [r for r in api.ROUTES if r.op.service == "events"]


def test_every_events_route_is_installed_once_on_the_gateway_and_none_is_shadowed():
    routes = events_routes()
    assert len(routes) >= 30
    keys = [(r.method, r.path) for r in routes]
    assert len(keys) == len(set(keys))
    names = [r.name for r in api.ROUTES]
    for r in routes:
        assert names.count(r.name) == 1, r.name  # another area's method of the name would hide it
        assert getattr(GatewayService, r.name).nameko_entrypoints, r.name
    assert {r.path for r in activities.ROUTES} <= {r.path for r in routes}


def test_every_events_operation_callers_use_has_a_route():
    served = {r.op.name for r in events_routes()}
    # (internal ones — the reports service's batched statistics — are never routed)
    assert served == {op.name for op in ev.OPERATIONS if not op.internal}


def test_the_openapi_document_describes_the_events_api():
    paths = openapi()["paths"]
    for path, method in [
        ("/api/v1/activities/{activity_id}/registrations", "post"),
        ("/api/v1/registrations/{registration_id}", "delete"),
        ("/api/v1/activities/{activity_id}/check-in", "post"),
        ("/api/v1/activities/{activity_id}.ics", "get"),
        ("/api/v1/rooms/{code}/bookings", "post"),
        ("/api/v1/rooms/{code}.ics", "get"),
        ("/api/v1/calendar", "get"),
        ("/api/v1/attendance/stats", "get"),
    ]:
        assert method in paths[path], (path, method)
    booking = paths["/api/v1/rooms/{code}/bookings"]["post"]
    assert {"201", "401", "403", "404", "422"} <= set(booking["responses"])
    assert "requestBody" in booking
