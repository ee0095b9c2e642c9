"""The OpenAPI 3.1 description of every endpoint that answers with data rather than a page:
/healthz, /metrics, the JSON error body, a person's data export, a dialog's export and import
(SillyTavern JSONL), a character card's export, /node/ws with every message of the node protocol
(schemas built from pc_node.protocol's dataclasses) and /ws/chat/{dialog_id} with every frame a
browser sends and every fragment the server pushes (x-websocket-messages). Tests check real
responses and real frames against it. docs/openapi.json is this document; a test fails when the
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


# The chat socket: what the browser sends (JSON objects, from the htmx ws extension's forms).
CHAT_CLIENT_FRAMES: dict[str, dict] = {
    "ChatSend": {
        "description": "A message; a resend with the same client_id is stored once",
        "properties": {"message": {"type": "string"}, "client_id": {"type": "string"}},
        "required": ["message"],
        "not": {"required": ["action"]},  # a draft or an acknowledgement carries text too
        "example": {"message": "Привет!", "client_id": "5f0c2d1e9a7b4c3d8e6f1a2b3c4d5e6f"},
    },
    "ChatHello": {
        "description": "Every (re)connect: the newest message id the page has",
        "properties": {"action": {"const": "hello"}, "last_id": {"type": ["string", "integer"]}},
        "required": ["action"],
        "example": {"action": "hello", "last_id": "42"},
    },
    "ChatStop": {
        "description": "Stop the reply being written",
        "properties": {"action": {"const": "stop"}, "csrf_token": {"type": "string"}},
        "required": ["action"],
        "example": {"action": "stop"},
    },
    "ChatRetry": {
        "description": "Write the last reply again (a new version), or ask for a missing one",
        "properties": {"action": {"const": "retry"}},
        "required": ["action"],
        "example": {"action": "retry"},
    },
    "ChatSeen": {
        "description": "The newest of the character's messages that was on screen",
        "properties": {"action": {"const": "seen"}, "upto": {"type": ["string", "integer"]}},
        "required": ["action", "upto"],
        "example": {"action": "seen", "upto": "43"},
    },
    "ChatDraft": {
        "description": "The text being typed, every 10 s while it changes",
        "properties": {"action": {"const": "draft"}, "message": {"type": "string"}},
        "required": ["action"],
        "example": {"action": "draft", "message": "Я хотел спрос"},
    },
    "ChatMaintenanceAck": {
        "description": "The page heard that a stop begins, and hands over its draft",
        "properties": {
            "action": {"const": "maintenance_ack"},
            "window": {"type": ["string", "integer"]},
            "message": {"type": "string"},
        },
        "required": ["action", "window"],
        "example": {"action": "maintenance_ack", "window": "7", "message": ""},
    },
}
# What the server pushes: HTML fragments swapped out of band (htmx), several to a frame. Each
# is named by its root element's opening tag (a regular expression).
CHAT_SERVER_FRAGMENTS: dict[str, dict] = {
    "NewMessages": {
        "pattern": r'^<div hx-swap-oob="beforeend:#messages">',
        "description": "Messages the page has not got yet, appended (article.msg each)",
    },
    "ChangedMessage": {
        "pattern": r'^<article hx-swap-oob="true" class="msg msg-(user|assistant)[^"]*" '
        r'id="m-\d+"',
        "description": "A message changed (finished, edited, another version, starred)",
    },
    "RemovedMessage": {
        "pattern": r'^<div id="m-\d+" hx-swap-oob="delete">',
        "description": "A message deleted (or a waiting reply replaced)",
    },
    "ReplyDelta": {
        "pattern": r'^<span hx-swap-oob="beforeend:#b-\d+">',
        "description": "The next piece of a reply being written: append-only, never the whole",
    },
    "ReplySoFar": {
        "pattern": r'^<div hx-swap-oob="innerHTML:#b-\d+">',
        "description": "The text so far, for a device joining mid-reply (then deltas)",
    },
    "AiState": {
        "pattern": r'^<span id="ai-state" hx-swap-oob="true"',
        "description": "How the AI is doing, the reply's place in the queue and its ETA",
    },
    "Notice": {
        "pattern": r'^<p id="chat-notice" hx-swap-oob="true"',
        "description": "A notice for the person (too long and cut, refused, paused...)",
    },
    "SentAck": {
        "pattern": r'^<output id="sent-ack" hx-swap-oob="true"',
        "description": "The message sent under data-client-id is stored: the box may clear",
    },
    "Maintenance": {
        "pattern": r'^<div id="maintenance-live" role="alert" hx-swap-oob="true">',
        "description": "A stop begins; its form acknowledges at once with the draft",
    },
}
CHAT_CLOSE_CODES = {
    "1008": "Too many frames (a flood): one notice, then closed",
    "1009": "A frame over 16 KiB",
    "1012": "Maintenance: the page reconnects after it",
    "4401": "The access token ran out or the device session ended: refresh, then reconnect",
    "4403": "Another site's page, or the person is blocked",
    "4404": "No such dialog of this person",
}


def _sillytavern_schemas() -> dict:
    return {
        "SillyTavernChatHeader": {
            "type": "object",
            "description": "The first line of a SillyTavern chat file",
            "properties": {
                "user_name": {"type": "string"},
                "character_name": {"type": "string"},
                "create_date": {"type": "string"},
                "chat_metadata": {"type": "object"},
            },
            "required": ["user_name", "character_name"],
            "example": {
                "user_name": "Иван",
                "character_name": "Алиса",
                "create_date": "2026-12-01T14:05:00+00:00",
                "chat_metadata": {},
            },
        },
        "SillyTavernChatMessage": {
            "type": "object",
            "description": "Every further line: one message (swipes: every version of a reply)",
            "properties": {
                "name": {"type": "string"},
                "is_user": {"type": "boolean"},
                "is_system": {"type": "boolean"},
                "send_date": {"type": ["string", "number"]},
                "mes": {"type": "string"},
                "swipes": {"type": "array", "items": {"type": "string"}, "maxItems": 50},
                "swipe_id": {"type": "integer", "minimum": 0},
                "extra": {"type": "object"},
            },
            "required": ["mes", "is_user"],
            "example": {
                "name": "Алиса",
                "is_user": False,
                "is_system": False,
                "send_date": "2026-12-01T14:05:09+00:00",
                "mes": "Второй вариант",
                "swipes": ["Первый вариант", "Второй вариант"],
                "swipe_id": 1,
                "extra": {},
            },
        },
    }


def _export_schema() -> dict:
    message = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "from": {"enum": ["me", "character"]},
            "ai_generated": {"type": "boolean"},
            "text": {"type": "string"},
            "status": {"type": "string"},
            "at": {"type": "string", "format": "date-time"},
            "favorite": {"type": "boolean"},
            "edited_at": {"type": ["string", "null"]},
            "versions": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["id", "from", "ai_generated", "text", "at", "favorite", "versions"],
    }
    return {
        "type": "object",
        "description": "Everything the site holds about the signed-in person",
        "properties": {
            "account": {"type": "object", "required": ["email", "display_name", "created_at"]},
            "devices": {"type": "array", "items": {"type": "object"}},
            "events": {"type": "array", "items": {"type": "object"}},
            "dialogs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "character": {"type": "string"},
                        "title": {"type": "string"},
                        "persona": {"type": ["string", "null"]},
                        "messages": {"type": "array", "items": message},
                    },
                    "required": ["id", "character", "messages"],
                },
            },
            "personas": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "description": {"type": "string"},
                        "default": {"type": "boolean"},
                    },
                    "required": ["name", "description", "default"],
                },
            },
            "reports": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["account", "devices", "events", "dialogs", "personas", "reports"],
        "example": {
            "account": {"email": "anna@example.ru", "display_name": "Анна", "created_at": "…"},
            "devices": [],
            "events": [],
            "dialogs": [
                {
                    "id": 1,
                    "character": "Алиса",
                    "title": "Привет",
                    "persona": None,
                    "messages": [
                        {
                            "id": 1,
                            "from": "character",
                            "ai_generated": True,
                            "text": "Привет! Я Алиса.",
                            "status": "done",
                            "at": "2026-12-01T14:05:00+00:00",
                            "favorite": False,
                            "edited_at": None,
                            "versions": [],
                        }
                    ],
                }
            ],
            "personas": [],
            "reports": [],
        },
    }


SIGNED_IN = [{"sessionCookie": []}]
NOT_SIGNED_IN = {"description": "Not signed in: to /login"}


def _page_paths() -> dict:
    """The data endpoints for signed-in people (session cookies, CSRF token on a POST)."""
    dialog = {"name": "dialog_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    return {
        "/profile/export": {
            "get": {
                "summary": "Everything about me (JSON; ?format=html: the same as a page)",
                "security": SIGNED_IN,
                "parameters": [
                    {"name": "format", "in": "query", "schema": {"enum": ["html"]}},
                ],
                "responses": {
                    "200": {
                        "description": "The data export (an attachment)",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/DataExport"}
                            },
                            "text/html": {"schema": {"type": "string"}},
                        },
                    },
                    "302": NOT_SIGNED_IN,
                },
            }
        },
        "/chat/{dialog_id}/export.jsonl": {
            "get": {
                "summary": "A dialog as a SillyTavern chat file",
                "security": SIGNED_IN,
                "parameters": [dialog],
                "responses": {
                    "200": {
                        "description": "A header line, then a message a line",
                        "content": {
                            "application/jsonl": {
                                "schema": {
                                    "oneOf": [
                                        {"$ref": "#/components/schemas/SillyTavernChatHeader"},
                                        {"$ref": "#/components/schemas/SillyTavernChatMessage"},
                                    ]
                                }
                            }
                        },
                    },
                    "302": NOT_SIGNED_IN,
                    "404": _json("Not a dialog of this person", "Error"),
                },
            }
        },
        "/chat/{dialog_id}/export.txt": {
            "get": {
                "summary": "A dialog as plain text («[2026-12-01 14:05] Алиса: …»)",
                "security": SIGNED_IN,
                "parameters": [dialog],
                "responses": {
                    "200": {
                        "description": "Text",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    "302": NOT_SIGNED_IN,
                    "404": _json("Not a dialog of this person", "Error"),
                },
            }
        },
        "/characters/{character_id}/dialogs/import": {
            "post": {
                "summary": "A SillyTavern chat file (up to 10 MB) as a new dialog",
                "security": SIGNED_IN,
                "parameters": [
                    {
                        "name": "character_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "requestBody": {
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "csrf_token": {"type": "string"},
                                    "chat": {"type": "string", "format": "binary"},
                                },
                                "required": ["csrf_token", "chat"],
                            }
                        }
                    }
                },
                "responses": {
                    "302": {"description": "Stored: to the new dialog (or not signed in)"},
                    "400": _json("No or a stale CSRF token", "Error"),
                    "404": _json("No such published character", "Error"),
                    "413": _json("Larger than 10 MB: refused before it is read", "Error"),
                    "422": {
                        "description": (
                            "The character's page with the reason, naming the line "
                            "(«Строка 3: нет поля «mes»»); nothing stored"
                        ),
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    },
                },
            }
        },
        "/manage/characters/{character_id}/card.{kind}": {
            "get": {
                "summary": "A character's card (managers): JSON in its own format, V2, V3, "
                "PNG or CHARX",
                "security": SIGNED_IN,
                "parameters": [
                    {
                        "name": "character_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    },
                    {
                        "name": "kind",
                        "in": "path",
                        "required": True,
                        "schema": {"enum": ["json", "v2.json", "v3.json", "png", "charx"]},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "The card (an attachment)",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "spec": {"enum": ["chara_card_v2", "chara_card_v3"]},
                                        "data": {"type": "object"},
                                    },
                                },
                                "example": {
                                    "spec": "chara_card_v2",
                                    "spec_version": "2.0",
                                    "data": {"name": "Алиса", "first_mes": "Привет!"},
                                },
                            },
                            "image/png": {"schema": {"type": "string", "format": "binary"}},
                            "application/zip": {"schema": {"type": "string", "format": "binary"}},
                        },
                    },
                    "302": NOT_SIGNED_IN,
                    "403": _json("Not a manager", "Error"),
                    "404": _json("No such character or format", "Error"),
                },
            }
        },
        "/ws/chat/{dialog_id}": {
            "get": {
                "summary": "The live chat of one dialog on one device (WebSocket upgrade)",
                "description": (
                    "Same-origin pages only, authenticated by the access cookie. The browser "
                    "sends JSON objects (x-websocket-messages.client); the server pushes HTML "
                    "fragments swapped out of band by htmx, several to a frame "
                    "(x-websocket-messages.server: each fragment's root tag). Close codes: "
                    "x-websocket-close-codes."
                ),
                "security": SIGNED_IN,
                "parameters": [dialog],
                "x-websocket-messages": {
                    "client": {
                        "oneOf": [
                            {"$ref": f"#/components/schemas/{name}"} for name in CHAT_CLIENT_FRAMES
                        ]
                    },
                    "server": {
                        name: {
                            "type": "string",
                            "pattern": fragment["pattern"],
                            "description": fragment["description"],
                        }
                        for name, fragment in CHAT_SERVER_FRAGMENTS.items()
                    },
                },
                "x-websocket-close-codes": CHAT_CLOSE_CODES,
                "responses": {"101": {"description": "Switching to the WebSocket protocol"}},
            }
        },
    }


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
                "Health and metrics for monitors, the inference node link, the chat socket, and "
                "the data a person or a manager takes away or brings in. HTML pages are not "
                "described here."
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
            **_page_paths(),
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
                "nodeKey": {"type": "http", "scheme": "bearer", "description": "Node API key"},
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "mh_access",
                    "description": "The access cookie of a signed-in device (refreshed by pages)",
                },
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
                "DataExport": _export_schema(),
                **_sillytavern_schemas(),
                **{
                    name: {
                        "type": "object",
                        "description": frame["description"],
                        "properties": {**frame["properties"], "HEADERS": {"type": "object"}},
                        "required": frame["required"],
                        **({"not": frame["not"]} if "not" in frame else {}),
                        "example": frame["example"],
                    }
                    for name, frame in CHAT_CLIENT_FRAMES.items()
                },
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
