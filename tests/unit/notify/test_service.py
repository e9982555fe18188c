"""The service's wiring: one idempotent handler per declared event type, no broker needed."""

from nameko.testing.utils import get_extension

from lianxin.consumer import EventHandler
from lianxin.contracts import load_catalogue


def test_notify_subscribes_to_every_event_type_of_the_other_services(container_factory):
    from services.notify.service import NotifyService

    container = container_factory(NotifyService, {"AMQP_URI": "memory://", "DB_URL": "sqlite://",
                                                  "SANDBOX_DIR": "/tmp/unused"})
    handled = {(h.source_service, h.event_type) for h in container.entrypoints if isinstance(h, EventHandler)}
    declared = {(t.service, str(t)) for t in load_catalogue().values() if t.service != "notify"}
    assert handled == declared
    assert get_extension(container, EventHandler, method_name="handle_tickets_ticket_created")


def test_handlers_are_named_after_their_event_type():
    from lianxin.contracts.tickets import events as tk
    from services.notify.service import handler_name

    assert handler_name(tk.TICKET_SLA_BREACHED) == "handle_tickets_ticket_sla_breached"
