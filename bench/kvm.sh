#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/kvm.sh [BUILDDIR]: "vmctl cpu VM N" on libvirt, end to end through
# vmtraced (a vmctl process, the daemon, two durable trail commits, libvirt
# calls, read-back), against the yardstick an operator would type instead:
# "virsh -c URI setvcpus VM N --live --config", one virsh process per
# operation (connect, look up, set, disconnect; no trail).  Both are timed
# by wall clock around the process, interleaved in the same run (vmctl,
# virsh, vmctl, ...) on the same running domain, and every operation is a
# real change that is checked (vmctl: result OK; virsh: exit 0; then
# vcpucount agrees).  A report, not a test: nothing fails on a number.
#
# Two tables, from one private unprivileged libvirtd (tests/lib/libvirt.sh):
#   qemu  a 64 MiB QEMU/TCG domain without OS (qemu+unix:///session):
#         every operation is a vCPU hotplug.  N only goes up: QEMU refuses
#         a vCPU unplug until a guest OS has switched ACPI CPU hotplug to
#         its modern interface ("acpi: device unplug request for not
#         supported device type: qemu64-x86_64-cpu"), so alternating
#         between two values would make every other operation a failure.
#         The domain's maximum is BENCH_MAX_VCPUS (default 16); when it is
#         reached, the domain is set back to 1 vCPU and restarted, untimed.
#   test  libvirt's test driver behind the same libvirtd (test+unix:///default):
#         no QEMU, the driver only stores the value, so this is the pure
#         overhead of each path.  N alternates between 1 and 2.
#
# libvirt calls per vmctl operation come from the reply's
# record.debug.round_trips (vmctl --json).
#
# Environment: BENCH_N (timed operations per tool and table, default 50),
# BENCH_DRIVERS (default "qemu test"), BENCH_MAX_VCPUS, KEEP_TEST_DIR.
# Run as root (libvirtd then runs as nobody) or as any user.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(dirname "$here")}
top_builddir=$(cd "${1:-${top_builddir:-$top_srcdir/build}}" && pwd) || exit 1
export top_srcdir top_builddir
N=${BENCH_N:-50}
DRIVERS=${BENCH_DRIVERS:-qemu test}
MAXV=${BENCH_MAX_VCPUS:-16}
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/libvirt.sh"

[ -x "$VMTRACED" ] && [ -x "$VMCTL" ] || { echo "build first: no $VMTRACED or $VMCTL" >&2; exit 1; }
libvirt_require qemu
command -v jq >/dev/null || { echo "needs jq" >&2; exit 1; }

libvirtd_start "$T/lv" || exit 1
QURI=$LIBVIRTD_URI_QEMU TURI=$LIBVIRTD_URI_TEST
# The test driver's state lives while a connection is open: hold one.
lv_events "$T/lv" "$TURI" "$T/test-events.txt" || exit 1

# qemu: the fixture's domain (1 of 4 vCPUs), its ceiling raised for hotplug.
kvm_pool "$T/lv" || exit 1
kvm_domain bench1 || exit 1
lv_virsh "$QURI" setvcpus bench1 "$MAXV" --config --maximum >/dev/null || exit 1
lv_virsh "$QURI" start bench1 >/dev/null || exit 1
# test: a domain of its own (1 of 4 vCPUs), running.
cat >"$T/test-bench1.xml" <<'EOF'
<domain type='test'>
  <name>bench1</name>
  <memory unit='MiB'>64</memory>
  <vcpu current='1'>4</vcpu>
  <os><type>hvm</type></os>
</domain>
EOF
lv_virsh "$TURI" define "$T/test-bench1.xml" >/dev/null && lv_virsh "$TURI" start bench1 >/dev/null || exit 1

write_config "$T/bench.conf" \
	"$(printf '[endpoint "kvm1"]\nbackend = libvirt\nuri = %s\npool-size = 1\n' "$QURI")" \
	"$(printf '[endpoint "lvtest1"]\nbackend = libvirt\nuri = %s\npool-size = 1\n' "$TURI")"
daemon_start "$T/bench.conf" || exit 1

# A process's wall time in microseconds, without forking a clock.
us() { local s=${EPOCHREALTIME/./}; "$@"; local rc=$?; took=$((${EPOCHREALTIME/./} - s)); return $rc; }
# pct P: the P-th percentile (nearest rank) of the numbers on stdin, in ms.
pct() {
	sort -n | awk -v p="$1" '{ a[NR] = $1 } END {
		if (!NR) { print "-"; exit } i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; printf "%.1f", a[i] / 1000 }'
}

declare -A lat trips
fail=0
# one_vmctl EP N: vmctl --json cpu EP:bench1 N, timed; the row must be OK.
one_vmctl() {
	local out
	us vmctl --json cpu "$1:bench1" "$2" >"$T/reply.json" 2>/dev/null
	out=$(tail -n 1 "$T/reply.json")
	if [ "$(jq -r '.record.result' <<<"$out")" != OK ]; then
		echo "# vmctl cpu $1:bench1 $2 failed: $(jq -c '{error, before: .record.before, after: .record.after}' <<<"$out")" >&2
		fail=1; return 1
	fi
	lat[vmctl-$1]+="$took "
	trips[$1]+="$(jq -r '.record.debug.round_trips' <<<"$out") "
}
# one_virsh EP URI N: the yardstick, timed.
one_virsh() {
	if ! us virsh -q -c "$2" setvcpus bench1 "$3" --live --config >"$T/virsh.out" 2>&1; then
		echo "# virsh setvcpus bench1 $3 on $2 failed: $(cat "$T/virsh.out")" >&2
		fail=1; return 1
	fi
	lat[virsh-$1]+="$took "
}
# tool K: who makes operation K: vmctl, virsh, virsh, vmctl, vmctl, ...
# (turns, and on the test driver each tool gets as many ups as downs).
tool() { if [ $(( (($1 + 1) / 2) % 2 )) = 0 ]; then echo vmctl; else echo virsh; fi; }
# live_vcpus URI: what the platform says now.
live_vcpus() { lv_virsh "$1" vcpucount bench1 --live --active; }

