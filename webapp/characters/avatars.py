"""Character avatars: decoded to prove they are images, re-encoded as WebP 256 and 64 px square,
with every piece of metadata left behind. Files live under instance/avatars/."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError

MAX_BYTES = 2 * 1024 * 1024
FORMATS = {"PNG", "JPEG", "WEBP"}
SIZES = (256, 64)
# A small file can still claim huge dimensions (decompression bombs): 4096 x 4096 decodes to
# 64 MB of RGBA at most, checked before a pixel is decoded.
MAX_PIXELS = 4096 * 4096


class AvatarInvalid(ValueError):
    pass


def process(data: bytes, max_bytes: int = MAX_BYTES) -> dict[int, bytes]:
    """{size: webp bytes} for a valid PNG/JPEG/WebP of at most 2 MB (a card's picture may be
    larger); AvatarInvalid otherwise."""
    if len(data) > max_bytes:
        raise AvatarInvalid(_l("Аватар: файл больше %(n)s МБ", n=max_bytes >> 20))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            if kind not in FORMATS:
                raise AvatarInvalid(_l("Аватар: нужен PNG, JPEG или WebP"))
            if probe.width * probe.height > MAX_PIXELS:
                raise AvatarInvalid(_l("Аватар: слишком большое разрешение"))
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            picture = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    except AvatarInvalid:
        raise
    except Image.DecompressionBombError:
        raise AvatarInvalid(_l("Аватар: слишком большое разрешение")) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise AvatarInvalid(_l("Аватар: файл не читается как изображение")) from None
    side = min(picture.size)
    left, top = (picture.width - side) // 2, (picture.height - side) // 2
    square = picture.crop((left, top, left + side, top + side))
    encoded = {}
    for size in SIZES:
        out = io.BytesIO()
        resized = square.resize((size, size), Image.Resampling.LANCZOS)
        # A new image from raw pixels only: no EXIF, ICC or text chunks survive the re-encode.
        clean = Image.frombytes(resized.mode, resized.size, resized.tobytes())
        clean.save(out, "WEBP", quality=82, method=4)
        encoded[size] = out.getvalue()
    return encoded


def store(directory: Path, owner: int | str, encoded: dict[int, bytes]) -> str:
    """Write the files (atomically) and return the avatar's name (stem): the owner (a character's
    id, or "p<id>" for a person's persona) and the picture's digest."""
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(encoded[SIZES[0]]).hexdigest()[:12]
    name = f"{owner}-{digest}"
    for size, blob in encoded.items():
        write_atomic(directory / f"{name}-{size}.webp", blob)
    return name


def write_atomic(path: Path, blob: bytes) -> None:
    """A whole file or none: readers never see half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        handle.write(blob)
    os.replace(tmp, path)


def directory(instance_path: Path) -> Path:
    return instance_path / "avatars"


def read(directory: Path, name: str | None, size: int = SIZES[0]) -> bytes | None:
    """The stored WebP of an avatar, or None when the character has none."""
    path = directory / f"{name}-{size}.webp"
    return path.read_bytes() if name and path.exists() else None


def remove(directory: Path, name: str | None) -> None:
    if name:
        for size in SIZES:
            (directory / f"{name}-{size}.webp").unlink(missing_ok=True)
