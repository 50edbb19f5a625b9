"""The Kafka broker every service uses, and the dead-letter policy for what cannot be processed."""

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Literal, TypedDict

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy, BaseMiddleware
from faststream.kafka import KafkaBroker
from faststream.kafka.security import parse_security
from faststream.message import StreamMessage
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from pydantic import BaseModel, ValidationError

from shared import metrics, observability, topics
from shared.contracts import DeadLetter
from shared.settings import Settings

log = logging.getLogger(__name__)

# The message itself is bad: no retry can help.
MALFORMED_ERRORS: tuple[type[BaseException], ...] = (ValidationError, ValueError)
# Errors of the infrastructure, not of the message: retried until they pass, never dead-lettered.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)

_SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def broker_security(settings: Settings) -> BaseSecurity | None:
    """FastStream's security for the KAFKA_SECURITY_PROTOCOL and KAFKA_SASL_* settings (Settings
    checks they are complete); None for PLAINTEXT. Every broker and client takes it from here."""
    protocol = settings.kafka_security_protocol
    ssl_context = ssl.create_default_context() if protocol.endswith("SSL") else None
    if not protocol.startswith("SASL_"):
        return BaseSecurity(ssl_context=ssl_context) if ssl_context else None
    assert settings.kafka_sasl_mechanism and settings.kafka_sasl_username
    assert settings.kafka_sasl_password
    return _SASL[settings.kafka_sasl_mechanism](
        settings.kafka_sasl_username,
        settings.kafka_sasl_password.get_secret_value(),
        ssl_context=ssl_context,
    )


def client_options(settings: Settings) -> dict[str, Any]:
    """Where Kafka is and how to authenticate, for a plain aiokafka producer, consumer or admin
    client: the same options the brokers get from `broker_security`."""
    return {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        **parse_security(broker_security(settings)),
    }


class SubscriberOptions(TypedDict, total=False):
    group_id: str
    group_instance_id: str | None
    ack_policy: AckPolicy
    auto_offset_reset: Literal["earliest"]
    fetch_max_wait_ms: int
    max_partition_fetch_bytes: int


def at_least_once(
    group_id: str,
    settings: Settings,
    *,
    fetch_max_wait_ms: int = 500,
    max_partition_fetch_bytes: int = 1048576,
) -> SubscriberOptions:
    """Every subscriber's options: the offset is committed only after the handler returned
    (NACK_ON_ERROR, never FastStream's at-most-once ACK_FIRST); a new group starts at the
    earliest message; static membership when KAFKA_INSTANCE_ID is set (a restarted instance
    takes its partitions back at once, instead of waiting out the dead one's session and a
    rebalance). The fetch defaults are aiokafka's."""
    return SubscriberOptions(
        group_id=group_id,
        group_instance_id=settings.kafka_instance_id,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=fetch_max_wait_ms,
        max_partition_fetch_bytes=max_partition_fetch_bytes,
    )


# A consumer keeps one fetch in flight per broker: a long poll on its idle partitions (500 ms
# by default) holds back the next message of a busy one. Commands a user waits for poll short.
INTERACTIVE_FETCH_WAIT_MS = 20

# Row batches are ~150 KB: aiokafka's default 1 MB per partition fetch stalls every few of them.
BULK_FETCH_BYTES = 8 * 1024 * 1024


def model_decoder(model: type[BaseModel]) -> Callable[[StreamMessage[Any]], Awaitable[Any]]:
    """A subscriber's decoder for bulk messages: the JSON straight into its model by pydantic's
    own parser. FastStream's default goes through json.loads and validates the dict again, a
    fifth of a worker's CPU on a large import; the handler still declares the model."""

    async def decode(message: StreamMessage[Any]) -> Any:
        return model.model_validate_json(message.body)

    return decode


# acks=all with idempotence: a publish that returned is on every in-sync replica, exactly once.
PRODUCER_OPTIONS: dict[str, Any] = {"acks": "all", "enable_idempotence": True}


