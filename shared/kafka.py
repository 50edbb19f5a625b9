"""The Kafka broker every service uses, and the dead-letter policy for what cannot be processed."""

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any, Literal, TypedDict

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy, BaseMiddleware
from faststream._internal.endpoint.subscriber.utils import MultiLock
from faststream.kafka import KafkaBroker
from faststream.kafka.publisher.usecase import LogicPublisher
from faststream.kafka.security import parse_security
from faststream.kafka.subscriber.usecase import LogicSubscriber
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
    # Two writers of one tenant each waiting for the other (an import batch and a command that
    # add the same number, both counting the tenant's numbers): PostgreSQL ends one; again, it
    # passes.
    asyncpg.DeadlockDetectedError,
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
    static_membership: bool = True,
) -> SubscriberOptions:
    """Every subscriber's options: the offset is committed only after the handler returned
    (NACK_ON_ERROR, never FastStream's at-most-once ACK_FIRST); a new group starts at the
    earliest message; static membership when KAFKA_INSTANCE_ID is set (a restarted instance
    takes its partitions back at once, instead of waiting out the dead one's session and a
    rebalance), unless `static_membership` is False: a subscriber of several consumers
    (max_workers), which FastStream gives the same options, while a static member id can be
    held by one consumer only. The fetch defaults are aiokafka's."""
    return SubscriberOptions(
        group_id=group_id,
        group_instance_id=settings.kafka_instance_id if static_membership else None,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=fetch_max_wait_ms,
        max_partition_fetch_bytes=max_partition_fetch_bytes,
    )


# A consumer keeps one fetch in flight per broker: a long poll on its idle partitions (500 ms
# by default) holds back the next message of a busy one. Commands a user waits for poll short.
INTERACTIVE_FETCH_WAIT_MS = 20

# A batch subscriber (FastStream) that finds nothing waits this long for records, then sleeps
# as long again before it asks: a command arriving meanwhile waits up to that sleep. Short, so
# that at a low rate a command is not held back; the idle cost is a wake-up every 20 ms.
COMMAND_BATCH_WAIT_MS = 10

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


# Seconds a stopping service gives its handlers in flight.
GRACEFUL_TIMEOUT = 15.0


async def finish_handlers_in_flight(broker: KafkaBroker) -> None:
    """Before the broker stops (an app's on_shutdown): no subscriber takes a new message, and
    the handlers in flight finish, their offsets committed, within GRACEFUL_TIMEOUT.
    FastStream's subscriber of several consumers (max_workers) stops its consumers before it
    waits for its handlers: a batch in flight could then not commit its offset and would come
    again (answered as written the first time: nothing doubled, but the work done twice)."""
    subscribers = [s for s in broker.subscribers if isinstance(s, LogicSubscriber)]
    for subscriber in subscribers:
        subscriber.running = False
    await asyncio.gather(
        *(
            s.lock.wait_release(GRACEFUL_TIMEOUT)
            for s in subscribers
            if isinstance(s.lock, MultiLock)
        )
    )


