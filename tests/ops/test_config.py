"""Settings: the documented list cannot go stale, and production refuses demo secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from redcard.cli import app as cli
from redcard.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_configuration_doc_is_generated_from_the_settings() -> None:
    result = CliRunner().invoke(cli, ["config", "docs"])
    assert result.exit_code == 0
    assert (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8") == result.stdout, (
        "docs/configuration.md is stale: run `redcard config docs > docs/configuration.md`"
    )
    for name in Settings.model_fields:
        assert f"`REDCARD_{name.upper()}`" in result.stdout


def test_production_refuses_demo_secrets_and_sqlite() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(environment="production", _env_file=None)
    message = str(refused.value)
    assert "REDCARD_SECRET_KEY is the demo value" in message
    assert "REDCARD_SANDBOX_SECRET is the demo value" in message
    assert "PostgreSQL" in message


def test_production_starts_with_real_secrets() -> None:
    settings = Settings(
        environment="production",
        secret_key="k" * 40,
        sandbox_secret="another-secret",
        database_url="postgresql://app@db:5432/redcard",
        _env_file=None,
    )
    assert settings.environment == "production"
