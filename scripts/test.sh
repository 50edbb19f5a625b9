#!/usr/bin/env bash
# test.sh - the whole check: lint, types, and every test on real Kafka and PostgreSQL.
# Services come from KAFKA_BOOTSTRAP_SERVERS + DATABASE_URL + DATABASE_OWNER_URL if set, else
# testcontainers where a Docker engine answers, else the tests' own Kafka and PostgreSQL, which
# the tests start with scripts/local-services.sh on the ports of scripts/test-namespace.env (and
# leave running for the next run). The system of scripts/run-local.sh is never touched.
# Extra arguments go to pytest instead, e.g. scripts/test.sh tests/unit -k rules, or
# scripts/test.sh -m faults tests/faults for the fault-injection suite alone.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/bootstrap.sh
export PATH=$ROOT/.venv/bin:$PATH

# The browser tests drive Debian's Chromium (Playwright's own browser download does not work).
if [[ ! -x /usr/bin/chromium ]]; then
    echo "== installing chromium (apt-get, as root)"
    sudo=$([[ $(id -u) -eq 0 ]] || echo sudo)
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# The README's kcat example is run by a test (skipped without kcat); Debian packages it.
if ! command -v kcat >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "== installing kcat (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat; } \
        >/dev/null || echo "kcat not installed: the README kcat test will be skipped" >&2
fi

echo "== ruff"; ruff check . && ruff format --check .
echo "== mypy"; mypy
run_pytest() {
    set +e
    pytest "$@"
    local status=$?
    set -e
    if [[ $status -eq 5 ]]; then
        echo "pytest collected no tests: that is a failure here" >&2
    fi
    return $status
}

if [[ $# -gt 0 ]]; then
    echo "== pytest $*"; run_pytest "$@"; exit
fi
# The fault-injection suite kills and restarts its own service processes, so it runs after the
# rest, alone (RELIABILITY.md).
echo "== pytest"; run_pytest
echo "== pytest -m faults"; run_pytest -m faults tests/faults
