"""Key pairs on disk: a new one, its public half, and the development key set."""

import contextlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.signing import ANY_TENANT

# The development key set: the gateway's, and an upstream system `crm` for every tenant (the
# README's kcat example signs with it).
DEV_GATEWAY_KID, DEV_UPSTREAM_KID, DEV_UPSTREAM_SYSTEM = "gateway-dev", "crm-dev", "crm"
TRUSTED_KEYS_FILE = "trusted-keys.toml"


def keygen(path: Path) -> str:
    """A new Ed25519 private key in `path` (PEM PKCS#8, owner-only, never overwritten); returns
    its public key as PEM, for the registry's trusted keys."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
        file.write(pem)
    return public_pem(path)


def public_pem(path: Path) -> str:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def dev_keys(directory: Path) -> dict[str, str]:
    """The development keys in `directory`, made once and kept (so a restart keeps trusting
    commands signed before it), and the settings that use them."""
    directory.mkdir(parents=True, exist_ok=True)
    gateway, upstream = directory / "gateway.key", directory / f"{DEV_UPSTREAM_SYSTEM}.key"
    for path in (gateway, upstream):
        with contextlib.suppress(FileExistsError):  # kept, or made a moment ago by another
            keygen(path)
    trusted = directory / TRUSTED_KEYS_FILE
    staged = trusted.with_suffix(f".{os.getpid()}.tmp")  # whole or not at all, for any reader
    staged.write_text(
        f'[[keys]]\nkid = "{DEV_GATEWAY_KID}"\nsigner = "gateway"\n'
        f'public_key = """\n{public_pem(gateway)}"""\n\n'
        f'[[keys]]\nkid = "{DEV_UPSTREAM_KID}"\nsigner = "upstream"\n'
        f'system = "{DEV_UPSTREAM_SYSTEM}"\ntenants = ["{ANY_TENANT}"]\n'
        f'public_key = """\n{public_pem(upstream)}"""\n'
    )
    staged.replace(trusted)
    return {
        "COMMAND_SIGNING_KEY_FILE": str(gateway),
        "COMMAND_SIGNING_KID": DEV_GATEWAY_KID,
        "COMMAND_TRUSTED_KEYS_FILE": str(trusted),
    }
