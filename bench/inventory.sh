#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/inventory.sh [BUILDDIR]: "vmctl cpu VM N" against inventories of
# 18, 1,000, 5,000 and 10,000 VMs (BENCH_SIZES), with the inventory mirror
# (daemon/backends/vsphere/vsphere_mirror.c) doing the lookups.  Per size:
# the median ms per operation end to end (a vmctl process, the durable trail
# rows, the SOAP calls, the read-back, the PostEvent), the bytes vcsim sent
# per operation (its /vmt-counters: every response, the mirror's updates
# included), the objects RetrievePropertiesEx returned per operation (a full
# scan returns every VM), a govc-style process per operation in the same run
# (bench/govmomi-baseline -warm=false: start, log in, find.Finder, reconfigure,
# read back, log out), and the daemon's RSS with the mirror of that size.
# CPU columns: milliseconds of CPU per operation spent by the daemon and by
# vcsim (utime+stime from /proc): where the time goes as the inventory grows.
# A report, not a test: nothing here passes or fails on a number.
#
# Environment: BENCH_SIZES (default "18 1000 5000 10000"), BENCH_N (operations
# per size, default 20), BENCH_GOVC_N (govc-style processes per size, default 5).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(dirname "$here")}
top_builddir=$(cd "${1:-${top_builddir:-$top_srcdir/build}}" && pwd) || exit 1
export top_srcdir top_builddir
SIZES=${BENCH_SIZES:-18 1000 5000 10000}
N=${BENCH_N:-20}
GOVC_N=${BENCH_GOVC_N:-5}
. "$here/lib.sh"

printf '%8s %10s %12s %10s %12s %10s %10s %10s %10s\n' VMS MS_PER_OP BYTES_PER_OP OBJ_PER_OP GOVC_MS GOVC/VMCTL \
	RSS_MIB D_CPU_MS SIM_CPU_MS
declare -A ms_of
for size in $SIZES; do
	# VPX model: one standalone host and one cluster of 3, a resource pool each.
	VCSIM_START_TIMEOUT=600 vcsim_start "$T/vcsim-$size" -vms $(( (size + 1) / 2 )) -user "$VCSIM_USER" -password "$VCSIM_PASSWORD" ||
		exit 1
	write_config "$T/bench-$size.conf" "$(POOL_SIZE=1 endpoint_section vc1 "ca-file = $VCSIM_CA")"
	rm -f "$T/trail.db"
	daemon_start "$T/bench-$size.conf" || exit 1
	VM=$(vcsim_vms | jq -r '[.[] | select(.name | contains("_C0_"))][0].name')
	through_mirror "$VM" || echo "# $size VMs: the mirror did not synchronise within 120 s" >&2

	vmctl cpu "$VM" 2 >/dev/null 2>&1  # warm-up
	lat=
	b0=$(counter responseBytes) o0=$(counter retrieveObjects)
	dc0=$(cpu_ms "$DAEMON_PID") sc0=$(cpu_ms "$VCSIM_PID")
	for i in $(seq "$N"); do
		now_ns t0
		vmctl cpu "$VM" $((1 + i % 2)) >/dev/null 2>&1 || echo "# $size VMs: vmctl cpu failed" >&2
		now_ns t1
		lat+="$(( (t1 - t0) / 1000 )) "
	done
	dcpu=$(awk -v a="$(( $(cpu_ms "$DAEMON_PID") - dc0 ))" -v n="$N" 'BEGIN {printf "%.1f", a / n}')
	scpu=$(awk -v a="$(( $(cpu_ms "$VCSIM_PID") - sc0 ))" -v n="$N" 'BEGIN {printf "%.1f", a / n}')
	bytes=$(( ($(counter responseBytes) - b0) / N ))
	objs=$(awk -v a="$(( $(counter retrieveObjects) - o0 ))" -v n="$N" 'BEGIN {printf "%.1f", a / n}')
	ms=$(awk -v us="$(median <<<"$lat")" 'BEGIN {printf "%.2f", us / 1000}')
	ms_of[$size]=$ms
	rss_kib=$(rss_kib "$DAEMON_PID")

	cold=
	for i in $(seq "$GOVC_N"); do
		now_ns t0
		"$baseline" -url "$VCSIM_URL" -cacert "$VCSIM_CA" -user "$VCSIM_USER" -password "$VCSIM_PASSWORD" \
			-vm "$VM" -n 1 -warm=false >/dev/null || echo "# $size VMs: govc-style run failed" >&2
		now_ns t1
		cold+="$(( (t1 - t0) / 1000 )) "
	done
	govc_ms=$(awk -v us="$(median <<<"$cold")" 'BEGIN {printf "%.2f", us / 1000}')

	printf '%8s %10s %12s %10s %12s %10s %10s %10s %10s\n' "$size" "$ms" "$bytes" "$objs" "$govc_ms" \
		"$(awk -v a="$govc_ms" -v b="$ms" 'BEGIN {printf "%.1fx", a / b}')" \
		"$(awk -v k="$rss_kib" 'BEGIN {printf "%.1f", k / 1024}')" "$dcpu" "$scpu"
	daemon_stop
	vcsim_stop
done

set -- $SIZES
first=$1
last=${!#}
echo
awk -v a="${ms_of[$last]}" -v b="${ms_of[$first]}" -v l="$last" -v f="$first" 'BEGIN {
	printf "time per op at %s VMs / at %s VMs: %.2f (target: at most 1.3)\n", l, f, a / b }'
echo "targets: bytes per op flat; govc-style/vmctl at least 50x at 10000; RSS at most 48 MiB"
