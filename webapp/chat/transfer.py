"""A dialog out as text or as a SillyTavern chat file (JSONL), and a SillyTavern chat file in as a
new dialog with a chosen character.

SillyTavern's format: the first line is the chat's header ({"user_name", "character_name",
"create_date", "chat_metadata"}), then one message a line ({"name", "is_user", "is_system",
"send_date", "mes", "swipes", "swipe_id", "extra"}). Import reads every line before storing
anything: a bad file names its line and leaves nothing behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from webapp.characters.models import Character
from webapp.chat import service, versions
from webapp.chat.errors import ChatError
from webapp.chat.models import OPEN_REPLY, Dialog, Message, Role, Status, Swipe

IMPORT_MAX_BYTES = 10 * 1024 * 1024  # refused before it is read (see webapp.forms.upload_limit)
IMPORT_MAX_MESSAGES = 10_000
SWIPES_MAX = 50


class ImportInvalid(ChatError):
    """A chat file that cannot be read; str() names the line."""


@dataclass
class Parsed:
    user_name: str = ""
    character_name: str = ""
    messages: list[dict] = field(default_factory=list)  # role, text, at, swipes, swipe
    skipped: int = 0  # system lines (SillyTavern's own notes), not part of the dialog
    cut: int = 0  # messages longer than the chat's limits, cut


def _rows(session: Session, dialog: Dialog) -> list[Message]:
    return list(
        session.scalars(
            select(Message)
            .where(Message.dialog_id == dialog.id, Message.status.not_in(OPEN_REPLY))
            .order_by(Message.id)
        )
    )


def export_text(session: Session, dialog: Dialog, character: Character, user_name: str) -> str:
    """Plain text, a message a paragraph: «[2026-12-01 14:05] Алиса: …»."""
    lines = [f"{character.name} — {dialog.title or ''}".rstrip(" —"), ""]
    for message in _rows(session, dialog):
        speaker = user_name if message.role == Role.USER else character.name
        lines += [f"[{message.created_at:%Y-%m-%d %H:%M}] {speaker}: {message.text}", ""]
    return "\n".join(lines)


def export_jsonl(session: Session, dialog: Dialog, character: Character, user_name: str) -> str:
    rows = _rows(session, dialog)
    kept = versions.texts(session, [m.id for m in rows if m.swipes > 1])
    header = {
        "user_name": user_name,
        "character_name": character.name,
        "create_date": dialog.created_at.isoformat(),
        "chat_metadata": {},
    }
    lines = [json.dumps(header, ensure_ascii=False)]
    for message in rows:
        line = {
            "name": user_name if message.role == Role.USER else character.name,
            "is_user": message.role == Role.USER,
            "is_system": False,
            "send_date": message.created_at.isoformat(),
            "mes": message.text,
            "extra": {},
        }
        if message.id in kept:
            line["swipes"], line["swipe_id"] = kept[message.id], message.swipe
        lines.append(json.dumps(line, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def _date(value) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value  # SillyTavern writes milliseconds too
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None  # SillyTavern's «December 1, 2026 2:05pm»: the import time stands in
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def _text(value, role: Role, parsed: Parsed) -> str:
    limit = service.USER_MESSAGE_MAX if role == Role.USER else service.REPLY_MAX
    text = value.replace("\r\n", "\n").strip()
    if len(text) > limit:
        parsed.cut += 1
        text = service.clean_reply(text, limit)
    return text


def parse_jsonl(blob: bytes) -> Parsed:
    """Every line read and checked; ImportInvalid names the first bad one."""
    try:
        lines = blob.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise ImportInvalid(_l("Файл: не текст в UTF-8 (ожидается .jsonl из SillyTavern)")) from exc
    parsed = Parsed()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise ImportInvalid(
                _l("Строка %(n)s: не JSON (ожидается файл .jsonl из SillyTavern)", n=number)
            ) from exc
        if not isinstance(item, dict):
            raise ImportInvalid(_l("Строка %(n)s: ожидается объект {…}", n=number))
        if "mes" not in item:
            header = "user_name" in item or "chat_metadata" in item or number == 1
            if header and not parsed.messages:
                parsed.user_name = str(item.get("user_name") or "")[:50]
                parsed.character_name = str(item.get("character_name") or "")[:120]
                continue
            raise ImportInvalid(_l("Строка %(n)s: нет поля «mes» (текст сообщения)", n=number))
        if not isinstance(item["mes"], str):
            raise ImportInvalid(_l("Строка %(n)s: «mes» должно быть текстом", n=number))
        if item.get("is_system"):
            parsed.skipped += 1
            continue
        if not isinstance(item.get("is_user"), bool):
            raise ImportInvalid(_l("Строка %(n)s: нет поля «is_user» (true или false)", n=number))
        role = Role.USER if item["is_user"] else Role.ASSISTANT
        swipes = item.get("swipes")
        if swipes is not None and (
            not isinstance(swipes, list)
            or not all(isinstance(s, str) for s in swipes)
            or len(swipes) > SWIPES_MAX
        ):
            raise ImportInvalid(
                _l(
                    "Строка %(n)s: «swipes» — список текстов, не больше %(max)s",
                    n=number,
                    max=SWIPES_MAX,
                )
            )
        text = _text(item["mes"], role, parsed)
        if not text:
            parsed.skipped += 1
            continue
        entry = {"role": role, "text": text, "at": _date(item.get("send_date"))}
        if role == Role.ASSISTANT and swipes and len(swipes) > 1:
            swipe = item.get("swipe_id")
            if (
                not isinstance(swipe, int)
                or isinstance(swipe, bool)
                or not 0 <= swipe < len(swipes)
            ):
                raise ImportInvalid(_l("Строка %(n)s: «swipe_id» вне списка «swipes»", n=number))
            entry["swipes"] = [_text(s, role, parsed) for s in swipes]
            entry["swipe"] = swipe
            entry["text"] = entry["swipes"][swipe] or text
        parsed.messages.append(entry)
        if len(parsed.messages) > IMPORT_MAX_MESSAGES:
            raise ImportInvalid(_l("Файл: больше %(n)s сообщений", n=IMPORT_MAX_MESSAGES))
    if not parsed.messages:
        raise ImportInvalid(_l("Файл: в нём нет ни одного сообщения"))
    return parsed


def import_dialog(
    session: Session, user_id: int, character: Character, parsed: Parsed, now: datetime
) -> Dialog:
    """A new dialog with these messages (one transaction: the caller commits)."""
    title = f"{parsed.character_name or character.name} (импорт)"[: service.TITLE_MAX]
    dialog = Dialog(
        user_id=user_id,
        character_id=character.id,
        character_version=character.version,
        title=title,
        message_count=len(parsed.messages),
        created_at=now,
        updated_at=now,
    )
    session.add(dialog)
    session.flush()
    session.execute(
        insert(Message),
        [
            {
                "dialog_id": dialog.id,
                "role": entry["role"],
                "text": entry["text"],
                "status": Status.READ if entry["role"] == Role.USER else Status.DONE,
                "created_at": entry["at"] or now,
                "swipe": entry.get("swipe", 0),
                "swipes": len(entry.get("swipes") or ()) or 1,
            }
            for entry in parsed.messages
        ],
    )
    # Inserted in order: the ids, ascending, line up with the file's messages.
    ids = session.scalars(
        select(Message.id).where(Message.dialog_id == dialog.id).order_by(Message.id)
    ).all()
    swipes = [
        {
            "message_id": message_id,
            "position": position,
            "text": text,
            "status": Status.DONE,
            "created_at": entry["at"] or now,
        }
        for message_id, entry in zip(ids, parsed.messages, strict=True)
        for position, text in enumerate(entry.get("swipes") or ())
    ]
    if swipes:
        session.execute(insert(Swipe), swipes)
    return dialog
