"""The golden JSON schema of every published message, one file per message type and version,
and of the commands' signature headers (CommandSignature.v1.json).

python -m tests.contract.golden                  # write the goldens that do not exist yet
python -m tests.contract.golden --accept NAME    # overwrite NAME's golden (see README)
"""

import argparse
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shared.asyncapi import SCHEMAS, schema_version

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def golden_path(model: type[BaseModel]) -> Path:
    # The headers have no schema_version: they change with the commands topic's (v1).
    version = schema_version(model) if "schema_version" in model.model_fields else 1
    return GOLDEN / f"{model.__name__}.v{version}.json"


def current_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def render(model: type[BaseModel]) -> str:
    return json.dumps(current_schema(model), indent=2, sort_keys=True) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accept", nargs="*", default=[], metavar="NAME")
    accepted = set(parser.parse_args().accept)
    for model in SCHEMAS:
        path = golden_path(model)
        if not path.exists() or model.__name__ in accepted:
            path.write_text(render(model))
            print(f"wrote {path.relative_to(GOLDEN.parent.parent)}")


if __name__ == "__main__":
    main()
