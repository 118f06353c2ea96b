# SPDX-License-Identifier: GPL-2.0-or-later
# Shell helpers for the libvirt backend's tests: a private, unprivileged
# libvirtd whose whole state lives in one directory, a storage pool and a
# small QEMU domain on it, and virsh as the independent witness.  Source
# after tests/lib/common.sh; every libvirtd started here is stopped by the
# test's EXIT trap (vmtraced first, then each libvirtd, then the scratch dir).
#
#   libvirt_require [qemu]       exit 77 (SKIP) unless libvirtd and virsh (and,
#                                with "qemu", qemu-system-x86_64 and qemu-img)
#                                are installed
#   libvirtd_start DIR [HOST_UUID [HOSTNAME]]
#                                a libvirtd with HOME, XDG_* dirs, socket, config
#                                and log (DIR/libvirtd.log) all in DIR; waits for
#                                its socket (15 s) and sets LIBVIRTD_SOCK,
#                                LIBVIRTD_URI_QEMU (qemu+unix:///session?socket=),
#                                LIBVIRTD_URI_TEST (test+unix:///default?socket=)
#                                and LIBVIRTD_PID.  HOST_UUID goes to host_uuid
#                                (two daemons need distinct ones to migrate);
#                                HOSTNAME, as root, runs it in its own UTS
#                                namespace so that virConnectGetHostname differs
#                                (LIBVIRTD_HOSTNAME says what it really reports)
#   libvirtd_stop DIR            destroy every running domain (QEMU outlives
#                                libvirtd), TERM the daemon and its virtlogd,
#                                wait; safe to call twice or for a dead daemon
#   libvirtd_kill DIR            kill -9 the daemon only (its domains go on)
#   lv_virsh URI ARGS...         virsh -q -c URI ARGS with a 30 s timeout
#   lv_events DIR URI FILE       "virsh event --all --loop --timestamp" on URI into
#                                FILE, connected when this returns; it is stopped
#                                with the libvirtd of DIR.  On the test driver it
#                                is also what keeps the state: test:///default
#                                behind a libvirtd is shared by all connections
#                                but freed when the last one closes (so every
#                                one-shot virsh would start from scratch)
#   kvm_pool DIR [NAME]          a dir pool NAME (default "pool") at DIR/pool,
#                                defined and started over $LV_URI (default
#                                LIBVIRTD_URI_QEMU); sets KVM_POOL, KVM_POOL_DIR
#   kvm_domain NAME [DISK_MIB]   a qcow2 volume NAME.qcow2 (default 16 MiB) in
#                                KVM_POOL and a domain on it, defined (not
#                                started): type qemu, machine pc, 64 MiB (also
#                                its max), 1 of 4 vCPUs, virtio vda, virtio
#                                balloon, no OS; prints nothing, sets KVM_UUID
#   lv_state URI DOM             virsh domstate (first word): running, shut, paused
#
# Who runs libvirtd: as root (CI), a root libvirtd would be the system daemon
# and drive /dev/kvm, so it runs as LIBVIRTD_USER (default nobody) through
# setpriv, and DIR is handed to that user; as any other user it runs as that
# user.  Its socket is mode 0777 with auth_unix_rw="none", in DIR/sock (0755),
# so vmtraced and virsh reach it whatever uid they run as.

LIBVIRTD_USER=${LIBVIRTD_USER:-nobody}
LIBVIRTD_SOCK= LIBVIRTD_URI_QEMU= LIBVIRTD_URI_TEST= LIBVIRTD_PID= LIBVIRTD_HOSTNAME=
_libvirtd_dirs=()
declare -A _libvirtd_child=() _lv_event_pids=()

libvirt_require() {
	local p missing=
	for p in libvirtd virsh; do command -v "$p" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin command -v "$p" >/dev/null 2>&1 || missing="$missing $p"; done
	if [ "${1:-}" = qemu ]; then
		for p in qemu-system-x86_64 qemu-img; do command -v "$p" >/dev/null 2>&1 || missing="$missing $p"; done
	fi
	if [ "$(id -u)" = 0 ] && ! command -v setpriv >/dev/null 2>&1; then missing="$missing setpriv"; fi
	if [ -n "$missing" ]; then
		echo "1..0 # SKIP not installed:$missing (libvirt-daemon, libvirt-clients, qemu-system-x86, qemu-utils)"
		exit 77
	fi
}

lv_virsh() {
	local uri=$1; shift
	timeout 30 virsh -q -c "$uri" "$@"
}

