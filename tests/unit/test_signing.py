"""Signed commands (shared/signing): each way a record fails to prove its sender, generated
tampering, keys that rotate, and the key files and command line."""

import base64
import io
import stat
import sys
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import assume, given
from hypothesis import strategies as st

from services.api_gateway.main import create_app as create_gateway
from services.number_registry import registry
from services.number_registry.main import create_app as create_registry
from services.number_registry.registry import Unappliable
from shared.contracts import CommandSignature, Principal, Role
from shared.settings import Settings
from shared.signing import (
    LOG_APPEND_TIME,
    GatewayKey,
    Signer,
    SigningKeysError,
    TrustedKeys,
    Unauthenticated,
    UpstreamKey,
    Verifier,
    signed_bytes,
)
from shared.signing.__main__ import main
from shared.signing.keyfiles import dev_keys, keygen
from tests.factories import create_command
from tests.generated import tampered_fields
from tests.signing import Record

NOW = 1_790_000_000_000  # ms
WINDOW = 300.0
ALICE = Principal(sub="alice", role=Role.TENANT_ADMIN)


def _pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


GATEWAY, GATEWAY_NEXT, CRM, OTHER = (
    Signer(kid, Ed25519PrivateKey.generate()) for kid in ("gw-1", "gw-2", "crm-1", "other-1")
)
TRUSTED = TrustedKeys(
    keys=(
        GatewayKey(signer="gateway", kid="gw-1", public_key=_pem(GATEWAY.private_key)),
        GatewayKey(signer="gateway", kid="gw-2", public_key=_pem(GATEWAY_NEXT.private_key)),
        UpstreamKey(
            signer="upstream",
            kid="crm-1",
            public_key=_pem(CRM.private_key),
            system="crm",
            tenants=("acme", "globex"),
        ),
    )
)
VERIFIER = Verifier(TRUSTED, window_seconds=WINDOW)
VALUE = create_command("acme", ["0215"], principal=ALICE).model_dump_json().encode()


def _record(
    signer: Signer = CRM,
    *,
    value: bytes = VALUE,
    signed_at: int = NOW,
    appended_at: int = NOW,
    timestamp_type: int = LOG_APPEND_TIME,
) -> Record:
    headers = [(k, v.encode()) for k, v in signer.headers(value, signed_at_ms=signed_at).items()]
    return Record(value, b"acme", headers, appended_at, timestamp_type)


def _principal(record: Record, tenant: str = "acme") -> Principal | None:
    return VERIFIER.principal(record, tenant_id=tenant, claimed=ALICE)


def _refusal(record: Record, tenant: str = "acme") -> str:
    with pytest.raises(Unauthenticated) as refused:
        _principal(record, tenant)
    return str(refused.value)


class TestWhoSentIt:
    def test_the_gateways_key_vouches_for_the_principal_it_signed(self) -> None:
        assert _principal(_record(GATEWAY)) == ALICE

    def test_an_upstream_key_acts_as_its_system_with_the_role_service(self) -> None:
        assert _principal(_record(CRM)) == Principal(sub="crm", role=Role.SERVICE)

    def test_several_keys_are_valid_at_once_so_keys_rotate(self) -> None:
        assert _principal(_record(GATEWAY)) == _principal(_record(GATEWAY_NEXT)) == ALICE

    def test_the_signature_covers_the_bytes_the_module_docstring_names(self) -> None:
        literal = b"cnr-command-signature-v1\ncaller-numbers.commands.v1\ngw-1\n%d\n" % NOW + VALUE
        assert signed_bytes(kid="gw-1", signed_at_ms=NOW, value=VALUE) == literal
        signature = GATEWAY.headers(VALUE, signed_at_ms=NOW)["signature"]
        assert base64.urlsafe_b64decode(signature + "==") == GATEWAY.private_key.sign(literal)

    def test_the_headers_are_the_ones_the_asyncapi_document_and_golden_describe(self) -> None:
        headers = CRM.headers(VALUE)
        assert CommandSignature.model_validate(headers).model_dump(by_alias=True) == headers

    def test_a_lagging_or_redelivered_command_is_judged_by_its_append_time_not_now(self) -> None:
        # Consumed hours later: the record's append time is still when it was sent.
        assert _principal(_record(CRM, signed_at=NOW - 299_000, appended_at=NOW)) is not None


