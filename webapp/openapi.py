"""The OpenAPI 3.1 description of the machine-facing endpoints: /healthz, /metrics, the JSON
error body, and /node/ws with every message of the node protocol, the message schemas built
from pc_node.protocol's dataclasses. docs/openapi.json is this document; a test fails when the
two differ (`flask openapi > docs/openapi.json` rewrites it)."""

from __future__ import annotations

import json
import types
import typing
from dataclasses import MISSING, fields
from typing import Any

import click
from flask.cli import with_appcontext

from pc_node import protocol
from webapp.version import __version__

_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}
_CONTAINERS = {list: "array", dict: "object"}
SENT_BY = {
    "hello": "node",
    "job": "site",
    "delta": "node",
    "deltas": "node",
    "done": "node",
    "error": "node",
    "cancel": "site",
    "metrics": "node",
    "ping": "either",
    "pong": "either",
}


def _field_schema(hint: Any) -> dict:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        schema = _field_schema(options[0])
        return {**schema, "type": [schema["type"], "null"]}
    if hint in _JSON_TYPES:
        return {"type": _JSON_TYPES[hint]}
    return {"type": _CONTAINERS[typing.get_origin(hint) or hint]}


def message_schema(cls: type[protocol.Message]) -> dict:
    hints = typing.get_type_hints(cls)
    properties: dict[str, dict] = {
        "v": {"const": protocol.PROTOCOL_VERSION},
        "type": {"const": cls.TYPE},
    }
    required = ["v", "type"]
    for item in fields(cls):
        properties[item.name] = _field_schema(hints[item.name])
        if item.default is MISSING and item.default_factory is MISSING:
            required.append(item.name)
    description = (cls.__doc__ or "").strip()
    if description.startswith(f"{cls.__name__}("):  # dataclass's generated docstring
        description = ""
    schema = {
        "type": "object",
        "description": description or f"{cls.TYPE} (sent by the {SENT_BY[cls.TYPE]})",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
        "x-sent-by": SENT_BY[cls.TYPE],
    }
    return schema


def build() -> dict:
    messages = {
        f"Node{cls.__name__}": message_schema(cls) for cls in protocol.MESSAGE_TYPES.values()
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mehhost chat: machine endpoints",
            "version": __version__,
            "description": (
                "Health and metrics for monitors, and the inference node link. Pages and the "
                "chat WebSocket are for browsers (HTML fragments) and are not described here."
            ),
        },
        "paths": {
            "/healthz": {
                "get": {
                    "summary": "Health of the site and its dependencies",
                    "responses": {
                        "200": _json("Healthy", "Health"),
                        "503": _json("The database or a configured Redis is down", "Health"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics (admins, or a scraper on localhost)",
                    "responses": {
                        "200": {
                            "description": "Prometheus text format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        "403": _json("Neither an admin nor a local scraper", "Error"),
                    },
                }
            },
            "/node/ws": {
                "get": {
                    "summary": "The inference node link (WebSocket upgrade)",
                    "description": (
                        "pc_node connects with `Authorization: Bearer <API key>` and upgrades "
                        "to a WebSocket. Every frame is one JSON object of the protocol "
                        f"version {protocol.PROTOCOL_VERSION}, listed under x-websocket-messages"
                        "; a frame of another version or shape gets an error frame and the "
                        "link stays up."
                    ),
                    "security": [{"nodeKey": []}],
                    "x-websocket-messages": {
                        "oneOf": [{"$ref": f"#/components/schemas/{name}"} for name in messages]
                    },
                    "responses": {
                        "101": {"description": "Switching to the WebSocket protocol"},
                        "401": _json("A missing, wrong or revoked API key", "Error"),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "nodeKey": {"type": "http", "scheme": "bearer", "description": "Node API key"}
            },
            "schemas": {
                "Health": {
                    "type": "object",
                    "properties": {
                        "status": {"enum": ["ok", "error"]},
                        "db": {"enum": ["ok", "error"]},
                        "redis": {"enum": ["ok", "error", "disabled"]},
                        "ai": {"enum": ["online", "overloaded", "offline"]},
                        "version": {"type": "string"},
                    },
                    "required": ["status", "db", "redis", "ai", "version"],
                    "additionalProperties": False,
                },
                "Error": {
                    "type": "object",
                    "description": "Any error answered to a client that asks for JSON",
                    "properties": {
                        "error": {"type": "integer"},
                        "title": {"type": "string"},
                        "detail": {"type": "string"},
                    },
                    "required": ["error", "title"],
                },
                **messages,
            },
        },
    }


def _json(description: str, schema: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def dumps() -> str:
    return json.dumps(build(), ensure_ascii=False, indent=1) + "\n"


@click.command("openapi")
@with_appcontext
def openapi_command() -> None:
    """Print the OpenAPI description (docs/openapi.json)."""
    click.echo(dumps(), nl=False)
