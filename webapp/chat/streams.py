"""The replies one device follows as they are written: joining mid-reply, deltas in order (a gap
fetches the text so far again), content filters applied live, a restart, the waiting place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from webapp.bus import Bus, Subscription
from webapp.characters.filters import mask, settled
from webapp.chat import rendering
from webapp.extensions import db
from webapp.inference import events as job_events
from webapp.inference import jobs, queue
from webapp.inference.status import read_status


class ReplyStreams:
    def __init__(
        self,
        bus: Bus,
        subscription: Subscription,
        filters: list[str],
        send: Callable[[str], None],
        show_ai_state: Callable[..., None],
        reading: Callable[[], None],
    ) -> None:
        self.bus = bus
        self.subscription = subscription
        self.filters = filters
        self.send = send
        self.show_ai_state = show_ai_state
        self.reading = reading  # opens the pump's read-only transaction when it has none
        self.following: dict[str, dict[str, Any]] = {}  # job -> message id, last seq shown

    def __contains__(self, job_id: str | None) -> bool:
        return job_id in self.following

    def follow(self, job_id: str, message_id: int) -> None:
        if job_id in self.following:
            return
        self.subscription.add(job_events.job_channel(job_id))
        text, seq = jobs.partial(self.bus, job_id)
        self.following[job_id] = {"message_id": message_id, "seq": seq}
        if seq >= 0:
            self._show_whole(self.following[job_id], text)
        else:
            self._show_place(job_id)

    def _show_place(self, job_id: str) -> None:
        """A waiting reply's place, read from the queue itself: it is shown at once, whichever
        process runs the queue (later changes come as "queued" events)."""
        if not db.session().in_transaction():
            self.reading()  # from the pump; a frame from the browser has its transaction
        place = queue.positions(db.session).get(job_id)
        if place is None:
            return
        ai = read_status(self.bus)
        capacity = max(int(ai.get("capacity") or 1), 1)
        # Until the dispatcher says better: the slots are taken, half a reply left on each.
        busy = 0.5 if queue.counts(db.session)["running"] >= capacity else 0.0
        eta = round(((place - 1) / capacity + busy + 1) * float(ai.get("reply_s") or 10.0))
        self.show_ai_state(position=place, eta=eta)

    # With content filters on, text is shown up to the last whole word only (masked), the rest
    # when the word is finished; masking keeps lengths, so what was sent never changes.
    def _show_whole(self, state: dict[str, Any], text: str) -> None:
        if self.filters:
            state["raw"], state["sent"] = text, settled(text)
            text = mask(text[: state["sent"]], self.filters)
        self.send(rendering.body(state["message_id"], text))

    def _show_more(self, state: dict[str, Any], text: str) -> None:
        if self.filters:
            state["raw"] = state.get("raw", "") + text
            done = settled(state["raw"])
            text = mask(state["raw"][:done], self.filters)[state.get("sent", 0) :]
            state["sent"] = done
            if not text:
                return
        self.send(rendering.delta(state["message_id"], text))

    def unfollow(self, job_id: str) -> None:
        self.following.pop(job_id, None)
        self.subscription.discard(job_events.job_channel(job_id))

    def on_event(self, message: dict[str, Any]) -> None:
        event = job_events.parse(message)
        state = self.following.get(event.job_id) if event is not None else None
        if state is None:
            return
        if isinstance(event, job_events.Delta):
            if event.seq <= state["seq"]:
                return  # already in the text this device got on joining
            if event.seq != state["seq"] + 1:  # a gap: take the whole text again
                text, seq = jobs.partial(self.bus, event.job_id)
                state["seq"] = seq
                self._show_whole(state, text)
                return
            state["seq"] = event.seq
            self._show_more(state, event.text)
        elif isinstance(event, job_events.Restarted):
            state["seq"] = -1
            self._show_whole(state, "")
            self.show_ai_state(notice=event.message)
        elif isinstance(event, job_events.Queued):
            self.show_ai_state(position=event.position, eta=event.eta_s)
        elif isinstance(event, job_events.Started):
            self.show_ai_state()
