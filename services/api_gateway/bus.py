"""The gateway's Kafka side: FastStream's FastAPI router and the one commands publisher."""

from faststream.kafka.fastapi import KafkaRouter

from shared import topics
from shared.kafka import PRODUCER_OPTIONS
from shared.observability import broker_options
from shared.settings import get_settings

kafka = KafkaRouter(
    get_settings().kafka_bootstrap_servers,
    client_id="api-gateway",
    schema_url=None,  # the whole system's AsyncAPI document is served by routes/operations.py
    include_in_schema=False,
    **PRODUCER_OPTIONS,
    **broker_options("api-gateway"),
)
caller_number_commands = kafka.publisher(
    topics.CALLER_NUMBER_COMMANDS, title="caller-number commands"
)
import_commands = kafka.publisher(topics.IMPORT_COMMANDS, title="import commands")
import_events = kafka.publisher(topics.IMPORT_EVENTS, title="import task events")
