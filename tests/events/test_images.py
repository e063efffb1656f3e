"""An event's picture: checked and resized with Pillow, stored by the app, served with caching
headers; a placeholder where there is none; anything that is not a picture refused."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from redcard.events import images
from redcard.kit import time as clock
from redcard.models import Event, EventImage, Role
from tests.fixtures.factories import count, login, make_event, new_operator, new_user

CSRF = "csrf-token-for-tests"
HTML = {"accept": "text/html"}


def picture(size: tuple[int, int], fmt: str = "JPEG", mode: str = "RGB", **save: object) -> bytes:
    """A picture of `size`: red on the left half, blue on the right (transparent, if RGBA)."""
    image = Image.new(mode, size, (200, 0, 0, 255) if mode == "RGBA" else (200, 0, 0))
    right = (0, 0, 200, 0) if mode == "RGBA" else (0, 0, 200)
    image.paste(Image.new(mode, (size[0] - size[0] // 2, size[1]), right), (size[0] // 2, 0))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# -- resizing ---------------------------------------------------------------------------------
def test_a_large_photo_is_fitted_within_1200_px_as_jpeg():
    resized = images.resize(picture((4000, 3000), quality=95))
    assert (resized.width, resized.height) == (1200, 900)
    image = opened(resized.data)
    assert (image.format, image.size, image.mode) == ("JPEG", (1200, 900), "RGB")
    assert resized.content_type == "image/jpeg"


def test_a_small_picture_keeps_its_size():
    resized = images.resize(picture((640, 360), "PNG"))
    assert opened(resized.data).size == (640, 360)


def test_a_phone_photo_is_turned_upright_and_loses_its_location():
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was held sideways, rotate 90° to view
    exif[0x8825] = {2: (31.0, 13.0, 0.0)}  # GPS latitude
    resized = images.resize(picture((1600, 1200), exif=exif.tobytes()))
    image = opened(resized.data)
    assert image.size == (900, 1200)  # portrait, as it was seen
    assert not image.getexif()  # no orientation, no GPS: nothing of the camera's is published


def test_transparency_becomes_white_not_black():
    resized = images.resize(picture((400, 200), "PNG", mode="RGBA"))
    r, g, b = opened(resized.data).convert("RGB").getpixel((350, 100))
    assert min(r, g, b) > 240


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (b"%PDF-1.7 not a picture", images.NOT_AN_IMAGE),
        (b"", images.NOT_AN_IMAGE),
        (picture((800, 600))[:400], images.NOT_AN_IMAGE),  # cut off in the middle
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", images.NOT_AN_IMAGE),
        (picture((64, 64), "BMP"), images.NOT_AN_IMAGE),  # a decoder we do not open
        (picture((8000, 6000), "PNG"), images.TOO_MANY_PIXELS),  # 48 MP, a small file
        (b"\xff\xd8" + b"\0" * images.MAX_UPLOAD_BYTES, images.TOO_LARGE),
    ],
)
def test_what_is_not_a_usable_picture_is_refused_with_a_reason(upload, message):
    with pytest.raises(images.ImageRefused) as refused:
        images.resize(upload)
    assert refused.value.message == message
    assert refused.value.status_code == (413 if message == images.TOO_LARGE else 422)


# -- the pages --------------------------------------------------------------------------------
def _form(**fields: str) -> dict[str, str]:
    start = (clock.utc_now() + timedelta(days=7)).astimezone().strftime("%Y-%m-%dT19:00")
    return {"csrf": CSRF, "venue": "滨江步道", "starts_at": start, "capacity": "30"} | fields


async def test_an_uploaded_picture_is_resized_stored_and_served(client, db):
    operator = HTML | await login(client, await new_operator(db))
    client.cookies.set("redcard_csrf", CSRF)
    photo = picture((3000, 2000), quality=95)
    created = await client.post(
        "/manage/events",
        data=_form(title="夜跑"),
        files={"image": ("night-run.jpg", photo, "image/jpeg")},
        headers=operator,
    )
    assert created.status_code == 303, created.text
    async with db.session_scope() as session:
        event = (await session.scalars(select(Event))).one()
        stored = await session.get_one(EventImage, event.id)
    assert (stored.width, stored.height) == (1200, 800)
    assert stored.size_bytes == len(stored.data) < len(photo)
    assert event.image_version == stored.digest[:16]

    member_page = await client.get(f"/events/{event.id}", headers=HTML)
    src = f"/events/{event.id}/image?v={event.image_version}"
    assert f'src="{src}"' in member_page.text
    assert f'src="{src}"' in (await client.get("/events", headers=HTML)).text

    served = await client.get(src)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert opened(served.content).size == (1200, 800)
    unversioned = await client.get(f"/events/{event.id}/image")
    assert unversioned.headers["cache-control"] == "public, max-age=300"
    again = await client.get(src, headers={"If-None-Match": served.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""

    # replaced: a new version, a new URL; removed: the placeholder, and no picture to serve
    replaced = await client.post(
        f"/manage/events/{event.id}/image",
        data={"csrf": CSRF},
        files={"image": ("square.png", picture((500, 500), "PNG"), "image/png")},
        headers=operator,
    )
    assert replaced.status_code == 303
    page = await client.get(f"/manage/events/{event.id}", headers=operator)
    version = re.search(rf"/events/{event.id}/image\?v=(\w+)", page.text).group(1)
    assert version != event.image_version
    assert opened((await client.get(f"/events/{event.id}/image")).content).size == (500, 500)
    removed = await client.post(
        f"/manage/events/{event.id}/image", data={"csrf": CSRF, "remove": "yes"}, headers=operator
    )
    assert removed.status_code == 303
    assert (await client.get(f"/events/{event.id}/image")).status_code == 404
    page = await client.get(f"/events/{event.id}", headers=HTML)
    assert 'class="event-image placeholder"' in page.text
    assert "/image?v=" not in page.text
    assert await count(db, EventImage) == 0


async def test_a_file_that_is_not_a_picture_is_refused_and_changes_nothing(client, db):
    operator = HTML | await login(client, await new_operator(db))
    client.cookies.set("redcard_csrf", CSRF)
    refused = await client.post(
        "/manage/events",
        data=_form(title="读书会"),
        files={"image": ("notes.pdf", b"%PDF-1.7", "image/jpeg")},  # its type is a lie
        headers=operator,
    )
    assert refused.status_code == 422
    assert "无法识别该文件的图片内容，请选择 JPEG、PNG、WebP 或 GIF 图片" in refused.text
    assert 'value="读书会"' in refused.text  # the form keeps what was typed
    assert await count(db, Event) == 0

    no_file = await client.post(
        "/manage/events",
        data=_form(title="读书会"),
        files={"image": ("", b"", "application/octet-stream")},  # the field left empty
        headers=operator,
    )
    assert no_file.status_code == 303
    async with db.session_scope() as session:
        event = (await session.scalars(select(Event))).one()
    assert event.image_version is None

    too_big = await client.post(
        f"/manage/events/{event.id}/image",
        data={"csrf": CSRF},
        files={"image": ("huge.jpg", b"\xff\xd8" + b"\0" * images.MAX_UPLOAD_BYTES, "image/jpeg")},
        headers=operator,
    )
    assert too_big.status_code == 413
    assert "图片超过 8 MB，请选择更小的图片" in too_big.text
    far_too_big = await client.post(  # refused by its length, before its body is read
        f"/manage/events/{event.id}/image",
        data={"csrf": CSRF},
        files={"image": ("huge.jpg", b"\0" * (images.MAX_UPLOAD_BYTES + 100_000), "image/jpeg")},
        headers=operator,
    )
    assert far_too_big.status_code == 413
    assert "图片超过 8 MB，请选择更小的图片" in far_too_big.text
    assert await count(db, EventImage) == 0


async def test_only_those_who_manage_an_event_give_it_a_picture(client, db):
    event = await make_event(db)
    staff = HTML | await login(client, await new_user(db, role=Role.merchant_staff, name="店员"))
    client.cookies.set("redcard_csrf", CSRF)
    refused = await client.post(
        f"/manage/events/{event.id}/image",
        data={"csrf": CSRF},
        files={"image": ("a.png", picture((100, 100), "PNG"), "image/png")},
        headers=staff,
    )
    assert refused.status_code == 404
    assert await count(db, EventImage) == 0
    assert (await client.get(f"/events/{event.id}/image")).status_code == 404
    listing = await client.get("/events", headers=HTML)
    assert f'style="--hue: {event.id.int % 360}"' in listing.text  # the placeholder
