"""Every event the code logs has a Russian name for the staff pages, and the log viewer shows
names and people, not keys and ids."""

import ast
from pathlib import Path

from webapp.monitoring.events import EVENT_NAMES

LOGGERS = {"business", "security", "audit", "system"}  # logs.<category>(session, "event", ...)
# audit_action("event", ...) and maintenance's helpers around it: where the event argument is
HELPERS = {"audit_action": 0, "_changed": 0, "_decide": 2}


def logged_events() -> set[str]:
    found = set()
    for path in Path("webapp").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            if name in HELPERS:
                arguments = node.args[HELPERS[name] : HELPERS[name] + 1]
            elif name in LOGGERS:
                arguments = node.args[1:2]
            else:
                continue
            for argument in arguments:  # a literal, or either side of a conditional
                for value in ast.walk(argument):
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        found.add(value.value)
    return found


def test_every_logged_event_has_a_name():
    events = logged_events()
    found = {"login", "character_created", "settings_changed", "maintenance_confirmed"}
    assert found <= events  # the walk finds them
    assert events - set(EVENT_NAMES) == set()


def test_the_log_viewer_names_the_event_and_the_person(client, login_as):
    admin = login_as("admin", display_name="Анна Админ")  # signing in logs "login"
    html = client.get("/admin/logs?category=security&event=login").get_data(as_text=True)
    assert "вошёл" in html and "Анна Админ" in html and f"#{admin.id}" in html


def logged_detail_keys() -> set[str]:
    """The keyword arguments the code passes to logs.<category>(...) as details."""
    found = set()
    for path in Path("webapp").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = getattr(getattr(node, "func", None), "attr", None)
            if isinstance(node, ast.Call) and name in LOGGERS:
                found |= {k.arg for k in node.keywords if k.arg not in {"user_id", "ip", None}}
    return found


def test_every_logged_detail_has_a_name():
    from webapp.monitoring.events import DETAIL_LABELS

    keys = logged_detail_keys()
    assert {"reason", "by", "until"} <= keys  # the walk finds them
    assert keys - set(DETAIL_LABELS) == set()


def test_the_log_viewer_reads_details_as_words_naming_people(client, login_as, db_session):
    from webapp.monitoring import logs

    admin = login_as("admin", display_name="Анна Админ")
    logs.security(db_session, "user_blocked", user_id=admin.id, by=admin.id, reason="спам")
    logs.business(db_session, "character_changed", character=4, state="published", version=2)
    db_session.commit()
    html = client.get("/admin/logs").get_data(as_text=True)
    assert '<span class="muted">кто:</span> Анна Админ' in html
    assert '<span class="muted">причина:</span> спам' in html
    assert '<span class="muted">состояние:</span> опубликован' in html
    assert "&#34;state&#34;" not in html and '"state"' not in html
