#!/usr/bin/env bash
# local-services.sh - runs the backing services of Caller Number Registry on this
# machine without Docker:
#   kafka     Apache Kafka (version pinned in scripts/kafka/pom.xml), one KRaft node in
#             combined broker+controller mode on 127.0.0.1, jars fetched from Maven Central
#             into a cache folder outside git. Clients authenticate (SASL/SCRAM-SHA-512) as one
#             of the principals of scripts/kafka/acls.txt, or as the super user `admin`, and
#             may do only what their ACLs allow. Their passwords are made at the first start,
#             one 0600 env file each in <state dir>/kafka/credentials/. A broker of a state
#             folder from before authentication is upgraded in place: users and ACLs are added,
#             topics and offsets kept.
#   postgres  a private PostgreSQL cluster from Debian's packages on 127.0.0.1, with the
#             role `registry` (password `registry`) owning the database `caller_numbers`, and
#             `registry_app` (password `registry_app`), the role the services work as.
#
# Usage: scripts/local-services.sh {start|stop|status|restart} [kafka|postgres]
#   (no service = both).  start/stop are idempotent; status exits 0 when every requested
#   service runs, 3 otherwise.
#
# Environment (defaults):
#   KAFKA_PORT=9092  KAFKA_CONTROLLER_PORT=9093  PG_PORT=5432
#   CNR_CACHE_DIR=$HOME/.cache/caller-number-registry   downloaded jars
#   CNR_STATE_DIR=/var/tmp/caller-number-registry       data, logs, pid files
#   KAFKA_START_TIMEOUT=90  PG_START_TIMEOUT=60  STOP_TIMEOUT=60   (seconds)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_DIR=${CNR_CACHE_DIR:-${HOME:-/root}/.cache/caller-number-registry}
STATE_DIR=${CNR_STATE_DIR:-/var/tmp/caller-number-registry}
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
PG_PORT=${PG_PORT:-5432}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
PG_START_TIMEOUT=${PG_START_TIMEOUT:-60}
STOP_TIMEOUT=${STOP_TIMEOUT:-60}

# --- Kafka paths (the version is read from the pom: the one place it is pinned) ---
KAFKA_POM=$SCRIPT_DIR/kafka/pom.xml
KAFKA_TEMPLATE=$SCRIPT_DIR/kafka/server.properties.template
KAFKA_VERSION=$(sed -n 's:.*<kafka\.version>\([^<]*\)</kafka\.version>.*:\1:p' "$KAFKA_POM")
KAFKA_LIBS=$CACHE_DIR/kafka-$KAFKA_VERSION/libs
KAFKA_STATE=$STATE_DIR/kafka
KAFKA_DATA=$KAFKA_STATE/data
KAFKA_CONF=$KAFKA_STATE/config
KAFKA_LOGS=$KAFKA_STATE/logs
KAFKA_PID_FILE=$KAFKA_STATE/kafka.pid
KAFKA_OUT=$KAFKA_LOGS/kafka.out
KAFKA_ACLS=$SCRIPT_DIR/kafka/acls.txt
KAFKA_CREDENTIALS=$KAFKA_STATE/credentials
KAFKA_ADMIN_USER=admin
# What this state folder's cluster holds already: its users, and the ACLs of which acls.txt.
KAFKA_USERS_DONE=$KAFKA_STATE/users.applied
KAFKA_ACLS_DONE=$KAFKA_STATE/acls.applied
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java

# --- PostgreSQL paths and the application's credentials ---
PG_STATE=$STATE_DIR/postgres
PG_DATA=$PG_STATE/data
PG_SOCKET_DIR=$PG_STATE/run
PG_LOG=$PG_STATE/postgres.log
# The schema's owner (runs the migrations) and the role the services work as: row-level
# security binds it, as it owns nothing and cannot bypass the policies.
PG_OWNER_USER=registry
PG_OWNER_PASSWORD=registry
PG_APP_USER=registry_app
PG_APP_PASSWORD=registry_app
PG_APP_DB=caller_numbers
PG_BIN=

# ============================== helpers ==============================

say() { printf '%s\n' "$*"; }
die() { printf 'local-services: error: %s\n' "$*" >&2; exit 1; }

usage() {
  say "usage: $0 {start|stop|status|restart} [kafka|postgres]" >&2
  exit 2
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True while process $1 exists and is not a zombie (a dead child of ours stays a
# zombie until reaped, and `kill -0` would still see it).
alive() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $state && $state != Z ]]
}

