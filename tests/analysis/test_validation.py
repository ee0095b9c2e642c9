"""The daily self-validation: yesterday forecast again by every method, scores kept, and the
forecast switched to the best baseline where the model lost."""

from datetime import timedelta

import numpy as np
from sqlalchemy import func, select

from tests.factories import metric_history
from webapp.analysis import forecast, tasks, validation
from webapp.analysis.models import ForecastScore
from webapp.db import utcnow
from webapp.i18n import MOSCOW


def store_history(db_session, days: int = 16) -> None:
    """Ten-minute CPU points over `days`, a daily wave with noise, up to now."""
    rng = np.random.default_rng(4)
    metric_history(
        db_session,
        days=days,
        value=lambda n: np.clip(45 + 25 * np.sin(2 * np.pi * n / 144) + rng.normal(0, 3), 0, 100),
    )


def yesterday():
    return utcnow().astimezone(MOSCOW).date() - timedelta(days=1)


def test_yesterday_is_scored_for_every_method_and_horizon_and_a_rerun_replaces_it(
    app, db_session, models
):
    store_history(db_session)
    day = yesterday()
    choices = validation.validate_day(db_session, day, models)
    db_session.commit()
    assert set(choices) == {"pc.cpu_percent"}
    assert choices["pc.cpu_percent"] in forecast.METHODS
    rows = db_session.scalars(select(ForecastScore)).all()
    assert {(r.method, r.horizon) for r in rows} == {
        (m, h) for m in forecast.METHODS for h in forecast.BACKTEST_HORIZONS_S
    }
    assert all(r.day == day and r.mae >= 0 and r.origins > 0 for r in rows)
    # Only yesterday's readings are scored: at most one a step of the day at each horizon.
    assert max(r.origins for r in rows) <= 144 + 6
    validation.validate_day(db_session, day, models)
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(ForecastScore)) == len(rows)


def add_scores(db_session, day, metric, scores: dict[str, float]) -> None:
    for method, mae in scores.items():
        for horizon in forecast.BACKTEST_HORIZONS_S:
            db_session.add(
                ForecastScore(
                    day=day, metric=metric, method=method, horizon=horizon, mae=mae, origins=100
                )
            )
    db_session.commit()


def test_where_the_model_lost_yesterday_the_forecast_uses_the_best_baseline(
    app, client, login_as, db_session, models
):
    store_history(db_session, days=4)
    day = yesterday()
    lost = {"model": 6.0, "seasonal_naive": 5.0, "ewma": 4.0, "holt_winters": 4.5}
    add_scores(db_session, day - timedelta(days=1), "pc.cpu_percent", {**lost, "model": 1.0})
    add_scores(db_session, day, "pc.cpu_percent", lost)
    assert validation.current_choices(db_session) == {"pc.cpu_percent": "ewma"}
    app.extensions["mehhost.analysis"] = models
    try:
        login_as("admin")
        body = client.get("/admin/analysis").get_data(as_text=True)
    finally:
        app.extensions.pop("mehhost.analysis", None)
    assert "Самопроверка прогноза" in body
    assert '<strong class="warning">ewma</strong>' in body  # yesterday's row chose the baseline
    assert body.count("<td>ewma</td>") == 1  # the forecast table's method column
    history = validation.history(db_session, utcnow().date())
    assert [h.day for h in history] == [day, day - timedelta(days=1)]
    assert history[0].model == 6.0 and history[0].best_baseline == "ewma"


def test_the_nightly_task_validates_yesterday(worker_app, db_session, trained, settings):
    import shutil

    from webapp.analysis.model import folder_of
    from webapp.analysis.service import reload

    shutil.copytree(trained, folder_of(settings.instance_path), dirs_exist_ok=True)
    reload(worker_app)
    try:
        store_history(db_session)
        assert tasks.validate_forecasts.call_local() == validation.current_choices(db_session)
    finally:
        shutil.rmtree(folder_of(settings.instance_path))
        worker_app.extensions.pop("mehhost.analysis", None)
    assert db_session.scalar(select(func.max(ForecastScore.day))) == yesterday()
