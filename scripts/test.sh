#!/usr/bin/env bash
# test.sh - the whole check: lint, types, and every test on real Kafka and PostgreSQL.
# Services come from KAFKA_BOOTSTRAP_SERVERS + DATABASE_URL if set, else testcontainers
# where a Docker engine answers, else scripts/local-services.sh (started by the tests).
# Extra arguments go to pytest, e.g. scripts/test.sh tests/unit -k rules
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/bootstrap.sh
export PATH=$ROOT/.venv/bin:$PATH

echo "== ruff"; ruff check . && ruff format --check .
echo "== mypy"; mypy
echo "== pytest"
set +e
pytest "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
    echo "pytest collected no tests: that is a failure here" >&2
fi
exit $status
