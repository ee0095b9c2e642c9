"""The admin dashboard, widget partials, thresholds and run-time settings."""

import time

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token
from webapp import siteconfig as config
from webapp.extensions import get_settings
from webapp.inference.status import write_status
from webapp.monitoring import samples
from webapp.monitoring.catalogue import PC, VDS
from webapp.monitoring.models import LogCategory, LogEntry, Threshold

HTMX = {"HX-Request": "true"}


@pytest.fixture
def bus(app):
    bus = app.extensions["mehhost.bus"]
    for source in (PC, VDS):
        bus.delete(samples.ring_key(source))
    yield bus
    for source in (PC, VDS):
        bus.delete(samples.ring_key(source))


def test_pc_widget_renders_alone_with_levels_and_says_when_data_is_stale(client, login_as, bus):
    login_as("admin")
    samples.ingest(
        bus,
        PC,
        time.time(),
        {"cpu_percent": 97, "gpu_percent": 50, "ram_used_gb": 8, "ram_total_gb": 32},
    )
    html = client.get("/monitoring/widgets/pc", headers=HTMX).get_data(as_text=True)
    assert "<html" not in html and 'data-poll="5"' in html
    assert "lvl-critical" in html and 'stroke-dasharray="97.0 3.0"' in html
    assert "25.0 3.0" not in html and "8.0 ГБ" in html  # RAM against the PC's own 32 GB
    assert "устарели" not in html
    bus.delete(samples.ring_key(PC))
    samples.ingest(bus, PC, time.time() - 60, {"cpu_percent": 10})
    assert "Данные устарели" in client.get("/monitoring/widgets/pc", headers=HTMX).get_data(True)


def test_vds_widget_and_graphs_poll_every_ten_seconds(client, login_as, bus):
    login_as("admin")
    now = time.time()
    for step in range(5):
        samples.ingest(
            bus, VDS, now - 40 + step * 10, {"cpu_percent": 10 + step, "disk_percent": 50}
        )
    widget = client.get("/monitoring/widgets/vds", headers=HTMX).get_data(as_text=True)
    assert 'data-poll="10"' in widget and "Диск" in widget
    graphs = client.get("/monitoring/graphs/vds", headers=HTMX).get_data(as_text=True)
    assert "<polyline" in graphs and "10.0–14.0 %" in graphs
    page = client.get("/monitoring/graphs/vds").get_data(as_text=True)
    assert "<html" in page and "Обновить" in page  # works without JavaScript


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        ("user", [], ["ИИ в сети", "data-poll"]),
        ("manager", ["ИИ в сети"], ["Очередь", "scripted"]),
        ("moderator", ["ИИ в сети", "Очередь", "scripted", "Токенов в секунду"], []),
        ("admin", ["ИИ в сети", "scripted"], []),
    ],
)
def test_ai_status_widget_by_role(client, login_as, bus, role, shown, hidden):
    login_as(role)
    write_status(
        bus,
        {
            "state": "online",
            "model": "scripted",
            "queue": 2,
            "running": 1,
            "capacity": 1,
            "tokens_per_s": 30.5,
            "last_heartbeat": time.time() - 2,
        },
    )
    html = client.get("/monitoring/ai", headers=HTMX).get_data(as_text=True)
    for text in shown:
        assert text in html
    for text in hidden:
        assert text not in html
    bus.delete("ai_service_status")


def test_dashboard_shows_activity_and_alerts_in_few_queries(client, login_as, count_queries):
    login_as("admin")
    client.get("/admin/")
    with count_queries() as counter:
        html = client.get("/admin/").get_data(as_text=True)
    assert "активны за 5 минут" in html and "Активных тревог нет" in html
    assert 'id="w-pc"' in html and 'id="g-vds"' in html and 'id="w-ai"' in html  # no JS needed
    assert counter.count <= 10, counter.statements


