"""The signing command line: key pairs, signatures for kcat, and the development keys.

python -m shared.signing keygen crm.key      # writes the private key, prints the public one
python -m shared.signing sign --key crm.key --kid crm-1 < command.json
python -m shared.signing dev-keys DIR        # prints the settings that use them
"""

import argparse
import sys
from pathlib import Path

from shared.signing import Signer, SigningKeysError
from shared.signing.keyfiles import dev_keys, keygen


def kcat_headers(value: bytes, signer: Signer) -> str:
    """`-H name=value` arguments for kcat that sign `value` (no quoting needed: a kid, a
    number and base64url hold no character a shell splits or expands)."""
    return " ".join(f"-H {name}={text}" for name, text in signer.headers(value).items())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.signing", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("keygen", help="a new Ed25519 key pair")
    new.add_argument("path", type=Path, help="where to write the private key (not overwritten)")
    sign = commands.add_parser(
        "sign", help="sign the command on standard input; prints kcat's -H arguments"
    )
    sign.add_argument("--key", type=Path, required=True, help="the private key (PEM)")
    sign.add_argument("--kid", required=True, help="its id, as the registry's trusted keys say")
    dev = commands.add_parser("dev-keys", help="the development key set; prints its settings")
    dev.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    match args.command:
        case "keygen":
            if args.path.exists():
                parser.error(f"{args.path} exists; a key is never overwritten")
            print(keygen(args.path), end="")
        case "sign":
            try:
                signer = Signer.from_file(args.key, kid=args.kid)
            except SigningKeysError as error:
                parser.error(str(error))
            # kcat -P sends each line without its newline: sign exactly what it will send.
            value = sys.stdin.buffer.read().removesuffix(b"\n").removesuffix(b"\r")
            print(kcat_headers(value, signer))
        case "dev-keys":
            for name, value in dev_keys(args.directory).items():
                print(f"{name}={value}")


if __name__ == "__main__":
    main()
