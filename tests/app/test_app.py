"""Cross-cutting behaviour of the app: health, metrics, headers, errors, CSRF, htmx rendering."""

import json
from dataclasses import replace

import pytest

from tests.conftest import csrf_token
from webapp.bus import RedisBus
from webapp.inference.status import AI_STATUS_KEY
from webapp.version import __version__


def test_healthz_reports_each_dependency(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "db": "ok",
        "redis": "ok" if settings.redis_url else "disabled",
        "ai": "offline",
        "version": __version__,
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_shows_the_ai_status_written_by_the_inference_link(app, client):
    app.extensions["mehhost.bus"].set(AI_STATUS_KEY, {"state": "overloaded", "queue": 9})
    try:
        assert client.get("/healthz").json["ai"] == "overloaded"
    finally:
        app.extensions["mehhost.bus"].delete(AI_STATUS_KEY)


def test_healthz_is_503_when_configured_redis_is_down(app, client, settings, monkeypatch):
    down = "redis://127.0.0.1:1/0"
    monkeypatch.setitem(app.extensions, "mehhost.settings", replace(settings, redis_url=down))
    monkeypatch.setitem(app.extensions, "mehhost.bus", RedisBus(down))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["redis"] == "error"
    assert response.json["status"] == "error"


def test_metrics_are_served_to_localhost(client):
    client.get("/")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "mehhost_http_requests_total" in response.get_data(as_text=True)


def test_metrics_refuse_remote_and_proxied_anonymous_callers(client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403


def test_metrics_are_served_to_an_admin_anywhere(client, login_as):
    login_as("admin")
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 200


def test_metrics_refuse_a_remote_non_admin(client, login_as):
    login_as("moderator")
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403


def test_security_headers_on_every_page(client):
    headers = client.get("/login").headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in headers  # only in production


def test_pages_carry_no_inline_script(client):
    html = client.get("/login").get_data(as_text=True)
    for chunk in html.split("<script")[1:]:
        assert chunk.split(">", 1)[0].strip().startswith("src=")


def test_csrf_token_is_on_body_for_htmx(client):
    html = client.get("/").get_data(as_text=True)
    headers = json.loads(html.split("hx-headers='", 1)[1].split("'", 1)[0])
    assert headers["X-CSRFToken"]


def test_post_without_csrf_token_gets_russian_reload_page(client):
    response = client.post("/login", data={"email": "a@b.ru", "password": "x"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Обновите страницу" in page
    assert '<html lang="ru"' in page


def test_htmx_post_with_header_token_passes_csrf(client):
    token = csrf_token(client, "/")
    response = client.post(
        "/prefs/theme",
        data={"value": "light"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert response.status_code == 302


def test_unknown_url_gets_russian_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Страница не найдена" in response.get_data(as_text=True)


def test_json_clients_get_json_errors(client):
    response = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json["error"] == 404


def test_body_over_limit_gets_413(client):
    response = client.post("/login", data={"email": "x" * (2_700_000)})
    assert response.status_code == 413
    assert "Слишком большой запрос" in response.get_data(as_text=True)


def test_wrong_method_gets_405_with_allow_header(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_server_error_gets_russian_500_page(app, client, monkeypatch):
    import webapp.characters.views as views

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "list_published", explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = client.get("/")
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    assert "Внутренняя ошибка сервера" in response.get_data(as_text=True)


def test_htmx_request_gets_the_fragment_and_vary_header(client):
    full = client.get("/")
    fragment = client.get("/", headers={"HX-Request": "true"})
    assert "HX-Request" in full.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]
    assert "<html" in full.get_data(as_text=True)
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and body.lstrip().startswith('<ul class="cards"')


def test_boosted_htmx_request_gets_the_whole_page(client):
    response = client.get("/", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in response.get_data(as_text=True)


def test_english_catalogue_is_used_when_chosen(client):
    token = csrf_token(client, "/")
    client.post("/prefs/lang", data={"value": "en", "csrf_token": token})
    page = client.get("/no/such/page").get_data(as_text=True)
    assert "Page not found" in page and '<html lang="en"' in page


@pytest.mark.parametrize(("value", "expected"), [("light", "light"), ("dark", "dark")])
def test_theme_choice_is_rendered_without_javascript(client, value, expected):
    token = csrf_token(client, "/")
    response = client.post(
        "/prefs/theme", data={"value": value, "csrf_token": token, "next": "/login"}
    )
    assert response.headers["Location"] == "/login"
    assert f'data-theme="{expected}"' in client.get("/login").get_data(as_text=True)


def test_preferences_refuse_unknown_values_and_foreign_redirects(client):
    token = csrf_token(client, "/")
    assert (
        client.post("/prefs/theme", data={"value": "pink", "csrf_token": token}).status_code == 400
    )
    assert client.post("/prefs/font", data={"value": "x", "csrf_token": token}).status_code == 400
    response = client.post(
        "/prefs/theme", data={"value": "light", "csrf_token": token, "next": "//evil.example"}
    )
    assert response.headers["Location"] == "/"


def test_static_urls_carry_a_content_hash(client):
    html = client.get("/").get_data(as_text=True)
    assert "/static/css/app.css?v=" in html and "/static/vendor/htmx.min.js?v=" in html
