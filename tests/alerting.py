"""Shared by the alerting tests: every channel pointed at a local fake, and row helpers."""

import pytest
from sqlalchemy import select

from tests.conftest import patched_settings
from tests.fakes import RecordingGateway
from webapp import siteconfig as config
from webapp.monitoring import samples
from webapp.monitoring.catalogue import PC, VDS
from webapp.monitoring.models import AlertDelivery
from webapp.notify.config import ChannelConfig


@pytest.fixture
def channels(app, worker_app, mailbox, db_session):
    telegram, sms = RecordingGateway({"ok": True}), RecordingGateway({"id": "1"})
    bus = app.extensions["mehhost.bus"]
    for source in (PC, VDS):
        bus.delete(samples.ring_key(source))
    with patched_settings(app, telegram_base_url=telegram.url, sms_base_url=sms.url + "/send"):
        with app.app_context():
            section = ChannelConfig(
                emails=("ops@example.ru",),
                telegram_token="T0KEN",
                telegram_chat_ids=("42",),
                sms_api_key="k3y",
                sms_phones=("+79990001122",),
            )
            config.save_section(db_session, section, app.extensions["mehhost.pii"], None)
            db_session.commit()
        yield telegram, sms, mailbox
    for source in (PC, VDS):
        bus.delete(samples.ring_key(source))
    telegram.close()
    sms.close()


def fresh(db_session, row):
    """The row as stored now (a worker task ends the session the test holds objects from)."""
    return db_session.get(type(row), row.id)


def deliveries(db_session, reason: str | None = None) -> list[AlertDelivery]:
    found = db_session.scalars(select(AlertDelivery).order_by(AlertDelivery.id)).all()
    return [d for d in found if reason is None or d.reason == reason]
