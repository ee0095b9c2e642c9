"""Side effects after a commit never undo what the commit did (webapp.db.on_commit)."""

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from webapp.bus import BusUnavailable
from webapp.db import on_commit


def test_a_failing_side_effect_is_logged_and_the_next_one_still_runs(caplog):
    ran = []
    with Session(create_engine("sqlite://")) as session:
        session.execute(text("SELECT 1"))

        def away() -> None:
            raise BusUnavailable("Redis paused")

        on_commit(session, away)
        on_commit(session, lambda: ran.append("next"))
        session.commit()  # raises nothing: the data is stored
    assert ran == ["next"]
    assert "bus unavailable: Redis paused" in caplog.text
