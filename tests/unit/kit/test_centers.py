"""The one cached look-up of the centers tickets knows (lianxin.centers), on a fake clock."""

import eventlet
import pytest
from nameko.exceptions import RemoteError, serialize

from lianxin.centers import (
    CenterLookup,
    CenterNotFound,
    CenterRegistry,
    CenterRegistryUnavailable,
)
from lianxin.errors import Forbidden, InvalidInput

YANMINGHU = {"id": "yanminghu", "name": "雁鸣湖镇镇区社区党群服务中心"}


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


class Tickets:
    """``get_center`` of a fake tickets service: its centers, or down."""

    def __init__(self, *centers):
        self.centers = {c["id"]: c for c in centers}
        self.down = False
        self.asked: list[str] = []

    def get_center(self, center_id):
        self.asked.append(center_id)
        if self.down:
            raise ConnectionError("tickets is down")
        if center_id not in self.centers:
            raise as_remote(CenterNotFound())
        return self.centers[center_id]


def as_remote(exc):
    """``exc`` as the caller of an RPC receives it."""
    data = serialize(exc)
    return RemoteError(data["exc_type"], data["value"])


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def registry(clock):
    return CenterRegistry(ttl=300, unknown_ttl=5, retry=5, timeout=1, clock=clock)


def test_a_known_center_is_asked_once_and_kept_minutes(registry, clock):
    tickets = Tickets(YANMINGHU)
    assert registry.require("yanminghu", tickets.get_center) == YANMINGHU
    clock.now += 299
    assert registry.require("yanminghu", tickets.get_center) == YANMINGHU
    assert tickets.asked == ["yanminghu"]
    clock.now += 2
    registry.require("yanminghu", tickets.get_center)
    assert tickets.asked == ["yanminghu", "yanminghu"]


def test_an_unknown_center_is_refused_and_asked_again_after_seconds(registry, clock):
    tickets = Tickets(YANMINGHU)
    with pytest.raises(CenterNotFound) as refused:
        registry.require("newtown", tickets.get_center)
    assert (refused.value.kind, refused.value.code) == ("not_found", "CENTER_NOT_FOUND")
    assert refused.value.detail == "服务中心不存在"
    assert registry.lookup("newtown", tickets.get_center) is None
    assert tickets.asked == ["newtown"]  # the refusal is kept a moment

    tickets.centers["newtown"] = {"id": "newtown", "name": "新城社区党群服务中心"}
    clock.now += 5  # ops created it: usable within seconds
    assert registry.require("newtown", tickets.get_center)["name"] == "新城社区党群服务中心"
    assert tickets.asked == ["newtown", "newtown"]


def test_a_not_found_raised_locally_counts_as_unknown_too(registry):
    def get_center(center_id):
        raise CenterNotFound()

    assert registry.lookup("newtown", get_center) is None


def test_tickets_down_a_center_known_before_stays_known(registry, clock):
    tickets = Tickets(YANMINGHU)
    registry.require("yanminghu", tickets.get_center)
    tickets.down = True
    clock.now += 301
    assert registry.require("yanminghu", tickets.get_center) == YANMINGHU
    clock.now += 1  # not asked again at once ...
    assert registry.require("yanminghu", tickets.get_center) == YANMINGHU
    assert len(tickets.asked) == 2
    clock.now += 5  # ... but after the retry; back up, it's kept minutes again
    tickets.down = False
    registry.require("yanminghu", tickets.get_center)
    clock.now += 299
    registry.require("yanminghu", tickets.get_center)
    assert len(tickets.asked) == 3


def test_tickets_down_a_center_never_seen_is_refused_as_unavailable(registry, clock):
    tickets = Tickets(YANMINGHU)
    tickets.down = True
    with pytest.raises(CenterRegistryUnavailable) as refused:
        registry.require("yanminghu", tickets.get_center)
    assert refused.value.kind == "unavailable"  # HTTP 503
    assert refused.value.code == "CENTER_REGISTRY_UNAVAILABLE"
    assert "服务中心名录" in refused.value.detail and "暂时无法访问" in refused.value.detail
    with pytest.raises(CenterRegistryUnavailable):
        registry.require("yanminghu", tickets.get_center)
    assert len(tickets.asked) == 1
    tickets.down = False
    clock.now += 5
    assert registry.require("yanminghu", tickets.get_center) == YANMINGHU


def test_another_refusal_of_tickets_is_not_mistaken_for_no_such_center(registry):
    def get_center(center_id):
        raise as_remote(Forbidden())

    with pytest.raises(CenterRegistryUnavailable):
        registry.require("yanminghu", get_center)


def test_a_hung_tickets_is_given_up_on_after_the_timeout(clock):
    registry = CenterRegistry(timeout=0.05, clock=clock)

    def hung(center_id):
        eventlet.sleep(10)

    with pytest.raises(CenterRegistryUnavailable):
        registry.require("yanminghu", hung)


def test_workers_asking_about_one_center_at_once_share_one_question(registry):
    asked = []

    def slow(center_id):
        asked.append(center_id)
        eventlet.sleep(0.05)
        return YANMINGHU

    pool = eventlet.GreenPool()
    answers = list(pool.imap(lambda _: registry.require("yanminghu", slow), range(5)))
    assert answers == [YANMINGHU] * 5
    assert asked == ["yanminghu"]


def test_a_center_learnt_from_an_event_needs_no_question(registry):
    tickets = Tickets()
    registry.learn({"id": "newtown", "name": "新城社区党群服务中心"})
    assert registry.require("newtown", tickets.get_center)["name"] == "新城社区党群服务中心"
    registry.forget("newtown")
    with pytest.raises(CenterNotFound):
        registry.require("newtown", tickets.get_center)
    assert tickets.asked == ["newtown"]


def test_a_payloads_centers_are_each_checked(registry):
    centers = CenterLookup(registry, Tickets(YANMINGHU).get_center)
    centers.require_each(["yanminghu", "yanminghu"])
    with pytest.raises(InvalidInput) as refused:
        centers.require_each(["yanminghu", "newtown", "oldtown"])
    assert refused.value.code == "UNKNOWN_CENTER"
    assert refused.value.fields == {"centers": ["服务中心不存在：newtown、oldtown"]}


def test_a_service_checks_the_caller_first_then_the_center():
    from lianxin.centers import CenterScoped

    class Caller:
        def require(self, center_id, op):
            if center_id != "newtown":
                raise Forbidden("无权访问该服务中心的数据", code="CENTER_FORBIDDEN")
            return "principal"

    tickets = Tickets(YANMINGHU)

    class Service(CenterScoped):
        caller = Caller()
        centers = CenterLookup(CenterRegistry(), tickets.get_center)

    with pytest.raises(Forbidden):  # a refused caller learns nothing of which centers exist
        Service().require("yanminghu", op=None)
    assert tickets.asked == []
    with pytest.raises(CenterNotFound):
        Service().require("newtown", op=None)
    tickets.centers["newtown"] = {"id": "newtown", "name": "新城"}
    Service.centers.registry.forget("newtown")
    assert Service().require("newtown", op=None) == "principal"
