"""The operator's sunset console and the member's refund page, through the app (zh-CN)."""

from __future__ import annotations

from redcard.kit import time as clock
from redcard.kit.time import utc_now, zone
from tests.fixtures.factories import drain

CSRF = {"redcard_csrf": "test-csrf-token"}


def _form(**fields: str) -> dict[str, str]:
    return {"csrf": CSRF["redcard_csrf"], **fields}


async def test_operator_console_runs_a_sunset(
    client, db, sandbox, settings, channels, world_factory
):
    w = await world_factory(1)
    client.cookies.update(CSRF)
    clock.freeze(utc_now())
    page = await client.get("/operator/sunset", headers=w.preparer_h)
    assert page.status_code == 200
    assert "准备停止运营" in page.text
    cutoff = utc_now().astimezone(zone()).strftime("%Y-%m-%dT%H:%M")
    bad = await client.post(
        "/operator/sunset", data=_form(cutoff="not a date", notice="停"), headers=w.preparer_h
    )
    assert bad.status_code == 422
    assert "请填写截止日期和时间" in bad.text
    past = await client.post(
        "/operator/sunset", data=_form(cutoff="2020-01-01T00:00", notice="停"), headers=w.preparer_h
    )
    assert past.status_code == 422
    assert "截止时间已过，请选择现在或之后的时间" in past.text
    made = await client.post(
        "/operator/sunset", data=_form(cutoff=cutoff, notice="小红卡停止运营"), headers=w.preparer_h
    )
    assert made.status_code == 303
    page = await client.get("/operator/sunset", headers=w.preparer_h)
    assert "1 张会员卡，共需退款 ¥168.00" in page.text
    assert 'id="needs-second"' in page.text
    campaign_id = page.text.split("/operator/sunset/")[1].split("/")[0]
    own = await client.post(
        f"/operator/sunset/{campaign_id}/approve", data=_form(), headers=w.preparer_h
    )
    assert own.status_code == 403
    assert "须由第二位运营人员批准" in own.text
    approved = await client.post(
        f"/operator/sunset/{campaign_id}/approve", data=_form(), headers=w.approver_h
    )
    assert approved.status_code == 303
    page = await client.get("/operator/sunset", headers=w.approver_h)
    assert 'http-equiv="refresh"' in page.text  # live progress
    assert "退款进度" in page.text
    await drain(settings, db, channels, sandbox)
    page = await client.get("/operator/sunset", headers=w.approver_h)
    assert 'data-status="completed"' in page.text
    report = await client.post(
        f"/operator/sunset/{campaign_id}/reconcile", data=_form(), headers=w.approver_h
    )
    assert report.status_code == 200
    assert "无差异，本次活动每一天的退款都已对账。" in report.text
    assert 'data-covered="yes"' in report.text
    assert 'data-covered="no"' not in report.text
    assert "退款：笔数 · 金额" in report.text

    mine = await client.get("/card/refunds", headers=w.member_h[0])
    assert 'data-status="succeeded"' in mine.text
    assert "已退款" in mine.text
    assert "小红卡停止运营，全额退款" in mine.text


async def test_member_previews_and_gives_the_card_back(
    client, db, sandbox, settings, channels, world_factory
):
    w = await world_factory(1)
    client.cookies.update(CSRF)
    h = w.member_h[0]
    page = await client.get("/card/refunds", headers=h)
    assert "你将获得退款 ¥168.00" in page.text
    key = page.text.split('name="idempotency_key" value="')[1].split('"')[0]
    unconfirmed = await client.post("/card/refunds", data=_form(idempotency_key=key), headers=h)
    assert unconfirmed.status_code == 422
    for _ in range(2):  # a double submit refunds once
        done = await client.post(
            "/card/refunds", data=_form(idempotency_key=key, confirm="yes"), headers=h
        )
        assert done.status_code == 303
    await drain(settings, db, channels, sandbox)
    page = await client.get("/card/refunds", headers=h)
    assert page.text.count('class="refund"') == 1
    assert "已退回原支付账户" in page.text
    client.cookies.set("redcard_lang", "en")
    english = await client.get("/card/refunds", headers=h)
    client.cookies.delete("redcard_lang")
    assert "Refunded to your payment account" in english.text
