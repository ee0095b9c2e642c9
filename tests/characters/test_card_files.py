"""Card files as they come: the development set of real community cards (CARDS_DIR, see
tests/characters/data/SOURCE.md), the committed synthetic fixtures, and hostile files."""

from __future__ import annotations

import base64
import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from tests.conftest import csrf_token
from webapp.characters import cardfile, cards
from webapp.characters.models import Character
from webapp.characters.story import Definition
from webapp.chat.context import Turn, build_prompt

DATA = Path(__file__).parent / "data"
CARDS = Path(
    os.environ.get("CARDS_DIR", Path(__file__).resolve().parents[3] / "shared" / "data" / "cards")
)
REAL = (
    sorted(p for p in CARDS.glob("*") if p.suffix in (".png", ".json", ".charx"))
    if CARDS.is_dir()
    else []
)
NOT_CARDS = {  # file -> why it is refused
    "neotavern_Hazel_avatar_comfyui_no_card.png": "в PNG нет карточки",
    "neotavern_Vesper_worldinfo.json": "это лорбук",
    "st_worldinfo_The_Long_Reclamation.json": "это лорбук",
}
needs_set = pytest.mark.skipif(not REAL, reason=f"the development card set is not at {CARDS}")


def upload(client, blob: bytes, name: str):
    token = csrf_token(client, "/manage/characters/import")
    return client.post(
        "/manage/characters/import",
        data={"csrf_token": token, "card": (io.BytesIO(blob), name)},
        content_type="multipart/form-data",
    )


def newest(db_session) -> Character:
    db_session.expire_all()
    return db_session.scalars(select(Character).order_by(Character.id.desc())).first()


def original_card(path: Path) -> dict:
    return cardfile.read(path.read_bytes()).card


def check_import_and_export(client, db_session, path: Path) -> Character:
    response = upload(client, path.read_bytes(), path.name)
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    character = newest(db_session)
    card = original_card(path)
    own = client.get(f"/manage/characters/{character.id}/card.json").json
    assert own == card  # lossless, in its own format
    kind = path.suffix.lstrip(".")
    body = client.get(f"/manage/characters/{character.id}/card.{kind}").get_data()
    if kind in ("png", "charx"):
        assert body == path.read_bytes()  # unchanged: the very file
    for target in ("v2", "v3"):
        other = client.get(f"/manage/characters/{character.id}/card.{target}.json").json
        assert other["spec"] == f"chara_card_{target}"
        assert other["data"]["name"] == cards.derived(card)["name"] or other["data"]["name"]
    return character


@needs_set
@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_every_real_card_imports_whole_and_exports_losslessly(client, login_as, db_session, path):
    login_as("manager")
    if path.name in NOT_CARDS:
        response = upload(client, path.read_bytes(), path.name)
        assert response.status_code == 422
        assert NOT_CARDS[path.name] in response.get_data(as_text=True)
        return
    character = check_import_and_export(client, db_session, path)
    card = original_card(path)
    data = card.get("data") if isinstance(card.get("data"), dict) else card
    description = data.get("description", data.get("char_persona", ""))
    assert character.definition == description.strip()
    assert len(character.description) <= 500
    if data.get("character_book"):
        assert character.lorebook == data["character_book"]
    # The prompt (what a scripted engine would echo) holds the fields, in order.
    messages, _ = build_prompt(
        Definition.of(character), [Turn(1, "user", "Привет")], user_name="Вася"
    )
    system = messages[0]["content"]
    positions = [
        system.find(text.strip()[:60].replace("{{char}}", character.nickname or character.name))
        for text in (description, data.get("personality") or "", data.get("scenario") or "")
        if text and text.strip() and "{{" not in text[:60].replace("{{char}}", "")
    ]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    assert messages[-1] == {"role": "user", "content": "Привет"} or data.get(
        "post_history_instructions"
    )
    if character.avatar is None:
        assert path.suffix == ".json" or "icon" not in json.dumps(data.get("assets", []))


@needs_set
def test_two_chara_chunks_the_first_is_taken_and_both_survive_an_edit(client, login_as, db_session):
    login_as("manager")
    path = CARDS / "chub_Savannah_two_chara_chunks.png"
    upload(client, path.read_bytes(), path.name)
    character = newest(db_session)
    character.personality = "Изменено здесь."
    db_session.commit()
    body = client.get(f"/manage/characters/{character.id}/card.png").get_data()
    texts = [
        json.loads(base64.b64decode(cardfile.text_chunk(kind, data)[1]))
        for kind, data in cardfile.chunks(body)
        if kind == b"tEXt" and data.startswith(b"chara\0")
    ]
    assert len(texts) == 2
    assert texts[0]["data"]["personality"] == "Изменено здесь."
    originals = [
        json.loads(base64.b64decode(cardfile.text_chunk(kind, data)[1]))
        for kind, data in cardfile.chunks(path.read_bytes())
        if kind == b"tEXt"
    ]
    assert texts[1] == originals[1]  # the creator's own chunk, untouched
    with Image.open(io.BytesIO(body)) as image:  # the card's picture, not a plain square
        assert image.size == (1248, 1728)