def make_broker(settings: Settings, *, client_id: str) -> KafkaBroker:
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers,
        security=broker_security(settings),
        client_id=client_id,
        **PRODUCER_OPTIONS,
        **observability.broker_options(client_id),
        graceful_timeout=GRACEFUL_TIMEOUT,
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
    goes after `max_attempts` tries (redelivered by the subscriber's NACK_ON_ERROR policy).

    A batch subscriber's handler dead-letters its own commands one at a time
    (`publish_dead_letter`); an error that escapes it is the infrastructure's, so the whole
    batch is redelivered after a growing pause, never dead-lettered."""
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
            record: Any = self.msg  # aiokafka's ConsumerRecord, or a batch's sequence of them
            batch = isinstance(record, tuple | list)
            first = record[0] if batch else record
            where = (first.topic, first.partition, first.offset)
            if exc_val is None or not isinstance(exc_val, Exception):
                attempts.pop(where, None)
                waits.pop(where, None)
                return False
            if not batch and isinstance(exc_val, MALFORMED_ERRORS):
                await publish_dead_letter(broker, record, exc_val, attempt=1)
                return True
            if batch or isinstance(exc_val, TRANSIENT_ERRORS):
                # An outage: waited out with a growing pause, never dead-lettered.
                outage = waits[where] = waits.get(where, 0) + 1
                log.warning("transient error at %s, will retry: %r", where, exc_val)
                await asyncio.sleep(backoff(outage))
                return False
            attempt = attempts[where] = attempts.get(where, 0) + 1
            if attempt < max_attempts:
                log.warning("attempt %d at %s failed: %r", attempt, where, exc_val)
                await asyncio.sleep(backoff(attempt))
                return False
            attempts.pop(where, None)
            await publish_dead_letter(broker, record, exc_val, attempt=attempt)
            return True

    return DeadLetterMiddleware


async def acknowledged(deliveries: Iterable[Awaitable[Any] | None]) -> None:
    """Awaits the acknowledgements (acks=all) of messages handed to the producer with
    `publish(..., no_confirm=True)`, every one, then raises the first failure. FastStream's
    in-memory test broker delivers at once and hands back None: nothing to await."""
    results = await asyncio.gather(
        *(delivery for delivery in deliveries if delivery is not None), return_exceptions=True
    )
    if failed := next((r for r in results if isinstance(r, BaseException)), None):
        raise failed


def backoff(attempt: int) -> float:
    """Seconds to wait before trying again after `attempt` failures: 0.2, 0.4, ... up to 5."""
    return float(min(0.1 * 2**attempt, 5.0))


async def publish_dead_letter(
    broker: KafkaBroker, record: Any, error: BaseException, *, attempt: int
) -> None:
    """Sends aiokafka's ConsumerRecord `record` to `<topic>.dlq`, with the error and the number
    of attempts made, under the record's own key."""
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


def declared_topics(broker: KafkaBroker) -> frozenset[str]:
    """The topics a service's broker reads and writes: its subscribers' (with their dead-letter
    topics) and its publishers'. Its Kafka principal is allowed these and no other
    (scripts/kafka/acls.txt; a contract test holds the two together)."""
    subscribers = [s for s in broker.subscribers if isinstance(s, LogicSubscriber)]
    publishers = [p for p in broker.publishers if isinstance(p, LogicPublisher)]
    read = {topic.name for subscriber in subscribers for topic in subscriber.topics}
    written = {publisher.topic for publisher in publishers}
    return frozenset({*read, *map(topics.dead_letter_topic, read), *written})


async def ensure_topics(settings: Settings, names: Iterable[str]) -> None:
    """Create those of the named topics that do not exist yet, with their `topics.CONFIGS`;
    existing ones keep their partitions, and get those configs if they lack them (a topic made
    before). A service names its own: its principal may create (and configure) those only."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        wanted = set(names)
        existing = wanted & set(await admin.list_topics())
        partitions = settings.kafka_topic_partitions
        new = [
            NewTopic(name, partitions, 1, topic_configs=topics.CONFIGS.get(name))
            for name in sorted(wanted - existing)
        ]
        # Another service may create them at the same moment: that is fine.
        with contextlib.suppress(TopicAlreadyExistsError):
            if new:
                await admin.create_topics(new)
        for name in sorted(existing & topics.CONFIGS.keys()):
            await keep_configs(admin, name, topics.CONFIGS[name])
    finally:
        await admin.close()


# DescribeConfigs' config_source of a value set on the topic itself (not a default).
_DYNAMIC_TOPIC_CONFIG = 1


async def keep_configs(admin: AIOKafkaAdminClient, topic: str, wanted: dict[str, str]) -> None:
    """Give an existing topic the `wanted` configs, keeping the others set on it; raises
    RuntimeError if the broker refuses (e.g. no AlterConfigs right on the topic)."""
    [described] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    [resource] = described.to_object()["resources"]
    entries = resource["config_entries"]
    if all(
        any(e["config_names"] == name and e["config_value"] == value for e in entries)
        for name, value in wanted.items()
    ):
        return
    # AlterConfigs replaces the topic's own settings as a whole: keep the others it has.
    kept = {
        e["config_names"]: e["config_value"]
        for e in entries
        if e["config_source"] == _DYNAMIC_TOPIC_CONFIG
    }
    log.warning("topic %s: setting %s", topic, wanted)
    [altered] = await admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic, {**kept, **wanted})]
    )
    [result] = altered.to_object()["resources"]
    if result["error_code"]:
        raise RuntimeError(
            f"topic {topic} needs {wanted}; the broker refused it: {result['error_message']} "
            f"(error {result['error_code']}). Set it with kafka-configs.sh --alter."
        )
