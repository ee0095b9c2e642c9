"""Access logs to attack verdicts: replayed scenarios through the real parsers and the ONNX
classifier, the live follower of growing logs, our own request log, and the alert."""

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.alerting import deliveries, fresh
from webapp.analysis import alerting, scenarios, traffic
from webapp.analysis.livetraffic import TrafficWatch
from webapp.monitoring import tasks
from webapp.monitoring.delivery import notifier_for
from webapp.monitoring.models import AlertState, Severity
from webapp.monitoring.requestlog import RequestLog


def replay(kind: str, seed: int, fmt: str = "combined", **event):
    """A generated scenario written as log lines and read back through the parsers."""
    scenario = scenarios.generate(kind, np.random.default_rng(seed), **event)
    requests = traffic.read_lines(scenarios.to_lines(scenario.requests, fmt))
    return scenario, requests


def event_verdicts(models, kind, seed, fmt="combined", **event):
    scenario, requests = replay(kind, seed, fmt, **event)
    verdicts = traffic.classify(traffic.windows(requests), models)
    before = [v for v in verdicts if v.start < scenario.event_at]
    during = [v for v in verdicts if v.start >= scenario.event_at]
    return before, during


@pytest.mark.parametrize("seed", [11, 12])
def test_a_flood_from_many_ips_scores_as_an_attack_from_its_first_minute(models, seed):
    before, during = event_verdicts(models, "flood", seed, hosts=2000, rate=200)
    assert all(v.attack < traffic.ALERT_AT for v in before)
    assert during and all(v.attack >= traffic.ALERT_AT for v in during)
    assert {v.kind for v in during} == {"flood"}
    assert min(v.unique_ips for v in during) > 1000


@pytest.mark.parametrize("seed", [21, 22])
def test_slow_credential_stuffing_from_rotating_proxies_scores_as_an_attack(models, seed):
    # Twelve login attempts a minute spread over 300 addresses, in our own JSON log format.
    before, during = event_verdicts(models, "stuffing", seed, "json", hosts=300, rate=0.2)
    assert all(v.attack < traffic.ALERT_AT for v in before)
    assert all(v.attack >= traffic.ALERT_AT for v in during)
    assert {v.kind for v in during} == {"stuffing"}


@pytest.mark.parametrize(("seed", "growth"), [(31, 10), (32, 25), (33, 40)])
def test_a_flash_crowd_of_real_people_stays_below_the_alert(models, seed, growth):
    before, during = event_verdicts(models, "flash", seed, growth=growth)
    assert during and during[-1].requests > 5 * before[-1].requests  # a real surge
    assert max(v.attack for v in before + during) < traffic.ALERT_AT
    assert {v.kind for v in before + during} == {"normal"}


def test_lines_in_an_unknown_format_are_counted_and_skipped(models):
    _scenario, good = replay("calm", 41)
    lines = scenarios.to_lines(
        scenarios.generate("calm", np.random.default_rng(41)).requests, "combined"
    )
    mixed = [*lines[:50], "garbage", '{"ts": "yesterday"}', "", *lines[50:]]
    requests = traffic.read_lines(mixed)
    assert requests.skipped == 2 and len(requests) == len(good)
    assert requests.read == len(good) + 2
    assert traffic.windows(requests).skipped == 2


def test_no_classifier_means_no_verdicts_rather_than_a_guess():
    _scenario, requests = replay("flood", 42, hosts=50, rate=100)
    assert traffic.classify(traffic.windows(requests), None) == []


def write_minutes(path, kind, seed, **event):
    scenario = scenarios.generate(kind, np.random.default_rng(seed), **event)
    lines = scenarios.to_lines(scenario.requests, "json")
    return scenario, lines


def test_the_live_watch_reads_appended_lines_and_waits_for_open_windows(models, tmp_path):
    log = tmp_path / "requests.log"
    scenario, lines = write_minutes(log, "flood", 51, hosts=800, rate=150)
    times = scenario.requests.time
    live = TrafficWatch((log,))
    assert live.step(times[0], models) == []  # no file yet: it is read whole once it appears
    # The first eight minutes are written, the last line only in part.
    cut = int(np.searchsorted(times, times[0] + 8 * 60))
    log.write_text("\n".join(lines[:cut]) + "\n" + lines[cut][:20], encoding="utf-8")
    first = live.step(times[0] + 8 * 60 + 30, models)
    assert [v.start for v in first] == sorted({v.start for v in first})
    assert len(first) == 8 and live.skipped == 0  # the half line is not read yet
    with log.open("a", encoding="utf-8") as handle:
        handle.write(lines[cut][20:] + "\n" + "\n".join(lines[cut + 1 :]) + "\n")
    second = live.step(times[-1] + 61, models)
    assert len(second) == 4 and live.skipped == 0 and live.late == 0
    assert live.current(times[-1] + 61).attack >= traffic.ALERT_AT
    assert all(v.attack >= traffic.ALERT_AT for v in second)


