"""The gateway's intake batcher: concurrent requests leave together, each gets its own answer."""

import eventlet
import pytest

from gateway.api import RpcTimeout
from gateway.intake import Batcher


class Backend:
    """A stand-in for the tickets service's ``create_tickets``: answers after a pause."""

    def __init__(self, pause=0.01, fail=None):
        self.calls: list[list] = []
        self.pause = pause
        self.fail = fail

    def __call__(self, items):
        self.calls.append(list(items))
        eventlet.sleep(self.pause)
        if self.fail:
            raise self.fail
        return [f"answer-{i}" for i in items]


def run_concurrently(batcher, backend, items):
    pool = eventlet.GreenPool()
    threads = [pool.spawn(batcher.submit, item, backend) for item in items]
    return [t.wait() for t in threads]


def test_an_idle_gateway_sends_a_request_at_once_and_alone():
    backend = Backend()
    assert Batcher().submit(7, backend) == "answer-7"
    assert backend.calls == [[7]]


def test_concurrent_requests_share_calls_and_each_gets_its_own_answer():
    backend = Backend()
    answers = run_concurrently(Batcher(in_flight=1), backend, list(range(40)))
    assert answers == [f"answer-{i}" for i in range(40)]
    assert sorted(i for call in backend.calls for i in call) == list(range(40))
    assert len(backend.calls) < 40 and max(len(c) for c in backend.calls) > 1


def test_batches_respect_the_size_limit_and_calls_in_flight():
    in_flight, most = [0], [0]

    def backend(items):
        in_flight[0] += 1
        most[0] = max(most[0], in_flight[0])
        eventlet.sleep(0.01)
        in_flight[0] -= 1
        return list(items)

    batcher = Batcher(max_batch=5, in_flight=2)
    sizes = []
    batcher.on_batch = sizes.append
    assert run_concurrently(batcher, backend, list(range(30))) == list(range(30))
    assert max(sizes) <= 5 and sum(sizes) == 30
    assert most[0] == 2


def test_the_next_batch_leaves_before_the_last_ones_members_are_answered():
    """With one call out at a time, the call that returns frees its slot first: what waited
    meanwhile is on its way before the returned batch's members write their responses, so
    the tickets service is not left idle while the gateway answers."""
    timeline: list[str] = []

    def backend(items):
        timeline.append(f"sent {items}")
        eventlet.sleep(0.01)
        return list(items)

    batcher = Batcher(in_flight=1)

    def request(item):
        answer = batcher.submit(item, backend)
        timeline.append(f"answered {answer}")

    pool = eventlet.GreenPool()
    pool.spawn(request, 0)
    eventlet.sleep(0)  # 0 is out alone; 1 and 2 wait for it
    pool.spawn(request, 1)
    pool.spawn(request, 2)
    pool.waitall()
    assert timeline[:3] == ["sent [0]", "sent [1, 2]", "answered 0"]
    assert sorted(timeline[3:]) == ["answered 1", "answered 2"]


def test_a_failed_call_fails_every_member_and_the_next_call_still_goes():
    backend = Backend(fail=ConnectionError("broker gone"))
    batcher = Batcher(in_flight=1)
    pool = eventlet.GreenPool()
    threads = [pool.spawn(batcher.submit, i, backend) for i in range(5)]
    for t in threads:
        with pytest.raises(ConnectionError):
            t.wait()
    backend.fail = None
    assert batcher.submit(9, backend) == "answer-9"


def test_a_member_whose_call_never_returns_times_out():
    batcher = Batcher(in_flight=1, timeout=0.05, grace=0.05)

    def stuck(items):
        eventlet.sleep(10)

    leader = eventlet.spawn(batcher.submit, 1, stuck)
    eventlet.sleep(0)
    with pytest.raises(RpcTimeout):
        batcher.submit(2, stuck)  # waits behind the stuck call, then gives up
    leader.kill()


def test_a_short_answer_list_is_an_error_not_a_misrouted_answer():
    batcher = Batcher(in_flight=1)
    with pytest.raises(RuntimeError):
        batcher.submit(1, lambda items: [])
