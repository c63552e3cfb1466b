"""Settings read from the environment (``ORDO_*``)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from api.request_guard import DEFAULT_MAX_BODY_BYTES


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDO_", extra="ignore")

    database_url: str = "sqlite:///./ordo.db"
    host: str = "127.0.0.1"
    port: int = 8000
    # Steps a single run may take before the engine stops it as runaway.
    max_steps_per_run: int = 10_000
    # Request bodies over this many bytes are refused with a 413.
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES


def get_settings() -> Settings:
    return Settings()
