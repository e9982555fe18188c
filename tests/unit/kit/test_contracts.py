"""The event contract: envelopes, the catalogue, golden samples, and who subscribes to what."""

import inspect
import json
from pathlib import Path

import pytest

from lianxin.contracts import CATALOGUE, InvalidEvent, load_catalogue, make_event, parse_event
from lianxin.services import SERVICES, load_class

GOLDEN = Path(__file__).parent / "golden"
load_catalogue()


def golden(etype: str) -> dict:
    return json.loads((GOLDEN / f"{etype}.json").read_text(encoding="utf-8"))


def test_every_event_type_has_a_golden_sample():
    missing = sorted(t for t in CATALOGUE if not (GOLDEN / f"{t}.json").exists())
    assert not missing, f"add golden samples (tests/unit/kit/golden/) for {missing}"


@pytest.mark.parametrize("etype", sorted(p.stem for p in GOLDEN.glob("*.json")))
def test_golden_sample_still_parses_under_its_contract(etype):
    assert etype in CATALOGUE, f"golden sample for {etype}, which no contract declares"
    body = golden(etype)
    event = parse_event(body, expected=etype)
    assert event["id"] == body["id"] and event["centerid"] == body["centerid"]
    # Re-dumping what was loaded gives the same data: the sample and the schema agree
    # (fields added later must be optional, so old samples still load).
    dumped = CATALOGUE[etype].schema().dump(event["data"])
    assert {key: dumped.get(key) for key in body["data"]} == body["data"]


@pytest.mark.parametrize("etype", sorted(CATALOGUE))
def test_every_event_type_is_documented(etype):
    declared = CATALOGUE[etype]
    assert len(declared.doc) > 30, f"{etype} needs a docstring saying when it is sent"
    assert declared.service in {"tickets", "volunteers", "events", "notify", "reports"}


def test_every_handler_subscribes_to_a_declared_type_of_its_source():
    """Facts go through the kit's validating, dead-lettering handler. The one exception is a
    replica-to-replica cache hint (``internal.*``): broadcast to each replica's own
    throw-away queue, where a lost or unreadable message only means forgetting a cache."""
    from nameko.events import BROADCAST, EventHandler

    from lianxin.consumer import EventHandler as KitEventHandler

    found = 0
    for target in SERVICES.values():
        cls = load_class(target)
        for _name, member in inspect.getmembers(cls):
            for ext in getattr(member, "nameko_entrypoints", ()):
                if isinstance(ext, EventHandler) and ext.event_type.startswith("internal."):
                    assert ext.handler_type == BROADCAST and not ext.reliable_delivery, (
                        f"{cls.__name__}.{_name}: internal hints are unreliable broadcasts"
                    )
                    assert ext.source_service == cls.name, f"{cls.__name__}.{_name}: own hints only"
                elif isinstance(ext, EventHandler):
                    found += 1
                    assert isinstance(ext, KitEventHandler), (
                        f"{cls.__name__}.{_name} must use lianxin.consumer.event_handler"
                    )
                    declared = CATALOGUE.get(ext.event_type)
                    assert declared is not None, (
                        f"{cls.__name__}.{_name}: {ext.event_type} is undeclared"
                    )
                    assert declared.service == ext.source_service, (
                        f"{ext.event_type} is published by {declared.service}, not {ext.source_service}"
                    )
    assert found, "no event handlers found at all"


def test_make_event_builds_a_cloudevents_envelope():
    from lianxin.contracts.tickets.events import TICKET_CREATED

    body = golden(TICKET_CREATED)
    data = TICKET_CREATED.schema().load(body["data"])  # services pass Python values
    event = make_event(TICKET_CREATED, center_id="yanminghu", subject="t-1", data=data)
    assert event["specversion"] == "1.0"
    assert event["source"] == "/centers/yanminghu/tickets"
    assert event["type"] == "cn.lianxin.tickets.ticket.created.v1"
    assert event["time"].endswith("Z") and event["datacontenttype"] == "application/json"
    assert (
        parse_event(json.loads(json.dumps(event)))["data"]["ticket_id"] == body["data"]["ticket_id"]
    )


def test_make_event_refuses_data_that_breaks_the_contract():
    from lianxin.contracts.tickets.events import TICKET_CREATED

    with pytest.raises(ValueError, match="breaks its contract"):
        make_event(TICKET_CREATED, center_id="yanminghu", subject="t-1", data={"ticket_id": "t-1"})
    with pytest.raises(ValueError, match="breaks its contract"):
        make_event(
            TICKET_CREATED,
            center_id="yanminghu",
            subject="t-1",
            data={
                **TICKET_CREATED.schema().load(golden(TICKET_CREATED)["data"]),
                "phone": "13800000000",
            },
        )


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda b: b.pop("id"), "envelope"),
        (lambda b: b.update(specversion="0.3"), "envelope"),
        (lambda b: b.update(type="cn.lianxin.tickets.ticket.exploded.v1"), "in no contract"),
        (lambda b: b.update(centerid="elsewhere"), "source does not name"),
        (lambda b: b["data"].pop("party"), "data"),
        (lambda b: b["data"].update(party="police"), "data"),
        (lambda b: b.update(time="yesterday"), "envelope"),
        (lambda b: b["data"].update(summary="垃圾\x00没人清运"), "空字符"),
    ],
)
def test_parse_event_names_what_is_wrong(mutate, reason):
    body = golden("cn.lianxin.tickets.ticket.created.v1")
    mutate(body)
    with pytest.raises(InvalidEvent, match=reason):
        parse_event(body)


def test_parse_event_refuses_a_type_other_than_expected():
    body = golden("cn.lianxin.tickets.ticket.created.v1")
    with pytest.raises(InvalidEvent, match="was expected"):
        parse_event(body, expected="cn.lianxin.tickets.ticket.resolved.v1")


@pytest.mark.parametrize("body", [None, [], "text", 42])
def test_parse_event_refuses_what_is_not_an_object(body):
    with pytest.raises(InvalidEvent, match="not a JSON object"):
        parse_event(body)


@pytest.mark.parametrize("unsavable", ["\x00", "\ud83d", "\udc4d"])
def test_no_text_the_api_takes_holds_a_character_no_database_stores(unsavable):
    # NUL, or half an emoji's surrogate pair: refused as the caller's mistake, in Chinese,
    # field by field.
    from lianxin.contracts.schema import load
    from lianxin.contracts.tickets import operations as ops
    from lianxin.errors import InvalidInput

    report = {"category": "sanitation", "description": f"东村3号楼{unsavable}垃圾没人清运"}
    with pytest.raises(InvalidInput) as refused:
        load(ops.TicketCreate, report)
    assert refused.value.fields == {
        "description": ["文本中含有无法保存的字符（空字符或残缺的表情符号），请删除后重新提交"]
    }
    for fine in ("东村3号楼\t垃圾没人清运", "东村3号楼垃圾没人清运👍"):
        assert load(ops.TicketCreate, {**report, "description": fine})
