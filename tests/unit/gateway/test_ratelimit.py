from gateway.ratelimit import TokenBucket


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_burst_is_allowed_then_throttled_with_a_wait():
    clock = Clock()
    bucket = TokenBucket(rate=1, burst=3, clock=clock)
    assert [bucket.retry_after("1.2.3.4") for _ in range(3)] == [0, 0, 0]
    assert bucket.retry_after("1.2.3.4") == 1


def test_clients_are_throttled_separately():
    bucket = TokenBucket(rate=1, burst=1, clock=Clock())
    assert bucket.retry_after("a") == 0 and bucket.retry_after("b") == 0
    assert bucket.retry_after("a") > 0


def test_tokens_come_back_with_time_and_idle_clients_are_forgotten():
    clock = Clock()
    bucket = TokenBucket(rate=0.5, burst=2, clock=clock)
    bucket.take("a"), bucket.take("a")
    assert bucket.retry_after("a") == 2
    clock.now = 2.0
    assert bucket.retry_after("a") == 0
    clock.now = 120.0
    bucket.take("b")
    assert "a" not in bucket._buckets
