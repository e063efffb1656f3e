"""Settings from the environment (REDCARD_ prefix)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REDCARD_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///redcard.db",
        description="sqlite:///path.db (default) or postgresql://user@host:port/db",
    )
    sandbox_database_url: str | None = Field(
        default=None,
        description="Where the sandbox channel keeps its own books; derived from database_url",
    )
    secret_key: str = "dev-only-secret-change-me"
    base_url: str = "http://127.0.0.1:8000"
    sandbox_secret: str = "sandbox-shared-secret"
    default_locale: str = "zh_CN"
    session_days: int = 14
    login_max_failures: int = 5
    login_window_seconds: int = 900
    secure_cookies: bool = False
    db_pool_size: int = 10
    worker_batch: int = Field(
        default=500,
        ge=1,
        description="rows each worker step claims at a time (a million-card sunset: 10000)",
    )
    run_worker: bool = Field(
        default=False, description="run the background worker inside the web process (demo)"
    )

    def resolved_sandbox_url(self) -> str:
        """The sandbox is a separate party: on SQLite it gets its own file, so its writes never
        wait on our transaction's write lock. On PostgreSQL it shares the database but not
        the connection or the transaction."""
        if self.sandbox_database_url:
            return self.sandbox_database_url
        if self.database_url.startswith("sqlite"):
            path = self.database_url.split(":///", 1)[1]
            p = Path(path)
            return f"sqlite:///{p.with_name(p.stem + '-sandbox' + p.suffix)}"
        return self.database_url


@lru_cache
def get_settings() -> Settings:
    return Settings()
