"""The page audit: every page of every role, in Chromium, at a phone's and a laptop's size, in
each language, taken from the app's route table (tests/fixtures/audit.py), so a new page is
audited without being listed here.

A page fails when the document scrolls sideways or content is cut off at the window's edge,
when its visible text shows a message key (`refund_reason.store_bill_undo`), an error code
(`EventNotFound`) or, on a Chinese page, an English phrase, when a tap target in the member's
bottom tab bar is under 44 px tall, when a browser is shown JSON, when the console reports an
error, or when it does not answer as it should (an error status, or the login page for a role
that should see it). Every failure of every page is reported together.

Screenshots of every visit go to `test-artifacts/audit/` (or `$REDCARD_AUDIT_DIR`), outside
git, for CI to keep, with the report as `report.txt`. `REDCARD_AUDIT_STRICT=0` reports the
failures as a warning instead of failing the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from playwright.async_api import Browser, ConsoleMessage, Page, Request, ViewportSize

from redcard.deps import SESSION_COOKIE
from redcard.errors import AppError
from redcard.web.i18n import LANGUAGES
from redcard.web.render import LANG_COOKIE
from tests.fixtures.audit import MEMBER, AuditWorld, Visit, plan_visits, rule_for, seed_world
from tests.fixtures.browser import ARTIFACTS, LiveServer

SIZES = {
    "phone": ViewportSize(width=390, height=844),
    "desktop": ViewportSize(width=1366, height=900),
}
TABBAR = "nav.tabbar"  # the member shell's bottom tab bar
TAP_TARGETS = "a, button, input[type=submit], [role=tab]"
MIN_TAP_PX = 44
PARALLEL = 3  # browser contexts at work at once (one per role, language and size)
AUDIT_DIR = Path(os.environ.get("REDCARD_AUDIT_DIR") or ARTIFACTS / "audit")
STRICT = os.environ.get("REDCARD_AUDIT_STRICT", "1") != "0"

# a message key: dotted lower-case words (refund_reason.store_bill_undo); host names and file
# names (openstreetmap.org, statement.csv) end in a known suffix and are not keys
MESSAGE_KEY = re.compile(
    r"(?<![A-Za-z0-9_.\-/@:])[a-z][a-z0-9]*(?:_[a-z0-9]+)*(?:\.[a-z][a-z0-9]*(?:_[a-z0-9]+)*)+"
    r"(?![A-Za-z0-9_\-/@])"
)
NOT_KEYS = {"cn", "com", "csv", "htm", "html", "io", "jpg", "json", "md", "net", "org", "pdf"}
NOT_KEYS |= {"png", "py", "svg", "txt"}
CAMEL = re.compile(r"(?<![A-Za-z])[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+(?![A-Za-z])")
ERROR_ENDINGS = (
    "NotFound", "Error", "Conflict", "Forbidden", "Invalid", "Unauthorized",
    "Exception", "Denied", "Required", "Unavailable", "Limited", "Closed",
)  # fmt: skip
ENGLISH_PHRASE = re.compile(r"(?<![A-Za-z0-9_\-./])[a-z]{2,}(?: [a-z]{2,})+(?![A-Za-z0-9_\-/])")

PROBE = """([tabbar, targets, minTap]) => {
  // the layout viewport: on a phone, innerWidth grows as the browser zooms out to show a
  // page wider than the screen, so it would hide the very overflow looked for
  const width = document.documentElement.clientWidth;
  const out = {scrollWidth: document.documentElement.scrollWidth, width,
               text: document.body ? document.body.innerText : "", wide: [], cut: [],
               icon: document.querySelector('link[rel~="icon"]') !== null, tabbar: null};
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + [...el.classList].map((c) => "." + c).join("");
  // inside a scroll box of its own (a wide table) or a fixed layer (a drawer)
  const boxed = (el) => {
    for (let up = el; up && up !== document.body; up = up.parentElement) {
      const style = getComputedStyle(up);
      const scrolls = up !== el && ["auto", "scroll"].includes(style.overflowX);
      if (style.position === "fixed" || scrolls) return true;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    const parent = el.parentElement.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1 || parent.right > width + 1 || parent.left < -1) continue;
    if (out.scrollWidth > width + 1) {  // the document scrolls sideways: what sticks out
      if (box.right > width + 1 && out.wide.length < 3) {
        out.wide.push(name(el) + " to " + Math.round(box.right) + "px");
      }
      continue;
    }
    // straddling an edge (wholly off-screen is a deliberate hiding place, e.g. a skip link)
    const straddles = (box.left < width && box.right > width + 1)
      || (box.left < -1 && box.right > 0);
    if (!straddles || getComputedStyle(el).visibility === "hidden" || boxed(el)) continue;
    if (out.cut.length < 3) {
      const span = Math.round(box.left) + " to " + Math.round(box.right) + "px";
      out.cut.push(name(el) + " from " + span);
    }
  }
  const bar = document.querySelector(tabbar);
  if (bar) {
    out.tabbar = [];
    for (const el of bar.querySelectorAll(targets)) {
      const box = el.getBoundingClientRect();
      if (box.width > 0 && box.height < minTap) {
        out.tabbar.push((el.innerText || el.value || name(el)).trim() + " " + box.height + "px");
      }
    }
  }
  return out;
}"""


def _app_error_names() -> set[str]:
    found, todo = set(), [AppError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo += cls.__subclasses__()
    return {name for name in found if sum(c.isupper() for c in name) >= 2}


ERROR_NAMES = _app_error_names()


def message_keys(text: str) -> list[str]:
    return [
        key
        for key in MESSAGE_KEY.findall(text)
        if key.rsplit(".", 1)[1] not in NOT_KEYS and min(map(len, key.split("."))) > 1
    ]


def error_codes(text: str) -> list[str]:
    return [w for w in CAMEL.findall(text) if w in ERROR_NAMES or w.endswith(ERROR_ENDINGS)]


def untranslated(text: str) -> list[str]:
    """English phrases (two or more lower-case words) on a Chinese page: a message the
    catalog does not translate. Names and brands are capitalised and pass."""
    return ENGLISH_PHRASE.findall(text)


async def probe(page: Page) -> dict[str, Any]:
    found: dict[str, Any] = await page.evaluate(PROBE, [TABBAR, TAP_TARGETS, MIN_TAP_PX])
    return found


def findings(seen: dict[str, Any], lang: str, content_type: str = "text/html") -> list[tuple]:
    """What is wrong with a page as `probe` saw it: (kind, what) pairs."""
    text, found = seen["text"], []
    if "json" in content_type or text.lstrip().startswith(("{", "[")):
        found.append(("json", f"JSON shown to a browser: {text.strip()[:80]}"))
    if seen["scrollWidth"] > seen["width"] + 1:
        culprits = ", ".join(seen["wide"]) or "(no single element)"
        found.append(("overflow", f"{seen['scrollWidth']}px wide at {seen['width']}px: {culprits}"))
    if seen["cut"]:
        found.append(("cut off", "past the window's edge: " + ", ".join(seen["cut"])))
    if keys := message_keys(text):
        found.append(("message key", ", ".join(sorted(set(keys)))))
    if codes := error_codes(text):
        found.append(("error code", ", ".join(sorted(set(codes)))))
    if lang.startswith("zh") and (english := untranslated(text)):
        found.append(("untranslated", " | ".join(sorted(set(english)))))
    if seen["tabbar"]:
        small = "; ".join(seen["tabbar"])
        found.append(("tap target", f"under {MIN_TAP_PX}px in {TABBAR}: {small}"))
    return found


# -- the audit itself ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Failure:
    kind: str
    page: str
    role: str
    where: str  # size and language
    what: str


@dataclass
class Tally:
    visits: int = 0
    tabbar_seen: bool = False
    iconless: bool = False  # a page without <link rel=icon>: the browser asks for /favicon.ico


class Inflight:
    """The requests a page has under way: the audit waits (at most 2 s) until what a page
    fetched as it loaded (the till's recent sales, the member code) has arrived and been
    drawn. A page that keeps polling is audited as it stands."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.pending: set[Request] = set()
        self.idle = asyncio.Event()
        self.idle.set()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _started(self, request: Request) -> None:
        self.pending.add(request)
        self.idle.clear()

    def _ended(self, request: Request) -> None:
        self.pending.discard(request)
        if not self.pending:
            self.idle.set()

    async def settle(self, seconds: float = 2.0) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle.wait(), seconds)
        await self.page.evaluate("() => new Promise((done) => requestAnimationFrame(done))")


