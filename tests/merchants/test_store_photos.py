"""A store's photos: the owner uploads up to six (checked and resized like every picture),
deletes them, and each is served to anyone with caching headers; a file that is not a picture
or is too large is refused with the reason; the API does the same once per Idempotency-Key."""

from __future__ import annotations

import asyncio
import io
import re
import uuid

import pytest
from PIL import Image
from sqlalchemy import select

from redcard.kit import images
from redcard.models import Store, StorePhoto
from tests.fixtures.factories import count, idem, login, new_shop

CSRF = "csrf-token-for-tests"
HTML = {"accept": "text/html"}


def picture(
    size: tuple[int, int], fmt: str = "PNG", colour: tuple[int, int, int] = (200, 0, 0)
) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


def form(key: str | None = None) -> dict[str, str]:
    """A posted photo form: the CSRF token and the rendered form's idempotency key."""
    return {"csrf": CSRF, "idempotency_key": key or f"form-{uuid.uuid4().hex}"}


async def versions(db, store_id) -> tuple[str | None, list[tuple[int, str]]]:
    async with db.session_scope() as session:
        store = await session.get_one(Store, store_id)
        rows = await session.execute(
            select(StorePhoto.position, StorePhoto.digest)
            .where(StorePhoto.store_id == store_id)
            .order_by(StorePhoto.position)
        )
        return store.photos_version, [(p, d) for p, d in rows]


async def test_the_owner_uploads_sees_and_deletes_photos_served_with_caching(client, db):
    shop = await new_shop(db)
    owner = HTML | await login(client, shop.owner)
    client.cookies.set("redcard_csrf", CSRF)
    base = f"/merchant/stores/{shop.store.id}"

    sent = await client.post(
        f"{base}/photos",
        data=form(),
        files={"photo": ("front.png", picture((2400, 1600)), "image/png")},
        headers=owner,
    )
    assert sent.status_code == 303, sent.text
    first_version, rows = await versions(db, shop.store.id)
    assert first_version is not None
    assert [p for p, _ in rows] == [0]
    webp = picture((300, 300), "WEBP", (0, 0, 200))
    key = f"form-{uuid.uuid4().hex}"
    second = await client.post(
        f"{base}/photos",
        data=form(key),
        files={"photo": ("inside.webp", webp, "image/webp")},
        headers=owner,
    )
    assert second.status_code == 303
    second_version, rows = await versions(db, shop.store.id)
    assert second_version != first_version
    assert [p for p, _ in rows] == [0, 1]  # a new photo goes last

    tapped_twice = await client.post(  # the same form sent again: uploads nothing more
        f"{base}/photos",
        data=form(key),
        files={"photo": ("inside.webp", webp, "image/webp")},
        headers=owner,
    )
    assert tapped_twice.status_code == 303
    assert len((await versions(db, shop.store.id))[1]) == 2
    page = await client.get(f"{base}/edit", headers=owner)
    assert 'name="idempotency_key" value="' in page.text
    srcs = re.findall(rf'src="(/stores/{shop.store.id}/photos/\d+\?v=\w+)"', page.text)
    assert len(srcs) == 2
    assert "2/6" in page.text
    served = await client.get(srcs[0])  # public: no login needed
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert Image.open(io.BytesIO(served.content)).size == (1200, 800)
    unversioned = await client.get(f"/stores/{shop.store.id}/photos/0")
    assert unversioned.headers["cache-control"] == "public, max-age=300"
    again = await client.get(srcs[0], headers={"If-None-Match": served.headers["etag"]})
    assert again.status_code == 304

    deleted = await client.post(f"{base}/photos/0/delete", data={"csrf": CSRF}, headers=owner)
    assert deleted.status_code == 303
    twice = await client.post(f"{base}/photos/0/delete", data={"csrf": CSRF}, headers=owner)
    assert twice.status_code == 303  # a second tap: the photo is gone already
    third_version, rows = await versions(db, shop.store.id)
    assert third_version not in (first_version, second_version)
    assert [p for p, _ in rows] == [1]
    assert (await client.get(f"/stores/{shop.store.id}/photos/0")).status_code == 404


