"""The one settings class, read from the environment (or a .env file)."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    database_url: str = "postgresql://registry:registry@127.0.0.1:5432/caller_numbers"
    auth_jwt_secret: str = Field(default="local-development-secret-change-me-32b", min_length=32)
    auth_jwt_issuer: str | None = None
    kafka_topic_partitions: int = 3
    db_pool_min_size: int = 1
    db_pool_max_size: int = 10
    # How long a failing message is retried before it goes to the dead-letter topic.
    max_delivery_attempts: int = 5
    # Upper bound for `Prefer: wait=N` on the add endpoint.
    max_wait_seconds: float = 30.0


@lru_cache
def get_settings() -> Settings:
    return Settings()
