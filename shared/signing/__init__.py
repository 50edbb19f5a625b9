"""Signed commands: who sent a command on caller-numbers.commands.v1, proven with Ed25519.

Every command record carries three headers: `kid` (which key signed it), `signed-at` (when:
milliseconds since the Unix epoch, UTC) and `signature` (base64url of the 64-byte Ed25519
signature, unpadded). The signature is over these bytes, version 1:

    cnr-command-signature-v1 \\n caller-numbers.commands.v1 \\n <kid> \\n <signed-at> \\n <value>

(newline-separated, no spaces; `<value>` is the record's value byte for byte). The value holds
the `message_id`, `tenant_id`, `principal` and every other field, so none of them can change,
be added or be reordered without breaking the signature; the key and headers are not signed
(the registry refuses a key that is not the tenant id anyway).

The registry (`Verifier`) trusts the public keys of one TOML file, several at once so that
keys rotate: the gateway's, which signs for the users it authenticated (the principal in the
command is the one it signed), and one per upstream system, bound to the tenants it may act
for (the principal is then that system with the role `service`, whatever the command says).
A signature is fresh when its `signed-at` lies within COMMAND_SIGNATURE_WINDOW_SECONDS of the
time the broker appended the record (the commands topic stamps LogAppendTime): consumer lag
and redelivery do not age a command, and a copied signature cannot carry another value.

    python -m shared.signing keygen crm.key            # a key pair; prints the public key
    python -m shared.signing sign --key crm.key --kid crm-1 < command.json   # kcat -H arguments
    python -m shared.signing dev-keys DIR              # development keys; prints their settings
"""

import base64
import binascii
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Protocol, Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from shared import topics
from shared.contracts import Principal, Role
from shared.settings import Settings

KID, SIGNED_AT, SIGNATURE = "kid", "signed-at", "signature"
DOMAIN = b"cnr-command-signature-v1\n" + topics.CALLER_NUMBER_COMMANDS.encode()
ANY_TENANT = "*"
# Kafka's record attribute: the timestamp is the broker's append time, not the producer's.
LOG_APPEND_TIME = 1

# A kid goes into the signed bytes between newlines, and unquoted into kcat's arguments.
Kid = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
_KID: TypeAdapter[str] = TypeAdapter(Kid)


def signed_bytes(*, kid: str, signed_at_ms: int, value: bytes) -> bytes:
    """The bytes a signature covers (see the module's docstring)."""
    return b"\n".join((DOMAIN, kid.encode(), str(signed_at_ms).encode(), value))


class SigningKeysError(RuntimeError):
    """A service cannot start: its signing key or trusted keys are missing or unusable."""


class Unauthenticated(ValueError):
    """A command whose sender is not proven; the message says what failed."""


# ---- signing: the gateway, the helper below, and tests ----


