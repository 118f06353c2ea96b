#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/roundtrips.sh [BUILDDIR]: SOAP round trips and latency of every
# vmctl operation against vcsim, and "vmctl cpu VM N" end to end (trail on
# disk, then on tmpfs) against its yardsticks, all measured in the same run
# and reported as ratios: a lean govmomi client on a warm session and a
# govc-style one (bench/govmomi-baseline -lean, and without), a govc-style
# process per operation, and a pyVmomi process per operation in Ansible's
# idiom (bench/pyvmomi-op.py, python3-pyvmomi); and, for scale, a bare
# process (bash starting /bin/true), the floor of any process per
# operation.  Times come from bash's $EPOCHREALTIME, so no clock-reading
# process is counted into a timed call.  A report, not a test:
# nothing here passes or fails on a number.
#
# Round trips come from the reply: vmtraced puts the session's HTTP round
# trip count for the operation into record.debug.round_trips (read target,
# task call, the wait on the PropertyCollector, read-back; a re-login would
# show too) and the EventManager.PostEvent call into
# record.debug.post_event_round_trips (list and show make no row and
# report none: "-").  The daemon runs one pooled session,
# so every operation uses the same warm session, as the baseline does.
# vcsim finishes every task inside the call, so no WaitForUpdatesEx is
# counted here: with or without the wait, the numbers are the same.
#
# Environment: BENCH_N (repetitions per operation, and processes per
# process yardstick, default 5), BENCH_BASELINE_N (vmctl cpu and in-process
# yardstick operations, default 20), BENCH_RSS_OPS (operations before the
# second RSS reading, default 10000), KEEP_TEST_DIR.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(dirname "$here")}
top_builddir=$(cd "${1:-${top_builddir:-$top_srcdir/build}}" && pwd) || exit 1
export top_srcdir top_builddir
N=${BENCH_N:-5}
BASE_N=${BENCH_BASELINE_N:-20}
. "$here/lib.sh"

vcsim_start "$T/vcsim" -user "$VCSIM_USER" -password "$VCSIM_PASSWORD" || exit 1
write_config "$T/bench.conf" "$(POOL_SIZE=1 endpoint_section vc1 "ca-file = $VCSIM_CA")"
daemon_start "$T/bench.conf" || exit 1

vms=$(vcsim_vms)
VM=$(jq -r '[.[] | select(.name | contains("_C0_"))][0].name' <<<"$vms")
BVM=$(jq -r '[.[] | select(.name | contains("_C0_"))][1].name' <<<"$vms")
mapfile -t hosts < <(vcsim_hosts | jq -r '.[] | select(.name | contains("_C0_")) | .name')

declare -A lat trips evtrips
# measure NAME ARGS...: one vmctl call; records ms and round trips under NAME.
measure() {
	local name=$1; shift
	local t0 t1 out
	now_ns t0
	out=$(vmctl --json "$@" 2>/dev/null)
	now_ns t1
	if [ "$(jq -r .status <<<"$out")" != ok ]; then
		echo "# $name failed: $(jq -r .error.message <<<"$out")" >&2
		return 1
	fi
	lat[$name]+="$(( (t1 - t0) / 1000 )) "
	trips[$name]+="$(jq -r '.record.debug.round_trips // "-"' <<<"$out") "
	evtrips[$name]+="$(jq -r '.record.debug.post_event_round_trips // "-"' <<<"$out") "
}

measure warmup cpu "$VM" 2 >/dev/null
for i in $(seq "$N"); do
	measure cpu cpu "$VM" $((1 + i % 2))
	measure memory memory "$VM" $((256 * (1 + i % 2)))
	measure disk-grow disk "$VM" 1 $((1024 * i))M
	measure disk-add disk "$VM" --add 64M
	measure stop stop "$BVM"
	measure start start "$BVM"
	measure reset reset "$BVM"
	measure suspend suspend "$BVM"
	measure start start "$BVM"
	measure rename rename "$VM" "bench-$i" && measure rename rename "bench-$i" "$VM"
	measure snapshot-create snapshot "$VM" create "s$i"
	measure snapshot-revert snapshot "$VM" revert "s$i"
	measure snapshot-remove snapshot "$VM" remove "s$i"
	measure migrate migrate "$BVM" --host "${hosts[$((i % ${#hosts[@]}))]}"
	measure clone clone "$BVM" "bench-clone-$i"
	measure destroy destroy "bench-clone-$i"
	measure show show "$VM"
	measure list list
