import io

import pytest
from PIL import Image

from webapp.characters.avatars import MAX_BYTES, AvatarInvalid, process


def picture(kind: str, size=(300, 200), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, kind, **save)
    return out.getvalue()


def test_png_becomes_square_webp_at_256_and_64_without_metadata():
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    encoded = process(picture("JPEG", exif=exif.tobytes()))
    for size, blob in encoded.items():
        with Image.open(io.BytesIO(blob)) as image:
            assert image.format == "WEBP" and image.size == (size, size)
            assert (
                not image.getexif() and "exif" not in image.info and "icc_profile" not in image.info
            )
    assert set(encoded) == {256, 64}


@pytest.mark.parametrize("kind", ["PNG", "WEBP"])
def test_png_and_webp_are_accepted(kind):
    assert set(process(picture(kind))) == {256, 64}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (picture("GIF"), "PNG, JPEG или WebP"),
        (b"not an image at all", "не читается"),
        (picture("PNG")[:60], "не читается"),
        (b"\x89PNG" + b"0" * MAX_BYTES, "больше 2 МБ"),
    ],
)
def test_anything_else_is_refused_with_a_reason(data, message):
    with pytest.raises(AvatarInvalid, match=message):
        process(data)
