"""The zh-CN catalogs (one per capability) merge into one: a message must not be translated
two ways, and every message a template asks for must be translated."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from redcard.web.i18n import LOCALE_DIR, translations

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "redcard" / "web" / "templates"
LITERAL = re.compile(r"""_\(\s*(["'])(.+?)\1\s*\)""")


def _catalog_entries() -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {}
    for po in sorted((LOCALE_DIR / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            for message in read_po(fh, locale="zh_CN"):
                if message.id:
                    seen.setdefault(str(message.id), set()).add(str(message.string))
    return seen


def test_no_message_is_translated_two_ways():
    conflicts = {k: v for k, v in _catalog_entries().items() if len(v) > 1}
    assert conflicts == {}


def test_every_template_message_has_a_chinese_translation():
    zh = translations("zh_CN")
    missing = set()
    for template in TEMPLATES.rglob("*.html"):
        for _, msgid in LITERAL.findall(template.read_text(encoding="utf-8")):
            if "~" in msgid or "{" in msgid:
                continue
            if zh.gettext(msgid) == msgid:
                missing.add(f"{template.relative_to(TEMPLATES)}: {msgid}")
    assert sorted(missing) == []


KEY = re.compile(r"^[a-z_]+\.[A-Za-z_]+$")


def test_every_key_style_message_has_an_english_label():
    """Templates build some msgids from data ("store." ~ status); in English those keys need
    labels of their own, or an English page would show "store.live"."""
    en = translations("en")
    keys = {k for k in _catalog_entries() if KEY.match(k)}
    assert len(keys) > 50
    assert sorted(k for k in keys if en.gettext(k) == k) == []
    assert en.gettext("store.live") == "live"
    assert en.gettext("statement.open") == "awaiting payout"