# The state folder must let `postgres` through, whatever the umask.
ensure_state_dir() {
  [[ -d $STATE_DIR ]] && return 0
  mkdir -p "$STATE_DIR"
  chmod 755 "$STATE_DIR"
}

# Serialises start/stop/restart runs of this script (fd 9; closed for daemons).
take_lock() {
  ensure_state_dir
  exec 9>"$STATE_DIR/.lock"
  flock -w 300 9 || die "another local-services.sh run holds $STATE_DIR/.lock"
}

# Tail of a log file on stderr, to explain a failure.
show_log_tail() {
  [[ -s $1 ]] || return 0
  printf -- '----- last lines of %s -----\n' "$1" >&2
  tail -n "${2:-40}" "$1" >&2
}

# ============================== Kafka ==============================

kafka_pid() {
  local pid
  [[ -f $KAFKA_PID_FILE ]] || return 1
  pid=$(<"$KAFKA_PID_FILE")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $KAFKA_CONF/server.properties" || return 1
  say "$pid"
}

# Port the running broker was configured with (falls back to KAFKA_PORT).
kafka_actual_port() {
  local p
  p=$(sed -n 's/^advertised\.listeners=[A-Z]*:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$KAFKA_CONF/server.properties" 2>/dev/null || true)
  say "${p:-$KAFKA_PORT}"
}

kafka_check_prereqs() {
  [[ -n $KAFKA_VERSION ]] || die "cannot read <kafka.version> from $KAFKA_POM"
  command -v "$JAVA" >/dev/null || die "java not found (Kafka $KAFKA_VERSION needs Java 17+)"
}

# Downloads the broker jars with Maven once per pom content; later starts reuse them.
kafka_fetch_libs() {
  local stamp tmp
  stamp=$(sha256sum <"$KAFKA_POM" | cut -c1-64)
  [[ -f $KAFKA_LIBS/.complete && $(<"$KAFKA_LIBS/.complete") == "$stamp" ]] && return 0
  command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install -y maven)"
  say "kafka: fetching Kafka $KAFKA_VERSION jars with Maven into $KAFKA_LIBS ..."
  mkdir -p "$(dirname "$KAFKA_LIBS")"
  tmp=$(mktemp -d "$KAFKA_LIBS.tmp.XXXXXX")
  if ! mvn -B -Dstyle.color=never -f "$KAFKA_POM" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp" >"$tmp.log" 2>&1 9>&-; then
    show_log_tail "$tmp.log" 60
    rm -rf "$tmp" "$tmp.log"
    die "Maven could not fetch the Kafka jars (see above)"
  fi
  rm -f "$tmp.log"
  [[ -f $tmp/kafka_2.13-$KAFKA_VERSION.jar ]] || { rm -rf "$tmp"; die "kafka_2.13-$KAFKA_VERSION.jar missing after Maven run"; }
  say "$stamp" >"$tmp/.complete"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
}

# ------------------------- principals and ACLs -------------------------

# shellcheck source=kafka/acls.sh
source "$SCRIPT_DIR/kafka/acls.sh"

# admin and every principal named in acls.txt, one a line.
kafka_principals() { say "$KAFKA_ADMIN_USER"; acl_principals "$KAFKA_ACLS"; }

# One env file per principal, made once per state folder: the settings its clients need.
kafka_make_credentials() {
  local name file
  (umask 077 && mkdir -p "$KAFKA_CREDENTIALS")
  for name in $(kafka_principals); do
    file=$KAFKA_CREDENTIALS/$name.env
    [[ -s $file ]] && continue
    (umask 077 && printf '%s\n' KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT \
      KAFKA_SASL_MECHANISM=SCRAM-SHA-512 "KAFKA_SASL_USERNAME=$name" \
      "KAFKA_SASL_PASSWORD=$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)" \
      >"$file.tmp") && mv "$file.tmp" "$file"
  done
}

kafka_password() { sed -n 's/^KAFKA_SASL_PASSWORD=//p' "$KAFKA_CREDENTIALS/$1.env"; }

# SCRAM-SHA-512=[name=...,password=...] for every principal (StorageTool format).
kafka_scram_entries() {
  local name
  for name in $(kafka_principals); do
    say "SCRAM-SHA-512=[name=$name,password=$(kafka_password "$name")]"
  done
}

kafka_users_wanted() { kafka_principals | sort | tr '\n' ' '; }

