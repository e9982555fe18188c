"""The ten-minute promise on the real broker: notify on its own PostgreSQL database hears the
tickets service's events — published on the tickets exchange as its outbox relay publishes
them — and alerts the cadre on duty (else the center's chain), climbs the escalation
ladder, and tells the reporter and the supporters each step once, even when every event
is delivered twice; a ticket resolved at the desk messages no party."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from lianxin import metrics as kit_metrics
from lianxin.contracts import make_event
from lianxin.contracts.tickets import events as tk
from lianxin.outbox import Publisher
from lianxin.testing import wait_for

pytestmark = pytest.mark.integration

CENTER = "yanminghu"
TICKET = "7f71a53d-f031-51fe-8052-55ea705ad326"
REPORTER = "web-3c1d2e4f"  # an id the gateway makes for a web reporter
SUPPORTER = "web-9a8b7c6d"
#: The center's people: phone / e-mail as notify's directory holds them.
PEOPLE = [
    {"person_id": "staff-duty-1", "name": "李卫东", "role": "staff", "phone": "13800000001"},
    {"person_id": "sw-1", "name": "赵晓雯", "role": "staff", "email": "sw1@example.cn"},
    {
        "person_id": "wy-1",
        "name": "王物业",
        "role": "staff",
        "party": "property",
        "email": "wy1@example.cn",
    },
    {"person_id": "admin-1", "name": "陈主任", "role": "admin", "email": "admin@example.cn"},
    {"person_id": "fb-1", "name": "刘副书记", "role": "staff", "phone": "13800000021"},
    {"person_id": "fb-2", "name": "周委员", "role": "staff", "phone": "13800000022"},
    {"person_id": "lead-1", "name": "镇党委书记", "role": "staff", "phone": "13800000031"},
]


@pytest.fixture
def notify(container_factory, service_config, pg_database, tmp_path, center_registry):
    from services.notify.service import NotifyService

    center_registry()
    config = service_config(
        "notify",
        db_url=pg_database(),
        QUIET_HOURS="off",
        SANDBOX_DIR=str(tmp_path / "sandbox"),
        SEND_CONNECT_TIMEOUT=1,
        SEND_READ_TIMEOUT=1,
    )
    container_factory(NotifyService, config).start()
    return config


@pytest.fixture
def admin(notify, rpc, token):
    """The center's admin, its directory and alerting chain filled."""
    admin = rpc(token("admin"))
    for person in PEOPLE:
        admin.notify.upsert_contact(CENTER, person)
    admin.notify.update_alerting(
        CENTER, {"fallback_person_ids": ["fb-1", "fb-2"], "leadership_person_ids": ["lead-1"]}
    )
    return admin


@pytest.fixture
def publish(rabbit_config):
    """``publish(event, times=1)``: put an envelope on tickets.events as the tickets relay does."""
    publisher = Publisher(rabbit_config["AMQP_URI"], "tickets.events")

    def send(event, times=1):
        for _ in range(times):
            assert publisher.publish([event]) == [True]
        return event

    yield send
    publisher.close()


@pytest.fixture
def handled(notify):
    """``handled(event)`` → once notify has taken ``event`` in (it is in its event log)."""
    engine = create_engine(notify["DB_URL"])

    def seen(event):
        with engine.connect() as conn:
            return conn.execute(
                text("SELECT 1 FROM event_log WHERE event_id = :id"), {"id": event["id"]}
            ).first()

    yield lambda event: wait_for(lambda: seen(event), timeout=15)
    engine.dispose()


def alerted(admin, event):
    """{person: sorted channels} notify recorded for ``event`` (waiting for them)."""
    rows = wait_for(
        lambda: admin.notify.list_deliveries(CENTER, {"event_id": event["id"], "limit": 100})[
            "items"
        ],
        timeout=15,
    )
    out: dict[str, list[str]] = {}
    for d in rows:
        out.setdefault(d["person_id"] or f"@{d['audience']}", []).append(d["channel"])
        assert d["critical"], d
    return {person: sorted(channels) for person, channels in out.items()}


def created(ticket=TICKET, duty=(), **extra):
    now = datetime.now(UTC)
    return make_event(
        tk.TICKET_CREATED,
        center_id=CENTER,
        subject=ticket,
        data={
            "ticket_id": ticket,
            "category": "sanitation",
            "category_name": "环境卫生",
            "party": "property",
            "channel": "web",
            "summary": "东村社区3号楼门口垃圾两天没人清运",
            "ack_due_at": now + timedelta(minutes=10),
            "resolve_due_at": now + timedelta(hours=24),
            "duty_person_ids": list(duty),
            **extra,
        },
    )


def fact(etype, ticket=TICKET, **data):
    """A later event of a ticket, as tickets publishes it (reporter, supporters, actor)."""
    return make_event(
        etype,
        center_id=CENTER,
        subject=ticket,
        data={
            "ticket_id": ticket,
            "category": "sanitation",
            "party": "property",
            "actor_id": "staff-duty-1",
            "person_id": REPORTER,
            "supporter_ids": [],
            **data,
        },
    )


def breach(level, duty=()):
    return fact(
        tk.TICKET_SLA_BREACHED,
        actor_id=None,
        kind="acknowledge",
        level=level,
        due_at=datetime.now(UTC),
        duty_person_id=duty[0] if duty else None,
        duty_person_ids=list(duty),
    )


# -- who a new ticket alerts -----------------------------------------------------------------


