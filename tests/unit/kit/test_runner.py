"""The runner's restart policy (pure functions) and its supervisor, with fake containers."""

import gc
import weakref

import eventlet
import pytest
from eventlet.event import Event

from lianxin import runner


def test_backoff_doubles_from_one_second_up_to_thirty():
    assert [runner.backoff(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert runner.backoff(10_000) == 30


def test_backoff_counts_from_one():
    with pytest.raises(ValueError):
        runner.backoff(0)


def test_attempts_go_on_until_a_container_has_run_a_minute():
    assert runner.next_attempt(0, ran_for=0.1) == 1
    assert runner.next_attempt(3, ran_for=59.9) == 4
    assert runner.next_attempt(5, ran_for=60) == 1


def test_grace_comes_from_the_environment():
    assert runner.grace_seconds({}) == 20
    assert runner.grace_seconds({"SHUTDOWN_GRACE_SECONDS": "7.5"}) == 7.5
    with pytest.raises(ValueError, match="SHUTDOWN_GRACE_SECONDS"):
        runner.grace_seconds({"SHUTDOWN_GRACE_SECONDS": "soon"})


class FakeContainer:
    """Dies (``wait`` raises) the first ``crashes`` times it is made; the rest stay up."""

    made: list["FakeContainer"] = []
    crashes = 0

    def __init__(self, service_cls, config):
        self.service_cls, self.config = service_cls, config
        self.service_name = "fake"
        self.extensions: set = set()
        self.started = self.stopped = self.killed = False
        self.died = Event()
        FakeContainer.made.append(self)

    def start(self):
        self.started = True
        if len(FakeContainer.made) <= FakeContainer.crashes:
            eventlet.spawn_after(0, self.died.send_exception, ConnectionResetError(104, "reset"))

    def wait(self):
        return self.died.wait()

    def stop(self):
        self.stopped = True
        if not self.died.ready():
            self.died.send(None)

    def kill(self, exc_info=None):
        self.killed = True
        self.stop()


def test_a_dead_container_is_replaced_with_back_off_and_logged(caplog):
    FakeContainer.made, FakeContainer.crashes = [], 3
    first = FakeContainer(object, {"AMQP_URI": "memory://"})
    first.start()
    stopping, slept = Event(), []

    def sleep(seconds):
        slept.append(seconds)

    supervisor = runner.Supervisor(first, stopping, sleep)
    watching = eventlet.spawn(supervisor.watch)
    for _ in range(100):
        if supervisor.restarts == 3:
            break
        eventlet.sleep(0.01)
    assert supervisor.restarts == 3
    assert slept == [1, 2, 4]
    assert len(FakeContainer.made) == 4
    assert supervisor.container is FakeContainer.made[-1]
    assert supervisor.container.config is first.config
    crashed = [r.getMessage() for r in caplog.records if "crashed" in r.getMessage()]
    assert crashed[0] == (
        "service fake crashed: ConnectionResetError: [Errno 104] reset; "
        "restarting in 1 s (attempt 1)"
    )
    assert crashed[2].endswith("restarting in 4 s (attempt 3)")

    stopping.send(15)
    runner.stop_all([supervisor.container], grace=1)
    watching.wait()
    assert supervisor.container.stopped
    assert supervisor.restarts == 3  # a stop on a signal is not restarted


def test_a_container_that_does_not_stop_in_time_is_killed():
    class Stuck(FakeContainer):
        def stop(self):
            eventlet.sleep(10)

        def kill(self, exc_info=None):
            self.killed = True

    FakeContainer.made, FakeContainer.crashes = [], 0
    stuck = Stuck(object, {})
    fine = FakeContainer(object, {})
    runner.stop_all([fine, stuck], grace=0.2)  # stuck is stopped first (reverse order)
    assert stuck.killed
    assert fine.killed  # the grace was spent: what is left is killed, not stopped


def test_what_the_start_made_is_left_out_of_later_collections_and_its_garbage_is_not_kept():
    class Node:
        """An object the collector tracks (it can hold a reference to itself)."""

    kept, garbage = Node(), Node()
    garbage.me = garbage  # a cycle only the collector frees
    gone = weakref.ref(garbage)
    del garbage
    try:
        runner.freeze_heap()
        assert gone() is None  # collected, not frozen for ever
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # the collector walks it no more
    finally:
        gc.unfreeze()
