"""The tests' command keys (the development key set in test-output/keys) and signed sending.

Every test that publishes a command straight onto Kafka sends it with `send_command`: signed
by the upstream system `crm`, or by the gateway's key for a user's principal."""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from shared import topics
from shared.signing import LOG_APPEND_TIME, Signer, TrustedKeys, Verifier
from shared.signing.keyfiles import DEV_GATEWAY_KID, DEV_UPSTREAM_KID, TRUSTED_KEYS_FILE, dev_keys
from tests.infra import KEYS_DIR


@cache
def upstream() -> Signer:
    """The upstream system `crm`, trusted for every tenant."""
    dev_keys(KEYS_DIR)
    return Signer.from_file(KEYS_DIR / "crm.key", kid=DEV_UPSTREAM_KID)


@cache
def gateway() -> Signer:
    """The gateway's key: it signs for a user, whose principal the command carries."""
    dev_keys(KEYS_DIR)
    return Signer.from_file(KEYS_DIR / "gateway.key", kid=DEV_GATEWAY_KID)


def signed(value: bytes, signer: Signer | None = None) -> list[tuple[str, bytes]]:
    """Kafka headers that sign `value` now."""
    headers = (signer or upstream()).headers(value)
    return [(name, text.encode()) for name, text in headers.items()]


async def send_command(
    producer: AIOKafkaProducer,
    tenant: str,
    value: bytes,
    *,
    key: bytes | None = None,
    signer: Signer | None = None,
) -> RecordMetadata:
    """Publish a command as an upstream system does: key = tenant id (unless `key`), signed by
    `signer` (the upstream system `crm` by default); where the record went."""
    return await producer.send_and_wait(
        topics.CALLER_NUMBER_COMMANDS,
        value,
        key=tenant.encode() if key is None else key,
        headers=signed(value, signer),
    )


@dataclass(frozen=True)
class Record:
    """A consumed command record, as aiokafka gives it to the registry."""

    value: bytes | None
    key: bytes | None
    headers: Sequence[tuple[str, bytes]]
    timestamp: int  # when the broker appended it, in ms
    timestamp_type: int = LOG_APPEND_TIME


def record(value: bytes, *, key: bytes | None, signer: Signer | None = None) -> Record:
    """`value` signed and appended now (by the upstream system `crm` unless `signer`)."""
    return Record(value, key, signed(value, signer), time.time_ns() // 1_000_000)


@cache
def verifier() -> Verifier:
    """The registry's verifier, trusting the tests' keys as the test services do."""
    dev_keys(KEYS_DIR)
    return Verifier(TrustedKeys.from_file(KEYS_DIR / TRUSTED_KEYS_FILE), window_seconds=300)