def test_a_new_ticket_alerts_only_the_cadre_on_duty(admin, publish):
    event = publish(created(duty=["staff-duty-1"]))
    assert alerted(admin, event) == {"staff-duty-1": ["in_app", "sms"]}


def test_with_nobody_on_duty_the_admin_and_without_a_reachable_admin_the_first_fallback(
    admin, publish
):
    assert alerted(admin, publish(created("t-nobody-1"))) == {"admin-1": ["email", "in_app"]}
    admin.notify.update_contact(CENTER, "admin-1", {"email": None})  # the admin is unreachable
    assert alerted(admin, publish(created("t-nobody-2"))) == {"fb-1": ["in_app", "sms"]}
    # someone on the roster who can't be reached: still in their inbox, and the chain
    assert alerted(admin, publish(created("t-nobody-3", duty=["staff-duty-2"]))) == {
        "staff-duty-2": ["in_app"],
        "fb-1": ["in_app", "sms"],
    }


# -- the escalation ladder -------------------------------------------------------------------


def test_the_ladder_reaches_the_cadre_then_the_admin_then_the_leadership(admin, publish):
    assert alerted(admin, publish(breach(1, duty=["staff-duty-1"]))) == {
        "staff-duty-1": ["in_app", "sms"]
    }
    assert alerted(admin, publish(breach(2, duty=["staff-duty-1"]))) == {
        "staff-duty-1": ["in_app", "sms"],
        "admin-1": ["email", "in_app"],
    }
    assert alerted(admin, publish(breach(3, duty=["staff-duty-1"]))) == {
        "lead-1": ["in_app", "sms"]
    }


# -- the reporter and the supporters ---------------------------------------------------------


def test_a_web_reporter_and_a_supporter_hear_of_each_step_once(admin, publish, handled):
    # as the gateway hands a web reporter's contact to notify
    for person, name, phone, email in (
        (REPORTER, "赵先生", "13611112222", None),
        (SUPPORTER, "钱女士", None, "qian@example.cn"),
    ):
        admin.notify.upsert_contact(
            CENTER,
            {"person_id": person, "name": name, "role": "resident", "phone": phone, "email": email},
        )
    supporters = {"supporter_ids": [SUPPORTER]}
    steps = [
        created(duty=["staff-duty-1"], person_id=REPORTER),
        fact(tk.TICKET_SUPPORTED, supporter_id=SUPPORTER, supporters=1, **supporters),
        fact(tk.TICKET_ACKNOWLEDGED, acknowledged_at=datetime.now(UTC), late=False, **supporters),
        fact(tk.TICKET_ASSIGNED, automatic=True, previous_party=None, **supporters),
        fact(tk.TICKET_RESOLVED, answer="已安排保洁人员清运并增加清运频次", **supporters),
    ]
    # a re-dispatch after a return: the residents heard of the dispatch already
    again = fact(tk.TICKET_ASSIGNED, automatic=False, previous_party="property", **supporters)
    dedupes = kit_metrics.for_service("notify").deduplicated

    def repeats() -> dict[str, float]:
        return {e["type"]: dedupes.labels(e["type"])._value.get() for e in steps}

    before = repeats()
    for e in steps:
        publish(e, times=2)  # every event delivered twice
    publish(again)
    # each second copy was received and recognised as a repeat
    wait_for(lambda: all(n > before[t] for t, n in repeats().items()), timeout=15)
    handled(again)

    def heard(person, channel):
        log = admin.notify.list_deliveries(
            CENTER, {"person_id": person, "channel": channel, "limit": 100}
        )["items"]
        return sorted(d["message_type"] for d in log)

    assert heard(REPORTER, "sms") == [
        "ticket.acknowledged.reporter",
        "ticket.assigned.reporter",
        "ticket.resolved.reporter",
        "ticket.survey",
    ]
    assert heard(SUPPORTER, "email") == [
        "ticket.acknowledged.reporter",
        "ticket.assigned.reporter",
        "ticket.resolved.reporter",
        "ticket.supported",
    ]
    inbox = admin.notify.list_deliveries(
        CENTER, {"person_id": REPORTER, "channel": "in_app", "limit": 100}
    )["items"]
    titles = {d["message_type"]: d["title"] for d in inbox}
    assert len(inbox) == 4 and titles["ticket.survey"] == "诉求已办结，请您评价"
    assert titles["ticket.resolved.reporter"] == "您反映的诉求已办结"


def test_a_ticket_resolved_at_the_desk_messages_no_party(admin, publish, handled):
    admin.notify.upsert_contact(
        CENTER,
        {"person_id": REPORTER, "name": "赵先生", "role": "resident", "phone": "13611112222"},
    )
    ticket = "t-desk-1"
    steps = [
        created(
            ticket, duty=["staff-duty-1"], channel="walk_in", person_id=REPORTER, on_the_spot=True
        ),
        fact(tk.TICKET_RESOLVED, ticket, answer="已当场解答：垃圾清运电话 12345", on_the_spot=True),
        fact(tk.TICKET_RATED, ticket, rating="satisfied"),
        fact(tk.TICKET_CLOSED, ticket, rating="satisfied"),
    ]
    for e in steps:
        handled(publish(e))
    log = admin.notify.list_deliveries(CENTER, {"limit": 100})["items"]
    told = {(d["person_id"], d["message_type"]) for d in log}
    assert {p for p, _ in told} == {REPORTER}  # no party handler, no staff, no shared inbox
    assert {t for _, t in told} == {"ticket.resolved.reporter", "ticket.survey", "ticket.closed"}
