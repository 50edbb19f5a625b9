#!/bin/bash
# docker-compose's kafka-init: adds the SCRAM users and grants the ACLs of
# scripts/kafka/acls.txt on the broker `kafka`, signed in as its admin (PLAIN, a static user of
# the broker's configuration). Each password comes from the env file: KAFKA_<PRINCIPAL>_PASSWORD
# (e.g. KAFKA_API_GATEWAY_PASSWORD). Runs at every `docker compose up`; both steps are idempotent.
set -euo pipefail
source /opt/cnr/kafka/acls.sh
ACLS=/opt/cnr/kafka/acls.txt BIN=/opt/kafka/bin BROKER=kafka:9092

password_of() {
  local name="KAFKA_${1//-/_}_PASSWORD"
  name=${name^^}
  printf '%s' "${!name:?$name is not set: see deploy/compose.env.example}"
}

cat >/tmp/admin.properties <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$(password_of admin)";
PROPERTIES

for attempt in $(seq 60); do   # the broker answers within a minute or two of its start
  "$BIN/kafka-topics.sh" --bootstrap-server "$BROKER" --command-config /tmp/admin.properties \
    --list >/dev/null 2>&1 && break
  ((attempt < 60)) || { echo "kafka-init: the broker $BROKER does not answer" >&2; exit 1; }
  sleep 2
done
for principal in admin $(acl_principals "$ACLS"); do
  "$BIN/kafka-configs.sh" --bootstrap-server "$BROKER" --command-config /tmp/admin.properties \
    --alter --entity-type users --entity-name "$principal" \
    --add-config "SCRAM-SHA-512=[password=$(password_of "$principal")]"
done
grants=$(acl_grants "$ACLS")
while read -ra args; do
  "$BIN/kafka-acls.sh" --bootstrap-server "$BROKER" --command-config /tmp/admin.properties "${args[@]}"
done <<<"$grants"
