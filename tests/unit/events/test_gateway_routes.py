"""The events routes of the gateway: every one reachable, and declared in the OpenAPI document."""

from gateway.api import openapi
from gateway.routes.activities import ActivityRoutes
from gateway.service import GatewayService


def test_no_other_route_mixin_shadows_an_events_route():
    """GatewayService inherits every mixin: a same-named handler elsewhere would hide ours."""
    handlers = {name: fn for name, fn in vars(ActivityRoutes).items()
                if getattr(fn, "nameko_entrypoints", None)}
    assert len(handlers) >= 30
    shadowed = [name for name, fn in handlers.items() if getattr(GatewayService, name) is not fn]
    assert shadowed == []


def test_the_openapi_document_describes_the_events_api():
    paths = openapi()["paths"]
    for path, method in [("/api/v1/activities/{activity_id}/registrations", "post"),
                         ("/api/v1/registrations/{registration_id}", "delete"),
                         ("/api/v1/activities/{activity_id}/check-in", "post"),
                         ("/api/v1/activities/{activity_id}.ics", "get"),
                         ("/api/v1/rooms/{code}/bookings", "post"),
                         ("/api/v1/rooms/{code}.ics", "get"),
                         ("/api/v1/calendar", "get"),
                         ("/api/v1/attendance/stats", "get")]:
        assert method in paths[path], (path, method)
    booking = paths["/api/v1/rooms/{code}/bookings"]["post"]
    assert {"201", "401", "403", "404", "422"} <= set(booking["responses"])
    assert "requestBody" in booking
