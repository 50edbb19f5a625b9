#!/usr/bin/env bash
# run-local.sh - the whole system on this machine: Kafka, PostgreSQL and the three services.
# Usage: scripts/run-local.sh {start|stop|status}
# Service ports: GATEWAY_PORT=8000, REGISTRY_PORT=8001, WORKER_PORT=8002. Logs and pid files
# go to $CNR_STATE_DIR/app (default /var/tmp/caller-number-registry/app).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
STATE_DIR=${CNR_STATE_DIR:-/var/tmp/caller-number-registry}/app
# This machine's PostgreSQL and tokens use the repository's development secrets; the services
# refuse them unless told that this is development.
export DEVELOPMENT_MODE=true
declare -A APPS=(
    [api_gateway]="services.api_gateway.main:create_app ${GATEWAY_PORT:-8000}"
    [number_registry]="services.number_registry.main:create_app ${REGISTRY_PORT:-8001}"
    [import_worker]="services.import_worker.main:create_app ${WORKER_PORT:-8002}"
)
# Each service signs in to Kafka as its own principal (scripts/kafka/acls.txt): the
# KAFKA_SASL_* lines of its file in KAFKA_CREDENTIALS_DIR, which local-services.sh prints.
declare -A PRINCIPALS=([api_gateway]=api-gateway [number_registry]=number-registry [import_worker]=import-worker)

running() { [[ -f $STATE_DIR/$1.pid ]] && kill -0 "$(cat "$STATE_DIR/$1.pid")" 2>/dev/null; }

wait_healthy() {  # name port
    for _ in $(seq 1 150); do
        # Quiet: "connection refused" is the expected answer until the service listens.
        curl -fs -o /dev/null "http://127.0.0.1:$2/health" && return 0
        running "$1" || { echo "$1 exited; see $STATE_DIR/$1.log" >&2; tail -n 20 "$STATE_DIR/$1.log" >&2; return 1; }
        sleep 0.2
    done
    echo "$1 is not healthy after 30 s; see $STATE_DIR/$1.log" >&2
    return 1
}

start() {
    bash scripts/bootstrap.sh
    local started line key credentials
    started=$(bash scripts/local-services.sh start | tee /dev/stderr)
    # The services' settings as local-services.sh prints them (its ports), unless already set.
    while IFS= read -r line; do
        key=${line%%=*}
        [[ -n ${!key:-} ]] || export "$line"
    done < <(sed -n '/^# environment for the services:/,$p' <<<"$started" | grep -E '^[A-Z_]+=')
    mkdir -p "$STATE_DIR"
    .venv/bin/python -m shared.db.migrate
    # The command keys (the gateway's, and the upstream system crm's for kcat): made once per
    # state folder and kept; settings given in the environment win.
    while IFS= read -r line; do
        key=${line%%=*}
        [[ -n ${!key:-} ]] || export "$line"
    done < <(.venv/bin/python -m shared.signing dev-keys "$STATE_DIR/keys")
    for name in "${!APPS[@]}"; do
        read -r app port <<<"${APPS[$name]}"
        if running "$name"; then echo "$name runs already"; continue; fi
        credentials=()
        [[ -n ${KAFKA_CREDENTIALS_DIR:-} ]] && mapfile -t credentials <"$KAFKA_CREDENTIALS_DIR/${PRINCIPALS[$name]}.env"
        nohup env "${credentials[@]}" .venv/bin/uvicorn --factory "$app" --host 127.0.0.1 --port "$port" \
            >>"$STATE_DIR/$name.log" 2>&1 &
        echo $! >"$STATE_DIR/$name.pid"
    done
    for name in "${!APPS[@]}"; do
        read -r _ port <<<"${APPS[$name]}"
        wait_healthy "$name" "$port"
    done
    echo
    echo "The system runs:"
    urls
    echo "Stop it with: scripts/run-local.sh stop"
}

urls() {
    read -r _ gateway_port <<<"${APPS[api_gateway]}"
    cat <<MSG
  API and web page   http://127.0.0.1:$gateway_port/          (OpenAPI: /docs, AsyncAPI: /asyncapi)
  number_registry    http://127.0.0.1:${REGISTRY_PORT:-8001}/health
  import_worker      http://127.0.0.1:${WORKER_PORT:-8002}/health
  Kafka              127.0.0.1:${KAFKA_PORT:-9092}
  PostgreSQL         127.0.0.1:${PG_PORT:-5432}
  logs               $STATE_DIR/*.log
  command keys       $STATE_DIR/keys (sign upstream commands with crm.key, kid crm-dev)
MSG
}

stop() {
    for name in "${!APPS[@]}"; do
        if running "$name"; then
            kill "$(cat "$STATE_DIR/$name.pid")"
            for _ in $(seq 1 100); do running "$name" || break; sleep 0.2; done
            running "$name" && kill -9 "$(cat "$STATE_DIR/$name.pid")"
            echo "$name stopped"
        fi
        rm -f "$STATE_DIR/$name.pid"
    done
    bash scripts/local-services.sh stop
}

status() {
    local rc=0
    for name in "${!APPS[@]}"; do
        if running "$name"; then echo "$name: running"; else echo "$name: stopped"; rc=3; fi
    done
    bash scripts/local-services.sh status || rc=3
    urls
    return $rc
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 {start|stop|status}" >&2; exit 2 ;;
esac
