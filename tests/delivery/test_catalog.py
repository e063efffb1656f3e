"""Any process can render any message: every module that declares messages is listed in
delivery/catalog.DECLARING (else the inbox of an app that never imported it would show the
template's name instead of its text)."""

from __future__ import annotations

import re
from pathlib import Path

import redcard
from redcard import notifications
from redcard.delivery import catalog

DECLARES = re.compile(r"(?<![\w.])(?:notifications\.)?message\(\s*(?:\"|_template)")


def test_every_module_that_declares_messages_is_loaded_for_rendering() -> None:
    root = Path(redcard.__file__).parent
    declaring = {
        "redcard." + ".".join(path.relative_to(root).with_suffix("").parts)
        for path in root.rglob("*.py")
        if path.name != "notifications.py" and DECLARES.search(path.read_text(encoding="utf-8"))
    }
    assert declaring, "the pattern finds the declarations"
    assert declaring <= set(catalog.DECLARING)
    catalog.load_all()
    for template in ("renewal_notice", "renewal_lapsed", "companion_invited", "savings_summary"):
        assert template in notifications.MESSAGES, template
