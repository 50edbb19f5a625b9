"""The one settings class, read from the environment (or a .env file)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self
from urllib.parse import parse_qs, urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Well known, since they are in this repository: a start outside development mode refuses them.
DEVELOPMENT_JWT_SECRET = "local-development-secret-change-me-32b"
DEVELOPMENT_DB_PASSWORDS = frozenset({"registry", "registry_app"})


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
    auth_jwt_secret: str = Field(default=DEVELOPMENT_JWT_SECRET, min_length=32)
    auth_jwt_issuer: str | None = None
    # Checked only when set: then a token must name this audience.
    auth_jwt_audience: str | None = None
    # A token whose `exp` lies further ahead than this is refused, whatever signed it.
    auth_jwt_max_lifetime_seconds: int = Field(default=24 * 3600, gt=0)
    # Signed commands (shared/signing): the gateway signs each command it publishes with its
    # Ed25519 private key (a PEM file) under its kid; the registry accepts the commands signed
    # by a key of its trusted keys file (TOML: each key's kid, public key and, for an upstream
    # system, the tenants it may act for), signed at most this long before or after the broker
    # appended them. Each service refuses to start without the keys it needs.
    command_signing_key_file: Path | None = None
    command_signing_kid: str | None = None
    command_trusted_keys_file: Path | None = None
    command_signature_window_seconds: float = Field(default=300.0, gt=0)
    # Set by the local scripts and the tests only: allows the well-known development secret and
    # database passwords, which every other start refuses.
    development_mode: bool = False
    kafka_topic_partitions: int = 3
    # Consumers of the import rows topic in each registry instance, applying batches side by
    # side; unset: one per partition (KAFKA_TOPIC_PARTITIONS). With N instances, give each at
    # most partitions / N: the group has no more work than partitions, and the extra stay idle.
    import_rows_consumers: int | None = Field(default=None, ge=1)
    # Unique per running instance (e.g. the pod name), or unset for dynamic membership.
    kafka_instance_id: str | None = None
    db_pool_min_size: int = 1
    db_pool_max_size: int = 10
    upload_pool_size: int = 4
    # How long a failing message is retried before it goes to the dead-letter topic.
    max_delivery_attempts: int = 5
    # Caller-number commands applied together, at most: one transaction, one wave of
    # acknowledged event publishes and one offset commit for the whole fetch.
    command_batch_records: int = Field(default=500, ge=1)
    # Upper bound for `Prefer: wait=N` on the add endpoint.
    max_wait_seconds: float = 30.0
    # Rows of an xlsx export: Excel's last row less the header; beyond it, CSV.
    export_xlsx_max_rows: int = 1_048_575

    # Limits before work: every request body is capped (uploads by import_max_upload_bytes)
    # and must keep arriving (idle) and end in time (total), or the request is refused.
    http_max_body_bytes: int = 64 * 1024
    http_body_idle_timeout_seconds: float = 30.0
    http_body_total_timeout_seconds: float = 900.0
    # Fairness between tenants (per gateway instance for uploads, across workers for imports).
    upload_max_concurrent_per_tenant: int = Field(default=2, ge=1)
    import_max_running_per_tenant: int = Field(default=2, ge=1)

    # Bulk import.
    import_max_upload_bytes: int = 100 * 1024 * 1024
    import_max_rows: int = 1_048_575  # of an .xlsx: a full Excel sheet below its header
    # Of a .csv, which has no sheet limit: 5M rows of 15-digit numbers fit the upload limit.
    import_max_csv_rows: int = 5_000_000
    # Each costs CPU to read: a tiny file of millions of empty texts is refused, not read.
    import_max_shared_strings: int = 1_200_000
    # CPU seconds one pass over an .xlsx may take (a full 1,048,576-row sheet takes ~10 s).
    import_max_read_cpu_seconds: float = 120.0
    import_max_uncompressed_bytes: int = 512 * 1024 * 1024
    import_max_zip_entries: int = 1000
    import_max_compression_ratio: float = 200.0
    import_batch_rows: int = 2000
    # A row batch's JSON per Kafka message: well under the broker's 1 MB default, however long
    # the cells.
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
    # An upload of a file whose bytes the tenant imported within these days asks for a
    # confirmation (confirm_duplicate=true) before it is imported again.
    import_duplicate_window_days: float = Field(default=30.0, ge=0)
    # The caller numbers' audit history is kept this long (two years), apart from imports'.
    audit_retention_days: float = 730.0
    # How often a worker deletes audit records past that: a two-year retention has no use for
    # the upkeep's two-second period, and each look reads the audit pages written since the
    # last VACUUM summarised them (its BRIN index), ~90 ms after a million-row import.
    audit_retention_interval_seconds: float = Field(default=600.0, ge=0)

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

    def development_secrets(self) -> list[str]:
        """The settings that still hold a development value from this repository."""
        found = ["AUTH_JWT_SECRET"] if self.auth_jwt_secret == DEVELOPMENT_JWT_SECRET else []
        for name, dsn in (
            ("DATABASE_URL", self.database_url),
            ("DATABASE_OWNER_URL", self.database_owner_url),
        ):
            url = urlsplit(dsn)
            passwords = {url.password, *parse_qs(url.query).get("password", [])}
            if passwords & DEVELOPMENT_DB_PASSWORDS:
                found.append(name)
        return found

    def refuse_development_secrets(self) -> None:
        """Raise unless development mode is on or no development secret is in use."""
        if found := [] if self.development_mode else self.development_secrets():
            raise DevelopmentSecretsError(
                f"{', '.join(found)} still hold the development values from the repository. "
                "Set your own secret and passwords, or DEVELOPMENT_MODE=true on a developer's "
                "machine (scripts/run-local.sh and the tests do)."
            )


class DevelopmentSecretsError(RuntimeError):
    """A service would start with a secret anyone can read in this repository."""


@lru_cache
def get_settings() -> Settings:
    return Settings()
