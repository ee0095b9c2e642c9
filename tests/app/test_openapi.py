"""docs/openapi.json: generated from the code, valid OpenAPI 3.1, and true to what the site and
the node really send."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from openapi_spec_validator import validate

from pc_node import protocol
from webapp import openapi

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
SAMPLES = [
    protocol.Hello("pc-1", "llama.cpp", "qwen3-8b", 8192, 2),
    protocol.Job("j1", [{"role": "user", "content": "Привет"}], 128),
    protocol.Delta("j1", 0, "При"),
    protocol.Deltas([["j1", 1, "вет"], ["j2", 0, "Hi"]]),
    protocol.Done("j1", 12, 35.0, 410.5),
    protocol.Error("oom", "out of memory", job_id=None),
    protocol.Cancel("j1"),
    protocol.Metrics(1_800_000_000.0, {"cpu_percent": 12.5, "gpu_percent": None}),
    protocol.Ping("n1"),
    protocol.Pong("n1"),
]


def test_the_committed_document_is_the_generated_one():
    assert DOC.read_text(encoding="utf-8") == openapi.dumps(), (
        "docs/openapi.json is stale: run `flask --app app openapi > docs/openapi.json`"
    )


def test_the_document_is_valid_openapi():
    validate(json.loads(DOC.read_text(encoding="utf-8")))


def schema_of(name: str) -> dict:
    return json.loads(DOC.read_text(encoding="utf-8"))["components"]["schemas"][name]


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: m.TYPE)
def test_every_protocol_message_matches_its_schema(message):
    assert {type(m) for m in SAMPLES} == set(protocol.MESSAGE_TYPES.values())
    frame = json.loads(protocol.encode(message))
    jsonschema.validate(frame, schema_of(f"Node{type(message).__name__}"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**frame, "surprise": 1}, schema_of(f"Node{type(message).__name__}"))


def test_healthz_answers_what_the_document_says(client):
    response = client.get("/healthz")
    jsonschema.validate(response.get_json(), schema_of("Health"))


def _validate(instance, name: str) -> None:
    doc = json.loads(DOC.read_text(encoding="utf-8"))
    jsonschema.validate(instance, {"$ref": f"#/components/schemas/{name}", **doc})


def test_a_persons_export_and_a_dialogs_chat_file_are_what_the_document_says(
    client, login_as, db_session
):
    from tests import factories
    from tests.conftest import csrf_token

    login_as("user")
    character = factories.character(db_session, name="Алиса", greeting="Привет!")
    token = csrf_token(client, f"/characters/{character.id}")
    response = client.post(f"/characters/{character.id}/dialogs", data={"csrf_token": token})
    dialog_id = int(response.headers["Location"].rsplit("/", 1)[1])
    data = client.get("/profile/export").get_json()
    _validate(data, "DataExport")
    assert data["dialogs"][0]["messages"][0]["text"] == "Привет!"
    header, *lines = client.get(f"/chat/{dialog_id}/export.jsonl").get_data().splitlines()
    _validate(json.loads(header), "SillyTavernChatHeader")
    for line in lines:
        _validate(json.loads(line), "SillyTavernChatMessage")


def test_the_documented_examples_are_valid():
    doc = json.loads(DOC.read_text(encoding="utf-8"))
    for name, schema in doc["components"]["schemas"].items():
        if "example" in schema and name != "DataExport":
            _validate(schema["example"], name)


@pytest.mark.parametrize(
    "frame",
    [
        {"message": "Привет", "client_id": "c1", "HEADERS": {"HX-Request": "true"}},
        {"action": "draft", "message": "Я хоте"},
        {"action": "maintenance_ack", "window": "3", "message": "черновик"},
        {"action": "stop", "csrf_token": "t"},
        {"action": "hello", "last_id": "12"},
        {"action": "seen", "upto": 40},
    ],
)
def test_every_chat_frame_is_exactly_one_documented_kind(frame):
    from tests.chat_frames import check_client_frame

    check_client_frame(json.dumps(frame))


def test_a_frame_of_another_kind_is_not_documented():
    from tests.chat_frames import check_client_frame

    with pytest.raises(jsonschema.ValidationError):
        check_client_frame(json.dumps({"action": "explode"}))
