# tools/testbed/lib/guest.sh: test guests with plain libvirt, and the raw migration baseline.
# Sourced by tools/testbed/testbed.
#
# An instance NAME on host I lives in TB_DIR/instances/NAME/ as that host sees it (nova's
# instances_path layout): disk (qcow2 overlay on the image store's _base disk), console.log (the
# serial console, appended to, so a shared-storage migration never truncates it) and
# domain.xml. The kernel and initramfs are booted directly from the image store, which every
# host sees at the same path.

# shellcheck shell=bash

# tb_guest_xml NAME MEMORY_MIB CMDLINE: the domain definition.
tb_guest_xml() {
    local name=$1 mem=$2 cmdline=$3 dir=$TB_INSTANCES/$1
    cat <<EOF
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>$mem</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$TERN_GUEST_KERNEL</kernel>
    <initrd>$TERN_GUEST_INITRD</initrd>
    <cmdline>$cmdline</cmdline>
  </os>
  <features><acpi/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>preserve</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='$dir/disk'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <controller type='usb' model='none'/>
    <serial type='file'>
      <source path='$dir/console.log' append='on'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

tb_require_guest_images() {
    if [ -z "${TERN_GUEST_KERNEL:-}" ] || [ ! -f "$TERN_GUEST_KERNEL" ]; then
        tb_die "no guest image in the image store (run \`testbed up\` first)"
    fi
}

# testbed guest-boot HOST NAME [--memory MIB] [--param tern.key=value]...
tb_guest_boot() {
    local host=$1 name=$2 mem=256 params="" i dir
    shift 2
    while [ $# -gt 0 ]; do
        case "$1" in
        --memory) mem=$2; shift 2 ;;
        --param) params="$params $2"; shift 2 ;;
        *) tb_die "guest-boot: unknown argument \"$1\"" ;;
        esac
    done
    case "$name" in ''|*[!A-Za-z0-9_.-]*) tb_die "guest-boot: bad instance name \"$name\"" ;; esac
    i=$(tb_host_index "$host")
    tb_require_guest_images
    dir=$(tb_host_instances "$i")/$name
    [ -e "$dir" ] && tb_die "guest-boot: instance directory \"$dir\" already exists"
    mkdir -p "$dir"
    qemu-img create -q -f qcow2 -F qcow2 -b "$TERN_GUEST_BASE_DISK" "$dir/disk"
    : >"$dir/console.log"
    tb_guest_xml "$name" "$mem" "$TERN_GUEST_CMDLINE$params" >"$dir/domain.xml"
    tb_virsh "$i" define "$dir/domain.xml" >/dev/null
    tb_virsh "$i" start "$name" >/dev/null
    echo "$dir/console.log"
}

# testbed guest-destroy HOST NAME: stop, undefine and delete the instance on HOST.
tb_guest_destroy() {
    local i
    i=$(tb_host_index "$1")
    tb_virsh "$i" destroy "$2" >/dev/null 2>&1 || true
    tb_virsh "$i" undefine "$2" >/dev/null 2>&1 || true
    [ -n "$2" ] && rm -rf "$(tb_host_instances "$i")/${2:?}"
}

# testbed console HOST NAME: path of the instance's console log as seen from the root namespace.
tb_guest_console() {
    local i
    i=$(tb_host_index "$1")
    echo "$(tb_host_instances "$i")/$2/console.log"
}

# tb_disk_paths I DOMAIN: the file-backed disks of DOMAIN on host I, one path per line.
tb_disk_paths() {
    tb_virsh "$1" domblklist "$2" --details | awk '$1 == "file" && $2 == "disk" { print $4 }'
}

