"""Every protected route refuses the wrong roles, walked from the URL map (new routes included)."""

import re

import pytest
from werkzeug.routing import Rule

from tests.conftest import csrf_token
from webapp.accounts.models import Role


def protected_rules(app) -> list[tuple[Rule, Role]]:
    found = []
    for rule in app.url_map.iter_rules():
        minimum = getattr(app.view_functions[rule.endpoint], "minimum_role", None)
        if minimum is not None:
            found.append((rule, minimum))
    return found


def build(rule: Rule) -> str:
    """A URL for the rule with placeholder arguments (1 for numbers, "x" for strings)."""
    numbers = set(re.findall(r"<int:(\w+)>", rule.rule))
    values = {name: 1 if name in numbers else "x" for name in rule.arguments}
    return rule.build(values)[1]


def test_admin_routes_are_declared_protected(app):
    endpoints = {rule.endpoint for rule, _ in protected_rules(app)}
    assert {"admin.users", "admin.set_role", "admin.block", "admin.unlock_user"} <= endpoints


@pytest.mark.parametrize("role", [None, *Role], ids=lambda r: r or "anonymous")
def test_every_protected_route_refuses_lower_roles(app, client, login_as, role):
    if role:
        login_as(role)
    token = csrf_token(client, "/")
    for rule, minimum in protected_rules(app):
        if role is not None and Role(role).at_least(minimum):
            continue
        url = build(rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method, data={"csrf_token": token})
            expected = 302 if role is None else 403
            assert response.status_code == expected, (method, url, role)
