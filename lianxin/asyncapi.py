"""The AsyncAPI 3 document of the bus, generated from the contract catalogue.

One channel per event type: on RabbitMQ the topic exchange ``<service>.events`` with the
event type as routing key (what nameko's ``@event_handler`` binds, and what a department
binds its own queue to); each message is the CloudEvents 1.0 envelope whose ``data`` is
the type's marshmallow schema turned into JSON Schema. The gateway serves it at
``/api/v1/asyncapi.json``; departments that take webhooks get the same envelopes.
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from lianxin.contracts import CENTER_ID, SPECVERSION, TYPE_PATTERN, EventType, load_catalogue
from lianxin.tracing import TRACEPARENT_PATTERN, TRACESTATE_MAX

VERSION = "3.0.0"
AMQP_BINDING = "0.3.0"


def _pascal(text: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[._-]", text) if part)


def message_name(etype: EventType) -> str:
    """``TicketsTicketCreatedV1`` for ``cn.lianxin.tickets.ticket.created.v1``."""
    return _pascal(etype.removeprefix("cn.lianxin."))


def channel_id(etype: EventType) -> str:
    """``tickets.ticket.created.v1``: the type without the ``cn.lianxin.`` prefix."""
    return etype.removeprefix("cn.lianxin.")


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable`` (what apispec emits) as JSON Schema's ``null`` type."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") and "type" in out:
        out["type"] = (
            [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
        )
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def envelope_schema() -> dict[str, Any]:
    """JSON Schema of the CloudEvents attributes every event carries."""
    return {
        "type": "object",
        "description": "CloudEvents 1.0 envelope (structured mode); the envelope is the message body.",
        "required": [
            "specversion",
            "id",
            "source",
            "type",
            "time",
            "subject",
            "centerid",
            "datacontenttype",
            "data",
        ],
        "properties": {
            "specversion": {"type": "string", "const": SPECVERSION},
            "id": {
                "type": "string",
                "format": "uuid",
                "description": "Unique per event; dedupe on it.",
            },
            "source": {
                "type": "string",
                "pattern": r"^/centers/[a-z0-9-]+/[a-z_]+$",
                "examples": ["/centers/yanminghu/tickets"],
            },
            "type": {"type": "string", "pattern": TYPE_PATTERN.pattern},
            "time": {"type": "string", "format": "date-time"},
            "subject": {"type": "string", "description": "The entity the event is about (its id)."},
            "centerid": {
                "type": "string",
                "pattern": CENTER_ID.pattern,
                "description": "The service center (tenant) the event belongs to.",
            },
            "datacontenttype": {"type": "string", "const": "application/json"},
            "data": {"type": "object"},
            # CloudEvents distributed-tracing extension (W3C Trace Context).
            "traceparent": {
                "type": "string",
                "pattern": TRACEPARENT_PATTERN,
                "description": (
                    "Optional. The trace the event belongs to (the span that wrote it), as a "
                    "W3C Trace Context `traceparent`: CloudEvents distributed-tracing "
                    "extension. A malformed one is ignored by Lianxin's consumers."
                ),
                "examples": ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
            },
            "tracestate": {
                "type": "string",
                "maxLength": TRACESTATE_MAX,
                "description": (
                    "Optional, only with `traceparent`: the W3C Trace Context `tracestate` "
                    "(vendor-specific `key=value` members, comma-separated)."
                ),
            },
        },
    }


def asyncapi(
    title: str = "Lianxin 连心桥 events",
    version: str = "1.0.0",
    host: str = "localhost:5672",
    vhost: str = "/",
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every declared event type."""
    catalogue = load_catalogue()
    converter_spec = APISpec(
        title=title, version=version, openapi_version="3.0.3", plugins=[MarshmallowPlugin()]
    )
    plugin = converter_spec.plugins[0]
    assert isinstance(plugin, MarshmallowPlugin)
    converter = plugin.converter
    assert converter is not None  # set when the plugin was initialised by the spec
    schemas: dict[str, Any] = {"CloudEventEnvelope": envelope_schema()}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for type_name in sorted(catalogue):
        etype = catalogue[type_name]
        name = message_name(etype)
        data_schema = _json_schema(converter.schema2jsonschema(etype.schema))
        data_schema["description"] = f"data of {etype}"
        schemas[f"{name}Data"] = data_schema
        summary = etype.doc.splitlines()[0].strip()
        messages[name] = {
            "name": name,
            "title": str(etype),
            "summary": summary,
            "description": etype.doc,
            "contentType": "application/json",
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEventEnvelope"},
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": str(etype)},
                            "data": {"$ref": f"#/components/schemas/{name}Data"},
                        },
                    },
                ]
            },
            "bindings": {
                "amqp": {
                    "contentEncoding": "utf-8",
                    "messageType": str(etype),
                    "bindingVersion": AMQP_BINDING,
                }
            },
        }
        cid = channel_id(etype)
        channels[cid] = {
            "address": str(etype),
            "title": summary,
            "description": (
                f"Routing key `{etype}` on the topic exchange `{etype.service}.events`. "
                "Bind your own durable queue to it (or `#` for every type of the service)."
            ),
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": {
                        "name": f"{etype.service}.events",
                        "type": "topic",
                        "durable": True,
                        "autoDelete": False,
                        "vhost": vhost,
                    },
                    "bindingVersion": AMQP_BINDING,
                }
            },
        }
        operations[f"publish{name}"] = {
            "action": "send",
            "title": f"{etype.service} publishes {etype.removeprefix('cn.lianxin.')}",
            "summary": summary,
            "channel": {"$ref": f"#/channels/{cid}"},
            "messages": [{"$ref": f"#/channels/{cid}/messages/{name}"}],
            "tags": [{"name": etype.service}],
        }
    # Nested schemas the converter met are registered on its spec: carry them over.
    for nested, body in converter_spec.to_dict().get("components", {}).get("schemas", {}).items():
        schemas.setdefault(nested, _json_schema(body))
    return {
        "asyncapi": VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": (
                "党群服务中心连心桥系统的事件总线。每个事件是 CloudEvents 1.0 JSON 信封，"
                "事件只携带编号，不含联系方式。部门可在 RabbitMQ 上为 `<service>.events` 交换机绑定"
                "自己的队列（路由键即事件类型），或通过 `POST /api/v1/subscriptions` 订阅签名 Webhook"
                "（Standard Webhooks，`application/cloudevents+json`）。"
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "rabbitmq": {
                "host": host,
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "The deployment's RabbitMQ; one topic exchange per service.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }
