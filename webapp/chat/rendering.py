"""Chat HTML: whole messages, and the small out-of-band fragments the socket pushes."""

from __future__ import annotations

from flask import render_template
from markupsafe import escape

from webapp.chat.events import MessageView
from webapp.chat.models import Message


def message_html(message: Message | MessageView, starred: bool) -> str:
    return render_template("chat/_message.html", m=message, starred=starred)


def append_messages(messages: list[str]) -> str:
    return f'<div hx-swap-oob="beforeend:#messages">{"".join(messages)}</div>'


def replace_message(html: str) -> str:
    # The message template's root carries id="m-<id>": an oob outerHTML swap replaces it.
    return html.replace("<article ", '<article hx-swap-oob="true" ', 1)


def acknowledge(client_id: str) -> str:
    """The message the device sent under client_id is stored: its page may clear the box."""
    return (
        f'<output id="sent-ack" hx-swap-oob="true" hidden data-client-id="{escape(client_id)}">'
        "</output>"
    )


def remove(message_id: int) -> str:
    return f'<div id="m-{message_id}" hx-swap-oob="delete"></div>'


def delta(message_id: int, text: str) -> str:
    """Append-only: the new piece of text, never the whole reply again."""
    return f'<span hx-swap-oob="beforeend:#b-{message_id}">{escape(text)}</span>'


def body(message_id: int, text: str) -> str:
    """The whole text so far, for a device that joins mid-reply (then deltas follow)."""
    return f'<div hx-swap-oob="innerHTML:#b-{message_id}">{escape(text)}</div>'


def ai_state(html: str) -> str:
    return html.replace('id="ai-state"', 'id="ai-state" hx-swap-oob="true"', 1)


def notice(text: str) -> str:
    return f'<p id="chat-notice" hx-swap-oob="true" class="notice" role="status">{escape(text)}</p>'
