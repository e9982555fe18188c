"""A container that dies is replaced by the runner and answers RPC and HTTP again."""

import sys

import eventlet
import requests
from eventlet.event import Event
from nameko.rpc import rpc
from nameko.standalone.rpc import ClusterRpcProxy

from lianxin import runner
from lianxin.testing import free_port, wait_for
from lianxin.web import http


class Flaky:
    name = "flaky"

    @rpc
    def ping(self):
        return "pong"

    @http("GET", "/ping")
    def http_ping(self, request):
        return "pong"


def test_a_killed_container_is_restarted_and_answers_again(container_factory, rabbit_config):
    port = free_port()
    config = {**rabbit_config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"}
    container = container_factory(Flaky, config)
    container.start()
    stopping = Event()

    def sleep(seconds):
        with eventlet.Timeout(seconds, False):
            stopping.wait()

    supervisor = runner.Supervisor(container, stopping, sleep)
    watching = eventlet.spawn(supervisor.watch)
    with ClusterRpcProxy(rabbit_config, timeout=10) as proxy:
        assert proxy.flaky.ping() == "pong"
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError:
            container.kill(sys.exc_info())  # as nameko does when a consumer's thread raises
        wait_for(lambda: supervisor.restarts == 1, timeout=15)
        assert supervisor.container is not container
        try:
            assert proxy.flaky.ping() == "pong"
            # the dead container's listening socket is closed: every connection is answered
            for _ in range(20):
                url = f"http://127.0.0.1:{port}/ping"
                assert requests.get(url, timeout=5).text == "pong"
        finally:
            stopping.send(15)
            runner.stop_all([supervisor.container], grace=5)
            watching.wait()
