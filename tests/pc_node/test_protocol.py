import json

import pytest

from pc_node import protocol
from pc_node.protocol import (
    Cancel,
    Delta,
    Deltas,
    Done,
    Error,
    Hello,
    Job,
    Metrics,
    Ping,
    Pong,
    ProtocolError,
    decode,
    encode,
)

EXAMPLES = [
    Hello(node_id="pc-1", engine="llama.cpp", model="qwen3-8b", context_size=8192, capacity=1),
    Job(job_id="j1", messages=[{"role": "user", "content": "Привет"}], max_tokens=256),
    Delta(job_id="j1", seq=0, text="При"),
    Deltas(items=[["j1", 1, "вет"], ["j2", 0, "Hi"]]),
    Done(job_id="j1", tokens=12, prompt_ms=30.5, generation_ms=400, finish_reason="length"),
    Error(code="engine_failed", message="CUDA out of memory", job_id="j1", retryable=True),
    Error(code="overloaded", message="busy"),
    Cancel(job_id="j1"),
    Metrics(at=1700000000.5, values={"cpu_percent": 12.5, "gpu_percent": None}),
    Ping(nonce="n1"),
    Pong(nonce="n1"),
]


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: m.TYPE)
def test_every_message_survives_a_round_trip(message):
    frame = encode(message)
    assert json.loads(frame)["v"] == protocol.PROTOCOL_VERSION
    assert decode(frame) == message


def test_every_type_has_an_example():
    assert {m.TYPE for m in EXAMPLES} == set(protocol.MESSAGE_TYPES)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"v": 1, "type": "ping", "nonce": "x"}', "version"),
        ('{"type": "ping", "nonce": "x"}', "version"),
        ('{"v": 3, "type": "shutdown"}', "unknown message type"),
        ('{"v": 3, "type": "delta", "job_id": "j", "seq": "0", "text": ""}', "delta.seq"),
        ('{"v": 3, "type": "delta", "job_id": "j", "seq": true, "text": ""}', "delta.seq"),
        ('{"v": 3, "type": "delta", "job_id": "j", "text": ""}', "seq"),
        ('{"v": 3, "type": "ping", "nonce": "x", "extra": 1}', "unknown fields"),
        ('{"v": 3, "type": "error", "code": "x", "message": "m", "job_id": 5}', "error.job_id"),
        ('{"v": 3, "type": "deltas", "items": [["j", "0", "x"]]}', "deltas.items"),
        ('{"v": 3, "type": "deltas", "items": [["j", 0]]}', "deltas.items"),
        ('{"v": 3, "type": "deltas", "items": ["j"]}', "deltas.items"),
    ],
)
def test_malformed_frames_are_refused_with_the_reason(frame, reason):
    with pytest.raises(ProtocolError, match=reason):
        decode(frame)


def test_oversized_frame_is_refused_before_parsing():
    with pytest.raises(ProtocolError, match="over"):
        decode("x" * (protocol.MAX_FRAME_BYTES + 1))


def test_encode_refuses_a_wrongly_typed_field():
    with pytest.raises(ProtocolError, match="delta.text"):
        encode(Delta(job_id="j", seq=1, text=None))  # type: ignore[arg-type]


def test_integers_are_accepted_where_floats_are_expected():
    done = decode(
        '{"v": 3, "type": "done", "job_id": "j", "tokens": 1, "prompt_ms": 1, "generation_ms": 2}'
    )
    assert done == Done(job_id="j", tokens=1, prompt_ms=1, generation_ms=2)


def test_deltas_unpack_in_order():
    frame = encode(Deltas.pack([Delta("a", 3, "x"), Delta("b", 0, "y"), Delta("a", 4, "z")]))
    assert decode(frame).unpack() == [Delta("a", 3, "x"), Delta("b", 0, "y"), Delta("a", 4, "z")]
