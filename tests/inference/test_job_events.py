"""The dispatchers' job events: one typed vocabulary on the wire and back."""

import json

from webapp.inference import events


def test_every_event_survives_the_wire():
    for event in (
        events.Queued("j", 2, 30),
        events.Started("j", "pc"),
        events.Delta("j", 0, "При"),
        events.Restarted("j", "Связь прервалась."),
        events.Done("j", "Привет", 2, "stop", 12.5),
        events.Failed("j", "Не вышло"),
        events.Cancelled("j"),
    ):
        wire = json.loads(json.dumps(event.to_message()))
        assert wire["event"] == event.KIND and events.parse(wire) == event


def test_anything_else_is_not_a_job_event():
    assert events.parse({"event": "shutdown", "job_id": "j"}) is None
    assert events.parse({"event": "delta", "job_id": "j"}) is None  # fields missing
    assert events.parse({"type": "message"}) is None
