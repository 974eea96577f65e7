# tools/testbed/lib/services.sh: PostgreSQL + RabbitMQ (through the test harness's CLI), the
# daemons' generated configuration, and tern-conductor / tern-compute.
# Sourced by tools/testbed/testbed.
#
# Services: `tern-test-services start TB_DIR/services --listen 198.18.0.1` (tests/harness), so
# RabbitMQ is reachable from inside the host namespaces too. Its services.env gives the URLs;
# the testbed rewrites the RabbitMQ one to 198.18.0.1 for the daemons. The conductor connects
# as "tern" (admin), each compute as its own "tern-compute.hostN" (role service by convention,
# bound to its host), with the permissions `tern-manage rabbitmq-setup` prints.
#
# Daemons: each is started when its binary exists in the build directory (conductor/tern-conductor,
# compute/tern-compute) as `BINARY --config-file FILE`: the conductor in the root namespace, after
# `tern-manage db sync`, then one compute inside each host's network + mount namespaces. Ready
# means: the process is alive and its log file has a line matching TB_READY_RE (override with
# TERN_TESTBED_READY_RE) written since this start.

# shellcheck shell=bash

TB_READY_RE=${TERN_TESTBED_READY_RE:-'[Rr]eady|started'}
TB_DAEMON_TIMEOUT=${TERN_TESTBED_DAEMON_TIMEOUT:-30}

tb_services_cli() {
    echo "$TB_BUILDDIR/tests/harness/tern-test-services"
}

# tb_services_start: start (or attach to) the services; run in the background by `up`.
tb_services_start() {
    local cli t0
    t0=$(tb_now)
    cli=$(tb_services_cli)
    [ -x "$cli" ] || tb_die "could not find \"$cli\" (build it: make tests/harness/tern-test-services; or use --no-services)"
    mkdir -p "$TB_SERVICES"
    # `start` always starts afresh: keep services that answer (idempotent up)
    if [ -f "$TB_SERVICES/services.env" ] && "$cli" status "$TB_SERVICES" >/dev/null 2>&1; then
        tb_log "services already running"
        return 0
    fi
    local tls_only=()
    [ "$TB_TLS" = 0 ] || tls_only=(--tls-only)
    env "$TB_MARK=$TB_DIR" "$cli" start "$TB_SERVICES" --listen "$TB_ROOT_IP" "${tls_only[@]}" \
        </dev/null >>"$TB_LOG_DIR/services.log" 2>&1 ||
        tb_die "could not start PostgreSQL and RabbitMQ (see $TB_LOG_DIR/services.log)"
    [ -f "$TB_SERVICES/services.env" ] ||
        tb_die "services started but \"$TB_SERVICES/services.env\" is missing"
    tb_services_users
    tb_log "services ready in $(tb_elapsed "$t0") s"
}

