"""Each service's Kafka principal is allowed exactly what its code reads and writes, no more."""

import pytest
from faststream.kafka import KafkaBroker

from services.api_gateway.bus import create_bus
from services.import_worker.main import create_app as create_worker
from services.number_registry.main import create_app as create_registry
from shared import topics
from shared.kafka import declared_topics
from shared.settings import Settings
from tests.kafka_acls import groups_allowed, principals, topics_allowed
from tests.processes import PRINCIPALS


def broker_of(service: str) -> KafkaBroker:
    settings = Settings()
    if service == "api_gateway":
        return create_bus(settings).router.broker
    factory = create_registry if service == "number_registry" else create_worker
    return factory(settings).broker


@pytest.mark.parametrize("service", sorted(PRINCIPALS))
def test_a_service_may_read_and_write_its_own_topics_and_groups_only(service: str) -> None:
    broker, principal = broker_of(service), PRINCIPALS[service]
    read = {topic.name for subscriber in broker.subscribers for topic in subscriber.topics}
    written = {publisher.topic for publisher in broker.publishers}
    assert topics_allowed(principal, "Read") == read
    assert topics_allowed(principal, "Write") == written | {
        topics.dead_letter_topic(topic) for topic in read
    }
    assert topics_allowed(principal, "Create") == declared_topics(broker)
    assert topics_allowed(principal, "Describe") == read | topics_allowed(principal, "Write")
    groups = {getattr(subscriber, "group_id", None) for subscriber in broker.subscribers}
    assert groups_allowed(principal) == groups


def test_upstream_systems_may_send_commands_and_read_outcomes_only() -> None:
    assert topics_allowed("upstream", "Write") == {topics.CALLER_NUMBER_COMMANDS}
    assert topics_allowed("upstream", "Read") == {topics.CALLER_NUMBER_EVENTS}
    assert topics_allowed("upstream", "Create") == set()


def test_every_principal_is_a_service_upstream_or_the_operators_cli() -> None:
    assert set(principals()) == {*PRINCIPALS.values(), "upstream", "operator"}
    assert topics_allowed("operator", "Read") == {topics.IMPORT_EVENTS}
    assert topics_allowed("operator", "Write") == set()
