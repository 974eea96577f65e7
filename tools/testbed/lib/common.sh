# tools/testbed/lib/common.sh: names, paths and small helpers shared by the testbed's parts.
# Sourced by tools/testbed/testbed; defines no behaviour of its own.
#
# Everything the testbed creates is found again by name, never only through its state file, so
# `down` works after a crash: network namespaces tern-host<N>, links tern-br0 and tern-h<N>,
# directories under TB_DIR, and every process it starts carries TERN_TESTBED_OWNER=<TB_DIR> in
# its environment (QEMU, whose environment libvirt rebuilds, is found through its netns and
# through TB_DIR paths on its command line).

# shellcheck shell=bash
# The TB_* names set here are read by the files that source this one, which shellcheck does
# not see when it checks this file alone:
# shellcheck disable=SC2034

TB_DIR=${TERN_TESTBED_DIR:-/var/lib/tern-testbed}
TB_DIR=${TB_DIR%/}
TB_STATE=$TB_DIR/testbed.env            # written by up, sourced by tests and tools
TB_IMAGES=$TB_DIR/images                # image store (kept across runs: a cache)
TB_LOGS=$TB_DIR/logs                    # one directory per run (kept; old ones pruned)
TB_HOSTS_DIR=$TB_DIR/hosts              # per-host private directories
TB_SHARED=$TB_DIR/shared                # shared volumes: same path on every host
TB_INSTANCES=$TB_DIR/instances          # instances_path as every host sees it
TB_SERVICES=$TB_DIR/services            # tern-test-services state directory
TB_CONDUCTOR_DIR=$TB_DIR/conductor

TB_BRIDGE=tern-br0
TB_NET=198.18.0
TB_ROOT_IP=$TB_NET.1
TB_MAX_HOSTS=4
TB_MARK=TERN_TESTBED_OWNER
TB_KEEP_LOGS=10
TB_LOCK=$TB_DIR/.lock                   # held (fd 8) by up and down and all their subshells

# tb_lock: serialise up and down. Every subshell of `up` inherits fd 8, so a `down` after a
# killed `up` finds the orphaned subshells by it (tb_kill_lock_holders); tb_spawn closes it.
tb_lock() {
    mkdir -p "$TB_DIR"
    exec 8>>"$TB_LOCK"
    flock -w 300 8 || tb_die "another testbed up or down is still running (lock \"$TB_LOCK\")"
}

tb_log() {
    echo "testbed: $*" >&2
}

tb_die() {
    echo "testbed: $*" >&2
    exit 1
}

tb_now() {
    echo "$EPOCHREALTIME"
}

tb_now_us() { # microseconds, for integer arithmetic (awk may be mawk: 32-bit printf %d)
    local t=$EPOCHREALTIME
    echo "${t/./}"
}

# tb_elapsed T0: seconds since T0 (from tb_now), one decimal.
tb_elapsed() {
    awk -v a="$1" -v b="$(tb_now)" 'BEGIN { printf "%.1f", b - a }'
}

