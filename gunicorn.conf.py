"""Tuning of the web process, read by gunicorn from the working directory (Procfile, systemd unit
and the test server all start it from the project root). Command-line flags stay where they are.

The one gevent worker holds every chat socket, so a pause of its garbage collector is a pause of
every stream. In the load bench (1,200 sockets) full collections ran every few seconds while
sockets opened and now and then while replies streamed, each walking everything alive (start-up
objects too: modules, the app, templates, locale data) for 130-455 ms; with the start-up objects
frozen and young collections rarer (below), none ran while the 100 replies streamed.
"""

import gc

from gevent import config as gevent_config

# gevent keeps, for every greenlet, a copy of the stack that spawned it (a debugging aid): about a
# dozen objects per greenlet, two greenlets per socket, for the collector to walk.
gevent_config.track_greenlet_tree = False


# A young collection after every 20,000 new objects rather than 700: short-lived objects (a
# token's event, a request) die before a collection can promote them, so the old generation
# grows only with what really lives long (sockets) and full collections become rare.
GC_THRESHOLDS = (20_000, 10, 10)


def post_worker_init(worker):
    """Once the app is loaded: what is alive now lives as long as the process; the collector
    stops walking it (gc.freeze moves it to a generation that is never collected)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    worker.log.info("garbage collector: %d start-up objects frozen", gc.get_freeze_count())