# tb_services_users: the RabbitMQ identities besides the admin "tern": each compute's own
# "tern-compute.hostN" (random password kept in services/testbed-users.env as
# TB_COMPUTE_PASSWORD_N), narrowed to the permissions `tern-manage rabbitmq-setup` prints for it,
# and "demo" (role reader in etc/policy.json, password "demo", for tests).
tb_services_users() {
    local cli manage users i line pids=() names=() hosts=() perm=()
    cli=$(tb_services_cli)
    manage=$TB_BUILDDIR/tools/manage/tern-manage
    users=$TB_SERVICES/testbed-users.env
    [ -x "$manage" ] || tb_die "could not find \"$manage\" (build tern first)"
    (umask 077 && touch "$users")
    for i in $(seq 1 "$TB_NHOSTS"); do
        hosts+=("host$i")
        grep -q "^TB_COMPUTE_PASSWORD_$i=" "$users" ||
            echo "TB_COMPUTE_PASSWORD_$i=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" >>"$users"
    done
    # each add-user / set-permissions starts an Erlang VM (~1 s): one host's pair after the other,
    # the hosts side by side
    "$cli" add-user "$TB_SERVICES" demo demo >>"$TB_LOG_DIR/services.log" 2>&1 &
    pids+=($!) names+=(demo)
    while read -r line; do
        case "$line" in rabbitmqctl\ set_permissions\ *) ;; *) continue ;; esac
        eval "perm=($line)" # rabbitmqctl set_permissions -p / USER CONFIGURE WRITE READ
        i=${perm[4]#tern-compute.host}
        { "$cli" add-user "$TB_SERVICES" "${perm[4]}" "$(tb_compute_password "$i")" &&
            "$cli" set-permissions "$TB_SERVICES" "${perm[@]:4:4}"; } >>"$TB_LOG_DIR/services.log" 2>&1 &
        pids+=($!) names+=("${perm[4]}")
    done < <("$manage" --config-file /dev/null rabbitmq-setup "${hosts[@]}")
    [ ${#pids[@]} -eq $((TB_NHOSTS + 1)) ] || tb_die "tern-manage rabbitmq-setup printed no permissions for every host"
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || tb_die "could not add RabbitMQ user \"${names[$i]}\" (see $TB_LOG_DIR/services.log)"
    done
}

# tb_compute_password I: host I's compute's RabbitMQ password.
tb_compute_password() {
    sed -n "s/^TB_COMPUTE_PASSWORD_$1=//p" "$TB_SERVICES/testbed-users.env"
}

# tb_compute_url I: host I's compute's transport_url (its own user), empty without services.
tb_compute_url() {
    [ -n "$TB_RABBITMQ_URL" ] && [ -f "$TB_SERVICES/testbed-users.env" ] || return 0
    # shellcheck disable=SC2001 # "[^@]*" is a regular expression: no ${var/...} pattern says it
    sed "s#://[^@]*@#://tern-compute.host$1:$(tb_compute_password "$1")@#" <<<"$TB_RABBITMQ_URL"
}

tb_services_stop() {
    local cli
    cli=$(tb_services_cli)
    [ -d "$TB_SERVICES" ] || return 0
    if [ -x "$cli" ]; then
        "$cli" stop "$TB_SERVICES" >>"${TB_LOG_DIR:-/dev/null}/services.log" 2>&1 ||
            tb_log "tern-test-services stop failed; remaining service processes are killed"
    else
        tb_log "could not find \"$cli\"; remaining service processes are killed"
    fi
}

# tb_services_load: read services.env into TB_POSTGRES_URL / TB_RABBITMQ_URL (198.18.0.1).
tb_services_load() {
    TB_POSTGRES_URL='' TB_RABBITMQ_URL='' TB_RABBITMQ_DEMO_URL=''
    [ -f "$TB_SERVICES/services.env" ] || return 0
    TB_POSTGRES_URL=$(sed -n "s/^TERN_TEST_POSTGRES_URL=//p" "$TB_SERVICES/services.env" | tr -d "'\"")
    TB_RABBITMQ_URL=$(sed -n "s/^TERN_TEST_RABBITMQ_URL=//p" "$TB_SERVICES/services.env" | tr -d "'\"")
    TB_RABBITMQ_URL=${TB_RABBITMQ_URL/@127.0.0.1:/@$TB_ROOT_IP:}
    if [ "$TB_TLS" = 1 ]; then
        # TLS everywhere (lib/tls.sh): amqps at 198.18.0.1 (in the harness's certificate), and
        # the database verified by name with the harness's CA
        TB_RABBITMQ_URL=$(sed -n "s/^TERN_TEST_RABBITMQ_TLS_URL=//p" "$TB_SERVICES/services.env" | tr -d "'\"")
        TB_RABBITMQ_URL=${TB_RABBITMQ_URL/@localhost:/@$TB_ROOT_IP:}
        TB_POSTGRES_URL="${TB_POSTGRES_URL/@127.0.0.1:/@$TB_ROOT_IP:}?sslmode=verify-full&sslrootcert=$(tb_tls_ca)"
    fi
    if [ -f "$TB_SERVICES/testbed-users.env" ]; then
        # shellcheck disable=SC2001,SC2034 # "[^@]*" is a regular expression; the testbed writes it to the state file
        TB_RABBITMQ_DEMO_URL=$(sed 's#://[^@]*@#://demo:demo@#' <<<"$TB_RABBITMQ_URL")
    fi
}

# tb_config_conductor / tb_config_compute I: write the daemons' tern.conf.
TB_USABLE_MEMORY_MB=${TERN_TESTBED_USABLE_MEMORY_MB:-1280}

# tb_reserved_memory_mb: what to reserve so that each host offers TB_USABLE_MEMORY_MB, from the
# memory host1's hypervisor reports (what the computes report; it may be less than the machine's).
tb_reserved_memory_mb() {
    local total
    total=$(tb_virsh 1 nodeinfo 2>/dev/null | awk '/^Memory size:/ { print int($3 / 1024) }')
    [ -n "$total" ] || total=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
    echo $((total > TB_USABLE_MEMORY_MB ? total - TB_USABLE_MEMORY_MB : 0))
}

tb_config_conductor() {
    mkdir -p "$TB_CONDUCTOR_DIR/state"
    cat >"$TB_CONDUCTOR_DIR/tern.conf" <<EOF
# tern-conductor of the testbed (generated by tools/testbed; rewritten by every \`testbed up\`)
[DEFAULT]
host = conductor
transport_url = $TB_RABBITMQ_URL
state_path = $TB_CONDUCTOR_DIR/state
log_file = $TB_LOG_DIR/conductor.log
policy_file = $TB_TOP_SRCDIR/etc/policy.json
report_interval = 2
service_down_time = ${TERN_TESTBED_SERVICE_DOWN_TIME:-60}
# Every host reports the whole machine's memory; keep TB_USABLE_MEMORY_MB usable per host so
# that the memory checks can be exercised with small guests.
reserved_host_memory_mb = $(tb_reserved_memory_mb)

[conductor]
$(tb_conf_line max_concurrent_migrations "${TERN_TESTBED_MAX_MIGRATIONS:-}")

[database]
connection = $TB_POSTGRES_URL
$(tb_tls_rabbit_conf)
EOF
}

# tb_tls_rabbit_conf: on a TLS testbed, the section that verifies the broker with the harness's
# CA (amqps verifies by default; without it the system's bundle would not trust the harness).
tb_tls_rabbit_conf() {
    [ "$TB_TLS" = 1 ] || return 0
    printf '\n[oslo_messaging_rabbit]\nssl_ca_file = %s\n' "$(tb_tls_ca)"
}

# tb_conf_line OPTION VALUE: "OPTION = VALUE", or a comment when VALUE is empty (the shipped
# default applies).
tb_conf_line() {
    if [ -n "$2" ]; then echo "$1 = $2"; else echo "# $1: the shipped default"; fi
}

tb_config_compute() {
    local i=$1 hdir max
    hdir=$(tb_host_dir "$i")
    # per host (TERN_TESTBED_HOST<i>_MAX_LIVE_MIGRATIONS), else all hosts' value
    max="TERN_TESTBED_HOST${i}_MAX_LIVE_MIGRATIONS"
    max=${!max:-${TERN_TESTBED_MAX_LIVE_MIGRATIONS:-}}
    mkdir -p "$hdir/state" "$hdir/hooks"
    cat >"$hdir/tern.conf" <<EOF
# tern-compute of testbed host$i (generated by tools/testbed; rewritten by every \`testbed up\`)
[DEFAULT]
host = host$i
transport_url = $(tb_compute_url "$i")
instances_path = $TB_INSTANCES
image_store_path = $TB_IMAGES
state_path = $hdir/state
log_file = $TB_LOG_DIR/host$i-compute.log
report_interval = 2
$(tb_conf_line max_concurrent_live_migrations "$max")

[libvirt]
live_migration_bandwidth = ${TERN_TESTBED_MIGRATION_BANDWIDTH:-0}
$(tb_conf_line live_migration_permit_post_copy "${TERN_TESTBED_PERMIT_POST_COPY:-}")
$(tb_conf_line live_migration_permit_auto_converge "${TERN_TESTBED_PERMIT_AUTO_CONVERGE:-}")
connection_uri = $(tb_host_uri "$i")
virt_type = qemu
live_migration_inbound_addr = $(tb_host_ip "$i")
$([ "$TB_TLS" = 0 ] || printf '# TLS everywhere: libvirt peers over qemu+tls, the streams over QEMU native TLS\nlive_migration_scheme = tls\nlive_migration_with_native_tls = true\n')

[compute]
# empty: tests put their migration hooks into <event>.d/ here
hooks_dir = $hdir/hooks
# the shared volumes, the same path on every host
volume_roots = $TB_SHARED
# an operator's bridge the tests plug a guest into (tests/integration/run-live-migration)
allowed_bridges = tern-opbr1
$(tb_tls_rabbit_conf)
EOF
}

# tb_log_size FILE: its size in bytes (0 when missing).
tb_log_size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# tb_daemon_ready PIDFILE LOG FROM: alive, and said it is ready after byte FROM of LOG (a log
# is appended to by every start: a line of the previous run must not count).
tb_daemon_ready() {
    tb_pid_alive "$1" && [ -f "$2" ] && tail -c +"$(($3 + 1))" "$2" | grep -Eq "$TB_READY_RE"
}

# tb_pid_state PIDFILE: what became of the process the file names, for error messages.
tb_pid_state() {
    local pid state
    pid=$(cat "$1" 2>/dev/null)
    [ -n "$pid" ] || { echo "no pid in \"$1\""; return; }
    state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
    case "$state" in
    "") echo "pid $pid: gone" ;;
    Z) echo "pid $pid: exited (zombie)" ;;
    *) echo "pid $pid: alive (state $state)" ;;
    esac
}

