"""The public throttle, counted in this process (``memory://``)."""

import time
import uuid

import pytest

from gateway.ratelimit import ClientLimit


def fresh(rate, burst):
    return ClientLimit(rate=rate, burst=burst, scope=f"test-{uuid.uuid4().hex}")


def test_a_burst_is_allowed_then_throttled_with_a_wait():
    limit = fresh(rate=1, burst=3)  # 3 in any 3 seconds
    assert [limit.retry_after("1.2.3.4") for _ in range(3)] == [0, 0, 0]
    assert 1 <= limit.retry_after("1.2.3.4") <= 3


def test_clients_are_throttled_separately():
    limit = fresh(rate=1, burst=1)
    assert limit.retry_after("a") == 0 and limit.retry_after("b") == 0
    assert limit.retry_after("a") > 0


def test_requests_come_back_with_time():
    limit = fresh(rate=2, burst=2)  # 2 in any second
    assert [limit.retry_after("a") for _ in range(3)][-1] == 1
    time.sleep(1.05)
    assert limit.retry_after("a") == 0


def test_an_unreachable_shared_store_lets_residents_through():
    limit = ClientLimit(rate=1, burst=1, storage_uri="redis://127.0.0.1:1/0")
    assert [limit.retry_after("a") for _ in range(3)] == [0, 0, 0]


@pytest.mark.parametrize("rate, burst", [(0, 10), (1, 0)])
def test_a_limit_that_allows_nothing_is_refused(rate, burst):
    with pytest.raises(ValueError):
        ClientLimit(rate=rate, burst=burst)
