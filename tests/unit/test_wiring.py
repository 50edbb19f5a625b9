"""Services are built from a Settings object; Kafka security comes from one place."""

import os
import ssl
import subprocess
import sys

import pytest
from pydantic import ValidationError

from shared.kafka import client_options
from shared.settings import Settings
from tests.infra import ROOT, given_backing

SASL = {"kafka_sasl_username": "registry", "kafka_sasl_password": "s3cret"}


@pytest.fixture(autouse=True)
def no_security_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*os.environ]:
        if name.startswith(("KAFKA_SECURITY_", "KAFKA_SASL_")):
            monkeypatch.delenv(name)


class TestKafkaSecurity:
    def test_plaintext_by_default_names_only_the_bootstrap_servers(self) -> None:
        settings = Settings(kafka_bootstrap_servers="kafka:9092")
        assert client_options(settings) == {"bootstrap_servers": "kafka:9092"}

    @pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
    def test_sasl_gives_every_client_the_mechanism_user_and_password(self, mechanism: str) -> None:
        settings = Settings(
            kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism=mechanism, **SASL
        )
        options = client_options(settings)
        assert options["security_protocol"] == "SASL_PLAINTEXT"
        assert options["sasl_mechanism"] == mechanism
        assert (options["sasl_plain_username"], options["sasl_plain_password"]) == (
            "registry",
            "s3cret",
        )
        assert options["ssl_context"] is None

    @pytest.mark.parametrize("protocol", ["SSL", "SASL_SSL"])
    def test_ssl_verifies_the_broker_with_the_system_certificates(self, protocol: str) -> None:
        sasl = {"kafka_sasl_mechanism": "SCRAM-SHA-512", **SASL} if protocol == "SASL_SSL" else {}
        options = client_options(Settings(kafka_security_protocol=protocol, **sasl))
        assert options["security_protocol"] == protocol
        assert isinstance(options["ssl_context"], ssl.SSLContext)
        assert options["ssl_context"].verify_mode is ssl.CERT_REQUIRED

    @pytest.mark.parametrize(
        "given",
        [
            pytest.param({"kafka_security_protocol": "SASL_SSL"}, id="sasl-without-credentials"),
            pytest.param(
                {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_mechanism": "PLAIN"},
                id="sasl-without-user",
            ),
            pytest.param({"kafka_sasl_mechanism": "PLAIN", **SASL}, id="credentials-on-plaintext"),
        ],
    )
    def test_an_incomplete_security_setting_is_refused_by_name(self, given: dict[str, str]) -> None:
        with pytest.raises(ValidationError, match="KAFKA_S"):
            Settings(**given)


def test_importing_a_service_reads_no_settings_and_builds_nothing() -> None:
    """Settings that cannot load do not stop an import; create_app() then refuses them."""
    script = (
        "import services.api_gateway.main, services.number_registry.main, "
        "services.import_worker.main as worker\n"
        "try:\n    worker.create_app()\nexcept ValueError as error:\n    print(error)\n"
    )
    bad = {**os.environ, "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=bad, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "needs KAFKA_SASL_MECHANISM" in done.stdout


class TestGivenServices:
    """The fault suite may stop given services only if local-services.sh runs these very ones."""

    @pytest.fixture(autouse=True)
    def given(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:21092")
        monkeypatch.setenv("DATABASE_URL", "postgresql://a:a@127.0.0.1:21032/caller_numbers")
        monkeypatch.setenv("DATABASE_OWNER_URL", "postgresql://o:o@127.0.0.1:21032/caller_numbers")
        monkeypatch.setenv("KAFKA_PORT", "21092")
        monkeypatch.setenv("PG_PORT", "21032")
        monkeypatch.setenv("CNR_STATE_DIR", "/var/tmp/elsewhere")

    def test_they_are_ours_when_the_state_folder_and_both_ports_match(self) -> None:
        assert given_backing().local_services_env == {}

    @pytest.mark.parametrize(
        ("name", "value"),
        [("KAFKA_PORT", "9092"), ("PG_PORT", "5432"), ("CNR_STATE_DIR", None)],
    )
    def test_they_are_not_ours_when_anything_differs(
        self, monkeypatch: pytest.MonkeyPatch, name: str, value: str | None
    ) -> None:
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
        assert given_backing().local_services_env is None
