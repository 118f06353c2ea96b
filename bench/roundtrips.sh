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
# process yardstick per round, default 5), BENCH_BASELINE_N (vmctl cpu and
# in-process yardstick operations per round, default 20), BENCH_ROUNDS
# (rounds of every vmctl cpu figure and yardstick, default 5), BENCH_RSS_OPS (operations before the
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

# The same daemon with its trail on tmpfs: what is left is our software, not the disk's fsyncs.
shm=$(mktemp -d /dev/shm/vmtraced-bench.XXXXXX) || exit 1
write_config "$T/tmpfs.conf" "$(POOL_SIZE=1 endpoint_section vc1 "ca-file = $VCSIM_CA")"
sed -i "s|^database = .*|database = $shm/trail.db|" "$T/tmpfs.conf"
# restart_on CONF: the daemon again with CONF, warm (logged in, its mirror in sync, one operation done).
restart_on() {
	daemon_stop
	daemon_start "$1" || exit 1
	through_mirror "$VM" || echo "# the mirror did not synchronise" >&2
	vmctl cpu "$VM" 2 >/dev/null 2>&1
}
py_ok=no
/usr/bin/python3 -c 'import pyVmomi' 2>/dev/null && py_ok=yes

# Rounds: a machine shared with others drifts by more than the gaps measured
# here, so every figure is taken in every round, each vmctl figure right
# after the lean client's, and each ratio is of figures from the same round.
# The median over the rounds is the figure; the spread is reported.
ROUNDS=${BENCH_ROUNDS:-5}  # odd: the median is then one of the rounds
declare -A fig
for r in $(seq "$ROUNDS"); do
	restart_on "$T/bench.conf"
	lean=$(yardstick -lean -n "$BASE_N") || exit 1
	fig[lean_disk]+="$(jq -r .median_ms <<<"$lean") "
	[ "$r" = 1 ] && lean_trips=$(jq -r .round_trips_per_op <<<"$lean")
	fig[disk]+="$(vmctl_cpu "$BASE_N") "
	warm=$(yardstick -n "$BASE_N") || exit 1
	fig[warm]+="$(jq -r .median_ms <<<"$warm") "
	[ "$r" = 1 ] && warm_trips=$(jq -r .round_trips_per_op <<<"$warm")
	fig[cold]+="$(process_ms "$N" govc_process) "
	# The floor of any tool that starts a process per operation: bash starting /bin/true.
	fig[bare]+="$(process_ms "$BASE_N" /bin/true) "
	[ "$py_ok" = yes ] && fig[py]+="$(process_ms "$N" pyvmomi_process) "
	restart_on "$T/tmpfs.conf"
	lean=$(yardstick -lean -n "$BASE_N") || exit 1
	fig[lean_tmpfs]+="$(jq -r .median_ms <<<"$lean") "
	fig[tmpfs]+="$(vmctl_cpu "$BASE_N") "
done
cpu_trips=$(median <<<"${trips[cpu]}")

# per_round A B: A / B for each round's figures, as "x.xx x.xx ...".
per_round() {
	local a b
	read -ra a <<<"${fig[$1]}"; read -ra b <<<"${fig[$2]}"
	for ((k = 0; k < ${#a[@]}; k++)); do awk -v x="${a[k]}" -v y="${b[k]}" 'BEGIN {printf "%.2f ", x / y}'; done
}
# summary LABEL VALUES TARGET: the median of VALUES, their spread, and the target.
summary() {
	local v=$2 lo hi
	lo=$(tr ' ' '\n' <<<"$v" | grep . | sort -n | head -1) hi=$(tr ' ' '\n' <<<"$v" | grep . | sort -n | tail -1)
	printf '%-40s %6sx  (rounds: %s; spread %s to %s)%s\n' "$1" "$(median <<<"$v")" "${v% }" "$lo" "$hi" "$3"
}
echo
echo "vmctl cpu VM N and its yardsticks: $ROUNDS rounds, each figure the median of its round ($BASE_N operations;"
echo "$N per process yardstick), then the median over the rounds and its spread, in ms"
printf '%-72s %9s %6s  %s\n' "" median trips rounds
row() { printf '%-72s %9s %6s  %s\n' "$1" "$(median <<<"${fig[$2]}")" "$3" "${fig[$2]% }"; }
row "vmctl cpu, end to end, trail on disk (process, rows, calls)" disk "$cpu_trips"
row "vmctl cpu, end to end, trail on tmpfs" tmpfs "$cpu_trips"
row "lean govmomi client, warm, in-process (cached names; read, task, read)" lean_disk "$lean_trips"
row "... measured again next to the tmpfs figure" lean_tmpfs "$lean_trips"
row "govc-style govmomi client, warm, in-process (find.Finder, task.Wait)" warm "$warm_trips"
row "govc-style process per operation (start, login, find, change, logout)" cold -
[ "$py_ok" = yes ] && row "pyVmomi process per operation, Ansible's idiom (/usr/bin/python3)" py -
row "a bare process (bash starting /bin/true): the floor of a process per op" bare -
echo "ratios, each of figures from the same round:"
summary "vmctl (disk) / lean client:" "$(per_round disk lean_disk)" "  target: at most 2.5x"
summary "vmctl (tmpfs) / lean client:" "$(per_round tmpfs lean_tmpfs)" "  target: at most 1.5x"
summary "vmctl (disk) / govc-style warm client:" "$(per_round disk warm)" ""
summary "govc-style process / vmctl (disk):" "$(per_round cold disk)" "  target: at least 5x"
[ "$py_ok" = yes ] && summary "pyVmomi process / vmctl (disk):" "$(per_round py disk)" "  target: at least 50x"
summary "bare process / lean client:" "$(per_round bare lean_tmpfs)" \
	"  (1 + this: what a process per op costs against the lean client before any work)"
daemon_stop
rm -rf "$shm"

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