def test_committed_charx_keeps_its_assets_and_gives_an_avatar(client, login_as, db_session):
    login_as("manager")
    path = DATA / "synthetic_v3_many_assets.charx"
    check_import_and_export(client, db_session, path)
    character = newest(db_session)  # the requests ended the session the first one was in
    assert character.avatar is not None
    character.definition = "Другое описание."
    db_session.commit()
    body = client.get(f"/manage/characters/{character.id}/card.charx").get_data()
    with zipfile.ZipFile(io.BytesIO(body)) as archive, zipfile.ZipFile(path) as source:
        assert set(archive.namelist()) == set(source.namelist())
        assert json.loads(archive.read("card.json"))["data"]["description"] == "Другое описание."


def test_v3_json_in_a_chara_chunk_is_read_by_its_spec(client, login_as, db_session):
    login_as("manager")
    character = check_import_and_export(
        client, db_session, DATA / "synthetic_v3_json_in_chara_chunk.png"
    )
    assert character.lorebook and character.card["card"]["spec"] == "chara_card_v3"


# Hostile files: each is refused with a 422 in Russian, in bounded memory and time.


def png(chunks: list[tuple[bytes, bytes]], width=8, height=8) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * (3 * min(width, 64) + 1) * min(height, 64))
    body = [chunk(b"IHDR", header), *(chunk(k, d) for k, d in chunks), chunk(b"IDAT", idat)]
    return cardfile.PNG_SIGNATURE + b"".join(body) + chunk(b"IEND", b"")


def card_text(card: dict) -> bytes:
    return b"chara\0" + base64.b64encode(json.dumps(card).encode())


SMALL = {"spec": "chara_card_v2", "data": {"name": "Бомба", "description": "Тест."}}


def hostile_files() -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, a part of the expected message)"""
    bomb = zlib.compress(b"A" * (64 * 1024 * 1024), 9)  # 64 MB of zTXt from ~64 KB
    nested = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    zip_bomb = io.BytesIO()
    with zipfile.ZipFile(zip_bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("card.json", json.dumps(SMALL))
        archive.writestr("assets/big.bin", b"\0" * (200 * 1024 * 1024))
    return {
        "ztxt_bomb.png": (png([(b"zTXt", b"chara\0\0" + bomb)]), "больше 2 МБ"),
        "huge_picture.png": (png([(b"tEXt", card_text(SMALL))], 11000, 11000), "разрешение"),
        "giant_picture.png": (png([(b"tEXt", card_text(SMALL))], 30000, 30000), "разрешение"),
        "nested.json": (nested, "вложенность"),
        "zip_bomb.charx": (zip_bomb.getvalue(), "слишком большой объём"),
        "cut.png": (png([(b"tEXt", card_text(SMALL))])[:-30], "обрывается"),
        "garbage.png": (cardfile.PNG_SIGNATURE + b"\0\0\0\x10IHDR" + b"x", "обрывается"),
        "bad_base64.png": (png([(b"tEXt", b"chara\0!!!notbase64")]), "Файл карточки"),
    }


@pytest.mark.parametrize("name", sorted(hostile_files()))
def test_hostile_files_are_refused_clearly(client, login_as, db_session, name):
    login_as("manager")
    blob, message = hostile_files()[name]
    response = upload(client, blob, name)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db_session.scalar(select(Character).where(Character.name == "Бомба")) is None


PROBE = """
import resource, sys, time
from pathlib import Path


def status_mb(name):
    status = Path("/proc/self/status").read_text()
    line = next(ln for ln in status.splitlines() if ln.startswith(name))
    return int(line.split()[1]) / 1024


sys.path.insert(0, sys.argv[1])
from webapp import create_app
from webapp.characters import avatars, cardfile, cards
from webapp.characters.editor import CharacterInvalid
app = create_app()
with app.test_request_context():
    # 50 MB more address space than the process has now, and no more: any allocation past the
    # bound fails (MemoryError, a failed run) instead of hiding under an earlier, higher peak.
    room = int((status_mb("VmSize") + 50) * 1024 * 1024)
    resource.setrlimit(resource.RLIMIT_AS, (room, resource.getrlimit(resource.RLIMIT_AS)[1]))
    worst = 0.0
    for path in sorted(Path(sys.argv[2]).iterdir()):
        blob = path.read_bytes()
        began = time.perf_counter()
        try:
            read = cardfile.read(blob)
            cards.to_draft(read.card)
            if read.picture:
                avatars.process(read.picture, cardfile.MAX_PICTURE_BYTES)
        except (CharacterInvalid, avatars.AvatarInvalid):
            pass
        else:
            raise SystemExit(path.name + " was accepted")
        worst = max(worst, time.perf_counter() - began)
        del blob
    print(f"{worst:.3f}")
