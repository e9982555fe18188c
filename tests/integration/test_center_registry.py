"""Every service refuses data for a center the tickets service doesn't know (issue 11 §4):
events, volunteers and notify ask tickets (``get_center``, cached) — not the token's word —
over the real broker, behind the real gateway."""

import pytest
import requests

from lianxin.testing import free_port, wait_for

pytestmark = pytest.mark.integration

#: What each service is asked to store for the center, and where it is listed.
WRITES = {
    "events": ("/rooms", {"code": "dance", "name": "舞蹈排练室", "capacity": 40}),
    "volunteers": ("/volunteers", {"name": "张志强", "person_id": "vol-1"}),
    "notify": ("/contacts", {"person_id": "sw-1", "name": "赵晓雯", "role": "staff"}),
}
#: Quick to re-ask (an unknown center, an unreachable tickets), so the test need not wait.
FAST = {"CENTER_UNKNOWN_SECONDS": 0.5, "CENTER_LOOKUP_SECONDS": 0.5}


@pytest.fixture
def system(container_factory, service_config, center_registry, token):
    """Events, volunteers and notify with the real tickets (which knows only yanminghu),
    behind the gateway; ``system(method, path, center, json)`` calls it as that center's
    admin."""
    from gateway.service import GatewayService
    from services.events.service import EventsService
    from services.notify.service import NotifyService
    from services.volunteers.service import VolunteersService

    port = free_port()
    for cls in (EventsService, VolunteersService, NotifyService):
        container_factory(cls, service_config(cls.name, **FAST)).start()
    tickets = center_registry("yanminghu")
    container_factory(
        GatewayService, service_config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    ).start()

    def call(method, path, center, json=None):
        return requests.request(
            method,
            f"http://127.0.0.1:{port}/api/v1{path}",
            json=json,
            timeout=15,
            headers={"Authorization": f"Bearer {token('admin', center=center)}"},
        )

    call.tickets = tickets
    return call


def test_a_center_tickets_doesnt_know_is_refused_everywhere_until_ops_creates_it(
    system, known_centers
):
    for path, body in WRITES.values():
        refused = system("POST", path, "newtown", body)
        assert refused.status_code == 404, refused.text
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert (refused.json()["code"], refused.json()["detail"]) == (
            "CENTER_NOT_FOUND",
            "服务中心不存在",
        )
        assert system("GET", path, "newtown").status_code == 404  # reads too
        assert system("POST", path, "yanminghu", body).status_code == 201  # a known one works

    known_centers("newtown")  # ops creates it in tickets: usable within a moment

    for path, body in WRITES.values():
        created = wait_for(lambda p=path, b=body: (r := system("POST", p, "newtown", b)).ok and r)
        assert created.status_code == 201, created.text
    # Nothing of the refused writes was kept: each list holds the one made since.
    assert len(system("GET", "/rooms", "newtown").json()) == 1
    assert system("GET", "/volunteers", "newtown").json()["total"] == 1
    assert system("GET", "/contacts", "newtown").json()["total"] == 1


def test_tickets_refuses_its_own_center_scoped_operations_for_an_unknown_center(system, rpc, token):
    from nameko.exceptions import RemoteError

    from lianxin.errors import from_remote

    admin = rpc(token("admin", center="newtown")).tickets
    category = {"code": "sanitation", "name": "环境卫生", "party": "property"}
    ticket = {"category": "sanitation", "description": "路灯坏了", "channel": "web"}
    for call, args in (
        (admin.add_category, (category,)),
        (admin.list_categories, ()),
        (admin.create_api_key, ({"name": "热线"},)),
        (rpc().tickets.create_ticket, (ticket,)),  # public intake names the center itself
    ):
        with pytest.raises(RemoteError) as refused:
            call("newtown", *args)
        error = from_remote(refused.value)
        assert error is not None and error.code == "CENTER_NOT_FOUND", refused.value


def test_with_tickets_down_a_known_center_still_works_and_a_new_one_is_503(system):
    path, body = WRITES["events"]
    assert system("GET", path, "yanminghu").status_code == 200  # now known to events
    system.tickets.stop()

    assert system("POST", path, "yanminghu", body).status_code == 201
    refused = system("POST", path, "oldtown", body)
    assert refused.status_code == 503, refused.text
    assert refused.json()["code"] == "CENTER_REGISTRY_UNAVAILABLE"
    assert "暂时无法访问" in refused.json()["detail"]