class TestRefusals:
    @pytest.mark.parametrize("missing", ["kid", "signed-at", "signature"])
    def test_no_signature_names_the_missing_header(self, missing: str) -> None:
        record = _record()
        headers = [(k, v) for k, v in record.headers if k != missing]
        message = _refusal(Record(VALUE, b"acme", headers, NOW))
        assert message.startswith("No signature") and missing in message

    def test_a_header_sent_twice_is_refused(self) -> None:
        record = _record()
        headers = [*record.headers, ("signature", dict(_record(GATEWAY).headers)["signature"])]
        assert "must appear once" in _refusal(Record(VALUE, b"acme", headers, NOW))

    def test_an_unknown_kid_is_named(self) -> None:
        assert _refusal(_record(OTHER)).startswith("Unknown kid 'other-1'")

    def test_a_signature_by_another_key_under_a_trusted_kid_is_bad(self) -> None:
        impostor = Signer("crm-1", OTHER.private_key)
        assert _refusal(_record(impostor)).startswith("Bad signature")

    def test_a_copied_signature_cannot_carry_another_value(self) -> None:
        record = _record()
        forged = Record(VALUE.replace(b"0215", b"0216"), b"acme", record.headers, NOW)
        assert _refusal(forged).startswith("Bad signature")

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("signed-at", b"soon"),
            ("signed-at", b"0" + str(NOW).encode()),  # another spelling of the same time
            ("signature", b"not base64!"),
            ("signature", b"AAAA"),
        ],
    )
    def test_an_unreadable_signature_header_is_bad(self, name: str, value: bytes) -> None:
        headers = [(k, value if k == name else v) for k, v in _record().headers]
        assert _refusal(Record(VALUE, b"acme", headers, NOW)).startswith("Bad signature")

    @pytest.mark.parametrize("offset_ms", [-300_001, 300_001, -86_400_000])
    def test_a_signature_further_than_the_window_from_the_append_time_is_stale(
        self, offset_ms: int
    ) -> None:
        message = _refusal(_record(signed_at=NOW + offset_ms, appended_at=NOW))
        assert message.startswith("Stale signature") and "300 s" in message

    def test_a_record_stamped_by_its_producer_cannot_be_judged_for_age(self) -> None:
        message = _refusal(_record(timestamp_type=0))
        assert "LogAppendTime" in message

    def test_an_upstream_key_acts_only_for_its_tenants(self) -> None:
        message = _refusal(_record(CRM), tenant="initech")
        assert message.startswith("Tenant not allowed") and "'initech'" in message

    def test_an_upstream_key_for_every_tenant_says_star(self) -> None:
        pem = _pem(OTHER.private_key)
        key = UpstreamKey(signer="upstream", kid="o", public_key=pem, system="s", tenants=("*",))
        verifier = Verifier(TrustedKeys(keys=(key,)), window_seconds=WINDOW)
        record = _record(Signer("o", OTHER.private_key))
        assert verifier.principal(record, tenant_id="any", claimed=None) == Principal(
            sub="s", role=Role.SERVICE
        )


# ---- generated tampering: any byte of the value or of a header, any field of the command ----


@given(data=st.data())
def test_any_byte_flipped_in_the_value_or_a_header_is_unauthenticated(data: st.DataObject) -> None:
    record = _record(data.draw(st.sampled_from([GATEWAY, CRM]), label="signer"))
    parts = [record.value or b"", *(value for _, value in record.headers)]
    which = data.draw(st.integers(0, len(parts) - 1), label="part")
    at = data.draw(st.integers(0, len(parts[which]) - 1), label="byte")
    flip = data.draw(st.integers(1, 255), label="xor")
    changed = bytearray(parts[which])
    changed[at] ^= flip
    parts[which] = bytes(changed)
    headers = [(name, parts[i + 1]) for i, (name, _) in enumerate(record.headers)]
    with pytest.raises(Unauthenticated):
        _principal(Record(parts[0], b"acme", headers, NOW))


@given(tampered=tampered_fields, signer=st.sampled_from([GATEWAY, CRM]))
def test_any_field_changed_after_signing_makes_the_command_unauthenticated(
    tampered: tuple[str, object], signer: Signer
) -> None:
    record = _record(signer)
    sent = orjson.loads(VALUE)
    name, value = tampered
    assume(value != sent[name])
    forged = Record(orjson.dumps({**sent, name: value}), b"acme", record.headers, NOW)
    command = registry.read(forged, VERIFIER)
    assert isinstance(command, Unappliable) and command.outcome.reason == "unauthenticated"
    assert command.header.principal is None  # nothing it claims is repeated


# ---- keys: files, settings, the command line ----


