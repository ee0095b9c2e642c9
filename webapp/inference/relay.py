"""What people see of a running job: its deltas on the job's channel, the text so far for
devices that join mid-reply, and the live cut at the length the reply will be stored at.

A reply longer than its `max_chars` is stored cut, with CUT_MARK, to exactly max_chars
characters. Streaming stops where the stored text stops: text past max_chars - len(CUT_MARK)
is held back until the reply either ends within max_chars (then it is sent) or overflows (then
the mark is sent instead and the job is stopped). People watch what will be kept.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from webapp.bus import Bus, BusUnavailable
from webapp.inference import events, jobs
from webapp.inference.state import Running

CUT_MARK = " [...]"
PARTIAL_EVERY = 0.2  # seconds between saves of a streaming reply's text so far


class Relay:
    def __init__(self, bus: Bus, clock: Callable[[], float]) -> None:
        self.bus = bus
        self.clock = clock

    def delta(self, running: Running, text: str) -> bool:
        """A new piece from the node (already appended to running.text). True when the reply
        overflowed its limit: the mark was streamed and the job must stop here."""
        limit = running.job.payload.get("max_chars")
        if not limit:
            self._publish(running, text)
            return False
        room = max(limit - len(CUT_MARK) - running.shown, 0)
        visible, held = text[:room], text[room:]
        if visible:
            self._publish(running, visible)
        if held:
            running.held += held
            if running.shown + len(running.held) > limit:
                running.held = ""
                self._publish(running, CUT_MARK)
                return True
        return False

    def flush(self, running: Running) -> None:
        """The reply ended within its limit: what was held back is shown too."""
        if running.held:
            held, running.held = running.held, ""
            self._publish(running, held, force_save=True)

    def forget(self, job_id: str) -> None:
        """The try is over: its text so far is no longer anyone's to join."""
        with contextlib.suppress(BusUnavailable):
            self.bus.delete(jobs.partial_key(job_id))

    def _publish(self, running: Running, text: str, *, force_save: bool = False) -> None:
        job_id = running.job.job_id
        seq = len(running.shown_text)  # pieces of this try, numbered from 0
        running.shown += len(text)
        running.shown_text.append(text)
        # The text so far is stored at most every PARTIAL_EVERY seconds (and on the first
        # delta): the whole, growing text on every delta would cost O(n^2). A joining device
        # that finds it a little behind sees a gap in the numbering and fetches it again.
        now = self.clock()
        try:
            if seq == 0 or force_save or now - running.partial_saved >= PARTIAL_EVERY:
                running.partial_saved = now
                self.bus.set(
                    jobs.partial_key(job_id),
                    {"text": "".join(running.shown_text), "seq": seq},
                    ttl=600,
                )
            self.bus.publish(
                events.job_channel(job_id), events.Delta(job_id, seq, text).to_message()
            )
        except BusUnavailable:
            pass  # the stream resumes with the next delta; the stored reply is whole
