"""The event contract as an AsyncAPI 3 document, generated from the catalog."""

from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from events import catalog
from events.envelope import Event


def _channel_id(topic: str) -> str:
    return topic.removeprefix("shiliu.")


def _message_id(entry: catalog.EventType) -> str:
    return f"{entry.name}.v{entry.version}"


def _json_schemas():
    plugin = MarshmallowPlugin(schema_name_resolver=lambda _schema: None)
    APISpec("shiliu-events", "1", "3.1.0", plugins=[plugin])
    return plugin.converter


ENVELOPE_PROPERTIES = {
    "id": {"type": "string", "format": "uuid", "description": "Unique forever."},
    "type": {"type": "string", "description": "The event type, a past-tense fact."},
    "version": {"type": "integer", "description": "The payload schema's version."},
    "occurred_at": {"type": "string", "format": "date-time", "description": "RFC 3339, UTC."},
    "producer": {"type": "string", "description": "The service that emitted it."},
    "key": {"type": "string", "description": "The partition key."},
    "correlation_id": {"type": "string", "description": "Follows one user action."},
}


def document(bootstrap: str = "127.0.0.1:9092") -> dict:
    """Return the AsyncAPI 3.0.0 document of every topic and event type."""
    converter = _json_schemas()
    channels: dict = {}
    operations: dict = {}
    messages: dict = {}
    for topic, description in catalog.TOPICS.items():
        channels[_channel_id(topic)] = {
            "address": topic,
            "description": description,
            "messages": {},
        }
    for entry in catalog.all_types():
        message_id = _message_id(entry)
        payload_schema = converter.schema2jsonschema(entry.schema)
        example = Event(
            type=entry.name,
            version=entry.version,
            key=str(entry.example[entry.key_field]),
            payload=entry.example,
            producer="example",
            id="00000000-0000-4000-8000-000000000000",
            occurred_at="2026-03-08T06:00:00.000000Z",
            correlation_id="example",
        ).to_dict()
        messages[message_id] = {
            "name": entry.name,
            "title": f"{entry.name} (v{entry.version})",
            "summary": entry.summary,
            "contentType": "application/json",
            "payload": {
                "type": "object",
                "required": [*ENVELOPE_PROPERTIES, "payload"],
                "properties": {
                    **ENVELOPE_PROPERTIES,
                    "type": {"type": "string", "const": entry.name},
                    "version": {"type": "integer", "const": entry.version},
                    "payload": payload_schema,
                },
            },
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": f"the payload's {entry.key_field}"},
                    "bindingVersion": "0.5.0",
                }
            },
            "examples": [{"name": "example", "payload": example}],
        }
        channel = _channel_id(entry.topic)
        channels[channel]["messages"][message_id] = {"$ref": f"#/components/messages/{message_id}"}
    for topic in catalog.TOPICS:
        channel = _channel_id(topic)
        refs = [
            {"$ref": f"#/channels/{channel}/messages/{mid}"}
            for mid in channels[channel]["messages"]
        ]
        operations[f"publish-{channel}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"Producers publish to {topic} through their outbox.",
            "messages": refs,
        }
        operations[f"consume-{channel}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"Consumers apply {topic} exactly once by event id.",
            "messages": refs,
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "石榴 Shiliu events",
            "version": "1.0.0",
            "description": (
                "Every event of the Shiliu platform. Messages are JSON envelopes; schemas grow "
                "by optional fields, a breaking change is a new version. No phone numbers and "
                "never ethnicity travel on a topic."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "embedded": {
                "host": bootstrap,
                "protocol": "kafka",
                "description": "The embedded Kafka-compatible broker of development and tests.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
