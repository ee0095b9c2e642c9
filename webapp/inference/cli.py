"""`flask node-key NAME` (a pc_node API key, printed once) and `flask node-dial URL` (tunnel
mode: this process dials the node)."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from webapp.db import utcnow
from webapp.extensions import db
from webapp.inference.keys import create_key
from webapp.inference.runtime import get_dispatcher


@click.command("node-key")
@click.argument("name")
@with_appcontext
def node_key(name: str) -> None:
    """Create a pc_node API key and print it once."""
    with db.new_session() as session:
        try:
            _key, raw = create_key(session, name, utcnow())
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
    click.echo(raw)


@click.command("node-dial")
@click.argument("url")
@click.option("--api-key-file", type=click.Path(exists=True, dir_okay=False), required=True)
@with_appcontext
def node_dial(url: str, api_key_file: str) -> None:
    """Tunnel mode: dial a pc_node listening at URL (through the reverse SSH tunnel)."""
    # Here, not at the top: the dialing client (pc_node.link, websockets) costs every process
    # that builds the app ~40 ms of start-up, and only this command uses it.
    from webapp.inference.dial import dial_node

    with open(api_key_file, encoding="utf-8") as handle:
        api_key = handle.read().strip()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    dial_node(url, api_key, get_dispatcher(current_app._get_current_object()), stop)


COMMANDS = (node_key, node_dial)