def make_broker(settings: Settings, *, client_id: str) -> KafkaBroker:
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers,
        security=broker_security(settings),
        client_id=client_id,
        **PRODUCER_OPTIONS,
        **observability.broker_options(client_id),
        graceful_timeout=15.0,
    )
    broker.add_middleware(
        dead_letter_middleware(broker, max_attempts=settings.max_delivery_attempts)
    )
    return broker


def dead_letter_middleware(
    broker: KafkaBroker, *, max_attempts: int
) -> Callable[..., BaseMiddleware]:
    """A message that cannot be processed goes to `<topic>.dlq` with its error, then is acked,
    so it never blocks its partition. A malformed one goes at once; one whose handler raises
    goes after `max_attempts` tries (redelivered by the subscriber's NACK_ON_ERROR policy)."""
    attempts: dict[tuple[str, int, int], int] = {}
    waits: dict[tuple[str, int, int], int] = {}

    class DeadLetterMiddleware(BaseMiddleware):
        # Runs as the handler's scope closes, before the ack policy sees the outcome:
        # returning True swallows the error, so the message is acked.
        async def after_processed(
            self,
            exc_type: type[BaseException] | None = None,
            exc_val: BaseException | None = None,
            exc_tb: TracebackType | None = None,
        ) -> bool:
            record: Any = self.msg  # aiokafka's ConsumerRecord
            where = (record.topic, record.partition, record.offset)
            if exc_val is None or not isinstance(exc_val, Exception):
                attempts.pop(where, None)
                waits.pop(where, None)
                return False
            if isinstance(exc_val, MALFORMED_ERRORS):
                await _dead_letter(broker, record, exc_val, attempt=1)
                return True
            if isinstance(exc_val, TRANSIENT_ERRORS):
                # An outage: waited out with a growing pause, never dead-lettered.
                outage = waits[where] = waits.get(where, 0) + 1
                log.warning("transient error at %s, will retry: %r", where, exc_val)
                await asyncio.sleep(_backoff(outage))
                return False
            attempt = attempts[where] = attempts.get(where, 0) + 1
            if attempt < max_attempts:
                log.warning("attempt %d at %s failed: %r", attempt, where, exc_val)
                await asyncio.sleep(_backoff(attempt))
                return False
            attempts.pop(where, None)
            await _dead_letter(broker, record, exc_val, attempt=attempt)
            return True

    return DeadLetterMiddleware


def _backoff(attempt: int) -> float:
    return float(min(0.1 * 2**attempt, 5.0))


async def _dead_letter(
    broker: KafkaBroker, record: Any, error: BaseException, *, attempt: int
) -> None:
    key = record.key.decode(errors="replace") if record.key else None
    letter = DeadLetter(
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        key=key,
        payload=(record.value or b"").decode(errors="replace"),
        error=f"{type(error).__name__}: {error}",
        attempts=attempt,
    )
    log.error(
        "dead-lettered %s:%d@%d: %s", record.topic, record.partition, record.offset, letter.error
    )
    metrics.DEAD_LETTERED.labels(topic=record.topic).inc()
    await broker.publish(
        letter.model_dump_json().encode(),
        topic=topics.dead_letter_topic(record.topic),
        key=record.key,
    )


async def partition_count(settings: Settings, topic: str) -> int:
    """How many partitions the topic has, as Kafka tells it now."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return len(described["partitions"])


async def ensure_topics(settings: Settings) -> None:
    """Create the project's topics that do not exist yet; existing ones are left as they are."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        missing = set(topics.ALL) - set(await admin.list_topics())
        new = [NewTopic(name, settings.kafka_topic_partitions, 1) for name in sorted(missing)]
        # Another service may create them at the same moment: that is fine.
        with contextlib.suppress(TopicAlreadyExistsError):
            if new:
                await admin.create_topics(new)
    finally:
        await admin.close()