# tb_daemon_start NAME PIDFILE LOG OUT COMMAND...: start COMMAND unless PIDFILE names a live
# process, then wait until it is ready. Dies with what the daemon wrote (LOG since the start,
# and OUT, its stdout/stderr) on failure.
tb_daemon_start() {
    local name=$1 pidfile=$2 log=$3 out=$4 from=0 out_from
    shift 4
    out_from=$(tb_log_size "$out")
    if ! tb_pid_alive "$pidfile"; then
        from=$(tb_log_size "$log")
        tb_spawn "$pidfile" "$out" "$@"
    fi
    if ! tb_wait "$TB_DAEMON_TIMEOUT" tb_daemon_ready "$pidfile" "$log" "$from"; then
        [ -f "$log" ] && tail -c +"$((from + 1))" "$log" | tail -n 20 >&2
        [ -f "$out" ] && tail -c +"$((out_from + 1))" "$out" | tail -n 20 >&2
        df -h "$TB_DIR" | tail -n 1 | sed 's/^/testbed: space left: /' >&2
        if tb_pid_alive "$pidfile"; then
            tb_die "could not start $name: not ready within $TB_DAEMON_TIMEOUT s, $(tb_pid_state "$pidfile") (log: $log, output: $out)"
        fi
        # a crash leaves no line of its own: the kernel's says so
        dmesg 2>/dev/null | grep -E 'segfault|general protection|traps:|Out of memory' | tail -n 3 >&2 || true
        tb_die "could not start $name: it exited, $(tb_pid_state "$pidfile") (log: $log, output: $out)"
    fi
}

