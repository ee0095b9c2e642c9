"""Reading a community card file without trusting it: JSON, PNG (the card in a `ccv3` or `chara`
text chunk) and CHARX (a zip with card.json and assets).

A PNG is read by walking its chunks, never by decoding the image: only the card chunks are
decoded (with a bound on what a compressed one may grow to), unknown chunks of any size are
skipped, and the picture is handed on as a small PNG of the image chunks alone, whose size the
avatar code checks before it decodes a pixel. A CHARX is checked for entry count, sizes and
compression ratio before anything is inflated. Every refusal is a CardInvalid with a Russian
message naming the file field; nothing here raises anything else for a hostile file.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from webapp.characters.editor import CharacterInvalid

MAX_FILE_BYTES = 16 * 1024 * 1024  # an upload; what is read of it has its own limits below
MAX_CARD_BYTES = 2 * 1024 * 1024  # the card JSON itself
MAX_JSON_DEPTH = 64
MAX_PICTURE_BYTES = 12 * 1024 * 1024  # the image chunks (or a CHARX icon) taken for the avatar
MAX_CHARX_ENTRIES = 500
MAX_CHARX_BYTES = 64 * 1024 * 1024  # all entries inflated
MAX_CHARX_RATIO = 200  # inflated / compressed, per entry
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CARD_KEYWORDS = ("ccv3", "chara")  # the V3 chunk wins when both are there
IMAGE_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"gAMA", b"sRGB", b"cHRM", b"sBIT", b"IDAT", b"IEND"}


class CardInvalid(CharacterInvalid):
    def __init__(self, message: Any) -> None:
        super().__init__({"file": message})


@dataclass
class CardFile:
    card: dict[str, Any]
    kind: str  # "json" | "png" | "charx"
    picture: bytes | None = None  # an image for the avatar: PNG chunks or the CHARX icon
    notes: list[str] = field(default_factory=list)  # what was chosen or skipped, for people


def read(blob: bytes) -> CardFile:
    """The card in a file's bytes; CardInvalid for anything that is not one."""
    if len(blob) > MAX_FILE_BYTES:
        raise CardInvalid(_l("Файл карточки: больше %(n)s МБ", n=MAX_FILE_BYTES >> 20))
    if blob.startswith(PNG_SIGNATURE):
        return _read_png(blob)
    if blob.startswith(b"PK\x03\x04"):
        return _read_charx(blob)
    return CardFile(parse_json(blob), "json")


def parse_json(blob: bytes) -> dict[str, Any]:
    if len(blob) > MAX_CARD_BYTES:
        raise CardInvalid(_l("Файл карточки: данные карточки больше 2 МБ"))
    try:
        card = json.loads(blob.decode("utf-8-sig"))
    except RecursionError:
        raise CardInvalid(_l("Файл карточки: слишком глубокая вложенность JSON")) from None
    except (UnicodeDecodeError, ValueError):
        raise CardInvalid(_l("Файл карточки: это не JSON, не PNG и не CHARX с карточкой")) from None
    if not isinstance(card, dict):
        raise CardInvalid(_l("Файл карточки: ожидался объект JSON"))
    if _depth(card) > MAX_JSON_DEPTH:
        raise CardInvalid(_l("Файл карточки: слишком глубокая вложенность JSON"))
    return card


def _depth(value: Any) -> int:
    deepest, level = 0, [value]
    while level:
        deepest += 1
        if deepest > MAX_JSON_DEPTH:
            return deepest
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
    return deepest


def chunks(blob: bytes):
    """(type, data) of every PNG chunk, by walking lengths; CardInvalid when cut short."""
    position = len(PNG_SIGNATURE)
    while position < len(blob):
        if position + 12 > len(blob):
            raise CardInvalid(_l("Файл карточки: PNG обрывается на середине"))
        (length,) = struct.unpack(">I", blob[position : position + 4])
        kind = blob[position + 4 : position + 8]
        end = position + 12 + length
        if end > len(blob):
            raise CardInvalid(_l("Файл карточки: PNG обрывается на середине"))
        yield kind, blob[position + 8 : position + 8 + length]
        position = end
        if kind == b"IEND":
            return


def text_chunk(kind: bytes, data: bytes) -> tuple[str, bytes]:
    """(keyword, text) of a tEXt/zTXt/iTXt chunk, a compressed one inflated within the bound of
    a card: called for card chunks only."""
    keyword, _, rest = data.partition(b"\0")
    name = keyword.decode("latin-1")
    if kind == b"tEXt":
        return name, rest
    if kind == b"zTXt":
        return name, _inflate(rest[1:])
    # iTXt: compression flag, method, language\0, translated keyword\0, text
    flag = rest[:1]
    _, _, rest = rest[2:].partition(b"\0")
    _, _, text = rest.partition(b"\0")
    return name, _inflate(text) if flag == b"\x01" else text


def _inflate(data: bytes) -> bytes:
    limit = MAX_CARD_BYTES * 4 // 3 + 16  # base64 of the largest card we read
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit)
    except zlib.error:
        raise CardInvalid(_l("Файл карточки: повреждённые сжатые данные в PNG")) from None
    if inflater.unconsumed_tail:
        raise CardInvalid(_l("Файл карточки: данные карточки больше 2 МБ"))
    return out


