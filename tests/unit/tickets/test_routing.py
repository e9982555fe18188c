"""Routing as intake reads it: a category's party, through the replica's cache."""

from services.tickets import routing


def test_a_category_without_a_rule_goes_to_the_centers_fallback_party(db):
    from lianxin.contracts.schema import load
    from lianxin.contracts.tickets.operations import CategoryCreate
    from services.tickets import configuration

    configuration.add_category(
        db_session=db,
        center_id="yanminghu",
        data=load(CategoryCreate, {"code": "policy", "name": "政策咨询"}),
    )
    found = routing.routing(db_session=db, center_id="yanminghu", code="policy")
    assert found is not None and found.party == "village_committee"
    assert routing.routing(db_session=db, center_id="yanminghu", code="fireworks") is None


def test_routing_is_cached_per_center_until_forgotten_or_expired(db):
    now = [0.0]
    cache = routing.RoutingCache(ttl=30, clock=lambda: now[0])
    for center in ("yanminghu", "fenghuangtai"):
        routing.routing(db_session=db, center_id=center, code="sanitation", cache=cache)
    assert cache.centers() == {"yanminghu", "fenghuangtai"}
    calls = []
    cache.get("yanminghu", "sanitation", lambda: calls.append(1))
    assert calls == []  # a hit
    cache.forget("yanminghu")
    assert cache.centers() == {"fenghuangtai"}
    now[0] = 31.0  # expired: read again
    assert cache.get("fenghuangtai", "sanitation", lambda: calls.append(1)) is None
    assert calls == [1]
    cache.forget(None)
    assert cache.centers() == set()