"""


def test_hostile_files_cost_bounded_memory_and_time(tmp_path):
    """In a process of its own that reads the files from disk with 50 MB of address space to
    spare (RLIMIT_AS): no file may need more, nor take a second."""
    for name, (blob, _) in hostile_files().items():
        (tmp_path / name).write_bytes(blob)
    root = str(Path(__file__).resolve().parents[2])
    result = subprocess.run(
        [sys.executable, "-c", PROBE, root, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    worst = float(result.stdout.split()[-1])
    assert worst < 1.0, f"a hostile file took {worst} s"


def world_info_upload(client, character_id: int, blob: bytes):
    path = f"/manage/characters/{character_id}/lorebook"
    return client.post(
        f"{path}/world-info",
        data={"csrf_token": csrf_token(client, path), "world_info": (io.BytesIO(blob), "wi.json")},
        content_type="multipart/form-data",
    )


def test_world_info_entries_join_a_lorebook_and_activate(client, login_as, db_session):
    login_as("manager")
    upload(client, json.dumps(SMALL).encode(), "small.json")
    character = newest(db_session)
    world = {
        "entries": {
            "0": {"uid": 0, "key": ["Каскад"], "keysecondary": [], "comment": "Каскад",
                  "content": "В 2042 году рухнули сети.", "position": 0, "order": 5,
                  "disable": False, "selectiveLogic": 0, "excludeRecursion": False},
            "1": {"uid": 1, "key": ["пустошь"], "content": "Пустошь.", "position": 4, "depth": 2},
        }
    }  # fmt: skip
    response = world_info_upload(client, character.id, json.dumps(world).encode())
    assert response.status_code == 302
    character = newest(db_session)
    assert len(character.lorebook["entries"]) == 2
    messages, _ = build_prompt(
        Definition.of(character), [Turn(1, "user", "Что был за каскад? Пустошь?")], user_name="В"
    )
    assert "В 2042 году рухнули сети." in messages[0]["content"]
    assert {"role": "system", "content": "Пустошь."} in messages
    refused = world_info_upload(client, character.id, b'{"name": "not a world"}')
    assert refused.status_code == 302
    assert "нет записей World Info" in client.get(refused.location).get_data(as_text=True)


@needs_set
@pytest.mark.parametrize(
    "name", ["neotavern_Vesper_worldinfo.json", "st_worldinfo_The_Long_Reclamation.json"]
)
def test_real_world_info_files_join_a_lorebook(client, login_as, db_session, name):
    login_as("manager")
    upload(client, json.dumps(SMALL).encode(), "small.json")
    character = newest(db_session)
    world = json.loads((CARDS / name).read_text(encoding="utf-8"))
    assert world_info_upload(client, character.id, (CARDS / name).read_bytes()).status_code == 302
    entries = newest(db_session).lorebook["entries"]
    assert len(entries) == len(world["entries"]) and all(e["content"] for e in entries)


@needs_set
@pytest.mark.parametrize(
    "name", ["chub_Comely_Vigorous_two_chara_chunks.png", "tavernai_Saul_Goodman_v1.png"]
)
def test_a_persons_message_sends_the_whole_card_to_the_model(client, login_as, db_session, name):
    """What the node receives for a reply in a person's dialog (the queued job's messages):
    the card's parts in the story-string order, the examples as turns, the lorebook entry the
    message names, the message, the post-history instructions last."""
    from tests.queued import waiting_jobs

    login_as("manager")
    path = CARDS / name
    upload(client, path.read_bytes(), path.name)
    character = newest(db_session)
    character.state = "published"
    db_session.commit()
    data = original_card(path).get("data") or original_card(path)
    entries = (data.get("character_book") or {}).get("entries") or []
    named = next(
        (e for e in entries if e.get("keys") and e["keys"][0].strip() and not e.get("selective")),
        None,
    )
    text = f"Расскажи про {named['keys'][0]}" if named else "Привет"
    token = csrf_token(client, f"/characters/{character.id}")
    dialog = client.post(f"/characters/{character.id}/dialogs", data={"csrf_token": token})
    dialog_id = int(dialog.headers["Location"].rsplit("/", 1)[1])
    token = csrf_token(client, f"/chat/{dialog_id}")
    client.post(f"/chat/{dialog_id}/messages", data={"message": text, "csrf_token": token})
    messages = waiting_jobs(db_session)[-1]["messages"]
    system = messages[0]["content"]
    parts = [
        data.get(key) or "" for key in ("system_prompt", "description", "personality", "scenario")
    ]
    places = [
        system.find(part.strip()[:40]) for part in parts if part.strip() and "{{" not in part[:40]
    ]
    assert -1 not in places and places == sorted(places)
    assert any(m["role"] == "assistant" for m in messages[1:-2])  # examples and greeting
    user_turns = [m for m in messages if m["role"] == "user"]
    assert user_turns[-1]["content"] == text
    if named:  # it, or what outranked it within the book's token budget, is in the prompt
        sent = "\n".join(m["content"] for m in messages)
        assert any(e["content"].strip()[:40] in sent for e in entries if e.get("content"))
    after = data.get("post_history_instructions")
    if after:
        assert messages[-1]["role"] == "system" and after.strip()[:30] in messages[-1]["content"]
    assert "{{char}}" not in json.dumps(messages, ensure_ascii=False)
