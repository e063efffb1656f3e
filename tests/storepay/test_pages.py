"""The 买单 pages without a browser: login redirect, errors a member can read, the form's
idempotency, the staff's undo button, the QR page's access, English."""

from __future__ import annotations

from datetime import timedelta

from redcard.kit import time as clock
from redcard.models import Order, Refund
from tests.fixtures.factories import count, login, new_card_holder, new_shop, new_user, pay_bill

HTML = {"accept": "text/html"}


async def test_the_pay_page_sends_a_visitor_to_log_in_first(client, db):
    shop = await new_shop(db)
    response = await client.get(f"/pay/{shop.store.pay_code}", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=/pay/{shop.store.pay_code}"


async def test_the_pay_page_explains_what_is_wrong(client, db):
    shop = await new_shop(db, discount_bp=1500)
    no_card = await login(client, await new_user(db))
    page = await client.get(f"/pay/{shop.store.pay_code}", headers=HTML | no_card)
    assert page.status_code == 403
    assert "需要有效的小红卡才能享受会员优惠" in page.text
    assert 'name="bill"' not in page.text

    holder = await login(client, await new_card_holder(db))
    page = await client.get(f"/pay/{shop.store.pay_code}?bill=abc", headers=HTML | holder)
    assert page.status_code == 422
    assert "请输入以元为单位" in page.text
    assert 'name="bill"' in page.text
    page = await client.get(f"/pay/{shop.store.pay_code}?bill=100", headers=HTML | holder)
    assert page.status_code == 200
    assert "持卡享 8.5折" in page.text
    assert "¥85.00" in page.text
    client.cookies.set("redcard_lang", "en")
    try:
        page = await client.get(f"/pay/{shop.store.pay_code}?bill=100", headers=HTML | holder)
        assert "Card holders get 15% off" in page.text
    finally:
        client.cookies.delete("redcard_lang")


async def test_the_pay_form_starts_one_payment_per_key(client, db):
    shop = await new_shop(db)
    holder = await login(client, await new_card_holder(db))
    client.cookies.set("redcard_csrf", "csrf-token-1234")
    try:
        form = {"csrf": "csrf-token-1234", "idempotency_key": "form-key-123456", "bill": "58"}
        first = await client.post(f"/pay/{shop.store.pay_code}", data=form, headers=holder)
        second = await client.post(f"/pay/{shop.store.pay_code}", data=form, headers=holder)
        assert first.status_code == second.status_code == 303
        assert first.headers["location"] == second.headers["location"]
        assert first.headers["location"].startswith("/sandbox/pay/")
        bad = await client.post(
            f"/pay/{shop.store.pay_code}", data=form | {"csrf": "wrong"}, headers=holder
        )
        assert bad.status_code == 403
    finally:
        client.cookies.delete("redcard_csrf")
    assert await count(db, Order) == 1


async def test_staff_undo_button_only_within_the_window(client, db, sandbox):
    clock.freeze(clock.utc_now())
    shop = await new_shop(db)
    other = await new_shop(db, name="隔壁面馆")
    holder = await login(client, await new_card_holder(db))
    bill = await pay_bill(client, sandbox, holder, shop.store.pay_code, "40")
    staff = await login(client, shop.staff[0])
    page = await client.get("/merchant/bills", headers=HTML | staff)
    assert page.status_code == 200
    assert f'data-bill="{bill["id"]}"' in page.text
    assert "撤销并退款" in page.text

    stranger = await login(client, other.staff[0])
    page = await client.get("/merchant/bills", headers=HTML | stranger)
    assert str(bill["id"]) not in page.text
    qr = await client.get(f"/merchant/stores/{shop.store.id}/qr", headers=HTML | stranger)
    assert qr.status_code == 404
    qr = await client.get(f"/merchant/stores/{shop.store.id}/qr", headers=HTML | staff)
    assert qr.status_code == 200
    assert "<svg" in qr.text
    assert f"/pay/{shop.store.pay_code}" in qr.text

    clock.advance(timedelta(minutes=61))
    page = await client.get("/merchant/bills", headers=HTML | staff)
    assert "撤销并退款" not in page.text
    client.cookies.set("redcard_csrf", "csrf-token-1234")
    try:
        late = await client.post(
            f"/merchant/bills/{bill['id']}/undo",
            data={"csrf": "csrf-token-1234", "idempotency_key": "undo-key-123456"},
            headers=HTML | staff,
        )
    finally:
        client.cookies.delete("redcard_csrf")
    assert late.status_code == 409
    assert "账单只能在支付后 1 小时内撤销" in late.text
    assert await count(db, Refund) == 0
