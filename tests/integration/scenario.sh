# tests/integration/scenario.sh: the testbed seen through tern's CLI, for integration scripts
# and the demo (sourced, not run). Needs lib.sh for wait_for.
#
# scenario_up BUILDDIR [testbed up args]   bring the testbed up with the daemons, define `tern`
# tern ARGS...                             the CLI as the admin ("tern" AMQP user)
# tern_as USER ARGS...                     the CLI as another AMQP user (password = user name)
#
# The sourcing script sets top (the source tree).

# shellcheck shell=bash

TB=${TB:-}

scenario_up() {
    local builddir=$1
    shift
    # shellcheck disable=SC2154 # top is the sourcing script's (see above)
    TB="$top/tools/testbed/testbed"
    SCENARIO_BUILDDIR=$(cd "$builddir" && pwd)
    export TERN_BUILDDIR=$SCENARIO_BUILDDIR
    "$TB" up --builddir "$SCENARIO_BUILDDIR" "$@" || return 1
    # shellcheck disable=SC1090 # the testbed's state (testbed env), not a file of the tree
    . <("$TB" env)
    SCENARIO_CLI_CONF=$TERN_TESTBED_DIR/cli.conf
    printf '[DEFAULT]\ntransport_url = %s\n' "$TERN_TESTBED_RABBITMQ_URL" >"$SCENARIO_CLI_CONF"
    # a TLS testbed (up --tls): the broker verified with the services' CA
    [ -z "${TERN_TESTBED_TLS_CA_FILE:-}" ] ||
        printf '\n[oslo_messaging_rabbit]\nssl_ca_file = %s\n' "$TERN_TESTBED_TLS_CA_FILE" >>"$SCENARIO_CLI_CONF"
    wait_for 30 hosts_reported "$TERN_TESTBED_NHOSTS"
}

scenario_down() {
    "$TB" down >/dev/null 2>&1
}

tern() {
    "$SCENARIO_BUILDDIR/tools/cli/tern" --config-file "$SCENARIO_CLI_CONF" "$@"
}

tern_as() { # tern_as USER ARGS...
    local user=$1 url
    shift
    # shellcheck disable=SC2001 # "[^@]*" is a regular expression: no ${var/...} pattern says it
    url=$(sed "s#://[^@]*@#://$user:$user@#" <<<"$TERN_TESTBED_RABBITMQ_URL")
    "$SCENARIO_BUILDDIR/tools/cli/tern" --config-file "$SCENARIO_CLI_CONF" \
        --transport-url "$url" "$@"
}

json_get() { # json_get FILTER < JSON
    jq -r "$1"
}

hosts_reported() { # hosts_reported N: N hypervisors reported, all up
    [ "$(tern hypervisor-list -f json 2>/dev/null | jq '[.[] | select(.state == "up")] | length')" = "$1" ]
}

server_field() { # server_field SERVER FIELD
    tern server-show -f json "$1" | jq -r ".$2"
}

host_index() { echo "${1#host}"; }

instances_dir() { # instances_dir HOST: the host's instances path seen from here
    local v
    v="TERN_TESTBED_HOST$(host_index "$1")_INSTANCES_DIR"
    echo "${!v}"
}

console_file() { echo "$(instances_dir "$1")/$2/console.log"; }
console_has() { grep -q -- "$3" "$(console_file "$1" "$2")" 2>/dev/null; }
console_lines() { wc -l <"$(console_file "$1" "$2")" 2>/dev/null || echo 0; }
console_has_after() { # console_has_after HOST UUID LINE TEXT: TEXT after line LINE
    tail -n +"$(($3 + 1))" "$(console_file "$1" "$2")" 2>/dev/null | grep -q -- "$4"
}
guest_healthy() { # no panic on the guest's console
    "$top/tools/guest/console-check" "$(console_file "$1" "$2")"
}

virsh_on() { "$TB" virsh "$@"; }
domain_running_persistent() {
    local info
    info=$(virsh_on "$1" dominfo "instance-$2") || return 1
    grep -q '^State: *running' <<<"$info" && grep -q '^Persistent: *yes' <<<"$info"
}
domain_absent() { ! virsh_on "$1" dominfo "instance-$2" >/dev/null 2>&1; }
host_has_filter() { virsh_on "$1" nwfilter-list | grep -q "tern-instance-$2"; }
host_lacks_filter() { ! host_has_filter "$@"; }
host_has_bridge() { "$TB" exec "$1" ip link show "$2" >/dev/null 2>&1; }
host_lacks_bridge() { ! host_has_bridge "$@"; }
instance_dir_absent() { [ ! -e "$(instances_dir "$1")/$2" ]; }

domains_of() { virsh_on "$1" list --all --name 2>/dev/null | grep -c . || true; }

snapshot() { # snapshot SERVER: what a refused request must leave unchanged
    local s
    s=$(tern server-show -f json "$1")
    printf '%s|%s|%s|%s|%s|%s\n' "$(jq -r .host <<<"$s")" "$(jq -r .task_state <<<"$s")" \
        "$(jq -r .vm_state <<<"$s")" \
        "$(tern migration-list -f json | jq '[.[] | select(.status != "error")] | length')" \
        "$(domains_of host1)" "$(domains_of host2)"
}

migration_status() { tern migration-show -f json "$1" | jq -r .status; }
migration_is() { [ "$(migration_status "$1")" = "$2" ]; }