def _shot_name(visit: Visit, lang: str, size: str) -> str:
    slug = re.sub(r"[^a-z0-9_]+", "-", visit.route.lower()).strip("-") or "home"
    return f"{lang}-{size}-{visit.role}-{slug}.png"


async def _audit_page(
    inflight: Inflight, base: str, visit: Visit, lang: str, size: str, tally: Tally
) -> list[Failure]:
    page = inflight.page
    errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        at = urlsplit(msg.location.get("url", "")).path
        expected = at == "/favicon.ico" or (visit.status != 200 and at == visit.path)
        if msg.type == "error" and not expected:  # the icon is checked once, below
            errors.append(f"console: {msg.text} ({at})")

    def on_error(exc: Exception) -> None:
        errors.append(f"page error: {exc}")

    page.on("console", on_console)
    page.on("pageerror", on_error)
    problems: list[tuple] = []
    try:
        response = await page.goto(base + visit.path, wait_until="load")
        await inflight.settle()
        status = response.status if response else 0
        if status != visit.status:
            problems.append(("status", f"answered {status}, expected {visit.status}"))
        if urlsplit(page.url).path == "/login" and visit.route != "/login":
            problems.append(("login", "sent to the login page: fix the role in RULES"))
        seen = await probe(page)
        tally.iconless = tally.iconless or not seen["icon"]
        tally.tabbar_seen = tally.tabbar_seen or seen["tabbar"] is not None
        content_type = response.headers.get("content-type", "") if response else ""
        problems += findings(seen, lang, content_type)
        shot = AUDIT_DIR / _shot_name(visit, lang, size)
        await page.screenshot(path=shot, full_page=True)
    except Exception as exc:  # a page that cannot even be audited is a failure of its own
        problems.append(("broken", f"{type(exc).__name__}: {exc}"))
    finally:
        page.remove_listener("console", on_console)
        page.remove_listener("pageerror", on_error)
    problems += [("console", error) for error in errors]
    tally.visits += 1
    where = f"{size} {lang}"
    return [Failure(kind, visit.path, visit.role, where, what) for kind, what in problems]