def _read_png(blob: bytes) -> CardFile:
    found: dict[str, list[bytes]] = {}
    picture: list[bytes] = []
    picture_size = 0
    for kind, data in chunks(blob):
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            keyword = data.partition(b"\0")[0].decode("latin-1")
            if keyword in CARD_KEYWORDS:
                found.setdefault(keyword, []).append(text_chunk(kind, data)[1])
        elif kind in IMAGE_CHUNKS:
            picture_size += len(data)
            if picture_size <= MAX_PICTURE_BYTES:
                picture.append(_chunk(kind, data))
    keyword = next((k for k in CARD_KEYWORDS if k in found), None)
    if keyword is None:
        raise CardInvalid(_l("Файл карточки: в PNG нет карточки персонажа"))
    try:
        card = parse_json(base64.b64decode(found[keyword][0], validate=False))
    except (binascii.Error, ValueError):
        raise CardInvalid(_l("Файл карточки: повреждённые данные в PNG")) from None
    notes = []
    if len(found[keyword]) > 1:
        notes.append(
            _l("В PNG несколько блоков «%(key)s»: взят первый, остальные сохранены", key=keyword)
        )
    if picture_size > MAX_PICTURE_BYTES:
        notes.append(_l("Картинка карточки больше 12 МБ: аватар не взят"))
        picture = []
    image = PNG_SIGNATURE + b"".join(picture) if picture else None
    return CardFile(card, "png", image, notes)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _read_charx(blob: bytes) -> CardFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise CardInvalid(_l("Файл карточки: архив CHARX не читается")) from None
    if len(entries) > MAX_CHARX_ENTRIES:
        raise CardInvalid(_l("Файл карточки: в CHARX больше %(n)s файлов", n=MAX_CHARX_ENTRIES))
    if sum(entry.file_size for entry in entries) > MAX_CHARX_BYTES or any(
        entry.file_size > MAX_CHARX_RATIO * max(entry.compress_size, 1) for entry in entries
    ):
        raise CardInvalid(_l("Файл карточки: CHARX распаковывается в слишком большой объём"))
    names = {entry.filename: entry for entry in entries}
    if "card.json" not in names:
        raise CardInvalid(_l("Файл карточки: в CHARX нет card.json"))
    card = parse_json(_member(archive, names["card.json"], MAX_CARD_BYTES))
    picture = None
    for uri in icon_uris(card):
        entry = names.get(uri)
        if entry is not None:
            picture = _member(archive, entry, MAX_PICTURE_BYTES)
            break
    return CardFile(card, "charx", picture)


def _member(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, limit: int) -> bytes:
    """An entry's bytes, never more than `limit` whatever its header claims."""
    try:
        with archive.open(entry) as handle:
            data = handle.read(limit + 1)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
        raise CardInvalid(_l("Файл карточки: архив CHARX повреждён")) from None
    if len(data) > limit:
        raise CardInvalid(_l("Файл карточки: файл в CHARX слишком большой"))
    return data


def icon_uris(card: dict[str, Any]) -> list[str]:
    """Zip paths of a V3 card's icon assets, the one named "main" first."""
    data = card.get("data") if isinstance(card.get("data"), dict) else {}
    assets = data.get("assets") if isinstance(data.get("assets"), list) else []
    icons = [
        asset
        for asset in assets
        if isinstance(asset, dict)
        and asset.get("type") == "icon"
        and isinstance(asset.get("uri"), str)
    ]
    icons.sort(key=lambda asset: asset.get("name") != "main")
    paths = []
    for asset in icons:
        for prefix in ("embeded://", "embedded://"):
            if asset["uri"].startswith(prefix):
                paths.append(asset["uri"][len(prefix) :])
    return paths


def replace_card_chunks(original: bytes, cards: dict[str, dict[str, Any]]) -> bytes:
    """The original PNG with its card chunks rewritten (each keyword in place of its first chunk,
    later ones of that keyword kept as they were) and every other chunk untouched."""
    out = [PNG_SIGNATURE]
    written: set[str] = set()
    for kind, data in chunks(original):
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            keyword = data.partition(b"\0")[0].decode("latin-1")
            if keyword in cards and keyword not in written:
                out.append(text_record(keyword, cards[keyword]))
                written.add(keyword)
                continue
        if kind == b"IEND":
            out += [text_record(k, card) for k, card in cards.items() if k not in written]
        out.append(_chunk(kind, data))
    return b"".join(out)


def text_record(keyword: str, card: dict[str, Any]) -> bytes:
    payload = base64.b64encode(json.dumps(card, ensure_ascii=False).encode())
    return _chunk(b"tEXt", keyword.encode("latin-1") + b"\0" + payload)


def card_chunks(original: bytes) -> dict[str, dict[str, Any]]:
    """The first card chunk of each keyword in a PNG, decoded."""
    found: dict[str, dict[str, Any]] = {}
    for kind, data in chunks(original):
        keyword = data.partition(b"\0")[0].decode("latin-1")
        textual = kind in (b"tEXt", b"zTXt", b"iTXt")
        if textual and keyword in CARD_KEYWORDS and keyword not in found:
            found[keyword] = parse_json(base64.b64decode(text_chunk(kind, data)[1]))
    return found
