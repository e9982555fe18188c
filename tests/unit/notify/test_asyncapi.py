"""The AsyncAPI 3 document: every declared event type, with schemas real events satisfy."""

import json
from pathlib import Path

import jsonschema
import pytest

from lianxin.asyncapi import asyncapi
from lianxin.contracts import load_catalogue

GOLDEN = Path(__file__).resolve().parents[1] / "kit" / "golden"


@pytest.fixture(scope="module")
def document():
    return asyncapi()


def resolve(document, ref):
    node = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_every_declared_event_type_has_a_channel_an_operation_and_a_message(document):
    assert document["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == set(load_catalogue())
    for operation in document["operations"].values():
        assert operation["action"] == "send"
        channel = resolve(document, operation["channel"]["$ref"])
        for message in operation["messages"]:
            assert resolve(document, message["$ref"]) in channel["messages"].values()


def test_channels_name_the_exchange_and_routing_key_a_department_binds(document):
    channel = document["channels"]["volunteers.signup.confirmed.v1"]
    binding = channel["bindings"]["amqp"]
    assert binding["is"] == "routingKey" and binding["exchange"]["name"] == "volunteers.events"
    assert (
        binding["exchange"]["type"] == "topic"
        and channel["address"] == "cn.lianxin.volunteers.signup.confirmed.v1"
    )


@pytest.mark.parametrize("sample", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_golden_events_satisfy_their_documented_payload(document, sample):
    event = json.loads(sample.read_text(encoding="utf-8"))
    channel = next(c for c in document["channels"].values() if c["address"] == event["type"])
    message = resolve(document, next(iter(channel["messages"].values()))["$ref"])
    schema = {"allOf": message["payload"]["allOf"], "components": document["components"]}
    schema = json.loads(json.dumps(schema))  # refs resolve against "#/components" in this root
    jsonschema.validate(event, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**event, "data": {}}, schema)
