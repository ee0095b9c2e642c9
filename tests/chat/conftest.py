"""What the chat's tests share: the app's bus and a character with a greeting."""

from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture
def bus(app):
    return app.extensions["mehhost.bus"]


@pytest.fixture
def character(db_session):
    return factories.character(db_session, name="Алиса", greeting="Привет! Я Алиса.")