done

printf '%-16s %12s %12s %14s\n' OPERATION ROUND_TRIPS POST_EVENT MEDIAN_MS
for op in cpu memory disk-grow disk-add start stop reset suspend rename snapshot-create snapshot-revert \
	snapshot-remove migrate clone destroy show list; do
	[ -n "${lat[$op]:-}" ] || { printf '%-16s %12s\n' "$op" failed; continue; }
	printf '%-16s %12s %12s %14s\n' "$op" "$(median <<<"${trips[$op]}")" "$(median <<<"${evtrips[$op]}")" \
		"$(awk -v us="$(median <<<"${lat[$op]}")" 'BEGIN {printf "%.1f", us / 1000}')"
done

# --- vmctl cpu against the yardsticks, all in this run (bench/README) ---
# ms VALUES...: the median of microsecond values, in ms.
ms() { awk -v us="$(median <<<"$*")" 'BEGIN {printf "%.2f", us / 1000}'; }
# vmctl_cpu COUNT: COUNT "vmctl cpu" end to end (a process, the durable rows, the calls); the median ms.
vmctl_cpu() {
	local i t0 t1 l=
	for i in $(seq "$1"); do
		now_ns t0
		vmctl cpu "$VM" $((1 + i % 2)) >/dev/null 2>&1 || echo "# vmctl cpu failed" >&2
		now_ns t1
		l+="$(( (t1 - t0) / 1000 )) "
	done
	ms $l
}
# process_ms COUNT CMD...: CMD run COUNT times, one process each (wall clock); the median ms.
process_ms() {
	local n=$1 i t0 t1 l=
	shift
	for i in $(seq "$n"); do
		now_ns t0
		"$@" $((1 + i % 2)) >/dev/null || echo "# $1 failed" >&2
		now_ns t1
		l+="$(( (t1 - t0) / 1000 )) "
	done
	ms $l
}
yardstick() { "$baseline" -url "$VCSIM_URL" -cacert "$VCSIM_CA" -user "$VCSIM_USER" -password "$VCSIM_PASSWORD" \
	-vm "$VM" "$@"; }
govc_process() { yardstick -n 1 -warm=false; }
printf '%s\n' "$VCSIM_PASSWORD" >"$T/py.password"
pyvmomi_process() { /usr/bin/python3 "$here/pyvmomi-op.py" "$VCSIM_URL" "$VCSIM_CA" "$VCSIM_USER" "$T/py.password" "$VM" "$1"; }

lean=$(yardstick -lean -n "$BASE_N") || exit 1
warm=$(yardstick -n "$BASE_N") || exit 1
cpu_ms=$(vmctl_cpu "$BASE_N")
cpu_trips=$(median <<<"${trips[cpu]}")
cold_ms=$(process_ms "$N" govc_process)
# The floor of any tool that starts a process per operation: bash starting /bin/true.
true_ms=$(process_ms "$BASE_N" /bin/true)
py_ms=-
/usr/bin/python3 -c 'import pyVmomi' 2>/dev/null && py_ms=$(process_ms "$N" pyvmomi_process)
# The same daemon with its trail on tmpfs: what is left is our software, not the disk's fsyncs.
daemon_stop
write_config "$T/tmpfs.conf" "$(POOL_SIZE=1 endpoint_section vc1 "ca-file = $VCSIM_CA")"
shm=$(mktemp -d /dev/shm/vmtraced-bench.XXXXXX) || exit 1
sed -i "s|^database = .*|database = $shm/trail.db|" "$T/tmpfs.conf"
daemon_start "$T/tmpfs.conf" || exit 1
vmctl cpu "$VM" 2 >/dev/null 2>&1
cpu_tmpfs_ms=$(vmctl_cpu "$BASE_N")
rm -rf "$shm"