class TestKeyFiles:
    def test_the_services_refuse_to_start_without_their_keys(self) -> None:
        with pytest.raises(SigningKeysError, match="COMMAND_SIGNING_KEY_FILE"):
            Signer.from_settings(Settings(_env_file=None, command_signing_key_file=None))
        with pytest.raises(SigningKeysError, match="COMMAND_TRUSTED_KEYS_FILE"):
            Verifier.from_settings(Settings(_env_file=None, command_trusted_keys_file=None))

    def test_a_missing_or_foreign_private_key_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(SigningKeysError, match="cannot read"):
            Signer.from_file(tmp_path / "absent.key", kid="k")
        rsa_key = tmp_path / "rsa.key"
        rsa_key.write_bytes(
            rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        with pytest.raises(SigningKeysError, match="not an Ed25519"):
            Signer.from_file(rsa_key, kid="k")
        keygen(tmp_path / "ok.key")
        with pytest.raises(SigningKeysError, match="kid"):
            Signer.from_file(tmp_path / "ok.key", kid="has space")

    @pytest.mark.parametrize(
        ("text", "error"),
        [
            ("keys = [", "Invalid value"),
            ('[[keys]]\nkid = "a"\nsigner = "gateway"\npublic_key = "x"', "public_key"),
            ('[[keys]]\nkid = "a"\nsigner = "root"\npublic_key = "x"', "signer"),
            (
                "[[keys]]\nkid = 'a'\nsigner = 'upstream'\nsystem = 's'\npublic_key = '''{pem}'''",
                "tenants",
            ),
            (
                "[[keys]]\nkid = 'a'\nsigner = 'gateway'\npublic_key = '''{pem}'''\n"
                "[[keys]]\nkid = 'a'\nsigner = 'gateway'\npublic_key = '''{pem}'''",
                "repeated: a",
            ),
        ],
        ids=["not-toml", "not-a-key", "unknown-signer", "upstream-without-tenants", "same-kid"],
    )
    def test_a_trusted_keys_file_that_cannot_be_used_is_refused_naming_why(
        self, tmp_path: Path, text: str, error: str
    ) -> None:
        path = tmp_path / "trusted.toml"
        path.write_text(text.replace("{pem}", _pem(OTHER.private_key)))
        with pytest.raises(SigningKeysError, match=error) as refused:
            TrustedKeys.from_file(path)
        assert str(path) in str(refused.value)

    def test_keygen_writes_an_owner_only_key_and_never_overwrites_one(self, tmp_path: Path) -> None:
        public = keygen(tmp_path / "k.key")
        assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == 0o600
        assert public.startswith("-----BEGIN PUBLIC KEY-----")
        with pytest.raises(FileExistsError):
            keygen(tmp_path / "k.key")

    def test_the_development_keys_are_made_once_and_trusted_by_their_settings(
        self, tmp_path: Path
    ) -> None:
        settings = dev_keys(tmp_path)
        key = Path(settings["COMMAND_SIGNING_KEY_FILE"]).read_bytes()
        assert dev_keys(tmp_path) == settings
        assert Path(settings["COMMAND_SIGNING_KEY_FILE"]).read_bytes() == key
        env = Settings(_env_file=None, **{k.lower(): v for k, v in settings.items()})
        gateway = Signer.from_settings(env)
        record = Record(VALUE, b"acme", _record(gateway).headers, NOW)
        assert Verifier.from_settings(env).principal(record, tenant_id="t", claimed=ALICE) == ALICE

    def test_the_sign_command_prints_kcat_headers_that_verify(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        settings = dev_keys(tmp_path)
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(VALUE + b"\n")))
        main(["sign", "--key", str(tmp_path / "crm.key"), "--kid", "crm-dev"])
        words = capsys.readouterr().out.split()
        assert words[::2] == ["-H", "-H", "-H"]
        headers = [(w.split("=", 1)[0], w.split("=", 1)[1].encode()) for w in words[1::2]]
        verifier = Verifier(
            TrustedKeys.from_file(Path(settings["COMMAND_TRUSTED_KEYS_FILE"])),
            window_seconds=60,
        )
        appended = int(dict(headers)["signed-at"])
        record = Record(VALUE, b"acme", headers, appended)
        assert verifier.principal(record, tenant_id="acme", claimed=None) == Principal(
            sub="crm", role=Role.SERVICE
        )

    def test_the_gateway_and_the_registry_do_not_start_without_their_keys(self) -> None:
        bare = Settings(
            _env_file=None, command_signing_key_file=None, command_trusted_keys_file=None
        )
        with pytest.raises(SigningKeysError, match="COMMAND_SIGNING_KEY_FILE"):
            create_gateway(bare)
        with pytest.raises(SigningKeysError, match="COMMAND_TRUSTED_KEYS_FILE"):
            create_registry(bare)

    def test_the_sign_command_refuses_a_key_it_cannot_read(self, tmp_path: Path) -> None:
        with pytest.raises(SystemExit):
            main(["sign", "--key", str(tmp_path / "absent.key"), "--kid", "k"])
