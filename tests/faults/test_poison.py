"""A message that fails every time goes to the dead-letter topic; its partition moves on."""

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared import topics
from shared.settings import get_settings
from tests import factories as f
from tests.faults.cluster import Cluster
from tests.kafka import TopicTap
from tests.signing import send_command

pytestmark = pytest.mark.faults


async def test_a_command_whose_handler_always_raises_is_dead_lettered_after_its_attempts(
    cluster: Cluster,
    gateway: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    fault_events: TopicTap,
    fault_dead_letters: TopicTap,
) -> None:
    tenant = await f.create_tenant(gateway)
    poison = f.create_command(tenant, ["901"])
    cluster.start("number_registry", FAIL_POINTS=f"registry.command:{poison.message_id}")
    after = f.create_command(tenant, ["902"])
    # The same key: the same partition, behind the poison.
    sent = await send_command(producer, tenant, poison.model_dump_json().encode())
    await send_command(producer, tenant, after.model_dump_json().encode())

    [letter] = await fault_dead_letters.wait_for(
        lambda d: str(poison.message_id) in d.get("payload", "")
    )
    assert letter["attempts"] == get_settings().max_delivery_attempts
    assert "injected failure" in letter["error"]
    assert (letter["source_topic"], letter["source_partition"], letter["source_offset"]) == (
        topics.CALLER_NUMBER_COMMANDS,
        sent.partition,
        sent.offset,
    )
    [event] = await fault_events.wait_for(lambda e: e.get("command_id") == str(after.message_id))
    assert event["type"] == "created"
    assert not cluster.dead("number_registry")
