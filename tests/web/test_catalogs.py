"""The zh-CN catalogs (one per capability) merge into one: a message must not be translated
two ways, and every message a template asks for must be translated."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from babel.messages.pofile import read_po

from redcard.models import (
    CampaignStatus,
    EventEligibility,
    MembershipStatus,
    MerchantStatus,
    OrderStatus,
    PlanStatus,
    RefundPolicy,
    RefundReason,
    RefundStatus,
    RegistrationStatus,
    StatementLineKind,
    StatementStatus,
    StoreStatus,
)
from redcard.web.i18n import LOCALE_DIR, gettext_for, translations

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


# Every msgid a template builds from data ("refund_reason." ~ refund.reason), with the values
# that data can hold. A template that builds a new kind of key must be listed here.
STORE_CATEGORIES = ("food", "cafe", "retail", "beauty", "fitness", "leisure", "bakery", "bar")
BUILT_FROM_DATA: dict[str, Iterable[str]] = {
    "status": MembershipStatus,
    "order": OrderStatus,
    "plan": PlanStatus,
    "refund_policy": RefundPolicy,
    "refund": [*RefundStatus, "refunded"],  # the member's page says "refunded" for offline
    "refund_reason": RefundReason,
    "merchant": MerchantStatus,
    "store": StoreStatus,
    # the apply form's categories, and the store data file's (merchants/demo.py)
    "category": [*STORE_CATEGORIES, "services", "other"],
    "statement": [*StatementStatus, "owing"],
    "line": StatementLineKind,
    "sunset": CampaignStatus,
    "registration": RegistrationStatus,
    "eligibility": EventEligibility,
}
BUILT = re.compile(r"""_\(\s*["']([a-z_]+)\.["']\s*~""")


def test_every_key_built_from_data_is_translated_in_both_languages():
    """No page shows "refund_reason.store_bill_undo": every value a key is built from has a
    Chinese translation and an English label."""
    built = {
        prefix
        for template in TEMPLATES.rglob("*.html")
        for prefix in BUILT.findall(template.read_text(encoding="utf-8"))
    }
    assert "refund_reason" in built
    assert sorted(built - BUILT_FROM_DATA.keys()) == []
    zh, en = translations("zh_CN"), translations("en")
    keys = [f"{prefix}.{value}" for prefix in built for value in BUILT_FROM_DATA[prefix]]
    assert sorted(k for k in keys if zh.gettext(k) == k) == []
    assert sorted(k for k in keys if en.gettext(k) == k) == []
    assert zh.gettext("refund_reason.store_bill_undo") == "门店撤销了买单，原路退回"


def test_a_key_the_catalogs_do_not_know_shows_its_value_not_the_key():
    """A merchant may type any category: the page shows its value in words, never the key."""
    for locale in ("zh_CN", "en"):
        assert gettext_for(locale)("category.street_food") == "street food"
        assert gettext_for(locale)("Members-only events") == translations(locale).gettext(
            "Members-only events"
        )
