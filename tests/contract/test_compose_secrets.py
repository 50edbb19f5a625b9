"""docker-compose.yml takes every secret from the env file, with no default to fall back on."""

import re

from tests.infra import ROOT
from tests.kafka_acls import principals

# Kafka: the admin's password and each principal's of scripts/kafka/acls.txt.
KAFKA_PASSWORDS = tuple(
    f"KAFKA_{name.upper().replace('-', '_')}_PASSWORD" for name in ("admin", *principals())
)
SECRETS = (
    "AUTH_JWT_SECRET",
    "REGISTRY_OWNER_PASSWORD",
    "REGISTRY_APP_PASSWORD",
    "COMMAND_SIGNING_KID",  # not secret, but required: it names the key that is
    *KAFKA_PASSWORDS,
)


def test_every_secret_comes_from_the_env_file_and_is_required() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    uses = re.findall(r"\$\{(\w+)(:?[-?=+])?([^}]*)\}", compose)
    assert {name for name, _, _ in uses} == set(SECRETS)
    assert all(operator == ":?" for _, operator, _ in uses), uses  # no `:-default`
    assert "registry_app:registry_app" not in compose and "PASSWORD: registry" not in compose
    example = (ROOT / "deploy" / "compose.env.example").read_text()
    assert all(re.search(rf"^{name}=$", example, re.MULTILINE) for name in SECRETS)
