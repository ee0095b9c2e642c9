"""Search in a person's messages, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, insert, select

from tests import factories
from webapp.chat import search
from webapp.chat.models import Dialog, Message
from webapp.db import utcnow


def fill(session, user_id, character_id, count: int, needle_at: int | None = None) -> Dialog:
    dialog = Dialog(user_id=user_id, character_id=character_id, title="Длинный")
    session.add(dialog)
    session.flush()
    now = utcnow()
    session.execute(
        insert(Message),
        [
            {
                "dialog_id": dialog.id,
                "role": "user" if n % 2 else "assistant",
                "text": "Кошка нашла Ёлку в лесу" if n == needle_at else f"Сообщение {n}: текст",
                "status": "done",
                "created_at": now + timedelta(seconds=n),
            }
            for n in range(count)
        ],
    )
    return dialog


def _committed(engine, pii, body):
    """InnoDB's FULLTEXT index shows committed rows only: this runs on committed data and removes
    it afterwards (the usual test transaction would hide it)."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        person = factories.user(session, pii)
        character = factories.character(session, name="Поисковая")
        session.commit()
        try:
            body(session, person, character)
        finally:
            session.rollback()
            session.delete(session.get(type(person), person.id))
            session.delete(session.get(type(character), character.id))
            session.commit()


def test_a_message_from_500_messages_ago_is_found_and_linked(db_session, engine, pii):
    def body(session, person, character):
        dialog = fill(session, person.id, character.id, 600, needle_at=100)
        other = fill(session, person.id, character.id, 3)
        session.commit()
        hits, more = search.search(session, person.id, "кошк ёлк")  # prefixes, any case, ё/е
        assert [h.message.text for h in hits] == ["Кошка нашла Ёлку в лесу"] and not more
        assert hits[0].message.dialog_id == dialog.id and hits[0].character_name == "Поисковая"
        assert search.search(session, person.id, "кошка", dialog_id=other.id) == ([], False)
        assert search.search(session, person.id + 1000, "кошка") == ([], False)  # only mine

    if engine.dialect.name == "sqlite":
        body(
            db_session,
            factories.user(db_session, pii),
            factories.character(db_session, name="Поисковая"),
        )
    else:
        _committed(engine, pii, body)


def test_pages_are_keyset_and_one_query_each(db_session, engine, pii):
    def body(session, person, character):
        fill(session, person.id, character.id, 70)
        session.commit()
        user_id = person.id  # read now: after the commit it would be loaded again, mid-count
        statements = []
        listen = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listen)
        try:
            first, more = search.search(session, user_id, "текст")
            second, _ = search.search(session, user_id, "текст", before_id=first[-1].message.id)
        finally:
            event.remove(engine, "before_cursor_execute", listen)
        assert more and len(first) == len(second) == search.PAGE
        assert first[-1].message.id > second[0].message.id  # newest first, no overlap
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        # The same few queries a page, whatever the count: the scan and the characters' names
        # (MariaDB: the newest id first).
        assert len(selects) == (4 if engine.dialect.name == "sqlite" else 6)

    if engine.dialect.name == "sqlite":
        body(
            db_session,
            factories.user(db_session, pii),
            factories.character(db_session, name="Поисковая"),
        )
    else:
        _committed(engine, pii, body)


@pytest.mark.parametrize("query", ["", "a", "!!!", "я" * 101])
def test_a_query_that_cannot_be_searched_says_why(client, login_as, query):
    login_as("user")
    response = client.get("/search", query_string={"q": query or " "})
    if query == "":
        assert response.status_code == 200  # an empty form, no error
        return
    assert response.status_code == 422
    assert "Поиск: от 2 до 100 символов" in response.get_data(as_text=True)


def test_the_search_page_shows_the_match_and_links_to_it(client, login_as, db_session):
    person = login_as("user")
    character = factories.character(db_session, name="Алиса")
    dialog = fill(db_session, person.id, character.id, 30, needle_at=5)
    db_session.commit()
    page = client.get("/search", query_string={"q": "кошка"}).get_data(as_text=True)
    if db_session.get_bind().dialect.name != "sqlite":
        return  # uncommitted rows: InnoDB's index does not see them (see the tests above)
    needle = db_session.scalar(select(Message).where(Message.text.startswith("Кошка")))
    assert "<mark>Кошка</mark> нашла Ёлку" in page
    assert f"/chat/{dialog.id}?before={needle.id + 1}#m-{needle.id}" in page
    scoped = client.get("/search", query_string={"q": "кошка", "dialog": dialog.id})
    assert "Поиск в диалоге" in scoped.get_data(as_text=True)
    login_as("user")
    assert (
        client.get("/search", query_string={"q": "кошка", "dialog": dialog.id}).status_code == 404
    )
