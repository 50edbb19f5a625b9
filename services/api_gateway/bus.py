"""The gateway's Kafka side: FastStream's FastAPI router and one publisher per topic."""

from dataclasses import dataclass

from faststream.kafka.fastapi import KafkaRouter
from faststream.kafka.publisher.usecase import DefaultPublisher

from shared import topics
from shared.contracts import CallerNumberCommand
from shared.kafka import PRODUCER_OPTIONS, broker_security
from shared.observability import broker_options
from shared.settings import Settings
from shared.signing import Signer


@dataclass(frozen=True)
class Bus:
    router: KafkaRouter  # included in the app: starts and stops the producer with it
    caller_number_commands: DefaultPublisher
    import_commands: DefaultPublisher
    import_events: DefaultPublisher
    signer: Signer

    async def send_command(self, command: CallerNumberCommand) -> None:
        """Publish a command, signed for the user the gateway authenticated: the registry
        applies only signed commands and takes their principal from the signature."""
        value = command.model_dump_json().encode()
        await self.caller_number_commands.publish(
            value, key=command.tenant_id.encode(), headers=self.signer.headers(value)
        )


def create_bus(settings: Settings) -> Bus:
    """The gateway's publishers; raises SigningKeysError without its signing key."""
    signer = Signer.from_settings(settings)
    router = KafkaRouter(
        settings.kafka_bootstrap_servers,
        security=broker_security(settings),
        client_id="api-gateway",
        schema_url=None,  # the whole system's AsyncAPI document is served by routes/operations.py
        include_in_schema=False,
        **PRODUCER_OPTIONS,
        **broker_options("api-gateway"),
    )
    return Bus(
        router=router,
        caller_number_commands=router.publisher(
            topics.CALLER_NUMBER_COMMANDS, title="caller-number commands"
        ),
        import_commands=router.publisher(topics.IMPORT_COMMANDS, title="import commands"),
        import_events=router.publisher(topics.IMPORT_EVENTS, title="import task events"),
        signer=signer,
    )
