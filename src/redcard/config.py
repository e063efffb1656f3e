"""Settings from the environment (REDCARD_ prefix)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from redcard.kit.time import load_zone, set_zone

DEMO_SECRETS = {
    "secret_key": "dev-only-secret-change-me",
    "sandbox_secret": "sandbox-shared-secret",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REDCARD_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = Field(
        default="development",
        description="production refuses demo secrets and the SQLite default",
    )

    database_url: str = Field(
        default="sqlite:///redcard.db",
        description="sqlite:///path.db (default) or postgresql://user@host:port/db",
    )
    sandbox_database_url: str | None = Field(
        default=None,
        description="Where the sandbox channel keeps its own books; derived from database_url",
    )
    secret_key: str = Field(
        default=DEMO_SECRETS["secret_key"], description="signs sessions and CSRF tokens"
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000", description="the public URL: callbacks and return links"
    )
    sandbox_secret: str = Field(
        default=DEMO_SECRETS["sandbox_secret"],
        description="the sandbox channel's signing key (demo and tests)",
    )
    timezone: str = Field(
        default="Asia/Shanghai",
        description="the programme's time zone (IANA name): every business day and printed time",
    )
    default_locale: str = Field(default="zh_CN", description="zh_CN or en: the pages' language")
    session_days: int = Field(default=14, ge=1, description="how long a login lasts")
    login_max_failures: int = Field(
        default=5, ge=1, description="failed logins per phone within the window before a lockout"
    )
    login_window_seconds: int = Field(default=900, ge=1, description="the failed-login window")
    password_hash_threads: int | None = Field(
        default=None,
        ge=1,
        description="password hashes (logins, sign-ups) running at once per process, in "
        "lower-priority threads beside the event loop; unset: half the CPU count, 1 to 4",
    )
    secure_cookies: bool = Field(default=False, description="mark cookies Secure (behind HTTPS)")
    db_pool_size: int = Field(default=10, ge=1, description="connections per process")
    worker_batch: int = Field(
        default=500,
        ge=1,
        description="rows each worker step claims at a time (a million-card sunset: 10000)",
    )
    run_worker: bool = Field(
        default=False, description="run the background worker inside the web process (demo)"
    )
    notifications_file: Path | None = Field(
        default=None,
        description="the worker also appends each notification to this file as a JSON line "
        "(a sink beside the in-app inbox); unset: no file",
    )
    replica_url: str | None = Field(
        default=None,
        description="a PostgreSQL streaming standby for reports and discovery; unset: the primary",
    )
    replica_max_lag_seconds: float = Field(
        default=30.0, ge=0, description="reports fall back to the primary beyond this replay lag"
    )
    discovery_radius_m: int = Field(
        default=3000,
        ge=100,
        le=50_000,
        description="the 发现 tab's search radius when none is asked",
    )
    discovery_max_radius_m: int = Field(
        default=50_000, ge=1000, le=50_000, description="a larger radius asked for is refused"
    )
    map_tile_url: str = Field(
        default="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="the map's tile server (Leaflet URL template); the list works without it",
    )
    map_tile_attribution: str = Field(
        default="© OpenStreetMap contributors",
        description="the credit the tile server asks for, shown on the map",
    )
    curation_min_score: float = Field(
        default=4.2, ge=1, le=5, description="the community score a store needs for 精选"
    )
    curation_min_reviews: int = Field(
        default=5, ge=0, description="visible member reviews a store needs for 精选"
    )
    curation_prior_reviews: float = Field(
        default=10,
        ge=0,
        description="the community score's prior weight: a store's rating is shrunk toward the "
        "city mean as if it had this many more reviews at the mean",
    )
    curation_half_life_days: int = Field(
        default=180, ge=1, description="a review's weight halves with each this many days of age"
    )
    curation_inspection_max_days: int = Field(
        default=365, ge=1, description="an in-person inspection older than this no longer counts"
    )
    # -- renewal (issue 16): auto-renew notices and charges --------------------------------------
    renewal_notice_days: int = Field(
        default=5,
        ge=5,
        description="the renewal notice goes out at least this many days before the charge "
        "(the law asks for 5 at least)",
    )
    renewal_retry_schedule: str = Field(
        default="1d,3d",
        description="after a failed renewal charge, wait this long before each further attempt "
        "(comma-separated, e.g. 1d,3d or 12h); after the last one the card lapses",
    )
    # -- delivery (issue 16): e-mail over SMTP, beside the in-app inbox --------------------
    smtp_host: str | None = Field(
        default=None, description="the SMTP server that sends members' e-mail; unset: no e-mail"
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="the SMTP server's port")
    smtp_tls: Literal["none", "starttls", "tls"] = Field(
        default="starttls",
        description="none (plain, a local relay), starttls (port 587) or tls (implicit, 465)",
    )
    smtp_username: str | None = Field(default=None, description="SMTP login; unset: no login")
    smtp_password: str | None = Field(default=None, description="SMTP password")
    smtp_from: str = Field(
        default="Redcard <noreply@redcard.local>",
        description="the From address; its domain ends each message's Message-ID",
    )
    smtp_timeout_seconds: float = Field(
        default=10.0, gt=0, description="connect and reply timeout per SMTP command"
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    log_json: bool = Field(
        default=True, description="one JSON object per log line (false: readable console lines)"
    )

    @field_validator("renewal_retry_schedule")
    @classmethod
    def _retry_schedule(cls, value: str) -> str:
        from redcard.membership.renewal_rules import parse_schedule

        parse_schedule(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        load_zone(value)
        return value

    def apply_zone(self) -> None:
        """The programme's zone becomes the clock's (app, worker and CLI start)."""
        set_zone(self.timezone)

    @model_validator(mode="after")
    def _no_demo_secrets_in_production(self) -> Self:
        if self.environment != "production":
            return self
        demo = [name for name, value in DEMO_SECRETS.items() if getattr(self, name) == value]
        problems = [f"REDCARD_{name.upper()} is the demo value" for name in demo]
        if len(self.secret_key) < 32:
            problems.append("REDCARD_SECRET_KEY must be at least 32 characters")
        if self.database_url.startswith("sqlite"):
            problems.append("REDCARD_DATABASE_URL must point at PostgreSQL")
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self

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