tb_conductor_bin() { echo "$TB_BUILDDIR/conductor/tern-conductor"; }
tb_compute_bin() { echo "$TB_BUILDDIR/compute/tern-compute"; }
tb_manage_bin() { echo "$TB_BUILDDIR/tools/manage/tern-manage"; }

# tb_conductor_up: start the conductor if built and not running.
tb_conductor_up() {
    local bin pidfile log
    bin=$(tb_conductor_bin)
    pidfile=$TB_CONDUCTOR_DIR/conductor.pid
    log=$TB_LOG_DIR/conductor.log
    tb_config_conductor
    if [ ! -x "$bin" ]; then
        tb_log "tern-conductor not built ($bin): not started"
        return 0
    fi
    # the conductor refuses a database without its schema
    [ -x "$(tb_manage_bin)" ] ||
        tb_die "could not create the database schema: $(tb_manage_bin) is not built"
    "$(tb_manage_bin)" --config-file "$TB_CONDUCTOR_DIR/tern.conf" db sync \
        >>"$TB_LOG_DIR/manage.log" 2>&1 ||
        tb_die "tern-manage db sync failed (see $TB_LOG_DIR/manage.log)"
    tb_daemon_start tern-conductor "$pidfile" "$log" "$TB_LOG_DIR/conductor.out" \
        "$bin" --config-file "$TB_CONDUCTOR_DIR/tern.conf"
}

# tb_compute_up I: start host I's compute (inside its namespaces) if built and not running.
tb_compute_up() {
    local i=$1 bin pidfile log hdir
    bin=$(tb_compute_bin)
    hdir=$(tb_host_dir "$i")
    pidfile=$hdir/compute.pid
    log=$TB_LOG_DIR/host$i-compute.log
    tb_config_compute "$i"
    [ -x "$bin" ] || return 0
    tb_daemon_start "tern-compute of host$i" "$pidfile" "$log" "$TB_LOG_DIR/host$i-compute.out" \
        nsenter -t "$(tb_keeper_pid "$i")" -m -n -- "$bin" --config-file "$hdir/tern.conf"
}

tb_pid_dead() { ! tb_pid_alive "$1"; }

# tb_daemons_stop: stop the conductor (the computes die with their host namespaces).
tb_daemons_stop() {
    local pidfile=$TB_CONDUCTOR_DIR/conductor.pid
    if tb_pid_alive "$pidfile"; then
        kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
        tb_wait 10 tb_pid_dead "$pidfile" ||
            kill -KILL "$(cat "$pidfile")" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}
