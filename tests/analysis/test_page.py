"""The admin's analysis page: model state, forecasts with their peak and interval, anomalies."""

from tests.factories import metric_history
from webapp.analysis.model import Models
from webapp.db import utcnow
from webapp.inference import economy
from webapp.inference.status import write_status


def test_the_admin_sees_forecasts_model_state_and_economy_mode(
    app, client, login_as, db_session, models
):
    now = utcnow().replace(second=0, microsecond=0)
    metric_history(db_session, days=4)
    app.extensions["mehhost.analysis"] = models
    bus = app.extensions["mehhost.bus"]
    write_status(bus, {"state": "overloaded"})
    economy.update(bus, now.timestamp())
    try:
        login_as("admin")
        body = client.get("/admin/analysis").get_data(as_text=True)
    finally:
        bus.delete(economy.ECONOMY_KEY)
        bus.delete("ai_service_status")
        app.extensions.pop("mehhost.analysis", None)
    assert "Прогноз на 24 часа" in body and '<svg class="forecast"' in body
    assert body.count('<svg class="forecast"') == 1  # only the metric with history
    assert "Режим экономии включён" in body
    assert "Обучена:" in body


def test_without_a_model_the_page_says_why_and_still_works(app, client, login_as):
    app.extensions["mehhost.analysis"] = Models(
        problems=["модель не обучена: прогнозы по статистическим методам"]
    )
    try:
        login_as("admin")
        page = client.get("/admin/analysis")
    finally:
        app.extensions.pop("mehhost.analysis", None)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "модель не обучена" in body
    assert "Истории ещё нет" in body
