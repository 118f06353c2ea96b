#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/mirror-rss.sh [BUILDDIR]: the daemon's resident set with an inventory
# mirror of BENCH_VMS VMs (default 10,000) on each of two vSphere endpoints
# (two vcsim instances), once both mirrors are synchronised, and again after
# BENCH_N "vmctl cpu" operations on each (default 200): is it bounded, and
# flat?  Target (issue "inventory mirror"): at most 48 MiB.
# A report, not a test: nothing here passes or fails on a number.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(dirname "$here")}
top_builddir=$(cd "${1:-${top_builddir:-$top_srcdir/build}}" && pwd) || exit 1
export top_srcdir top_builddir
VMS=${BENCH_VMS:-10000}
N=${BENCH_N:-200}
. "$here/lib.sh"

# Two simulators: vcsim_start runs one at a time, so the first one's
# variables are kept aside (and it is stopped by hand at the end).
declare -A url ca pid
for ep in vc1 vc2; do
	VCSIM_START_TIMEOUT=600 vcsim_start "$T/vcsim-$ep" -vms $(( (VMS + 1) / 2 )) -user "$VCSIM_USER" \
		-password "$VCSIM_PASSWORD" || exit 1
	url[$ep]=$VCSIM_URL ca[$ep]=$VCSIM_CA pid[$ep]=$VCSIM_PID
	[ "$ep" = vc2 ] || _vcsim_pid=
done
trap 'kill "${pid[vc1]}" 2>/dev/null' EXIT
sections=
for ep in vc1 vc2; do
	sections+="$(VCSIM_URL=${url[$ep]} POOL_SIZE=1 endpoint_section "$ep" "ca-file = ${ca[$ep]}")"$'\n'
done
write_config "$T/rss.conf" "$sections"
now_ns t0
daemon_start "$T/rss.conf" || exit 1
# on EP: the vcsim_* helpers against endpoint EP's simulator.
on() { local ep=$1; shift; VCSIM_URL=${url[$ep]} VCSIM_CA=${ca[$ep]} "$@"; }
declare -A vm
for ep in vc1 vc2; do
	vm[$ep]=$(on "$ep" vcsim_vms | jq -r '[.[] | select(.name | contains("_C0_"))][0].name')
	on "$ep" through_mirror "$ep:${vm[$ep]}" || echo "# $ep: the mirror did not synchronise within 120 s" >&2
done
now_ns t1
sync_s=$(awk -v ns="$(( t1 - t0 ))" 'BEGIN {printf "%.1f", ns / 1e9}')
synced=$(rss_kib "$DAEMON_PID")
for i in $(seq "$N"); do
	for ep in vc1 vc2; do
		vmctl cpu "$ep:${vm[$ep]}" $((1 + i % 2)) >/dev/null 2>&1 || echo "# $ep: vmctl cpu failed" >&2
	done
done
after=$(rss_kib "$DAEMON_PID")
printf '%s\n' "VMs per endpoint: $VMS, endpoints: 2, both mirrors synchronised after ${sync_s} s"
awk -v s="$synced" -v a="$after" -v n="$N" 'BEGIN {
	printf "daemon RSS, mirrors synchronised: %.1f MiB\n", s / 1024
	printf "daemon RSS, after %d vmctl cpu per endpoint: %.1f MiB\n", n, a / 1024
	print "target: at most 48 MiB" }'
daemon_stop
vcsim_stop
