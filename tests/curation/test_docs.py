"""docs/curation.md states the method's numbers; they must be the code's."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from redcard.config import Settings
from redcard.curation.badge import Reason
from redcard.curation.inspections import CHECKLIST
from redcard.curation.score import community_score

DOC = (Path(__file__).resolve().parents[2] / "docs" / "curation.md").read_text(encoding="utf-8")
ROW = re.compile(r"^\| `REDCARD_(CURATION_[A-Z_]+)` \| ([0-9.]+) \|", re.MULTILINE)


def test_the_thresholds_table_states_the_settings_defaults():
    stated = {name.lower(): float(value) for name, value in ROW.findall(DOC)}
    defaults = {
        name: float(field.default)
        for name, field in Settings.model_fields.items()
        if name.startswith("curation_")
    }
    assert stated == defaults


def test_the_checklist_and_reasons_are_the_codes():
    for item in CHECKLIST:
        assert f"| {item.label} | {'yes' if item.required else 'no'} |" in DOC
    for reason in Reason:
        assert f"| `{reason}` |" in DOC


def test_the_worked_example_is_the_formula_with_the_defaults():
    now = datetime(2026, 12, 1, tzinfo=UTC)
    fields = Settings.model_fields
    prior = float(fields["curation_prior_reviews"].default)
    half = int(fields["curation_half_life_days"].default)
    for n, text in ((20, "4.667"), (2, "4.167")):
        score = community_score([(5, now)] * n, 4.0, prior=prior, half_life_days=half, now=now)
        assert f"{score:.3f}" == text
        assert text in DOC