def test_the_live_watch_follows_a_rotated_log_and_counts_late_lines(models, tmp_path):
    log = tmp_path / "requests.log"
    scenario, lines = write_minutes(log, "calm", 52)
    times = scenario.requests.time
    half = int(np.searchsorted(times, times[0] + 6 * 60))
    live = TrafficWatch((log,))
    live.step(times[0], models)
    log.write_text("\n".join(lines[:half]) + "\n", encoding="utf-8")
    assert len(live.step(times[0] + 6 * 60, models)) == 6
    log.rename(tmp_path / "requests.log.1")  # logrotate
    log.write_text("\n".join([lines[0], *lines[half:]]) + "\n", encoding="utf-8")
    assert len(live.step(times[-1] + 61, models)) == 6
    assert live.late == 1  # the old line in the new file belongs to a window already judged


def test_the_request_log_writes_json_lines_the_parser_reads(app, tmp_path):
    path = tmp_path / "logs" / "requests.log"
    request_log = RequestLog(path, max_bytes=400, check_every_s=0)
    for n in range(5):
        request_log.write(
            {
                "ts": f"2026-11-29T10:00:0{n}Z",
                "ip": "203.0.113.9",
                "method": "POST",
                "path": "/login",
                "status": 422,
                "ua": "Mozilla/5.0 «тест»",
            }
        )
    kept = (path.with_name("requests.log.1").read_text() + path.read_text()).splitlines()
    assert len(kept) == 5  # the size cap moved the file aside once, nothing was lost
    when, ip, method, path_, status, agent = traffic.parse_line(kept[-1])
    assert (ip, method, path_, status, agent) == (
        "203.0.113.9",
        "POST",
        "/login",
        422,
        "Mozilla/5.0 «тест»",
    )
    assert when == datetime(2026, 11, 29, 10, 0, 4, tzinfo=UTC).timestamp()


def test_every_answered_request_lands_in_the_app_request_log(app, client, settings):
    client.get("/", headers={"User-Agent": "pytest-agent"})
    client.post("/login", data={"email": "x"})
    rows = [json.loads(line) for line in settings.request_log.read_text().splitlines()]
    mine = [row for row in rows if row["ua"] == "pytest-agent"]
    assert mine and mine[-1]["path"] == "/" and mine[-1]["method"] == "GET"
    assert isinstance(mine[-1]["ms"], float)
    assert any(row["path"] == "/login" and row["method"] == "POST" for row in rows)


def test_an_attack_in_the_log_alerts_and_the_alert_resolves_when_it_stops(
    app, client, login_as, db_session, channels, models, tmp_path
):
    _telegram, _sms, mailbox = channels
    bus = app.extensions["mehhost.bus"]
    log = tmp_path / "access.log"
    scenario, lines = write_minutes(log, "stuffing", 61, hosts=400, rate=3)
    live = TrafficWatch((log,))
    live.step(scenario.requests.time[0], models)
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    end = datetime.fromtimestamp(scenario.requests.time[-1] // 60 * 60 + 60, UTC)
    with app.app_context():
        [alert] = alerting.evaluate_traffic(
            db_session, bus, notifier_for(app, db_session), live, models, end
        )
        db_session.commit()
    assert alert.key == alerting.TRAFFIC_KEY and alert.severity == Severity.HIGH
    assert "подбор паролей" in alert.title
    tasks.deliver_alerts.call_local()
    assert "подбор паролей" in mailbox.last_text("ops@example.ru")
    state = bus.get(alerting.TRAFFIC_STATE_KEY)
    assert state["windows"][-1]["class"] == "stuffing" and state["classifier"]

    calm, _lines = write_minutes(log, "calm", 62)
    shift = end.timestamp() + 60 - calm.requests.time[0] // 60 * 60
    calm.requests.time += shift
    log.write_text("\n".join(scenarios.to_lines(calm.requests, "json")) + "\n", encoding="utf-8")
    later = datetime.fromtimestamp(calm.requests.time[-1] // 60 * 60 + 60, UTC)
    with app.app_context():
        alerting.evaluate_traffic(
            db_session, bus, notifier_for(app, db_session), live, models, later
        )
        db_session.commit()
    assert fresh(db_session, alert).state == AlertState.RESOLVED
    assert deliveries(db_session, "resolved")
    assert later - end > timedelta(minutes=5)

    login_as("admin")
    page = client.get("/admin/analysis").get_data(as_text=True)
    assert "<title>Анализ нагрузки · mehhost chat</title>" in page
    assert "Трафик: атаки и боты" in page and str(log) in page
    assert 'class="sev-high"' in page and "подбор паролей (credential stuffing)" in page
