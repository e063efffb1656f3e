"""docs/configuration.md, generated from the settings class so it cannot go stale.

`redcard config docs > docs/configuration.md` writes it; a test fails when the file and the
class disagree.
"""

from __future__ import annotations

from typing import Any

from pydantic.fields import FieldInfo

from redcard.config import Settings

HEADER = """# Configuration

Every setting is an environment variable with the `REDCARD_` prefix (or a line in a `.env`
file in the working directory). This page is generated from `redcard.config.Settings` by
`redcard config docs`; a test fails when they disagree.

With `REDCARD_ENVIRONMENT=production` the app, the worker and the CLI refuse to start while a
secret still has its demo value, the secret key is shorter than 32 characters, or the database
is the SQLite default.

| variable | default | what it does |
| --- | --- | --- |
"""

FOOTER = """
Outside the `REDCARD_` prefix: `PROMETHEUS_MULTIPROC_DIR`, a directory shared by the app
processes of one machine, makes `/metrics` sum them (`redcard serve --workers N` sets it).
"""


def _default(field: FieldInfo) -> str:
    value: Any = field.get_default(call_default_factory=True)
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"`{value}`"


def configuration_markdown() -> str:
    rows = []
    for name, field in Settings.model_fields.items():
        doc = (field.description or "").replace("|", "\\|")
        rows.append(f"| `REDCARD_{name.upper()}` | {_default(field)} | {doc} |")
    return HEADER + "\n".join(rows) + "\n" + FOOTER
