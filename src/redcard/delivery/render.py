"""A notification in words: its declared `Message`'s subject and body, translated into the
member's language from the catalog, then `{name}` fields filled from its params.

Params a capability stores as data are shown the way a person reads them: an integer
`X_fen` also fills `{X}` as money ("¥168", "¥12.50"), an ISO time `X_at` fills `{X}` as the
programme zone's time ("2026-12-01 19:00 UTC+8")."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redcard.delivery.catalog import load_all
from redcard.kit.money import format_fen
from redcard.kit.time import local_time
from redcard.notifications import MESSAGES
from redcard.web.i18n import pick, translations


class UnknownTemplate(Exception):
    """A template nobody declared with `notifications.message`: retrying cannot mend it."""


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body: str
    marketing: bool


class _Fields(dict[str, Any]):
    def __missing__(self, key: str) -> str:  # a field the params lack stays visible, not fatal
        return "{" + key + "}"


def fields(params: dict[str, Any]) -> dict[str, Any]:
    """The params with their readable forms added (see the module's docstring)."""
    out = _Fields(params)
    for name, value in params.items():
        if name.endswith("_fen") and isinstance(value, int) and not isinstance(value, bool):
            out.setdefault(name.removesuffix("_fen"), format_fen(value).removesuffix(".00"))
        elif name.endswith("_at") and isinstance(value, str):
            with contextlib.suppress(ValueError):
                out.setdefault(name.removesuffix("_at"), local_time(datetime.fromisoformat(value)))
    return out


def render(template: str, params: dict[str, Any], locale: str | None) -> Rendered:
    """The message in `locale` (zh_CN when unset or unknown)."""
    message = MESSAGES.get(template)
    if message is None:  # declared in a module this process has not imported yet
        load_all()
        message = MESSAGES.get(template)
    if message is None:
        raise UnknownTemplate(f"template {template!r} has no text")
    translate = translations(pick(locale)).gettext
    values = fields(params)
    return Rendered(
        subject=translate(message.subject).format_map(values),
        body=translate(message.body).format_map(values),
        marketing=message.marketing,
    )