# bench_qemu: hotplug 1 -> MAXV, tools taking turns, then an untimed reset.
bench_qemu() {
	local cur k=0 n
	cur=$(live_vcpus "$QURI")
	while [ "$k" -lt $((2 * N + 2)) ]; do
		if [ "$cur" -ge "$MAXV" ]; then
			lv_virsh "$QURI" setvcpus bench1 1 --config >/dev/null &&
				lv_virsh "$QURI" destroy bench1 >/dev/null && lv_virsh "$QURI" start bench1 >/dev/null || return 1
			cur=$(live_vcpus "$QURI")
		fi
		n=$((cur + 1))
		if [ "$(tool "$k")" = vmctl ]; then one_vmctl kvm1 "$n"; else one_virsh kvm1 "$QURI" "$n"; fi || return 1
		cur=$(live_vcpus "$QURI")
		[ "$cur" = "$n" ] || { echo "# qemu: asked for $n vCPUs, vcpucount says $cur" >&2; fail=1; return 1; }
		# The first pair warms both paths up and is not counted.
		if [ "$k" -lt 2 ]; then lat[vmctl-kvm1]= lat[virsh-kvm1]= trips[kvm1]=; fi
		k=$((k + 1))
	done
}

# bench_test: N alternates 1, 2, 1, ... on the test driver.
bench_test() {
	local k n cur
	for ((k = 0; k < 2 * N + 2; k++)); do
		n=$((k % 2 ? 1 : 2))
		if [ "$(tool "$k")" = vmctl ]; then one_vmctl lvtest1 "$n"; else one_virsh lvtest1 "$TURI" "$n"; fi || return 1
		cur=$(live_vcpus "$TURI")
		[ "$cur" = "$n" ] || { echo "# test: asked for $n vCPUs, vcpucount says $cur" >&2; fail=1; return 1; }
		if [ "$k" -lt 2 ]; then lat[vmctl-lvtest1]= lat[virsh-lvtest1]= trips[lvtest1]=; fi
	done
}

report() {
	local ep=$1 what=$2 vm vs vm90 vs90
	vm=$(tr ' ' '\n' <<<"${lat[vmctl-$ep]:-}" | grep . | pct 50)
	vm90=$(tr ' ' '\n' <<<"${lat[vmctl-$ep]:-}" | grep . | pct 90)
	vs=$(tr ' ' '\n' <<<"${lat[virsh-$ep]:-}" | grep . | pct 50)
	vs90=$(tr ' ' '\n' <<<"${lat[virsh-$ep]:-}" | grep . | pct 90)
	echo
	echo "== $what, $(wc -w <<<"${lat[vmctl-$ep]:-}") + $(wc -w <<<"${lat[virsh-$ep]:-}") timed operations"
	printf '   %-66s %9s %9s\n' "" "median ms" "p90 ms"
	printf '   %-66s %9s %9s\n' "vmctl cpu VM N (through vmtraced, durable trail row)" "$vm" "$vm90"
	printf '   %-66s %9s %9s\n' "virsh setvcpus VM N --live --config (a process per op, no trail)" "$vs" "$vs90"
	awk -v a="$vs" -v b="$vm" -v a9="$vs90" -v b9="$vm90" 'BEGIN {
		printf "   ratio virsh/vmctl: median %.2f, p90 %.2f\n", a / b, a9 / b9 }'
	echo "   libvirt calls per vmctl cpu (record.debug.round_trips): $(tr ' ' '\n' <<<"${trips[$ep]}" | grep . | sort -n | uniq -c |
		awk '{ printf "%s%s (x%s)", sep, $2, $1; sep = ", " }')"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r), libvirt $(virsh --version), $(qemu-system-x86_64 --version | head -1)"
echo "# trail: $T/trail.db on $(df -T "$T" | awk 'NR == 2 { print $2 " (" $1 ")" }'); BENCH_N=$N"
for d in $DRIVERS; do
	case $d in
	qemu) bench_qemu && report kvm1 "QEMU/TCG, vCPU hotplug (N = 2..$MAXV, going up; reset untimed)" ;;
	test) bench_test && report lvtest1 "libvirt test driver (test+unix), no QEMU: pure overhead (N = 1, 2, 1, ...)" ;;
	*) echo "unknown driver $d (qemu, test)" >&2; fail=1 ;;
	esac
done

daemon_stop
rows=$(sql "SELECT count(*) FROM records WHERE operation = 'ModifyCPU' AND result = 'OK'" 2>/dev/null)
echo
echo "trail: $rows OK ModifyCPU rows; $("$VMCTL" verify --db "$T/trail.db" | head -1)"
exit "$fail"