async def _audit_context(
    browser: Browser,
    server: LiveServer,
    token: str | None,
    lang: str,
    size: str,
    visits: list[Visit],
    tally: Tally,
) -> list[Failure]:
    phone = size == "phone"
    context = await browser.new_context(
        viewport=SIZES[size],
        is_mobile=phone,
        has_touch=phone,
        locale="zh-CN" if lang == "zh_CN" else lang,
    )
    context.set_default_timeout(15_000)
    cookies = [{"name": LANG_COOKIE, "value": lang, "url": server.url}]
    if token:
        cookies.append({"name": SESSION_COOKIE, "value": token, "url": server.url})
    await context.add_cookies(cookies)  # type: ignore[arg-type]
    inflight = Inflight(await context.new_page())
    failures: list[Failure] = []
    try:
        for visit in visits:
            failures += await _audit_page(inflight, server.url, visit, lang, size, tally)
    finally:
        await context.close()
    return failures


def _clear(folder: Path) -> None:
    """Last run's screenshots go (only they: the folder may be one CI gave us)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()


def report(failures: list[Failure], tally: Tally, visits: list[Visit], seconds: float) -> str:
    by_kind: dict[str, dict[tuple[str, str, str], list[str]]] = defaultdict(dict)
    for f in failures:
        by_kind[f.kind].setdefault((f.page, f.role, f.what), []).append(f.where)
    routes = len({visit.route for visit in visits})
    lines = [
        f"{len(failures)} failures in {tally.visits} visits: {routes} pages, {len(visits)} with "
        f"each role that sees them, × {len(SIZES)} sizes × {len(LANGUAGES)} languages "
        f"({seconds:.0f} s; screenshots in {AUDIT_DIR})"
    ]
    if not tally.tabbar_seen:
        lines.append(f"tap targets: not applicable, no page has a tab bar ({TABBAR})")
    for kind in sorted(by_kind):
        lines.append(f"\n== {kind}")
        for (page, role, what), wheres in sorted(by_kind[kind].items()):
            lines.append(f"{page} [{role}; {', '.join(sorted(wheres))}]: {what}")
    return "\n".join(lines)


@pytest.mark.browser
@pytest.mark.sqlite_only
async def test_every_page_fits_speaks_the_language_and_shows_no_internals(
    browser: Browser, live_server: LiveServer, app, db, client, sandbox, channels
):
    started = time.monotonic()
    world = await seed_world(db, client, sandbox, channels)
    visits, unplaced = plan_visits(app, world)
    failures = [Failure("route table", problem, "-", "-", "-") for problem in unplaced]
    _clear(AUDIT_DIR)

    tally = Tally()
    gate = asyncio.Semaphore(PARALLEL)

    async def one(role: str, lang: str, size: str) -> list[Failure]:
        mine = [visit for visit in visits if visit.role == role]
        async with gate:
            token = world.tokens.get(role)
            return await _audit_context(browser, live_server, token, lang, size, mine, tally)

    roles = sorted({visit.role for visit in visits})
    found = await asyncio.gather(
        *(one(role, lang, size) for role in roles for lang in LANGUAGES for size in SIZES)
    )
    failures += [failure for batch in found for failure in batch]
    async with httpx.AsyncClient(base_url=live_server.url) as plain:
        icon = (await plain.get("/favicon.ico")).status_code
    if tally.iconless and icon != 200:
        what = "no icon: the browser asks for /favicon.ico, gets a 404 and logs an error"
        failures.append(Failure("console", "/favicon.ico", "every role", "every size", what))
    text = report(failures, tally, visits, time.monotonic() - started)
    await asyncio.to_thread((AUDIT_DIR / "report.txt").write_text, text + "\n", "utf-8")
    assert tally.visits == len(visits) * len(LANGUAGES) * len(SIZES)
    if failures and STRICT:
        pytest.fail(text, pytrace=False)
    if failures:
        warnings.warn(text, stacklevel=1)


# -- the audit's own checks ---------------------------------------------------------------------
CLEAN = """<main><div style="overflow-x: auto"><table><tr><td style="min-width: 900px">
宽表格在自己的滚动框里</td></tr></table></div>
<p>¥168.00 · 9.5折 · 2026-12-01 08:00 UTC+8 · Pacific Coffee · 小红卡 · e.g. 1.5 km</p>
<p>openstreetmap.org/copyright · help@redcard.example.com · statement.csv · v1.2.3</p>
<nav class="tabbar"><a href="/" style="display:block;height:48px">发现</a></nav></main>"""
DIRTY = """<main><p>refund_reason.store_bill_undo EventNotFound 退款 no such event</p>
<div style="width: 600px">太宽</div>
<nav class="tabbar"><a href="/" style="display:block;height:30px">会员卡</a></nav></main>"""
CLIPPED = """<main style="overflow-x: hidden"><div style="width: 600px">被截断</div></main>"""
PHONE_HEAD = '<meta name="viewport" content="width=device-width, initial-scale=1">'


@pytest.mark.browser
async def test_the_audit_sees_what_it_looks_for(page: Page):
    await page.set_content(PHONE_HEAD + CLEAN)
    assert findings(await probe(page), "zh_CN") == []

    await page.set_content(PHONE_HEAD + DIRTY)
    found = dict(findings(await probe(page), "zh_CN"))
    assert found["message key"] == "refund_reason.store_bill_undo"
    assert found["error code"] == "EventNotFound"
    assert found["untranslated"] == "no such event"
    assert found["overflow"].startswith("608px wide at 390px: div to 608px")
    assert found["tap target"] == "under 44px in nav.tabbar: 会员卡 30px"
    assert "untranslated" not in dict(findings(await probe(page), "en"))

    await page.set_content(PHONE_HEAD + CLIPPED)
    assert dict(findings(await probe(page), "en"))["cut off"].startswith("past the window's edge")

    await page.set_content('{"error": "EventNotFound"}')
    assert "json" in dict(findings(await probe(page), "en"))


def test_a_page_the_audit_cannot_place_fails_it_with_what_to_add():
    app = FastAPI()

    @app.get("/events/{event_id}", response_class=HTMLResponse)
    async def known() -> str:
        return ""

    @app.get("/wallet", response_class=HTMLResponse)
    async def no_rule() -> str:
        return ""

    @app.get("/card/gifts/{gift_id}", response_class=HTMLResponse)
    async def no_value() -> str:
        return ""

    @app.get("/card/export.json", response_class=JSONResponse)
    async def not_a_page() -> dict[str, str]:
        return {}

    @app.get("/api/v1/wallet")
    async def api() -> dict[str, str]:
        return {}

    visits, problems = plan_visits(app, AuditWorld(tokens={}, values={"event_id": "e1"}))
    assert [v.path for v in visits if v.role == MEMBER and v.status == 200] == ["/events/e1"]
    assert len(problems) == 3, problems
    assert "/wallet: no role is known for this page; add a Rule" in problems[2]
    assert "/card/gifts/{gift_id}: the audit has no value for gift_id" in problems[1]
    assert "GET /card/export.json is neither a page" in problems[0]
    apply = rule_for("/merchant/apply")  # the longest prefix wins over /merchant
    assert apply is not None
    assert apply.roles == ("visitor",)
