"""The one settings class, read from the environment (or a .env file)."""

from functools import lru_cache
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # How every Kafka client (services, tests, ops, bench) authenticates: shared/kafka.py turns
    # these into the brokers' `security` and the plain clients' options. SASL needs a mechanism,
    # a user and a password; SSL uses the system's CA certificates.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    # The services work as registry_app, bound by row-level security; migrations run as the
    # schema's owner.
    database_url: str = "postgresql://registry_app:registry_app@127.0.0.1:5432/caller_numbers"
    database_owner_url: str = "postgresql://registry:registry@127.0.0.1:5432/caller_numbers"
    auth_jwt_secret: str = Field(default="local-development-secret-change-me-32b", min_length=32)
    auth_jwt_issuer: str | None = None
    kafka_topic_partitions: int = 3
    # Unique per running instance (e.g. the pod name), or unset for dynamic membership.
    kafka_instance_id: str | None = None
    db_pool_min_size: int = 1
    db_pool_max_size: int = 10
    upload_pool_size: int = 4
    # How long a failing message is retried before it goes to the dead-letter topic.
    max_delivery_attempts: int = 5
    # Upper bound for `Prefer: wait=N` on the add endpoint.
    max_wait_seconds: float = 30.0
    # Rows of an xlsx export: Excel's last row less the header; beyond it, CSV.
    export_xlsx_max_rows: int = 1_048_575

    # Bulk import.
    import_max_upload_bytes: int = 100 * 1024 * 1024
    import_max_rows: int = 1_048_575  # a full Excel sheet below its header
    # Each costs CPU to read: a tiny file of millions of empty texts is refused, not read.
    import_max_shared_strings: int = 1_200_000
    # CPU seconds one pass over an .xlsx may take (a full 1,048,576-row sheet takes ~10 s).
    import_max_read_cpu_seconds: float = 120.0
    import_max_uncompressed_bytes: int = 512 * 1024 * 1024
    import_max_zip_entries: int = 1000
    import_max_compression_ratio: float = 200.0
    import_batch_rows: int = 2000
    # The rows' JSON per Kafka message: well under the broker's 1 MB default, so that the
    # registry's answer (each row again, with its reason) fits too, however long the cells.
    import_batch_max_bytes: int = 256 * 1024
    # The reading worker renews its lease as it goes; a lease that runs out means it died.
    import_lease_seconds: float = 15.0
    # How often a worker looks for tasks to take over, and how long a pending task's
    # Kafka command has to arrive before a worker takes the task anyway.
    import_takeover_interval_seconds: float = 2.0
    import_pending_grace_seconds: float = 5.0
    import_progress_interval_seconds: float = 1.0
    # A file that stops every reader (a bug, not a bad file: those fail at once) fails its task.
    # Crashes of the reader at one checkpoint (graceful stops do not count).
    import_max_read_attempts: int = 5
    # A task with no progress this long while Kafka and PostgreSQL answer is ended: failed
    # `stalled` if still reading, else its lost row results are settled (`not_applied`).
    import_stall_seconds: float = 300.0
    # Row results and reports of finished imports are deleted this long after they end.
    import_retention_days: float = 30.0

    @model_validator(mode="after")
    def _sasl_is_complete(self) -> Self:
        sasl = self.kafka_security_protocol.startswith("SASL_")
        given = (self.kafka_sasl_mechanism, self.kafka_sasl_username, self.kafka_sasl_password)
        if sasl and None in given:
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        if not sasl and any(value is not None for value in given):
            raise ValueError(
                "KAFKA_SASL_* is set but KAFKA_SECURITY_PROTOCOL is "
                f"{self.kafka_security_protocol}: use SASL_PLAINTEXT or SASL_SSL"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
