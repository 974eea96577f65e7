# tools/testbed/lib/cleanup.sh: `down` and `check-clean`.
# Sourced by tools/testbed/testbed.
#
# down never trusts the state file alone: it works from names (tern-host* namespaces, tern-h*
# veths, tern-br0), from the TERN_TESTBED_OWNER mark in process environments and from TB_DIR
# paths on QEMU command lines, so it also cleans up after `up` or a test was killed with -9.

# shellcheck shell=bash

# tb_ancestors: our own pid and every ancestor's (never to be killed).
tb_ancestors() {
    local p=$$
    while [ -n "$p" ] && [ "$p" -gt 1 ]; do
        echo "$p"
        p=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
    done
}

# tb_marked_pids: processes the testbed started (mark in environment) and QEMU processes using
# its files; never ourselves or our ancestors.
tb_marked_pids() {
    local skip f pid exe
    skip=" $(tb_ancestors | tr '\n' ' ') "
    {
        grep -lzx -F "$TB_MARK=$TB_DIR" /proc/[0-9]*/environ 2>/dev/null || true
        while read -r f; do
            exe=$(readlink "${f%/cmdline}/exe" 2>/dev/null) || continue
            case "$exe" in */qemu-system-*) echo "$f" ;; esac
        done < <(grep -lz -F "$TB_DIR/" /proc/[0-9]*/cmdline 2>/dev/null)
    } | while read -r f; do
        pid=${f#/proc/}
        pid=${pid%%/*}
        case "$skip" in *" $pid "*) continue ;; esac
        echo "$pid"
    done | sort -un
}

# tb_service_pids: processes working in the services directory (the harness runs PostgreSQL
# and RabbitMQ there; their environments are their own).
tb_service_pids() {
    local f cwd
    for f in /proc/[0-9]*/cwd; do
        cwd=$(readlink "$f" 2>/dev/null) || continue
        case "$cwd" in "$TB_SERVICES" | "$TB_SERVICES"/*) f=${f#/proc/}; echo "${f%%/*}" ;; esac
    done
}

tb_no_marked_pids() {
    [ -z "$(tb_marked_pids)" ]
}

# tb_sweep: TERM, then KILL, whatever marked process is left.
tb_sweep() {
    local pids
    pids=$(tb_marked_pids)
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086 # one pid a line: split into one argument each
    tb_kill_pids TERM $pids
    if ! tb_wait 10 tb_no_marked_pids; then
        pids=$(tb_marked_pids)
        tb_log "killing processes that ignored TERM: ${pids//$'\n'/ }"
        # shellcheck disable=SC2086 # one pid a line: split into one argument each
        tb_kill_pids KILL $pids
        if ! tb_wait 5 tb_no_marked_pids; then
            pids=$(tb_marked_pids)
            tb_log "processes still alive: ${pids//$'\n'/ }"
        fi
    fi
}

# tb_our_mounts: mount points in the root namespace under TB_DIR or of our netns files.
tb_our_mounts() {
    awk -v dir="$TB_DIR" '$5 == dir || index($5, dir "/") == 1 || $5 ~ /^\/run\/netns\/tern-/ { print $5 }' \
        /proc/self/mountinfo
}

tb_netns_names() {
    ip netns list 2>/dev/null | awk '{ print $1 }' | grep '^tern-' || true
}

tb_link_names() {
    ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep '^tern-' || true
}

# tb_related PID: true when PID is us, one of our ancestors or one of our descendants (our own
# subshells hold the lock too), or is gone.
tb_related() {
    local p=$1
    case " $TB_ANCESTORS " in *" $p "*) return 0 ;; esac
    while [ "$p" -gt 1 ]; do
        [ "$p" = "$$" ] && return 0
        # a process that exits while we look is a short-lived one of ours: not a leftover
        p=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || return 0
        [ -n "$p" ] || return 0
    done
    return 1
}

# tb_lock_holders: processes not related to us holding TB_LOCK open: the subshells of an `up`
# that was killed, or another `up`/`down` in progress.
tb_lock_holders() {
    local f pid
    [ -e "$TB_LOCK" ] || return 0
    TB_ANCESTORS=$(tb_ancestors | tr '\n' ' ')
    while read -r f; do
        pid=${f#/proc/}
        pid=${pid%%/*}
        tb_related "$pid" || echo "$pid"
    done < <(find /proc/[0-9]*/fd -lname "$TB_LOCK" 2>/dev/null) | sort -u
}

