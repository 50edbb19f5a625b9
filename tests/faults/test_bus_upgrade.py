"""A local broker from before authentication is upgraded in place by `local-services.sh start`:
its users and ACLs are added, its topics, messages and committed offsets kept."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError

from shared import topics
from shared.kafka import client_options
from shared.settings import Settings
from tests.infra import LOCAL_SERVICES, ROOT, Backing
from tests.processes import free_port

pytestmark = pytest.mark.faults

# The last commit of the scripts whose broker took no credentials.
BEFORE_AUTHENTICATION = "2a552b2"
OLD_FILES = ("scripts/local-services.sh", "scripts/kafka/server.properties.template")
GROUP = "upstream-crm"


def old_scripts(into: Path) -> Path:
    """The pre-authentication local-services.sh and broker template, as git keeps them."""
    for name in (*OLD_FILES, "scripts/kafka/pom.xml"):
        shown = subprocess.run(
            ["git", "show", f"{BEFORE_AUTHENTICATION}:{name}"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        (into / name).write_bytes(shown.stdout)
    return into / OLD_FILES[0]


@pytest.fixture
def state(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A state folder of its own on ports of its own; its broker stopped at the end."""
    env = {
        **os.environ,
        "CNR_STATE_DIR": str(tmp_path / "state"),
        "KAFKA_PORT": str(free_port()),
        "KAFKA_CONTROLLER_PORT": str(free_port()),
    }
    yield env
    subprocess.run(["bash", str(LOCAL_SERVICES), "stop", "kafka"], env=env, check=False)


def start(script: Path, env: dict[str, str]) -> dict[str, str]:
    """`script start kafka`, and the settings it printed."""
    printed = subprocess.run(
        ["bash", str(script), "start", "kafka"],
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    lines = printed.split("# environment for the services:", 1)[1].splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


async def test_an_unauthenticated_broker_with_data_is_upgraded_in_place(
    backing: Backing, state: dict[str, str], tmp_path: Path
) -> None:
    old = start(old_scripts(tmp_path / "old"), state)
    assert "KAFKA_SASL_USERNAME" not in old
    before = Settings(
        kafka_bootstrap_servers=old["KAFKA_BOOTSTRAP_SERVERS"],
        **dict.fromkeys(["kafka_sasl_mechanism", "kafka_sasl_username", "kafka_sasl_password"]),
        kafka_security_protocol="PLAINTEXT",
    )
    producer = AIOKafkaProducer(**client_options(before))
    await producer.start()
    sent = await producer.send_and_wait(topics.CALLER_NUMBER_EVENTS, b'{"kept": true}', key=b"t")
    await producer.stop()
    where = TopicPartition(topics.CALLER_NUMBER_EVENTS, sent.partition)
    consumer = AIOKafkaConsumer(**client_options(before), group_id=GROUP)
    await consumer.start()
    consumer.assign([where])
    await consumer.commit({where: sent.offset + 1})
    await consumer.stop()

    new = start(LOCAL_SERVICES, state)  # the old broker still runs: restarted with SASL

    admin = Settings(**{name.lower(): value for name, value in new.items()})
    consumer = AIOKafkaConsumer(
        **client_options(admin), group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    consumer.assign([where])
    [record] = (await consumer.getmany(where, timeout_ms=30_000, max_records=1))[where]
    await consumer.stop()
    assert (record.offset, record.value) == (sent.offset, b'{"kept": true}')

    credentials = Path(new["KAFKA_CREDENTIALS_DIR"])
    upstream = dict(
        line.split("=", 1) for line in (credentials / "upstream.env").read_text().splitlines()
    )
    assert oct((credentials / "upstream.env").stat().st_mode & 0o777) == "0o600"
    as_upstream = Settings(
        kafka_bootstrap_servers=new["KAFKA_BOOTSTRAP_SERVERS"],
        **{name.lower(): value for name, value in upstream.items()},
    )
    consumer = AIOKafkaConsumer(**client_options(as_upstream), group_id=GROUP)
    await consumer.start()
    consumer.assign([where])
    assert await consumer.committed(where) == sent.offset + 1  # the group's offset is kept
    await consumer.stop()

    producer = AIOKafkaProducer(**client_options(before), request_timeout_ms=5000)
    with pytest.raises(KafkaConnectionError):  # no one gets in without credentials any more
        await producer.start()
    await producer.stop()
