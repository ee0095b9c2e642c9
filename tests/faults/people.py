"""People for the fault tests, written straight into a live server's database (run as a process
of its own: it builds an app, which binds the database extension to that server's database).

python -m tests.faults.people COUNT DIALOGS  ->  JSON [{"cookie", "dialogs": [id, ...]}, ...]
"""

from __future__ import annotations

import json
import sys
import uuid


def main() -> None:
    count, dialogs = int(sys.argv[1]), int(sys.argv[2])
    from sqlalchemy import select

    from config.settings import load_settings
    from tests.factories import user as make_user
    from webapp import create_app
    from webapp.auth.sessions import start_session
    from webapp.characters.models import Character
    from webapp.chat.service import start_dialog
    from webapp.db import utcnow
    from webapp.extensions import db

    app = create_app(load_settings())
    people = []
    with app.app_context(), db.new_session() as session:
        character = session.scalar(select(Character).order_by(Character.id).limit(1))
        for _ in range(count):
            user = make_user(
                session,
                app.extensions["mehhost.pii"],
                email=f"fault-{uuid.uuid4().hex[:12]}@example.ru",
            )
            _, tokens = start_session(
                session,
                app.extensions["mehhost.settings"],
                user,
                device="fault",
                ip="127.0.0.1",
                now=utcnow(),
            )
            ids = [start_dialog(session, user.id, character, utcnow()).id for _ in range(dialogs)]
            people.append({"cookie": f"mh_access={tokens.access}", "dialogs": ids})
        session.commit()
    print(json.dumps(people))


if __name__ == "__main__":
    main()