lean_ms=$(jq -r .median_ms <<<"$lean") lean_trips=$(jq -r .round_trips_per_op <<<"$lean")
warm_ms=$(jq -r .median_ms <<<"$warm") warm_trips=$(jq -r .round_trips_per_op <<<"$warm")
echo
printf '%-72s %9s %6s\n' "vmctl cpu VM N and its yardsticks (median of each)" ms trips
printf '%-72s %9s %6s\n' "vmctl cpu, end to end, trail on disk (process, rows, calls, PostEvent)" "$cpu_ms" "$cpu_trips"
printf '%-72s %9s %6s\n' "vmctl cpu, end to end, trail on tmpfs" "$cpu_tmpfs_ms" "$cpu_trips"
printf '%-72s %9s %6s\n' "lean govmomi client, warm, in-process (cached names; read, task, read)" "$lean_ms" "$lean_trips"
printf '%-72s %9s %6s\n' "govc-style govmomi client, warm, in-process (find.Finder, task.Wait)" "$warm_ms" "$warm_trips"
printf '%-72s %9s %6s\n' "govc-style process per operation (start, login, find, change, logout)" "$cold_ms" -
printf '%-72s %9s %6s\n' "pyVmomi process per operation, Ansible's idiom (/usr/bin/python3)" "$py_ms" -
printf '%-72s %9s %6s\n' "a bare process (bash starting /bin/true): the floor of a process per op" "$true_ms" -
awk -v d="$cpu_ms" -v t="$cpu_tmpfs_ms" -v l="$lean_ms" -v w="$warm_ms" -v c="$cold_ms" -v p="$py_ms" -v b="$true_ms" 'BEGIN {
	printf "vmctl (disk) / lean client:            %.2fx  (target: at most 2.5x)\n", d / l
	printf "vmctl (tmpfs) / lean client:           %.2fx  (target: at most 1.5x)\n", t / l
	printf "vmctl (disk) / govc-style warm client: %.2fx\n", d / w
	printf "govc-style process / vmctl (disk):     %.1fx  (target: at least 5x)\n", c / d
	if (p != "-") printf "pyVmomi process / vmctl (disk):        %.1fx  (target: at least 50x)\n", p / d
	printf "(bare process + lean client) / lean:   %.2fx  (what a process per op costs before any work)\n", (b + l) / l }'

# Memory: the daemon's resident set with 8 pooled sessions logged in.
daemon_stop
write_config "$T/rss.conf" "$(POOL_SIZE=8 endpoint_section vc1 "ca-file = $VCSIM_CA")"
daemon_start "$T/rss.conf" || exit 1
for i in $(seq 100); do
	[ "$(vmctl --json status | jq -r .record.sessions_logged_in)" = 8 ] && break
	sleep 0.1
done
vmctl cpu "$VM" 2 >/dev/null 2>&1
rss_kib=$(rss_kib "$DAEMON_PID")
echo "daemon RSS with 8 pooled sessions logged in: $((rss_kib / 1024)) MiB ($rss_kib KiB; target: below 16 MiB)"

# ... and after BENCH_RSS_OPS operations (default 10,000), from 4 clients at once on 4 VMs:
# flat means the same within a few hundred KiB (SQLite's page cache and malloc's arenas are bounded).
RSS_OPS=${BENCH_RSS_OPS:-10000}
mapfile -t rss_vms < <(jq -r '[.[] | select(.name | contains("_C0_"))][0:4][].name' <<<"$vms")
rss_loop() { local k; for ((k = 0; k < RSS_OPS / 4; k++)); do vmctl cpu "$1" $(( k % 2 + 1 )) >/dev/null 2>&1 || echo x; done; }
rss_failed=$(for v in "${rss_vms[@]}"; do rss_loop "$v" & done | grep -c x)
rss_after=$(rss_kib "$DAEMON_PID")
echo "daemon RSS after $RSS_OPS more operations (4 clients): $((rss_after / 1024)) MiB ($rss_after KiB, $((rss_after - rss_kib)) KiB more;" \
	"failed operations: $rss_failed; target: below 16 MiB and flat)"