def test_a_warning_at_or_above_critical_is_refused(client, login_as, db_session):
    login_as("admin")
    token = csrf_token(client, "/admin/thresholds")
    response = client.post(
        "/admin/thresholds/pc.cpu_percent",
        data={"csrf_token": token, "warning": "95", "critical": "95", "hysteresis": "5"},
    )
    assert response.status_code == 422
    assert "Предупреждение должно быть ниже" in response.get_data(as_text=True)
    assert db_session.get(Threshold, "pc.cpu_percent") is None


def test_saved_thresholds_apply_and_are_audited(client, login_as, db_session):
    admin = login_as("admin")
    token = csrf_token(client, "/admin/thresholds")
    response = client.post(
        "/admin/thresholds/pc.cpu_percent",
        data={"csrf_token": token, "warning": "70,5", "critical": "90", "hysteresis": "3"},
    )
    assert response.status_code == 302
    row = db_session.get(Threshold, "pc.cpu_percent")
    assert (row.warning, row.critical, row.hysteresis) == (70.5, 90, 3)
    entry = db_session.scalars(select(LogEntry).where(LogEntry.category == LogCategory.AUDIT)).one()
    assert entry.user_id == admin.id and entry.ip == "127.0.0.1"
    assert '"warning": 80' in entry.detail and '"warning": 70.5' in entry.detail


def test_bad_smtp_settings_show_the_error_and_keep_the_old_ones(app, client, login_as, db_session):
    login_as("admin")
    token = csrf_token(client, "/admin/settings")
    form = {"csrf_token": token, "host": "127.0.0.1", "port": "1", "mail_from": "a@b.ru"}
    response = client.post("/admin/settings/smtp", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Тестовое письмо не ушло" in page and "проверьте адрес и порт" in page
    assert "Errno" not in page and "Connection refused" not in page  # no internal details
    assert db_session.get(config.SiteSetting, "smtp") is None
    response = client.post("/admin/settings/smtp", data={**form, "port": "99999"})
    assert response.status_code == 422 and "Порт" in response.get_data(as_text=True)


def test_good_smtp_settings_are_tested_then_saved(app, client, login_as, db_session, mailbox):
    admin_email = "boss@example.ru"
    login_as("admin", email=admin_email)
    port = app.extensions["mehhost.settings"].smtp_port
    token = csrf_token(client, "/admin/settings")
    form = {
        "csrf_token": token,
        "host": "127.0.0.1",
        "port": str(port),
        "mail_from": "ops@x.ru",
        "password": "s3cret",
    }
    assert client.post("/admin/settings/smtp", data=form).status_code == 302
    assert "настройки SMTP работают" in mailbox.last_text(admin_email)
    stored = db_session.get(config.SiteSetting, "smtp").value
    assert "s3cret" not in stored  # secrets are encrypted at rest
    with app.app_context():
        assert get_settings().mail_from == "ops@x.ru" and get_settings().smtp_password == "s3cret"


def test_security_parameters_take_effect(app, client, login_as, db_session):
    login_as("admin")
    token = csrf_token(client, "/admin/settings")
    form = {
        "csrf_token": token,
        "lockout_attempts": "5",
        "lockout_minutes": "30",
        "access_token_minutes": "10",
        "refresh_token_days": "14",
        "login_rate": "5 per minute",
    }
    try:
        assert client.post("/admin/settings/security", data=form).status_code == 302
        with app.app_context():
            assert get_settings().lockout_attempts == 5
            assert get_settings().login_rate == "5 per minute"
        bad = client.post("/admin/settings/security", data={**form, "login_rate": "lots"})
        assert bad.status_code == 422 and "Лимит входов" in bad.get_data(as_text=True)
    finally:
        app.extensions["mehhost.settings"] = app.extensions["mehhost.base_settings"]


def test_channel_recipients_are_validated(client, login_as):
    login_as("admin")
    token = csrf_token(client, "/admin/settings")
    response = client.post(
        "/admin/settings/channels", data={"csrf_token": token, "emails": "ops@x.ru\nnot-an-email"}
    )
    assert response.status_code == 422 and "not-an-email" in response.get_data(as_text=True)


def test_log_viewer_filters_and_shows_retention(client, login_as):
    login_as("admin")
    html = client.get("/admin/logs?category=security&event=login").get_data(as_text=True)
    assert "90" in html and "login" in html