# Adds the users to a cluster formatted without them (a state folder from before
# authentication, or a principal new in acls.txt), as the admin, who signs in with PLAIN.
kafka_add_users() {
  local want name
  want=$(kafka_users_wanted)
  [[ -f $KAFKA_USERS_DONE && $(<"$KAFKA_USERS_DONE") == "$want" ]] && return 0
  say "kafka: adding the users $want"
  for name in $(kafka_principals); do
    kafka_tool kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
      --command-config "$KAFKA_CONF/admin.properties" --alter \
      --add-config "SCRAM-SHA-512=[password=$(kafka_password "$name")]" \
      --entity-type users --entity-name "$name" >/dev/null &
    tool_started "$!"
  done
  wait_tools || die "kafka: adding the users failed (see above); the next start tries again"
  say "$want" >"$KAFKA_USERS_DONE"
}

# Grants what acls.txt says, once per content of the file (adding an ACL twice is harmless).
kafka_apply_acls() {
  local stamp grants args
  stamp=$(sha256sum <"$KAFKA_ACLS" | cut -c1-64)
  [[ -f $KAFKA_ACLS_DONE && $(<"$KAFKA_ACLS_DONE") == "$stamp" ]] && return 0
  say "kafka: granting the ACLs of $KAFKA_ACLS"
  grants=$(acl_grants "$KAFKA_ACLS") || die "kafka: $KAFKA_ACLS cannot be read"
  while read -ra args; do
    kafka_tool org.apache.kafka.tools.AclCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
      --command-config "$KAFKA_CONF/admin.properties" "${args[@]}" >/dev/null &
    tool_started "$!"
  done <<<"$grants"
  wait_tools || die "kafka: granting the ACLs failed (see above); the next start tries again"
  say "$stamp" >"$KAFKA_ACLS_DONE"
}

