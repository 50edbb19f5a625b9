# acls.sh - reads scripts/kafka/acls.txt for scripts/local-services.sh and docker-compose's
# kafka-init (deploy/kafka-init.sh), so that both grant the same. Sourced, not run.

# The principals that acls.txt names, one a line.  $1 = the acls.txt file.
acl_principals() { sed -e 's/#.*//' "$1" | awk 'NF && !seen[$1]++ { print $1 }'; }

# One line per grant of acls.txt: the arguments that give it to Kafka's AclCommand
# (kafka-acls.sh), space-separated (names hold no spaces).  $1 = the acls.txt file.
acl_grants() {
  local principal operations resources op resource args
  while read -r principal operations resources; do
    args="--add --allow-principal User:$principal"
    for op in ${operations//,/ }; do args+=" --operation $op"; done
    for resource in $resources; do
      case $resource in
        topic:*) args+=" --topic ${resource#topic:}" ;;
        group:*) args+=" --group ${resource#group:}" ;;
        group-prefix:*) args+=" --resource-pattern-type prefixed --group ${resource#group-prefix:}" ;;
        *) printf 'acls.txt: unknown resource %s\n' "$resource" >&2; return 1 ;;
      esac
    done
    printf '%s\n' "$args"
  done < <(sed -e 's/#.*//' "$1" | awk 'NF')
}
