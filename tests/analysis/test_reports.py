"""Daily, weekly and incident reports: HTML with SVG charts, PDF with Cyrillic text, emailed
with both attached; incident reports once per alert and phase; the admin's list."""

import shutil
from datetime import timedelta
from io import BytesIO

from pypdf import PdfReader

from tests.alerting import fresh
from tests.factories import metric_history
from webapp.analysis import reports, tasks
from webapp.analysis.rounds import queue_incident_reports
from webapp.db import utcnow
from webapp.i18n import MOSCOW
from webapp.monitoring.models import Alert, AlertState, Severity


def history(db_session, days: int = 9) -> None:
    metric_history(db_session, days=days, metrics=("cpu_percent", "gpu_percent"))


def an_alert(db_session, hours_ago: float, state=AlertState.FIRING, severity=Severity.HIGH):
    started = utcnow() - timedelta(hours=hours_ago)
    alert = Alert(
        key="threshold:pc.cpu_percent",
        severity=severity,
        state=state,
        title="CPU ПК выше 95 %",
        detail="Значение 97 %",
        value=97.0,
        threshold_value=95.0,
        started_at=started,
        resolved_at=started + timedelta(minutes=40) if state == AlertState.RESOLVED else None,
        notify_count=2,
    )
    db_session.add(alert)
    db_session.commit()
    return alert


def pdf_text(path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(path.read_bytes())).pages)


def test_the_daily_report_is_html_with_charts_and_a_pdf_with_cyrillic_text(
    app, db_session, tmp_path
):
    history(db_session)
    yesterday_noon = utcnow().astimezone(MOSCOW).replace(hour=12) - timedelta(days=1)
    an_alert(db_session, (utcnow() - yesterday_noon).total_seconds() / 3600, AlertState.RESOLVED)
    with app.test_request_context():
        data = reports.daily(db_session, utcnow())
        html_path, pdf_path = reports.write(data, tmp_path)
    html = html_path.read_text(encoding="utf-8")
    assert html.count("<polyline") == 2 and "Отчёт за сутки" in html
    assert "CPU ПК выше 95 %" in html and "40 мин" in html
    assert "http" not in html.replace("http://www.w3.org", "")  # self-contained
    text = pdf_text(pdf_path)
    assert "Отчёт за сутки" in text and "Ресурсы" in text and "CPU ПК выше 95 %" in text


def test_the_weekly_report_covers_the_last_full_week(app, db_session, tmp_path):
    history(db_session, days=15)
    with app.test_request_context():
        data = reports.weekly(db_session, utcnow())
    assert data.start.astimezone(MOSCOW).weekday() == 0
    assert data.end - data.start == timedelta(days=7)
    assert data.end <= utcnow() and len(data.charts) == 2
    assert data.name.startswith("weekly-") and "неделю" in data.title


def test_a_firing_and_then_resolved_alert_makes_one_incident_report_each_and_emails_them(
    app,
    db_session,
    channels,
    settings,
):
    _telegram, _sms, mailbox = channels
    history(db_session, days=1)
    alert = an_alert(db_session, hours_ago=1)
    bus = app.extensions["mehhost.bus"]
    episode = {(alert.id, alert.severity, alert.state, alert.started_at)}
    assert queue_incident_reports(bus, episode) == 1
    assert queue_incident_reports(bus, episode) == 0  # the next round does not repeat it
    low = (alert.id, Severity.LOW, AlertState.FIRING, alert.started_at)
    assert queue_incident_reports(bus, {low}) == 0
    alert = fresh(db_session, alert)  # the worker's task ended the session it was loaded in
    alert.state, alert.resolved_at = AlertState.RESOLVED, utcnow()
    db_session.commit()
    assert (
        queue_incident_reports(bus, {(alert.id, alert.severity, alert.state, alert.started_at)})
        == 1
    )

    folder = reports.folder_of(settings.instance_path)
    fired = (folder / f"incident-{alert.id}-fired.html").read_text(encoding="utf-8")
    assert 'class="shade"' in fired and "Ещё действует" in fired
    assert "Завершилась" in (folder / f"incident-{alert.id}-resolved.html").read_text()
    message = mailbox.messages("ops@example.ru")[-1]
    assert f"Инцидент №{alert.id}, тревога завершилась" in message["Subject"]
    names = [part.get_filename() for part in message.iter_attachments()]
    assert names == [f"incident-{alert.id}-resolved.pdf", f"incident-{alert.id}-resolved.html"]
    assert "CPU ПК выше 95 %" in message.get_body(("plain",)).get_content()


def test_the_nightly_task_emails_the_daily_report(app, db_session, channels):
    _telegram, _sms, mailbox = channels
    history(db_session, days=2)
    name = tasks.daily_report.call_local()
    message = mailbox.messages("ops@example.ru")[-1]
    assert name.startswith("daily-") and "Отчёт за сутки" in message["Subject"]
    pdf = next(p for p in message.iter_attachments() if p.get_filename().endswith(".pdf"))
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content().startswith(b"%PDF")


def test_admins_list_download_and_order_reports_others_cannot(
    app,
    client,
    login_as,
    db_session,
    channels,
    settings,
):
    history(db_session, days=2)
    shutil.rmtree(reports.folder_of(settings.instance_path), ignore_errors=True)
    login_as("moderator")
    assert client.get("/admin/reports/").status_code == 403
    login_as("admin")
    page = client.get("/admin/reports/")
    assert page.status_code == 200 and "Отчётов ещё нет" in page.get_data(as_text=True)
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    made = client.post(
        "/admin/reports/make", data={"kind": "daily", "csrf_token": token}, follow_redirects=True
    )
    body = made.get_data(as_text=True)
    assert "Отчёт готовится" in body and ".pdf" in body
    name = reports.stored(reports.folder_of(settings.instance_path))[0].name
    pdf = client.get(f"/admin/reports/{name}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert "attachment" in pdf.headers["Content-Disposition"]
    assert client.get("/admin/reports/..%2Fsecrets.env").status_code == 404
    bad = client.post(
        "/admin/reports/make", data={"kind": "yearly", "csrf_token": token}, follow_redirects=True
    )
    assert "Вид отчёта" in bad.get_data(as_text=True)
    assert client.post("/admin/reports/make", data={"kind": "daily"}).status_code == 400


def test_a_report_without_history_says_why(app, db_session):
    """On a fresh install the daily report (about yesterday) has no charts, and says why."""
    from sqlalchemy import delete

    from webapp.monitoring.models import MetricPoint

    db_session.execute(delete(MetricPoint))
    db_session.commit()
    with app.test_request_context():
        fresh_install = reports.render_html(reports.daily(db_session, utcnow()))
    assert "ещё ни разу не собирались" in fresh_install and "закажите его завтра" in fresh_install
    metric_history(db_session, days=1, metrics=("cpu_percent",))  # history from today only
    with app.test_request_context():
        data = reports.daily(db_session, utcnow() - timedelta(days=2))
        later = reports.render_html(data)
    assert data.charts == [] and "позже этого периода" in later
