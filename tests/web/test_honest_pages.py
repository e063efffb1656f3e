"""Pages that say where a person stands, without a browser: the greeting after sign-up, plan
names in the page's language, the trial member at an event for annual cards, the member code
turning "used" after a till sale."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from redcard.kit import time as clock
from redcard.membership import service as membership
from redcard.membership.schemas import PlanUpdate
from redcard.models import EventEligibility
from tests.fixtures.factories import (
    code_for,
    idem,
    login,
    make_event,
    new_card_holder,
    new_operator,
    new_till_shop,
    setup_plans,
    till,
)

HTML = {"accept": "text/html"}
CSRF = "csrf-token-for-tests"


async def test_a_new_member_is_greeted_on_the_annual_cards_buy_page(client, db):
    plans = await setup_plans(db)
    client.cookies.set("redcard_csrf", CSRF)
    form = {"csrf": CSRF, "phone": "13712340001", "password": "correct-horse-9"}
    done = await client.post("/signup", data=form | {"display_name": "小红"}, headers=HTML)
    assert done.status_code == 303
    assert done.headers["location"] == f"/buy/{plans.annual.id}?welcome=1"

    page = await client.get(done.headers["location"], headers=HTML)
    assert page.status_code == 200
    assert "注册成功！" in page.text
    assert "欢迎您，小红。" in page.text
    assert "<h1>年卡</h1>" in page.text
    assert "支付 ¥168.00" in page.text
    assert 'href="/plans"' in page.text  # the free trial is one tap away
    again = await client.get(f"/buy/{plans.annual.id}", headers=HTML)
    assert "注册成功" not in again.text  # greeted once, not on every visit


async def test_plan_names_follow_the_page_language(client, db):
    plans = await setup_plans(db)
    async with db.session_scope() as session:
        await membership.update_plan(
            session, plans.annual.id, PlanUpdate(name="年卡", name_en="Annual card")
        )
    assert "<h2>年卡</h2>" in (await client.get("/plans", headers=HTML)).text
    client.cookies.set("redcard_lang", "en")
    try:
        page = (await client.get("/plans", headers=HTML)).text
        assert "<h2>Annual card</h2>" in page
        assert "<h2>体验卡</h2>" in page  # no English name given: the name as typed
    finally:
        client.cookies.delete("redcard_lang")

    async with db.session_scope() as session:  # an update that does not name it keeps it
        kept = await membership.update_plan(session, plans.annual.id, PlanUpdate(name="年卡 2027"))
        assert kept.name_en == "Annual card"
        dropped = await membership.update_plan(
            session, plans.annual.id, PlanUpdate(name="年卡", name_en=None)
        )
        assert dropped.name_en is None

    operator = await login(client, await new_operator(db))
    made = await client.post(
        "/api/v1/operator/plans",
        json={
            "code": "quarter",
            "name": "季卡",
            "name_en": " Quarter card ",
            "price_fen": 4800,
            "duration_days": 90,
        },
        headers=operator | idem(),
    )
    assert made.status_code == 201, made.text
    assert (made.json()["name"], made.json()["name_en"]) == ("季卡", "Quarter card")
    listed = (await client.get("/api/v1/plans")).json()["plans"]
    assert {p["code"]: p["name_en"] for p in listed} == {
        "annual": None,
        "quarter": "Quarter card",
        "trial90": None,
    }


async def test_a_trial_member_sees_why_and_how_to_upgrade_before_tapping_register(client, db):
    plans = await setup_plans(db)
    annual_only = await make_event(db, title="年卡会员品酒夜")
    open_to_trials = await make_event(
        db, title="城市徒步", eligibility=EventEligibility.card_or_trial
    )
    trial = await login(client, await new_card_holder(db, trial=True))

    page = await client.get(f"/events/{annual_only.id}", headers=HTML | trial)
    assert page.status_code == 200
    assert "体验卡不能报名此活动：本活动仅限年卡会员参加。" in page.text
    assert f'href="/buy/{plans.annual.id}"' in page.text
    assert "升级为年卡" in page.text
    assert f'action="/events/{annual_only.id}/register"' not in page.text
    page = await client.get(f"/events/{open_to_trials.id}", headers=HTML | trial)
    assert f'action="/events/{open_to_trials.id}/register"' in page.text
    assert "升级为年卡" not in page.text

    listing = await client.get("/events", headers=HTML | trial)
    cards = dict(re.findall(r'data-event="([^"]+)">(.*?)</article>', listing.text, re.S))
    assert "仅限年卡会员 · " in cards[str(annual_only.id)]
    assert f'href="/buy/{plans.annual.id}">升级为年卡' in cards[str(annual_only.id)]
    assert "升级为年卡" not in cards[str(open_to_trials.id)]

    annual = await login(client, await new_card_holder(db, trial=False))
    page = await client.get(f"/events/{annual_only.id}", headers=HTML | annual)
    assert f'action="/events/{annual_only.id}/register"' in page.text
    assert "升级为年卡" not in page.text


async def test_the_code_on_screen_turns_used_after_a_till_sale(client, db):
    clock.freeze(datetime(2026, 11, 25, 4, 0, 5, tzinfo=UTC))  # early in a 30 s step
    shop = await new_till_shop(db)
    member = await new_card_holder(db, trial=False)
    headers = await login(client, member)
    shown = (await client.get("/api/v1/me/code", headers=headers)).json()
    assert shown["used"] is False
    step = shown["step"]
    used = await client.get(f"/api/v1/me/code/used?step={step}", headers=headers)
    assert used.json() == {"step": step, "used": False}

    code = await code_for(db, member)
    assert code == shown["code"]
    preview = await client.post(
        "/api/v1/redemptions/prepare", json={"code": code, "bill_yuan": "50"}, headers=till(shop)
    )
    rid = preview.json()["id"]
    done = await client.post(f"/api/v1/redemptions/{rid}/commit", headers=till(shop) | idem())
    assert done.status_code == 200, done.text

    used = await client.get(f"/api/v1/me/code/used?step={step}", headers=headers)
    assert used.json() == {"step": step, "used": True}
    assert (await client.get("/api/v1/me/code", headers=headers)).json()["used"] is True
    page = await client.get("/card", headers=HTML | headers)
    assert "已使用，新码生成中" in page.text
    assert "%(s)s 秒后换新码" in page.text  # the countdown's words, filled in by the script

    clock.advance(timedelta(seconds=30))  # the next step: a fresh code
    fresh = (await client.get("/api/v1/me/code", headers=headers)).json()
    assert (fresh["step"], fresh["used"]) == (step + 1, False)
    assert (await client.get("/api/v1/me/code/used?step=-1", headers=headers)).status_code == 422