lv_state() { lv_virsh "$1" domstate "$2" 2>/dev/null | awk 'NR == 1 { print $1 }'; }

# _lv_as CMD...: run CMD as the user libvirtd runs as.
_lv_as() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid="$LIBVIRTD_USER" --regid="$(id -g "$LIBVIRTD_USER")" --clear-groups "$@"
	else
		"$@"
	fi
}

libvirtd_start() {
	local d=$1 uuid=${2:-} name=${3:-} i
	mkdir -p "$d"/home "$d"/run "$d"/config/libvirt "$d"/cache "$d"/sock || return 1
	chmod 0700 "$d"/run
	chmod 0755 "$d" "$d"/sock
	LIBVIRTD_SOCK=$d/sock/libvirt-sock
	if [ ${#LIBVIRTD_SOCK} -gt 100 ]; then
		echo "# libvirtd_start: socket path too long: $LIBVIRTD_SOCK" >&2
		return 1
	fi
	{
		printf 'unix_sock_dir = "%s"\n' "$d/sock"
		printf 'unix_sock_rw_perms = "0777"\nunix_sock_ro_perms = "0777"\n'
		printf 'auth_unix_rw = "none"\nauth_unix_ro = "none"\n'
		printf 'audit_logging = 1\n'
		printf 'log_outputs = "1:file:%s"\n' "$d/libvirtd.log"
		printf 'log_filters = "1:audit 3:rpc 3:util 3:event 3:object 3:conf 3:qemu"\n'
		[ -z "$uuid" ] || printf 'host_uuid = "%s"\n' "$uuid"
	} >"$d/config/libvirt/libvirtd.conf"
	[ "$(id -u)" != 0 ] || chown -R "$LIBVIRTD_USER:$(id -g "$LIBVIRTD_USER")" "$d"
	rm -f "$LIBVIRTD_SOCK" "$d/run/libvirt/libvirtd.pid"
	local env=(env -i HOME="$d/home" XDG_RUNTIME_DIR="$d/run" XDG_CONFIG_HOME="$d/config"
		XDG_CACHE_HOME="$d/cache" PATH=/usr/sbin:/usr/bin:/sbin:/bin)
	if [ -n "$name" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1; then
		unshare --uts sh -c 'hostname "$1" && shift && exec "$@"' sh "$name" \
			setpriv --reuid="$LIBVIRTD_USER" --regid="$(id -g "$LIBVIRTD_USER")" --clear-groups \
			"${env[@]}" libvirtd >>"$d/libvirtd.out" 2>&1 &
	else
		_lv_as "${env[@]}" libvirtd >>"$d/libvirtd.out" 2>&1 &
	fi
	local child=$!
	_libvirtd_child[$d]=$child
	_libvirtd_dirs+=("$d")
	for ((i = 0; i < 150; i++)); do
		[ -S "$LIBVIRTD_SOCK" ] && [ -s "$d/run/libvirt/libvirtd.pid" ] && break
		kill -0 "$child" 2>/dev/null || break
		sleep 0.1
	done
	LIBVIRTD_PID=$(cat "$d/run/libvirt/libvirtd.pid" 2>/dev/null)
	LIBVIRTD_URI_QEMU="qemu+unix:///session?socket=$LIBVIRTD_SOCK"
	LIBVIRTD_URI_TEST="test+unix:///default?socket=$LIBVIRTD_SOCK"
	if [ -z "$LIBVIRTD_PID" ] || ! LIBVIRTD_HOSTNAME=$(lv_virsh "$LIBVIRTD_URI_QEMU" hostname 2>&1); then
		echo "# libvirtd in $d did not start; its output and log:"
		sed 's/^/#   /' "$d/libvirtd.out" "$d/libvirtd.log" 2>/dev/null | tail -20
		return 1
	fi
	return 0
}

lv_events() {
	local d=$1 uri=$2 f=$3 i probe=lv-events-probe-$$
	virsh -c "$uri" event --all --loop --timestamp >"$f" 2>&1 &
	_lv_event_pids[$d]="${_lv_event_pids[$d]:-} $!"
	# Connected once it reports a probe domain's definition.
	printf "<domain type='%s'><name>%s</name><memory unit='MiB'>16</memory><os><type>hvm</type></os></domain>\n" \
		"$(case $uri in test*) echo test ;; *) echo qemu ;; esac)" "$probe" >"$d/probe.xml"
	for ((i = 0; i < 50; i++)); do
		lv_virsh "$uri" define "$d/probe.xml" >/dev/null 2>&1
		lv_virsh "$uri" undefine "$probe" >/dev/null 2>&1
		grep -q "$probe" "$f" && return 0
		sleep 0.2
	done
	echo "# lv_events: virsh event on $uri never reported the probe" >&2
	return 1
}

# _lv_alive PIDFILE: the pid in PIDFILE, if that process lives.
_lv_alive() {
	local p
	p=$(cat "$1" 2>/dev/null) || return 1
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}

# _lv_wait_gone PID: up to 10 s, then KILL.
_lv_wait_gone() {
	local i
	for ((i = 0; i < 100; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null
}

libvirtd_stop() {
	local d=$1 pid dom f
	local sock=$d/sock/libvirt-sock
	for pid in ${_lv_event_pids[$d]:-}; do kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	_lv_event_pids[$d]=
	if pid=$(_lv_alive "$d/run/libvirt/libvirtd.pid"); then
		for dom in $(lv_virsh "qemu+unix:///session?socket=$sock" list --name 2>/dev/null); do
			lv_virsh "qemu+unix:///session?socket=$sock" destroy "$dom" >/dev/null 2>&1
		done
		kill -TERM "$pid" 2>/dev/null
		_lv_wait_gone "$pid"
	fi
	# What libvirtd left running: QEMU (if it died without destroying) and virtlogd.
	for f in "$d"/run/libvirt/qemu/run/*.pid "$d"/run/libvirt/virtlogd.pid; do
		[ -e "$f" ] || continue
		if pid=$(_lv_alive "$f"); then
			kill -TERM "$pid" 2>/dev/null
			_lv_wait_gone "$pid"
		fi
	done
	# Reap the child this shell started (only that one: vmtraced may run too).
	if [ -n "${_libvirtd_child[$d]:-}" ]; then
		wait "${_libvirtd_child[$d]}" 2>/dev/null
		_libvirtd_child[$d]=
	fi
	return 0
}

libvirtd_kill() {
	local pid
	for pid in ${_lv_event_pids[$1]:-}; do kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	_lv_event_pids[$1]=
	if pid=$(_lv_alive "$1/run/libvirt/libvirtd.pid"); then
		kill -KILL "$pid"
		_lv_wait_gone "$pid"
	fi
	if [ -n "${_libvirtd_child[$1]:-}" ]; then
		wait "${_libvirtd_child[$1]}" 2>/dev/null
		_libvirtd_child[$1]=
	fi
}

kvm_pool() {
	local d=$1 name=${2:-pool} uri=${LV_URI:-$LIBVIRTD_URI_QEMU}
	KVM_POOL=$name KVM_POOL_DIR=$d/pool
	mkdir -p "$KVM_POOL_DIR"
	[ "$(id -u)" != 0 ] || chown "$LIBVIRTD_USER:$(id -g "$LIBVIRTD_USER")" "$KVM_POOL_DIR"
	printf "<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>\n" \
		"$name" "$KVM_POOL_DIR" >"$d/pool-$name.xml"
	lv_virsh "$uri" pool-define "$d/pool-$name.xml" >/dev/null &&
		lv_virsh "$uri" pool-start "$name" >/dev/null
}

kvm_domain() {
	local name=$1 mib=${2:-16} uri=${LV_URI:-$LIBVIRTD_URI_QEMU} xml
	lv_virsh "$uri" vol-create-as "$KVM_POOL" "$name.qcow2" "${mib}M" --format qcow2 >/dev/null || return 1
	xml=$KVM_POOL_DIR/../$name.xml
	cat >"$xml" <<EOF
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>64</memory>
  <currentMemory unit='MiB'>64</currentMemory>
  <vcpu placement='static' current='1'>4</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$KVM_POOL_DIR/$name.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <memballoon model='virtio'/>
  </devices>
</domain>
EOF
	lv_virsh "$uri" define "$xml" >/dev/null || return 1
	KVM_UUID=$(lv_virsh "$uri" domuuid "$name")
}

# The EXIT trap: vmtraced first (it holds connections), then every libvirtd
# this shell started, then common.sh's own cleanup (which removes $T).
eval "_lv_common_$(declare -f cleanup)"
cleanup() {
	local d
	daemon_stop
	for d in "${_libvirtd_dirs[@]}"; do libvirtd_stop "$d"; done
	_lv_common_cleanup
}
