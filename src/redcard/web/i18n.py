"""Message catalogs. Templates and page code use English msgids; the zh_CN catalog
(`locale/zh_CN/LC_MESSAGES/messages.po`) holds the Chinese. Catalogs are compiled in memory at
start-up with Babel, so no build step and no generated .mo files."""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT = "zh_CN"


@lru_cache
def translations(locale: str) -> gettext.NullTranslations:
    """Every .po file of the locale (one per capability) merged into one catalog."""
    files = sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po"))
    if not files:
        return gettext.NullTranslations()
    merged: Catalog | None = None
    for po in files:
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        if merged is None:
            merged = catalog
            continue
        for message in catalog:
            if message.id:
                merged[message.id] = message
    assert merged is not None
    buf = io.BytesIO()
    write_mo(buf, merged)
    buf.seek(0)
    return Translations(buf)


def pick(requested: str | None, default: str = DEFAULT) -> str:
    return requested if requested in LANGUAGES else default


# msgids that templates build from data ("store." ~ store.status): tests/web/test_catalogs.py
# checks every known value has a label in both languages
KEY = re.compile(r"^[a-z_]+\.[A-Za-z_]+$")


@lru_cache
def gettext_for(locale: str) -> Callable[[str], str]:
    """The pages' `_`: the catalog's translation, and for a key-style msgid that has none (a
    store category typed by a merchant, say) its value in words ("services"), never the key."""
    translate = translations(locale).gettext

    def _(message: str) -> str:
        text = translate(message)
        if text == message and KEY.match(message):
            return message.partition(".")[2].replace("_", " ")
        return text

    return _


class Named(Protocol):
    name: str
    name_en: str | None


def local_name(thing: Named, locale: str) -> str:
    """What operators and merchants type is Chinese ("年卡"); an English page shows the
    English name they gave alongside (`name_en`), else the name as typed."""
    return thing.name_en if locale == "en" and thing.name_en else thing.name
