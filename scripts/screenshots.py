"""Take the README's phone screenshots (docs/images/*.png) from a freshly seeded demo.

`make screenshots` runs this: a new SQLite demo city in a temporary folder (`redcard demo
--seed-only`), `redcard serve` on a free port, then Chromium (Debian's /usr/bin/chromium,
driven by Playwright) logs in as the demo member, the store staff and the operator as a person
would and photographs each one's page at phone size. Tests never write into docs/: their
screenshots stay in test-artifacts/.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.async_api import Browser, ViewportSize, async_playwright

from redcard.demo import DemoLogins
from redcard.merchants.demo import STAFF_PHONE

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
CHROMIUM = os.environ.get("REDCARD_CHROMIUM", "/usr/bin/chromium")
PHONE = ViewportSize(width=390, height=844)
LOGINS = DemoLogins()
# file name: (who logs in, the page photographed)
SHOTS = {
    "discover.png": (LOGINS.member, "/?district=huangpu"),
    "card.png": (LOGINS.member, "/card"),
    "till.png": (STAFF_PHONE, "/merchant/pos"),
    "operator.png": (LOGINS.operator, "/operator"),
}
VIEWPORT_ONLY = {"discover.png"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redcard(*args: str, env: dict[str, str], **popen: object) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).with_name("redcard")), *args]
    return subprocess.Popen(command, env=env, cwd=ROOT, **popen)  # type: ignore[call-overload]


def wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:  # the server starting up, not the passing of time
        try:
            if httpx.get(f"{url}/api/v1/plans", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"redcard serve did not start:\n{log.read_text()}")
        time.sleep(0.2)


async def photograph(browser: Browser, url: str, name: str, phone: str, path: str) -> None:
    context = await browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = await context.new_page()
    try:
        await page.goto(f"{url}/login?next={path}")
        await page.fill("input[name=phone]", phone)
        await page.fill("input[name=password]", LOGINS.password)
        await page.click("form[action='/login'] [type=submit]")
        await page.wait_for_url(f"{url}{path}")
        await page.wait_for_load_state("networkidle")  # what the page fetches (the code, sales)
        # a list as tall as the city is photographed as the phone shows it
        await page.screenshot(path=IMAGES / name, full_page=name not in VIEWPORT_ONLY)
    finally:
        await context.close()


async def take_all(url: str) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            for name, (phone, path) in SHOTS.items():
                await photograph(browser, url, name, phone, path)
                print(f"docs/images/{name}: {path} as {phone}")  # noqa: T201 (says what it made)
        finally:
            await browser.close()


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="redcard-screenshots-") as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = os.environ | {
            "REDCARD_DATABASE_URL": f"sqlite:///{tmp}/redcard.db",
            "REDCARD_BASE_URL": url,
            "REDCARD_LOG_JSON": "false",
        }
        log = Path(tmp) / "server.log"
        with log.open("wb") as out:
            seeded = redcard(
                "demo", "--seed-only", "--port", str(port), env=env, stdout=out, stderr=out
            )
            if seeded.wait() != 0:
                raise SystemExit(f"redcard demo --seed-only failed:\n{log.read_text()}")
            server = redcard("serve", "--port", str(port), env=env, stdout=out, stderr=out)
        try:
            wait_until_up(url, server, log)
            asyncio.run(take_all(url))
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