@dataclass(frozen=True)
class Signer:
    kid: str
    private_key: Ed25519PrivateKey

    @classmethod
    def from_file(cls, path: Path, *, kid: str) -> Self:
        """The private key of a PEM file (PKCS#8, as `keygen` or `openssl genpkey -algorithm
        ed25519` write it); raises SigningKeysError if it is missing or not an Ed25519 key."""
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as error:
            raise SigningKeysError(f"cannot read the signing key {path}: {error}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeysError(f"{path} is not an Ed25519 private key")
        try:
            _KID.validate_python(kid)
        except ValidationError:
            raise SigningKeysError(
                f"kid {kid!r}: 1-64 of the characters A-Z a-z 0-9 . _ : -"
            ) from None
        return cls(kid, key)

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """The gateway's signer, from COMMAND_SIGNING_KEY_FILE and COMMAND_SIGNING_KID."""
        if settings.command_signing_key_file is None or settings.command_signing_kid is None:
            raise SigningKeysError(
                "COMMAND_SIGNING_KEY_FILE and COMMAND_SIGNING_KID are needed: the gateway signs "
                "every command it publishes (a development key set: python -m shared.signing "
                "dev-keys DIR)."
            )
        return cls.from_file(settings.command_signing_key_file, kid=settings.command_signing_kid)

    def headers(self, value: bytes, *, signed_at_ms: int | None = None) -> dict[str, str]:
        """The headers that sign `value`, the record's exact bytes, now (or at `signed_at_ms`)."""
        at = _now_ms() if signed_at_ms is None else signed_at_ms
        signature = self.private_key.sign(signed_bytes(kid=self.kid, signed_at_ms=at, value=value))
        return {
            KID: self.kid,
            SIGNED_AT: str(at),
            SIGNATURE: _encoded(signature).decode(),
        }


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# ---- the registry's trusted keys ----


class _Key(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kid: Kid
    # PEM SubjectPublicKeyInfo, as `keygen` prints it or `openssl pkey -pubout` writes it.
    public_key: str

    @field_validator("public_key")
    @classmethod
    def _is_ed25519(cls, pem: str) -> str:
        _public_key(pem)
        return pem


class GatewayKey(_Key):
    """The gateway's key: it signs for the users it authenticated, in any tenant."""

    signer: Literal["gateway"]


class UpstreamKey(_Key):
    """An upstream system's key: it acts as that system (role service), in its tenants only."""

    signer: Literal["upstream"]
    system: Annotated[str, Field(min_length=1, max_length=64)]
    # The tenant ids it may act for; "*" for every tenant.
    tenants: tuple[Annotated[str, Field(min_length=1)], ...] = Field(min_length=1)


class TrustedKeys(BaseModel):
    """The registry's COMMAND_TRUSTED_KEYS_FILE: `[[keys]]` tables of GatewayKey or UpstreamKey."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    keys: tuple[Annotated[GatewayKey | UpstreamKey, Field(discriminator="signer")], ...]

    @model_validator(mode="after")
    def _kids_are_unique(self) -> Self:
        kids = [key.kid for key in self.keys]
        if repeated := sorted({kid for kid in kids if kids.count(kid) > 1}):
            raise ValueError(f"each kid names one key; repeated: {', '.join(repeated)}")
        return self

    @classmethod
    def from_file(cls, path: Path) -> Self:
        try:
            return cls.model_validate(tomllib.loads(path.read_text()))
        except (OSError, ValueError) as error:  # ValidationError and TOMLDecodeError are both
            raise SigningKeysError(f"cannot use the trusted keys in {path}: {error}") from None


def _public_key(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode())  # ValueError if it is no PEM key
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


# ---- verifying: the registry ----


class CommandRecord(Protocol):
    """What the registry reads of a command's Kafka record (aiokafka's ConsumerRecord has it)."""

    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def timestamp_type(self) -> int: ...


class Verifier:
    """Decides who sent a command record, from its signature and the trusted keys."""

    def __init__(self, trusted: TrustedKeys, *, window_seconds: float) -> None:
        self._keys = {key.kid: (key, _public_key(key.public_key)) for key in trusted.keys}
        self._window_ms = window_seconds * 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """The registry's verifier, from COMMAND_TRUSTED_KEYS_FILE."""
        if settings.command_trusted_keys_file is None:
            raise SigningKeysError(
                "COMMAND_TRUSTED_KEYS_FILE is needed: the registry applies only commands signed "
                "by a trusted key (a development key set: python -m shared.signing dev-keys DIR)."
            )
        return cls(
            TrustedKeys.from_file(settings.command_trusted_keys_file),
            window_seconds=settings.command_signature_window_seconds,
        )

    def principal(
        self, record: CommandRecord, *, tenant_id: str, claimed: Principal | None
    ) -> Principal | None:
        """The verified principal of a command for `tenant_id` that claims `claimed`: the
        claimed one if the gateway signed it, the upstream system if its key did. Raises
        Unauthenticated naming what failed: no signature, unknown kid, bad signature, stale,
        tenant not allowed for that key."""
        kid, signed_at, signature = _signature_headers(record.headers)
        if kid not in self._keys:
            raise Unauthenticated(
                f"Unknown kid {kid!r}: no trusted key has this id (a retired or mistyped key?)."
            )
        trusted, public_key = self._keys[kid]
        at = _signed_at(signed_at)
        try:
            public_key.verify(
                _signature(signature),
                signed_bytes(kid=kid, signed_at_ms=at, value=record.value or b""),
            )
        except InvalidSignature:
            raise Unauthenticated(
                f"Bad signature: key {kid!r} did not sign this command as sent (its value, "
                "kid or signed-at differ from what was signed)."
            ) from None
        if record.timestamp_type != LOG_APPEND_TIME:
            raise Unauthenticated(
                "The record has no broker append time to judge the signature's age by: the "
                "commands topic must have message.timestamp.type=LogAppendTime."
            )
        if abs(record.timestamp - at) > self._window_ms:
            raise Unauthenticated(
                f"Stale signature: signed at {at} ms, appended by the broker at "
                f"{record.timestamp} ms, more than {self._window_ms / 1000:g} s apart; sign "
                "again just before sending, with a new message_id."
            )
        if isinstance(trusted, GatewayKey):
            return claimed
        if ANY_TENANT not in trusted.tenants and tenant_id not in trusted.tenants:
            raise Unauthenticated(
                f"Tenant not allowed: key {kid!r} of {trusted.system!r} may not act for "
                f"tenant {tenant_id!r}."
            )
        return Principal(sub=trusted.system, role=Role.SERVICE)


def _signature_headers(headers: Sequence[tuple[str, bytes]]) -> tuple[str, bytes, bytes]:
    found: dict[str, list[bytes]] = {KID: [], SIGNED_AT: [], SIGNATURE: []}
    for name, value in headers:
        if name in found:
            found[name].append(value)
    if missing := [name for name, values in found.items() if not values]:
        raise Unauthenticated(
            f"No signature: the record lacks the header(s) {', '.join(missing)}; commands "
            f"are signed with the headers {KID}, {SIGNED_AT} and {SIGNATURE}."
        )
    if repeated := [name for name, values in found.items() if len(values) > 1]:
        raise Unauthenticated(f"The header(s) {', '.join(repeated)} must appear once.")
    kid = found[KID][0].decode(errors="replace")
    return kid, found[SIGNED_AT][0], found[SIGNATURE][0]


def _signed_at(raw: bytes) -> int:
    # Canonical digits only: one signing time has one spelling, as in the signed bytes.
    if not raw.isdigit() or len(raw) > 15 or raw != str(int(raw)).encode():
        raise Unauthenticated(
            f"Bad signature: {SIGNED_AT} must be milliseconds since the epoch, not {raw!r}."
        )
    return int(raw)


def _signature(raw: bytes) -> bytes:
    # Canonical unpadded base64url only: one signature has one spelling.
    try:
        decoded = base64.b64decode(raw + b"==", altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) != 64 or _encoded(decoded) != raw:
        raise Unauthenticated(
            f"Bad signature: {SIGNATURE} must be the 64-byte Ed25519 signature in unpadded "
            "base64url."
        )
    return decoded


def _encoded(signature: bytes) -> bytes:
    return base64.urlsafe_b64encode(signature).rstrip(b"=")
