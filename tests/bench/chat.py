"""Chat figures taken in process: the chat page's first load and a 5,000-message dialog whose
replies have markdown (*actions*, **bold**) and, one in ten, three versions (swipes)."""

from __future__ import annotations

import statistics
from datetime import timedelta


def measure(app, timed, percentile, first_load_bytes, signed_in_client) -> dict[str, float]:
    from sqlalchemy import insert, select

    from webapp.characters.models import Character
    from webapp.chat.models import Dialog, Message, Swipe
    from webapp.db import utcnow
    from webapp.extensions import db

    client, user_id = signed_in_client(app, with_user_id=True)
    with app.app_context(), db.new_session() as session:
        character_id = session.scalar(select(Character.id).limit(1))
        dialog = Dialog(user_id=user_id, character_id=character_id, title="5000")
        session.add(dialog)
        session.flush()
        now = utcnow()
        session.execute(
            insert(Message),
            [
                {
                    "dialog_id": dialog.id,
                    "role": "user" if n % 2 else "assistant",
                    "text": f"Сообщение {n}: " + "текст " * 20
                    if n % 2
                    else f"*улыбается* Ответ {n}: **важно** " + "текст " * 20,
                    "status": "done",
                    "created_at": now + timedelta(seconds=n),
                    "swipes": 3 if n % 20 == 0 else 1,
                    "swipe": 2 if n % 20 == 0 else 0,
                }
                for n in range(5000)
            ],
        )
        ids = session.scalars(
            select(Message.id).where(Message.dialog_id == dialog.id, Message.swipes == 3)
        ).all()
        session.execute(
            insert(Swipe),
            [
                {
                    "message_id": message_id,
                    "position": position,
                    "text": f"Вариант {position}",
                    "status": "done",
                    "created_at": now,
                }
                for message_id in ids
                for position in range(3)
            ],
        )
        session.commit()
        dialog_id = dialog.id
    page_bytes, _assets = first_load_bytes(client, f"/chat/{dialog_id}")
    render = timed(lambda: client.get(f"/chat/{dialog_id}"), 100)
    return {
        "chat_page_first_load_gzip_kb": round(page_bytes / 1024, 2),
        "chat_page_budget_kb": 50,
        "dialog_5000_messages_render_p50_ms": round(statistics.median(render), 2),
        "dialog_5000_messages_render_p95_ms": round(percentile(render, 0.95), 2),
    }
