"""Errors as people meet them, without a browser: a page in their language with a way back
for a browser, the same JSON as ever for the API."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy.exc import IntegrityError

from redcard.app import create_app
from redcard.errors import Conflict
from redcard.ops.logs import current_request_id
from tests.fixtures.factories import login, new_card_holder, new_user

HTML = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"accept": "application/json"}


def assert_a_page(response: httpx.Response, status: int, *texts: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    for text in texts:
        assert text in response.text
    assert '"error"' not in response.text  # no JSON body
    assert "Traceback" not in response.text


async def test_an_unknown_address_is_a_page_in_the_members_language(client, db):
    page = await client.get("/no-such-page", headers=HTML | {"referer": "http://test/events"})
    assert_a_page(page, 404, "找不到页面", "此地址没有内容", "错误 404")
    assert 'href="/events"' in page.text  # back where they came from
    assert ">首页</a>" in page.text
    assert "Not Found" not in page.text

    client.cookies.set("redcard_lang", "en")
    try:
        page = await client.get("/no-such-page", headers=HTML)
        assert_a_page(page, 404, "Page not found", "Go back", "Home")
    finally:
        client.cookies.delete("redcard_lang")

    # the API and scripts asking for JSON get FastAPI's answer, as before
    api = await client.get("/api/v1/no-such-thing", headers=HTML)
    assert (api.status_code, api.json()) == (404, {"detail": "Not Found"})
    script = await client.get("/no-such-page", headers=JSON)
    assert (script.status_code, script.json()) == (404, {"detail": "Not Found"})


async def test_a_missing_thing_says_so_in_words_never_its_error_name(client, db):
    member = await login(client, await new_card_holder(db))
    missing = f"/events/{uuid.uuid4()}"
    page = await client.get(missing, headers=HTML | member)
    assert_a_page(page, 404, "找不到页面", "找不到该活动")
    assert "EventNotFound" not in page.text
    assert 'href="/card"' in page.text  # a member's home
    assert 'href="/me" data-tab="me"' in page.text  # the shell knows who is logged in

    client.cookies.set("redcard_lang", "en")
    try:
        page = await client.get(missing, headers=HTML | member)
        assert_a_page(page, 404, "Page not found", "No such event")
    finally:
        client.cookies.delete("redcard_lang")

    malformed = await client.get("/events/not-an-id", headers=HTML | member)
    assert_a_page(malformed, 404, "找不到页面")

    api = await client.get(f"/api/v1{missing}", headers=member)
    assert (api.status_code, api.json()) == (
        404,
        {"error": "EventNotFound", "detail": "no such event"},
    )
    api = await client.get("/api/v1/events/not-an-id", headers=member)
    assert api.status_code == 422
    assert api.json()["error"] == "InvalidInput"


async def test_a_page_that_needs_a_login_comes_back_after_it(client, db):
    page = await client.get("/card/refunds?from=mail", headers=HTML)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/card/refunds%3Ffrom%3Dmail"

    # a form sent after the login ran out comes back to the page that held the form
    sent = await client.post(
        f"/events/{uuid.uuid4()}/register", headers=HTML | {"referer": "http://test/events/x"}
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == "/login?next=/events/x"

    api = await client.get("/api/v1/me/code")
    assert (api.status_code, api.json()) == (
        401,
        {"error": "Unauthorized", "detail": "log in first"},
    )


async def test_someone_else_logged_in_sees_why_not_and_can_switch(client, db):
    member = await login(client, await new_user(db))
    page = await client.get("/operator", headers=HTML | member)
    assert_a_page(page, 403, "无权访问", "此页面属于其他类型的账号", "换个账号登录")
    assert 'href="/login?next=/operator"' in page.text


@pytest.fixture
async def failing(settings, database, channels, sandbox):  # type: ignore[no-untyped-def]
    """An app with three routes that fail the ways a page can: a business conflict, a
    database conflict and a bug."""
    app = create_app(settings, db=database, channels=channels)
    broken = APIRouter()

    @broken.get("/broken/conflict")
    async def conflict() -> None:
        raise Conflict("this conflicts with existing data")

    @broken.get("/broken/integrity")
    async def integrity() -> None:
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))

    @broken.get("/broken/bug")
    async def bug() -> None:
        raise RuntimeError("secret internals")

    app.include_router(broken)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_a_conflict_is_a_page_for_a_browser_and_json_for_a_script(failing, db):
    for path in ("/broken/conflict", "/broken/integrity"):
        page = await failing.get(path, headers=HTML)
        assert_a_page(page, 409, "操作未完成", "与已有数据冲突，请刷新后重试")
        script = await failing.get(path, headers=JSON)
        assert script.status_code == 409
        assert script.json()["detail"] == "this conflicts with existing data"


async def test_a_bug_is_a_page_with_the_request_id_and_is_logged_with_it(failing, db):
    logged: list[tuple[logging.LogRecord, str | None]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            logged.append((record, current_request_id()))

    keep = Keep(logging.ERROR)
    logging.getLogger("redcard.app").addHandler(keep)
    try:
        page = await failing.get("/broken/bug", headers=HTML | {"x-request-id": "req-4242-abcd"})
    finally:
        logging.getLogger("redcard.app").removeHandler(keep)
    assert_a_page(page, 500, "服务器出错了", "我们已记录此错误", "req-4242-abcd")
    assert "secret internals" not in page.text
    assert page.headers["x-request-id"] == "req-4242-abcd"
    [(record, request_id)] = logged
    assert request_id == "req-4242-abcd"
    assert record.exc_info is not None
    assert "secret internals" in str(record.exc_info[1])  # the traceback is in the log

    api = await failing.get("/broken/bug", headers=JSON)
    assert (api.status_code, api.json()["error"]) == (500, "InternalError")
