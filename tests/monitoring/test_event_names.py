"""Every event the code logs has a Russian name for the staff pages, and the log viewer shows
names and people, not keys and ids."""

import ast
from pathlib import Path

from webapp.monitoring.events import EVENT_NAMES

LOGGERS = {"business", "security", "audit"}  # logs.<category>(session, "event", ...)
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