# tb_kill_lock_holders: kill -9 the lock holders (down wins over an unfinished up).
tb_kill_lock_holders() {
    local pids
    pids=$(tb_lock_holders)
    [ -n "$pids" ] || return 0
    tb_log "killing an unfinished testbed up/down: ${pids//$'\n'/ }"
    # shellcheck disable=SC2086 # one pid a line: split into one argument each
    tb_kill_pids KILL $pids
    sleep 0.2
}

tb_down() {
    local t0 ns link m
    t0=$(tb_now)
    tb_kill_lock_holders
    tb_lock
    tb_load_state || true
    TB_LOG_DIR=${TERN_TESTBED_LOG_DIR:-$TB_LOGS}
    mkdir -p "$TB_LOG_DIR"
    tb_daemons_stop
    for ns in $(tb_netns_names); do
        case "$ns" in
        tern-host[0-9]*) tb_host_down "${ns#tern-host}" ;;
        *) tb_netns_kill_all "$ns"; ip netns del "$ns" 2>/dev/null || true ;;
        esac
    done
    tb_services_stop
    # shellcheck disable=SC2046 # one pid a line: split into one argument each
    tb_kill_pids KILL $(tb_service_pids)
    tb_sweep
    for link in $(tb_link_names); do
        ip link del "$link" 2>/dev/null || true
    done
    for m in $(tb_our_mounts | sort -r); do
        umount -l "$m" 2>/dev/null || true
    done
    # iproute2 makes /run/netns a mount point of its own on first use; drop it once unused
    if mountpoint -q /run/netns 2>/dev/null && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
        umount /run/netns 2>/dev/null || true
    fi
    rm -rf "$TB_HOSTS_DIR" "$TB_SHARED" "$TB_CONDUCTOR_DIR" "$TB_SERVICES" "$TB_STATE"
    [ -d "$TB_INSTANCES" ] && find "$TB_INSTANCES" -mindepth 1 -delete 2>/dev/null
    tb_log "down in $(tb_elapsed "$t0") s"
}

# tb_check_clean: print every leftover of a testbed; 0 when there is none.
tb_check_clean() {
    local left=0 x
    for x in $(tb_netns_names); do
        echo "left: network namespace $x"
        left=1
    done
    for x in $(tb_link_names); do
        echo "left: link $x"
        left=1
    done
    for x in $(ip -o -4 addr show 2>/dev/null | awk -v net="$TB_NET." 'index($4, net) == 1 { print $2 "=" $4 }'); do
        echo "left: address $x"
        left=1
    done
    for x in $(tb_marked_pids); do
        echo "left: process $x ($(tr '\0' ' ' <"/proc/$x/cmdline" 2>/dev/null | cut -c1-120))"
        left=1
    done
    for x in $(tb_service_pids); do
        echo "left: service process $x ($(tr '\0' ' ' <"/proc/$x/cmdline" 2>/dev/null | cut -c1-80))"
        left=1
    done
    for x in $(tb_lock_holders); do
        echo "left: process $x holding $TB_LOCK ($(tr '\0' ' ' <"/proc/$x/cmdline" 2>/dev/null | cut -c1-80))"
        left=1
    done
    for x in $(tb_our_mounts); do
        echo "left: mount $x"
        left=1
    done
    for x in "$TB_STATE" "$TB_HOSTS_DIR" "$TB_SERVICES" "$TB_CONDUCTOR_DIR" "$TB_SHARED"; do
        if [ -e "$x" ]; then
            echo "left: $x"
            left=1
        fi
    done
    if [ -d "$TB_INSTANCES" ] && [ -n "$(ls -A "$TB_INSTANCES")" ]; then
        echo "left: files in $TB_INSTANCES"
        left=1
    fi
    if [ $left = 0 ]; then
        echo "check-clean: clean"
        return 0
    fi
    echo "check-clean: NOT clean"
    return 1
}
