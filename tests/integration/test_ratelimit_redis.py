"""The public throttle shared through Redis: two gateway replicas count one client together."""

import uuid

import pytest

from gateway.ratelimit import ClientLimit

pytestmark = pytest.mark.integration

REDIS = "redis://127.0.0.1:6379/0"


def test_replicas_sharing_redis_allow_a_client_the_limit_once_not_twice():
    scope = f"test-{uuid.uuid4().hex}"
    one, two = (ClientLimit(rate=1, burst=4, storage_uri=REDIS, scope=scope) for _ in range(2))
    answers = [replica.retry_after("10.0.0.7") for replica in (one, two, one, two, one, two)]
    assert answers[:4] == [0, 0, 0, 0]
    assert all(1 <= wait <= 4 for wait in answers[4:])
    assert one.retry_after("10.0.0.8") == 0  # another client has its own count
