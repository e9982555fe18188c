import json

import kombu
import pytest

from lianxin.contracts import load_catalogue

load_catalogue()


#: Names of the centers the tests create (any other id is named after itself).
CENTER_NAMES = {
    "yanminghu": "雁鸣湖镇镇区社区党群服务中心",
    "fenghuangtai": "凤凰台街道党群服务中心",
}


@pytest.fixture
def known_centers(rpc, token):
    """``known_centers(*ids)`` creates the centers in the running tickets service (ops)."""

    def create(*centers: str) -> None:
        tickets = rpc(token("ops", "*")).tickets
        for center in centers:
            tickets.create_center({"id": center, "name": CENTER_NAMES.get(center, center)})

    return create


@pytest.fixture
def center_registry(container_factory, service_config, known_centers):
    """``center_registry(*ids, **config)`` starts the tickets service — the registry of
    centers events, volunteers and notify ask before they touch a center's data — and
    creates the centers in it (the demo center unless named); answers its container.
    ``config`` overrides the tickets service's (``db_url=`` a PostgreSQL database)."""
    from services.tickets.service import TicketsService

    def start(*centers: str, **config):
        container = container_factory(TicketsService, service_config("tickets", **config))
        container.start()
        known_centers(*(centers or ("yanminghu",)))
        return container

    return start


@pytest.fixture
def demo_center(rpc, token):
    """``demo_center()`` creates yanminghu with a sanitation category (tickets must run)."""

    def make():
        rpc(token("ops", "*")).tickets.create_center(
            {"id": "yanminghu", "name": "雁鸣湖镇镇区社区党群服务中心"}
        )
        rpc(token("admin")).tickets.add_category(
            "yanminghu", {"code": "sanitation", "name": "环境卫生", "party": "property"}
        )

    return make


@pytest.fixture
def bus(rabbit_config):
    """Talk to the broker as a department would: bind queues, read, publish raw messages."""
    conn = kombu.Connection(rabbit_config["AMQP_URI"])

    class Bus:
        def bind(self, service: str, routing_key: str) -> kombu.Queue:
            exchange = kombu.Exchange(f"{service}.events", type="topic", durable=True)
            queue = kombu.Queue(
                f"test-{service}-{routing_key}",
                exchange,
                routing_key=routing_key,
                durable=False,
                auto_delete=False,
            )
            queue(conn.channel()).declare()
            return queue

        def get(self, queue: kombu.Queue):
            message = queue(conn.channel()).get(no_ack=True, accept=None)
            return None if message is None else json.loads(message.body)

        def publish(self, service: str, routing_key: str, body, content_type="application/json"):
            exchange = kombu.Exchange(f"{service}.events", type="topic", durable=True)
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            with kombu.Producer(conn.channel(), exchange=exchange) as producer:
                exchange(producer.channel).declare()
                producer.publish(
                    raw,
                    routing_key=routing_key,
                    content_type=content_type,
                    content_encoding="binary",
                )

    yield Bus()
    conn.release()