async def test_a_file_that_is_not_a_picture_or_too_large_is_refused_clearly(client, db):
    shop = await new_shop(db)
    owner = HTML | await login(client, shop.owner)
    client.cookies.set("redcard_csrf", CSRF)
    url = f"/merchant/stores/{shop.store.id}/photos"
    pdf = await client.post(
        url,
        data=form(),
        files={"photo": ("menu.pdf", b"%PDF-1.7 menu", "image/jpeg")},
        headers=owner,
    )
    assert pdf.status_code == 422
    assert "无法识别该文件的图片内容，请选择 JPEG、PNG、WebP 或 GIF 图片" in pdf.text
    huge = await client.post(
        url,
        data=form(),
        files={"photo": ("huge.jpg", b"\xff\xd8" + b"\0" * images.MAX_UPLOAD_BYTES, "image/jpeg")},
        headers=owner,
    )
    assert huge.status_code == 413
    assert "图片超过 8 MB，请选择更小的图片" in huge.text
    none = await client.post(
        url,
        data=form(),
        files={"photo": ("", b"", "application/octet-stream")},
        headers=owner,
    )
    assert none.status_code == 422
    assert await count(db, StorePhoto) == 0
    assert (await versions(db, shop.store.id))[0] is None


async def test_staff_and_other_merchants_cannot_change_photos(client, db):
    shop = await new_shop(db)
    other = await new_shop(db, name="隔壁")
    client.cookies.set("redcard_csrf", CSRF)
    for user in (shop.staff[0], other.owner):
        headers = HTML | await login(client, user)
        sent = await client.post(
            f"/merchant/stores/{shop.store.id}/photos",
            data=form(),
            files={"photo": ("a.png", picture((100, 100)), "image/png")},
            headers=headers,
        )
        assert sent.status_code == 404
        api = await login(client, user)
        posted = await client.post(
            f"/api/v1/merchant/stores/{shop.store.id}/photos",
            files={"photo": ("a.png", picture((100, 100)), "image/png")},
            headers=api | idem(),
        )
        assert posted.status_code == 404
    assert await count(db, StorePhoto) == 0


async def test_the_api_adds_photos_once_per_key_up_to_six_and_deletes_them(client, db):
    shop = await new_shop(db)
    api = await login(client, shop.owner)
    url = f"/api/v1/merchant/stores/{shop.store.id}/photos"
    key = idem()
    first = await client.post(
        url, files={"photo": ("a.png", picture((640, 480)), "image/png")}, headers=api | key
    )
    assert first.status_code == 201, first.text
    assert first.json()["position"] == 0
    assert (first.json()["width"], first.json()["height"]) == (640, 480)
    replay = await client.post(  # a retry: another multipart boundary, the same picture
        url, files={"photo": ("a.png", picture((640, 480)), "image/png")}, headers=api | key
    )
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert await count(db, StorePhoto) == 1
    other = await client.post(
        url, files={"photo": ("b.png", picture((64, 64)), "image/png")}, headers=api | key
    )
    assert other.status_code == 409  # the key was used for another picture

    for n in range(1, 6):
        added = await client.post(
            url,
            files={"photo": (f"{n}.png", picture((64, 64), colour=(n * 40, 0, 0)), "image/png")},
            headers=api | idem(),
        )
        assert added.status_code == 201
        assert added.json()["position"] == n
    seventh = await client.post(
        url, files={"photo": ("7.png", picture((64, 64)), "image/png")}, headers=api | idem()
    )
    assert seventh.status_code == 409
    assert "at most 6 photos" in seventh.text
    listed = await client.get(url, headers=api)
    assert [p["position"] for p in listed.json()] == [0, 1, 2, 3, 4, 5]
    assert (await client.get(listed.json()[2]["url"])).status_code == 200

    before = (await versions(db, shop.store.id))[0]
    gone = await client.delete(f"{url}/2", headers=api | idem())
    assert gone.status_code == 200
    assert gone.json()["photos_version"] == (await versions(db, shop.store.id))[0] != before
    assert (await client.delete(f"{url}/2", headers=api | idem())).status_code == 404
    bad = await client.post(
        url, files={"photo": ("x.gif", b"GIF89a broken", "image/gif")}, headers=api | idem()
    )
    assert bad.status_code == 422
    assert images.NOT_AN_IMAGE in bad.text
    assert await count(db, StorePhoto) == 5


