"""The Huey consumer's entry: `huey_consumer workers.tasks.huey`.

It builds the app (settings, database, bus, and the queue with every domain's tasks registered:
webapp/<domain>/tasks.py) and hands the consumer that app's Huey instance. Nothing in webapp/
imports this module.
"""

from __future__ import annotations

from webapp import create_app
from webapp.tasks import HUEY

app = create_app()
huey = app.extensions[HUEY]
