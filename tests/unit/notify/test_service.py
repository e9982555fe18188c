"""The service's wiring: one idempotent handler per declared event type, no broker needed."""

from nameko.testing.utils import get_extension

from lianxin.consumer import EventHandler
from lianxin.contracts import load_catalogue


def handler_name(etype):
    """``handle_tickets_ticket_created`` for ``cn.lianxin.tickets.ticket.created.v1`` (the
    method name makes the handler's queue name, so it must not drift)."""
    _cn, _lianxin, service, noun, verb, version = etype.split(".")
    suffix = "" if version == "v1" else f"_{version}"
    return f"handle_{service}_{noun}_{verb}{suffix}"


def test_notify_subscribes_to_every_event_type_of_the_other_services(container_factory):
    from services.notify.service import NotifyService

    container = container_factory(
        NotifyService,
        {"AMQP_URI": "memory://", "DB_URL": "sqlite://", "SANDBOX_DIR": "/tmp/unused"},
    )
    handled = {
        (h.source_service, h.event_type)
        for h in container.entrypoints
        if isinstance(h, EventHandler)
    }
    declared = {(t.service, str(t)) for t in load_catalogue().values() if t.service != "notify"}
    assert handled == declared
    assert get_extension(container, EventHandler, method_name="handle_tickets_ticket_created")


def test_each_handler_is_named_after_its_event_type_and_takes_batches(container_factory):
    from services.notify.handlers import EVENT_BATCH
    from services.notify.service import NotifyService

    container = container_factory(
        NotifyService,
        {"AMQP_URI": "memory://", "DB_URL": "sqlite://", "SANDBOX_DIR": "/tmp/unused"},
    )
    handlers = [h for h in container.entrypoints if isinstance(h, EventHandler)]
    assert {h.method_name for h in handlers} == {handler_name(h.event_type) for h in handlers}
    assert {h.batch for h in handlers} == {EVENT_BATCH}


def test_handlers_are_named_after_their_event_type():
    from lianxin.contracts.tickets import events as tk

    assert handler_name(tk.TICKET_SLA_BREACHED) == "handle_tickets_ticket_sla_breached"