@pytest.mark.postgres_only
async def test_two_uploads_at_once_never_make_a_seventh_photo(client, db):
    shop = await new_shop(db)
    api = await login(client, shop.owner)
    url = f"/api/v1/merchant/stores/{shop.store.id}/photos"
    for n in range(5):
        sent = await client.post(
            url, files={"photo": (f"{n}.png", picture((32, 32)), "image/png")}, headers=api | idem()
        )
        assert sent.status_code == 201
    results = await asyncio.gather(
        *(
            client.post(
                url,
                files={
                    "photo": (f"x{n}.png", picture((32, 32), colour=(0, n * 90, 0)), "image/png")
                },
                headers=api | idem(),
            )
            for n in range(3)
        )
    )
    assert sorted(r.status_code for r in results) == [201, 409, 409]
    assert await count(db, StorePhoto) == 6


async def test_a_photo_moves_earlier_and_the_first_is_the_cover(client, db):
    shop = await new_shop(db)
    api = await login(client, shop.owner)
    url = f"/api/v1/merchant/stores/{shop.store.id}/photos"
    digests = []
    for n in range(3):
        sent = await client.post(
            url,
            files={"photo": (f"{n}.png", picture((40, 40), colour=(0, 0, n * 100)), "image/png")},
            headers=api | idem(),
        )
        digests.append((await versions(db, shop.store.id))[1][-1][1])
        assert sent.status_code == 201
    before = (await versions(db, shop.store.id))[0]
    moved = await client.post(f"{url}/2/earlier", headers=api | idem())
    assert moved.status_code == 200
    version, rows = await versions(db, shop.store.id)
    assert [d for _, d in rows] == [digests[0], digests[2], digests[1]]
    assert version != before
    owner = HTML | await login(client, shop.owner)
    client.cookies.set("redcard_csrf", CSRF)
    page_move = await client.post(
        f"/merchant/stores/{shop.store.id}/photos/1/earlier", data=form(), headers=owner
    )
    assert page_move.status_code == 303
    assert [d for _, d in (await versions(db, shop.store.id))[1]] == [
        digests[2],
        digests[0],
        digests[1],
    ]
    page = await client.get(f"/merchant/stores/{shop.store.id}/edit", headers=owner)
    first = re.search(r'<li data-position="(\d+)">', page.text).group(1)
    served = await client.get(f"/stores/{shop.store.id}/photos/{first}")
    assert served.headers["etag"] == f'"{digests[2]}"'  # the cover is the one moved first
    assert "封面" in page.text
    assert (await client.post(f"{url}/9/earlier", headers=api | idem())).status_code == 404


async def test_a_position_no_photo_can_have_is_refused_not_looked_up(client, db):
    shop = await new_shop(db)
    api = await login(client, shop.owner)
    for position in ("-1", "99999999999", "first"):  # past an INTEGER column: never queried
        got = await client.get(f"/stores/{shop.store.id}/photos/{position}")
        assert got.status_code == 404, position  # for a person: no such photo
        url = f"/api/v1/merchant/stores/{shop.store.id}/photos/{position}"
        assert (await client.delete(url, headers=api | idem())).status_code == 422