# Tools run in the background, a JVM each, at most KAFKA_TOOL_JOBS at once (JVM start-up is
# most of their time); wait_tools fails if any of them failed.
TOOL_JOBS=() TOOLS_FAILED=0
tool_started() {
  TOOL_JOBS+=("$1")
  ((${#TOOL_JOBS[@]} < ${KAFKA_TOOL_JOBS:-3})) && return 0
  wait "${TOOL_JOBS[0]}" || TOOLS_FAILED=1
  TOOL_JOBS=("${TOOL_JOBS[@]:1}")
}
wait_tools() {
  local pid rc=$TOOLS_FAILED
  for pid in "${TOOL_JOBS[@]}"; do wait "$pid" || rc=1; done
  TOOL_JOBS=() TOOLS_FAILED=0
  return "$rc"
}

kafka_write_config() {
  local admin_password
  mkdir -p "$KAFKA_CONF" "$KAFKA_DATA" "$KAFKA_LOGS"
  chmod 700 "$KAFKA_CONF"   # the admin's password is in these files
  admin_password=$(kafka_password "$KAFKA_ADMIN_USER")
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
      -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
      -e "s|@KAFKA_DATA_DIR@|$KAFKA_DATA|g" \
      -e "s|@KAFKA_ADMIN_USER@|$KAFKA_ADMIN_USER|g" \
      -e "s|@KAFKA_ADMIN_PASSWORD@|$admin_password|g" \
      -e "s|@KAFKA_UPSTREAM_PASSWORD@|$(kafka_password upstream)|g" \
      "$KAFKA_TEMPLATE" >"$KAFKA_CONF/server.properties"
  kafka_write_log4j
  # The tools' admin client (PLAIN: it works before any SCRAM user exists), with short
  # timeouts for the readiness probe.
  printf '%s\n' request.timeout.ms=5000 default.api.timeout.ms=10000 \
    security.protocol=SASL_PLAINTEXT sasl.mechanism=PLAIN \
    "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$KAFKA_ADMIN_USER\" password=\"$admin_password\";" \
    >"$KAFKA_CONF/admin.properties"
}

# Broker log -> logs/server.log (rolled); command-line tools -> warnings on stderr only.
kafka_write_log4j() {
  cat >"$KAFKA_CONF/log4j2.properties" <<'EOF'
status = warn
appender.server.type = RollingFile
appender.server.name = SERVER
appender.server.fileName = ${sys:kafka.logs.dir}/server.log
appender.server.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.server.layout.type = PatternLayout
appender.server.layout.pattern = [%d] %p %m (%c)%n
appender.server.policies.type = Policies
appender.server.policies.size.type = SizeBasedTriggeringPolicy
appender.server.policies.size.size = 20MB
appender.server.strategy.type = DefaultRolloverStrategy
appender.server.strategy.max = 5
rootLogger.level = INFO
rootLogger.appenderRef.server.ref = SERVER
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
  cat >"$KAFKA_CONF/tools-log4j2.properties" <<'EOF'
status = warn
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = STDERR
EOF
}

# Runs a Kafka command-line class (storage tool, topic command) with a time limit.
kafka_tool() {
  local rc=0 limit=${KAFKA_TOOL_TIMEOUT:-120}
  timeout "$limit" "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$KAFKA_CONF/tools-log4j2.properties" \
    -cp "$KAFKA_LIBS/*" "$@" 9>&- || rc=$?
  ((rc != 124)) || printf 'local-services: %s did not finish within %ss\n' "${1##*.}" "$limit" >&2
  return "$rc"
}

# Formats the KRaft storage on the first start only (meta.properties marks it done), with
# every principal's SCRAM user in it.
kafka_format_storage() {
  local cluster_id entry scram=()
  [[ -f $KAFKA_DATA/meta.properties ]] && return 0
  cluster_id=$(kafka_tool kafka.tools.StorageTool random-uuid)
  say "kafka: formatting storage in $KAFKA_DATA (cluster id $cluster_id)"
  while read -r entry; do scram+=(--add-scram "$entry"); done < <(kafka_scram_entries)
  rm -f "$KAFKA_USERS_DONE" "$KAFKA_ACLS_DONE"
  kafka_tool kafka.tools.StorageTool format --cluster-id "$cluster_id" \
    --config "$KAFKA_CONF/server.properties" "${scram[@]}" >/dev/null \
    || die "kafka: formatting the storage failed (is $KAFKA_CONF/server.properties valid?)"
  kafka_users_wanted >"$KAFKA_USERS_DONE"
}

kafka_check_ports_free() {
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_open "$p" && die "kafka: 127.0.0.1:$p is already in use by another process (set KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
  done
  return 0
}

kafka_launch() {
  setsid "$JAVA" -Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dkafka.logs.dir="$KAFKA_LOGS" \
    -Dlog4j2.configurationFile="$KAFKA_CONF/log4j2.properties" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CONF/server.properties" \
    </dev/null >"$KAFKA_OUT" 2>&1 9>&- &
  say "$!" >"$KAFKA_PID_FILE"
}

# A real request: list the topics through the admin client (metadata round trip).
kafka_answers() {
  port_open "$KAFKA_PORT" || return 1
  KAFKA_TOOL_TIMEOUT=30 kafka_tool org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
    --command-config "$KAFKA_CONF/admin.properties" --list >/dev/null 2>&1
}

# $1 = pid of the launched JVM (its cmdline may still be the forking shell's for a moment).
kafka_wait_ready() {
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while ((SECONDS < deadline)); do
    alive "$1" || kafka_fail "$1" "the broker exited during startup"
    kafka_answers && return 0
    sleep 1
  done
  kafka_fail "$1" "the broker did not answer within ${KAFKA_START_TIMEOUT}s"
}

kafka_fail() {
  terminate "$1" kafka >/dev/null 2>&1 || true
  rm -f "$KAFKA_PID_FILE"
  show_log_tail "$KAFKA_LOGS/server.log"
  show_log_tail "$KAFKA_OUT" 20
  die "kafka: $2 (logs: $KAFKA_LOGS)"
}

kafka_start() {
  local pid
  if pid=$(kafka_pid); then
    if grep -q '^authorizer.class.name=' "$KAFKA_CONF/server.properties"; then
      say "kafka: already running (pid $pid) on 127.0.0.1:$(kafka_actual_port)"
      kafka_add_users && kafka_apply_acls   # unless done: a failed start left it running
      return 0
    fi
    say "kafka: running without authentication: restarting it with SASL and ACLs"
    kafka_stop
  fi
  rm -f "$KAFKA_PID_FILE"
  kafka_check_prereqs
  kafka_check_ports_free
  kafka_fetch_libs
  kafka_make_credentials
  kafka_write_config
  kafka_format_storage
  kafka_launch
  kafka_wait_ready "$(<"$KAFKA_PID_FILE")"
  kafka_add_users
  kafka_apply_acls
  say "kafka: started (pid $(<"$KAFKA_PID_FILE")) on 127.0.0.1:$KAFKA_PORT, log $KAFKA_LOGS/server.log"
}

kafka_stop() {
  local pid
  if ! pid=$(kafka_pid); then
    rm -f "$KAFKA_PID_FILE"
    say "kafka: not running"
    return 0
  fi
  say "kafka: stopping (pid $pid) ..."
  terminate "$pid" kafka
  rm -f "$KAFKA_PID_FILE"
  say "kafka: stopped"
}

# SIGTERM, wait up to STOP_TIMEOUT seconds, then SIGKILL.  $1 = pid, $2 = name.
terminate() {
  kill -TERM "$1" 2>/dev/null || return 0
  wait_for_exit "$1" "$STOP_TIMEOUT" && return 0
  say "$2: still alive after ${STOP_TIMEOUT}s, sending SIGKILL"
  kill -KILL "$1" 2>/dev/null || true
  wait_for_exit "$1" 10 || die "$2: pid $1 survived SIGKILL"
}

# Waits up to $2 seconds for process $1 to disappear.
wait_for_exit() {
  local deadline=$((SECONDS + $2))
  while alive "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

kafka_status() {
  local pid
  if pid=$(kafka_pid); then
    say "kafka: running (pid $pid) on 127.0.0.1:$(kafka_actual_port), Kafka $KAFKA_VERSION, data $KAFKA_DATA"
    return 0
  fi
  say "kafka: stopped"
  return 3
}

# The admin's settings (scripts, tests' taps, bench); each principal's are in a file of its own.
kafka_env() {
  say "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$(kafka_actual_port)"
  cat "$KAFKA_CREDENTIALS/$KAFKA_ADMIN_USER.env"
  say "KAFKA_CREDENTIALS_DIR=$KAFKA_CREDENTIALS"
  say "# each principal's own KAFKA_SASL_* lines, to source over the ones above:"
  kafka_principals | while read -r name; do say "#   $KAFKA_CREDENTIALS/$name.env"; done
}

# ============================== PostgreSQL ==============================

# PostgreSQL refuses to run as root: run its programs as `postgres` when we are root.
as_pg() {
  if ((EUID == 0)); then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_find_bin() {
  local initdb
  initdb=$(command -v initdb || printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)
  [[ -x $initdb ]] || return 1
  PG_BIN=$(dirname "$(readlink -f "$initdb")")   # /usr/local/bin/initdb may be a symlink
}

# Installs Debian's PostgreSQL when initdb is missing, without the package's own
# "main" cluster (it would take port 5432).
pg_ensure_installed() {
  pg_find_bin && return 0
  ((EUID == 0)) || die "postgres: PostgreSQL is not installed; run as root or: apt-get install -y postgresql"
  say "postgres: installing PostgreSQL from Debian packages ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-common >/dev/null
  sed -i 's/^#\?\s*create_main_cluster\s*=.*/create_main_cluster = false/' \
    /etc/postgresql-common/createcluster.conf 2>/dev/null || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  pg_find_bin || die "postgres: initdb still not found after apt-get install postgresql"
}

pg_prepare_dirs() {
  ensure_state_dir
  mkdir -p "$PG_STATE"
  ((EUID == 0)) && chown postgres:postgres "$PG_STATE"
  as_pg mkdir -p -m 700 "$PG_SOCKET_DIR"
  as_pg test -w "$PG_STATE" || die "postgres: $PG_STATE is not writable by user postgres (check the permissions of $STATE_DIR)"
}

pg_initdb() {
  [[ -f $PG_DATA/PG_VERSION ]] && return 0
  say "postgres: creating a new cluster in $PG_DATA"
  # Local socket (in a private 0700 folder): trust; TCP: password (scram-sha-256).
  as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >/dev/null
  printf '\n%s\n' "include_if_exists = 'local-services.conf'" | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
}

pg_check_version() {
  local data_ver bin_ver
  data_ver=$(<"$PG_DATA/PG_VERSION")
  bin_ver=$("$PG_BIN/pg_ctl" --version | awk '{ split($3, v, "."); print v[1] }')
  [[ $data_ver == "$bin_ver" ]] || die "postgres: $PG_DATA is a PostgreSQL $data_ver cluster but the binaries in $PG_BIN are $bin_ver; remove $PG_STATE to start afresh"
}

# Rewritten at every start so that PG_PORT may change.
pg_write_conf() {
  as_pg tee "$PG_DATA/local-services.conf" >/dev/null <<EOF
# Written by scripts/local-services.sh at every start; edits are lost.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
max_connections = 200
# Throw-away development/test cluster: trade crash safety for speed.  A crash of the
# machine may corrupt it (then delete $PG_STATE); never use these settings for real data.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

pg_running() {
  [[ -f $PG_DATA/PG_VERSION ]] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_pid() { head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null; }
pg_actual_port() {
  local p
  p=$(sed -n '4p' "$PG_DATA/postmaster.pid" 2>/dev/null || true)
  say "${p:-$PG_PORT}"
}

pg_launch() {
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$PG_START_TIMEOUT" start >/dev/null 9>&- \
    || pg_fail "pg_ctl start failed"
}

pg_wait_ready() {
  local deadline=$((SECONDS + PG_START_TIMEOUT))
  until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d postgres; do
    ((SECONDS < deadline)) || pg_fail "not accepting connections after ${PG_START_TIMEOUT}s"
    sleep 0.5
  done
}

pg_fail() {
  show_log_tail "$PG_LOG"
  die "postgres: $1 (log: $PG_LOG)"
}

# Creates the application role and database when missing (cheap; runs at every start).
pg_bootstrap() {
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d postgres <<EOF
SELECT format('CREATE ROLE %I LOGIN CREATEDB CREATEROLE PASSWORD %L', '$PG_OWNER_USER', '$PG_OWNER_PASSWORD')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_OWNER_USER') \gexec
SELECT format('CREATE ROLE %I LOGIN NOBYPASSRLS PASSWORD %L', '$PG_APP_USER', '$PG_APP_PASSWORD')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_APP_USER') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', '$PG_APP_DB', '$PG_OWNER_USER')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_APP_DB') \gexec
EOF
}

pg_start() {
  pg_ensure_installed
  if pg_running; then
    say "postgres: already running (pid $(pg_pid)) on 127.0.0.1:$(pg_actual_port)"
    return 0
  fi
  port_open "$PG_PORT" && die "postgres: 127.0.0.1:$PG_PORT is already in use (a system PostgreSQL?); stop it or set PG_PORT"
  pg_prepare_dirs
  pg_initdb
  pg_check_version
  pg_write_conf
  pg_launch
  pg_wait_ready
  pg_bootstrap
  say "postgres: started (pid $(pg_pid)) on 127.0.0.1:$PG_PORT, log $PG_LOG"
}

pg_stop() {
  pg_find_bin || { say "postgres: not installed"; return 0; }
  if ! pg_running; then
    say "postgres: not running"
    return 0
  fi
  say "postgres: stopping (pid $(pg_pid)) ..."
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t "$STOP_TIMEOUT" stop >/dev/null 9>&- \
    || as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 10 stop >/dev/null 9>&-
  say "postgres: stopped"
}

pg_status() {
  if pg_find_bin && pg_running; then
    say "postgres: running (pid $(pg_pid)) on 127.0.0.1:$(pg_actual_port), data $PG_DATA"
    return 0
  fi
  say "postgres: stopped"
  return 3
}

pg_env() {
  say "DATABASE_URL=postgresql://$PG_APP_USER:$PG_APP_PASSWORD@127.0.0.1:$(pg_actual_port)/$PG_APP_DB"
  say "DATABASE_OWNER_URL=postgresql://$PG_OWNER_USER:$PG_OWNER_PASSWORD@127.0.0.1:$(pg_actual_port)/$PG_APP_DB"
}

# ============================== commands ==============================

cmd_start() {
  local s
  take_lock
  for s in "$@"; do "${s}_start"; done
  say ""
  say "# environment for the services:"
  for s in "$@"; do "${s}_env"; done
}

cmd_stop() {
  local s
  take_lock
  for s in "$@"; do "${s}_stop"; done
}

cmd_status() {
  local s rc=0
  for s in "$@"; do "${s}_status" || rc=3; done
  return "$rc"
}

main() {
  local services
  case ${2:-all} in
    all) services=(pg kafka) ;;
    kafka) services=(kafka) ;;
    postgres) services=(pg) ;;
    *) usage ;;
  esac
  cd /   # paths are absolute; `postgres` may not be allowed into the caller's cwd
  case ${1:-} in
    start) cmd_start "${services[@]}" ;;
    stop) cmd_stop "${services[@]}" ;;
    status) cmd_status "${services[@]}" ;;
    restart) cmd_stop "${services[@]}" && cmd_start "${services[@]}" ;;
    *) usage ;;
  esac
}

main "$@"