# tb_wait SECONDS COMMAND...: poll every 0.1 s until COMMAND succeeds; 1 on timeout.
tb_wait() {
    local deadline=$(($(tb_now_us) + $1 * 1000000))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$(tb_now_us)" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}

tb_host_name() { echo "host$1"; }
tb_host_ns() { echo "tern-host$1"; }
tb_host_veth() { echo "tern-h$1"; }
tb_host_ip() { echo "$TB_NET.$((10 + $1))"; }
tb_host_dir() { echo "$TB_HOSTS_DIR/host$1"; }
tb_host_socket() { echo "$TB_HOSTS_DIR/host$1/run/libvirt-sock"; }
tb_host_uri() { echo "qemu+unix:///system?socket=$(tb_host_socket "$1")"; }
# the peers' URI of host I's libvirtd: TCP, or TLS on a TLS testbed (lib/tls.sh)
tb_host_tcp_uri() {
    if [ "${TB_TLS:-0}" = 1 ]; then echo "qemu+tls://$(tb_host_ip "$1")/system"; else echo "qemu+tcp://$(tb_host_ip "$1")/system"; fi
}
# distinct per host, and never all one digit (libvirt rejects those)
tb_host_uuid() { printf '5465726e-7465-4000-8000-%012d\n' "$1"; }

# tb_host_instances I: the host's instances directory as seen from the root namespace.
tb_host_instances() {
    if [ "${TB_SHARED_INSTANCES:-0}" = 1 ]; then
        echo "$TB_INSTANCES"
    else
        echo "$(tb_host_dir "$1")/instances"
    fi
}

# tb_host_index NAME: 1 for host1, tern-host1, 1 or 198.18.0.11; dies on anything else.
tb_host_index() {
    local i
    case "$1" in
    host[1-9]) i=${1#host} ;;
    tern-host[1-9]) i=${1#tern-host} ;;
    [1-9]) i=$1 ;;
    "$TB_NET".1[1-9]) i=${1#"$TB_NET".1} ;;
    *) tb_die "unknown host \"$1\" (use host1..host$TB_MAX_HOSTS)" ;;
    esac
    [ "$i" -le "$TB_MAX_HOSTS" ] || tb_die "unknown host \"$1\" (use host1..host$TB_MAX_HOSTS)"
    echo "$i"
}

# tb_pid_alive PIDFILE: true when the file names a live process. A killed daemon whose parent
# is an init that does not reap (seen: a container's PID 1) stays a zombie, which kill -0 still
# finds: it counts as dead.
tb_pid_alive() {
    local pid state
    [ -f "$1" ] || return 1
    pid=$(cat "$1" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
    [ "$state" != Z ]
}

# tb_keeper_pid I: pid of the process holding host I's mount namespace (empty if none).
tb_keeper_pid() {
    local f
    f="$(tb_host_dir "$1")/keeper.pid"
    tb_pid_alive "$f" && cat "$f"
}

# tb_spawn PIDFILE LOGFILE COMMAND...: start COMMAND detached (own session, marked), record
# its pid. The process keeps running when the caller is interrupted or killed. The pid is
# written by the process that then becomes COMMAND, after setsid (which forks when started as
# a process group leader), and a stale pid file is removed first so the wait below is real.
tb_spawn() {
    local pidfile=$1 logfile=$2
    shift 2
    rm -f "$pidfile"
    # shellcheck disable=SC2016 # $$, $1 and $@ are the inner sh's, expanded there
    env "$TB_MARK=$TB_DIR" setsid sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$pidfile" "$@" \
        </dev/null >>"$logfile" 2>&1 8>&- &
    tb_wait 5 test -s "$pidfile" || tb_die "could not start \"$1\": no pid file \"$pidfile\""
}

# tb_in_host I COMMAND...: run COMMAND in host I's network and mount namespaces.
tb_in_host() {
    local keeper
    keeper=$(tb_keeper_pid "$1") || tb_die "host$1 is not up (no namespace keeper)"
    shift
    env "$TB_MARK=$TB_DIR" nsenter -t "$keeper" -m -n -- "$@"
}

tb_virsh() { # tb_virsh I ARGS...: virsh against host I's libvirtd
    local uri
    uri=$(tb_host_uri "$1")
    shift
    virsh -q -c "$uri" "$@"
}

tb_load_state() {
    [ -f "$TB_STATE" ] || return 1
    # shellcheck disable=SC1090 # the state file is written by `testbed up`, not in the tree
    . "$TB_STATE"
    TB_SHARED_INSTANCES=${TERN_TESTBED_SHARED_INSTANCES:-0}
    TB_TLS=${TERN_TESTBED_TLS:-0}
    TB_NHOSTS=${TERN_TESTBED_NHOSTS:-0}
}