# tb_precreate_disk SRC DST PATH: create PATH on DST like it is on SRC: same format and virtual
# size, and for an overlay the same backing file (which is in the shared image store).
tb_precreate_disk() {
    local src=$1 dst=$2 path=$3 info fmt size backing bfmt
    info=$(tb_in_host "$src" qemu-img info -U --output=json "$path") ||
        tb_die "could not inspect disk \"$path\" on host$src"
    read -r fmt size backing bfmt < <(/usr/bin/python3 -c '
import json, sys
i = json.load(sys.stdin)
print(i["format"], i["virtual-size"],
      i.get("full-backing-filename") or i.get("backing-filename") or "-",
      i.get("backing-filename-format") or "-")' <<<"$info") ||
        tb_die "could not parse qemu-img info of \"$path\""
    [ "$backing" != - ] || backing=
    [ "$bfmt" != - ] || bfmt=
    tb_in_host "$dst" test -e "$path" &&
        tb_die "could not pre-create disk \"$path\" on host$dst: it already exists"
    tb_in_host "$dst" mkdir -p "$(dirname "$path")"
    if [ -n "$backing" ]; then
        tb_in_host "$dst" qemu-img create -q -f "$fmt" -F "${bfmt:-qcow2}" -b "$backing" "$path" "$size"
    else
        tb_in_host "$dst" qemu-img create -q -f "$fmt" "$path" "$size"
    fi
}

# testbed migrate-raw DOMAIN SRC DST [--storage all|inc|none]
# The floor tern's orchestrated migration is measured against: one virsh migrate with
# LIVE|PEER2PEER|PERSIST_DEST|UNDEFINE_SOURCE and NON_SHARED_DISK (all), NON_SHARED_INC (inc)
# or no storage copy (none; the default when instances are shared). Prints libvirt's completed
# job stats from the destination. After a non-shared migration the source's instance
# directory is deleted, as nova's post-migration clean-up does (its console log is copied to
# the run's log directory first).
tb_migrate_raw() {
    local dom=$1 src dst storage path flags t0 rc
    src=$(tb_host_index "$2")
    dst=$(tb_host_index "$3")
    shift 3
    storage=all
    [ "$TB_SHARED_INSTANCES" = 1 ] && storage=none
    while [ $# -gt 0 ]; do
        case "$1" in
        --storage) storage=$2; shift 2 ;;
        *) tb_die "migrate-raw: unknown argument \"$1\"" ;;
        esac
    done
    [ "$src" != "$dst" ] || tb_die "migrate-raw: source and destination are both host$src"
    flags=(--live --p2p --persistent --undefinesource)
    case "$storage" in
    all) flags+=(--copy-storage-all) ;;
    inc) flags+=(--copy-storage-inc) ;;
    none) ;;
    *) tb_die "migrate-raw: --storage must be all, inc or none" ;;
    esac
    tb_virsh "$src" domstate "$dom" >/dev/null 2>&1 || tb_die "migrate-raw: no domain \"$dom\" on host$src"
    if [ "$storage" != none ]; then
        t0=$(tb_now)
        for path in $(tb_disk_paths "$src" "$dom"); do
            tb_precreate_disk "$src" "$dst" "$path"
        done
        echo "migrate-raw: disks pre-created on host$dst in $(tb_elapsed "$t0") s"
    fi
    # the console log's directory must exist on the destination too
    for path in $(tb_virsh "$src" dumpxml "$dom" | sed -n "s/.*<source path='\([^']*\)'.*/\1/p"); do
        tb_in_host "$dst" mkdir -p "$(dirname "$path")"
    done
    echo "migrate-raw: $dom host$src -> host$dst (virsh migrate ${flags[*]})"
    t0=$(tb_now)
    rc=0
    virsh -q -c "$(tb_host_uri "$src")" migrate "${flags[@]}" "$dom" "$(tb_host_tcp_uri "$dst")" || rc=$?
    if [ $rc -ne 0 ]; then
        echo "migrate-raw: FAILED after $(tb_elapsed "$t0") s (virsh exit $rc)"
        return 1
    fi
    echo "migrate-raw: completed in $(tb_elapsed "$t0") s"
    tb_virsh "$dst" domjobinfo "$dom" --completed
    if [ "$storage" != none ] && [ "$TB_SHARED_INSTANCES" != 1 ]; then
        # keep the source's console in the run's logs, then clean up like nova does
        cp "$(tb_host_instances "$src")/$dom/console.log" \
            "$TERN_TESTBED_LOG_DIR/$dom-host$src-console-$(date +%H%M%S).log" 2>/dev/null || true
        rm -rf "$(tb_host_instances "$src")/${dom:?}"
    fi
}
