"""Every page renders for every role; hot pages stay within a fixed number of queries."""

import pytest

from tests import factories
from webapp.accounts.models import Role

ROLES = [None, *Role]


def simple_get_routes(app):
    """Every GET URL without parameters: new pages are covered the day they are added."""
    for rule in app.url_map.iter_rules():
        if (
            "GET" in rule.methods
            and not rule.arguments
            and rule.endpoint != "static"
            and not rule.websocket
        ):
            yield rule.rule


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "anonymous")
def test_every_page_renders_for_every_role(app, client, login_as, role):
    if role:
        login_as(role)
    for path in simple_get_routes(app):
        response = client.get(path)
        assert response.status_code in (200, 204, 302, 401, 403), (path, response.status_code)
        fragment = client.get(path, headers={"HX-Request": "true"})
        assert fragment.status_code == response.status_code, path


def test_known_pages_are_covered(app):
    assert {"/", "/login", "/profile", "/healthz", "/metrics"} <= set(simple_get_routes(app))


def test_catalogue_lists_published_characters_only(client, db_session):
    factories.character(db_session, name="Видимый")
    factories.character(db_session, name="Черновик", state="draft")
    page = client.get("/").get_data(as_text=True)
    assert "Видимый" in page and "Черновик" not in page


def test_catalogue_search_ignores_case_and_yo(client, db_session):
    factories.character(db_session, name="Пётр Великий")
    factories.character(db_session, name="Кот Учёный")
    body = client.get("/?q=ПЕТР", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Пётр Великий" in body and "Кот Учёный" not in body
    assert "Никого не нашлось" in client.get("/?q=%25").get_data(as_text=True)


def test_catalogue_query_count_does_not_grow_with_characters(client, db_session, count_queries):
    factories.character(db_session)
    with count_queries() as few:
        client.get("/")
    for _ in range(10):
        factories.character(db_session)
    with count_queries() as many:
        client.get("/")
    assert many.count == few.count <= 2


def test_profile_costs_two_queries_whatever_the_number_of_devices(
    client, login_as, count_queries, db_session, settings
):
    from tests.conftest import sign_in

    user = login_as("user")
    client.get("/profile")  # fills the maintenance cache: one query per 30 s, for every page
    with count_queries() as one_device:
        assert client.get("/profile").status_code == 200
    for n in range(3):
        sign_in(client.application.test_client(), db_session, settings, user, f"device {n}")
    with count_queries() as four_devices:
        page = client.get("/profile").get_data(as_text=True)
    assert page.count('/end"') == 4
    # who is signed in (user + device session in one join), then their devices
    assert one_device.count == four_devices.count == 2, four_devices.statements
