# SPDX-License-Identifier: GPL-2.0-or-later
# What the vcsim benches share.  Source it after setting top_srcdir,
# top_builddir and the bench's own variables; it sources tests/lib/common.sh
# (the scratch dir $T, daemon_start, vmctl ...), builds the vcsim test peer and
# bench/govmomi-baseline into $baseline, and defines now_ns, median, counter,
# through_mirror, rss_kib, cpu_ms and children_cpu_ms.

. "$top_srcdir/tests/lib/common.sh"

[ -x "$VMTRACED" ] && [ -x "$VMCTL" ] || { echo "build first: no $VMTRACED or $VMCTL" >&2; exit 1; }
vcsim_build "$VCSIM_BIN" || exit 1
baseline=$T/govmomi-baseline
(cd "$top_srcdir/bench/govmomi-baseline" && GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= \
	GOCACHE=${GOCACHE:-${TMPDIR:-/tmp}/vmtraced-gocache-$(id -u)} go build -o "$baseline" .) || exit 1
VCSIM_USER=bench VCSIM_PASSWORD=bench-pw

# now_ns VAR: the wall clock in ns into VAR, from bash itself: a "$(date +%s%N)"
# would start a process per reading, and that process's cost (a millisecond
# on a busy machine) would count into every timed vmctl call.
now_ns() { local t=${EPOCHREALTIME/[.,]/}; printf -v "$1" '%s' "$((t * 1000))"; }
# median: of the numbers on stdin (space or newline separated), "-" if none.
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }

# counter NAME: one of the running vcsim's /vmt-counters.
counter() { vcsim_client counters | jq -r ".$1"; }
# through_mirror VM: wait (at most 120 s) until a lookup reads a handful of objects, not the inventory.
through_mirror() {
	local i o0
	for i in $(seq 240); do
		o0=$(counter retrieveObjects)
		vmctl show "$1" >/dev/null 2>&1
		[ $(( $(counter retrieveObjects) - o0 )) -lt 10 ] && return 0
		sleep 0.5
	done
	return 1
}
# rss_kib PID: resident set size of PID, in KiB.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# cpu_ms PID: user+system CPU time of PID so far, in ms.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($14 + $15) * 1000 / hz}' "/proc/$1/stat"; }
# children_cpu_ms PID: user+system CPU time of PID's children that it has waited for, and theirs, in ms.
children_cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($16 + $17) * 1000 / hz}' "/proc/$1/stat"; }
