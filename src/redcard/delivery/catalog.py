"""Every module that declares messages (`notifications.message`), so that any process (the
app rendering an inbox, the worker sending e-mail, a CLI) can render any message, whichever
capabilities it imported itself. A capability that declares messages adds its module here."""

from __future__ import annotations

import importlib

DECLARING = (
    "redcard.companions.service",
    "redcard.delivery.reminders",
    "redcard.events.service",
    "redcard.membership.renewal_tasks",
    "redcard.sunset.seed",
)


def load_all() -> None:
    for module in DECLARING:
        importlib.import_module(module)
